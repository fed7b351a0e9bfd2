"""Conditional VAE colorizer: ab from L, with a learned conditional prior (Kohl et al. 2018).

* L encoder: any registered encoder (:mod:`colorseg.models.encoders`; the from-scratch U-Net
  encoder by default, or ImageNet-pretrained EfficientNet-Lite0/1 with a 1-channel stem) on L →
  skip features and a bottleneck.
* prior p(z | L) and posterior q(z | L, ab) (a separate conv encoder on [L, ab]): diagonal
  Gaussians. ``latent_layout="global"``: one vector (B, latent_dim) from the pooled bottleneck,
  so samples differ by one global colour choice. ``"spatial"``: a latent map (B, latent_dim, h, w)
  at the bottleneck's resolution (1/stride of the padded input) with a per-location conditional
  prior, so samples differ region by region (a coat can change colour while the sky stays blue).
* decoder: :class:`~colorseg.models.decoder.UNetDecoder` over the L skips; z is injected at the
  bottleneck and again before the output head (the Probabilistic U-Net's "combination" layers;
  a spatial z is upsampled bilinearly there).
* output head: ``"regression"``: tanh ab_norm; ``"classification"`` (Zhang et al. 2016): logits
  over the AB_BINS² ab grid at 1/:data:`CLASSIFICATION_STRIDE` resolution (as Zhang's network;
  484 channels at full resolution cost 6× the whole model on CPU), decoded by the annealed mean
  at ``annealed_mean_temperature`` and upsampled bilinearly.

* colour hints (``hints=True``; Zhang et al. 2017, "Real-Time User-Guided Image Colorization with
  Learned Deep Priors"): the L encoder also reads a hint map (B, :data:`HINT_CHANNELS`, H, W) =
  (hint a, hint b, mask) in ab_norm, zero where there is no hint. Its first convolution gets
  three extra input channels whose weights start at zero (:func:`extend_input_conv`): a fresh
  hint model computes exactly what the same weights compute without hints, and a pretrained
  encoder keeps its L weights. The encoder's input normalisation applies to L only. The
  posterior is unchanged; the prior sees the hints through the encoder.

``latent_dim=0`` gives the deterministic regression baseline with the same decoder.
Inference is deterministic in ``eval()`` (prior mean); sampling is explicit
(:meth:`ConditionalVAE.sample` with ``n_samples`` and ``temperature``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.errors import ConfigError
from colorseg.losses.ab_regression import AB_BINS, ab_bin_centers
from colorseg.models.blocks import NORMS, DoubleConv, Down
from colorseg.models.decoder import UNetDecoder, default_decoder_channels
from colorseg.models.encoders import EncoderOptions, build_encoder, check_encoder, extend_input_conv
from colorseg.models.padding import pad_to_multiple

#: EfficientNet-Lite2 is the network of the independent feature-distribution metric
#: (:mod:`colorseg.metrics.feature_distribution`): a colorizer built on it would be judged by
#: features it was trained to produce, so it is refused as a colorization encoder.
METRIC_ONLY_ENCODERS = ("efficientnet_lite2",)
LATENT_LAYOUTS = ("global", "spatial")
HEADS = ("regression", "classification")
CLASSIFICATION_STRIDE = 4
#: hint map channels: (a, b) of the hinted colour in ab_norm, then the mask (1 where hinted)
HINT_CHANNELS = 3
NO_HINTS_MESSAGE = ("this model was trained without colour hints (hints=False): colorize without hints, "
                    "or use a model trained with --model.hints=true")


@dataclass
class CVAEConfig:
    """Architecture; stored in checkpoints."""

    latent_dim: int = 8
    base_width: int = 32
    depth: int = 4
    norm: str = "batch"
    posterior_width: int = 16
    encoder: str = "unet"
    encoder_weights: str = "none"
    decoder_channels: tuple[int, ...] | None = None
    latent_layout: str = "global"
    head: str = "regression"
    annealed_mean_temperature: float = 0.38
    hints: bool = False

    def __post_init__(self) -> None:
        if self.latent_layout not in LATENT_LAYOUTS:
            raise ConfigError(f"latent_layout must be one of {LATENT_LAYOUTS}, got {self.latent_layout!r}")
        if self.head not in HEADS:
            raise ConfigError(f"head must be one of {HEADS}, got {self.head!r}")
        if not self.annealed_mean_temperature > 0:
            raise ConfigError(f"annealed_mean_temperature must be > 0, got {self.annealed_mean_temperature}")
        check_encoder(self.encoder, self.encoder_weights)
        if self.encoder in METRIC_ONLY_ENCODERS:
            raise ConfigError(f"encoder {self.encoder!r} is the network of the feature-distribution metric "
                              "(FD/KID); a colorizer trained on it would be judged by its own features. "
                              "Use efficientnet_lite0 or efficientnet_lite1")
        if self.decoder_channels is not None:
            self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
        if self.latent_dim < 0:
            raise ConfigError(f"latent_dim must be >= 0, got {self.latent_dim}")
        if not 1 <= self.depth <= 6:
            raise ConfigError(f"depth must be in 1..6, got {self.depth}")
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.base_width < 1 or self.posterior_width < 1:
            raise ConfigError("base_width and posterior_width must be positive")
        if not isinstance(self.hints, bool):
            raise ConfigError(f"hints must be true or false, got {self.hints!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class GaussianHead(nn.Module):
    """Global average pool → linear → (mu, logvar), each (B, latent_dim). logvar clamped to [-10, 10]."""

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, 2 * latent_dim)
        nn.init.zeros_(self.fc.weight)  # start at N(0, I): stable early training
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.fc(feats.mean((-2, -1))).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)


class SpatialGaussianHead(nn.Module):
    """3×3 conv → per-location (mu, logvar): (B, C, h, w) → each (B, latent_dim, h, w), logvar in [-10, 10]."""

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 2 * latent_dim, 3, padding=1)
        nn.init.zeros_(self.conv.weight)  # start at N(0, I) everywhere
        nn.init.zeros_(self.conv.bias)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.conv(feats).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 10)


def gaussian_head(channels: int, latent_dim: int, layout: str) -> nn.Module:
    return SpatialGaussianHead(channels, latent_dim) if layout == "spatial" else GaussianHead(channels, latent_dim)


class PosteriorNet(nn.Module):
    """q(z | L, ab): conv encoder on (B, 3, H, W) → (mu, logvar), ``depth`` halvings; see :func:`gaussian_head`."""

    def __init__(self, width: int, depth: int, latent_dim: int, norm: str, layout: str = "global") -> None:
        super().__init__()
        widths = [width * 2**min(i, 3) for i in range(depth + 1)]
        self.inc = DoubleConv(3, widths[0], norm)
        self.downs = nn.Sequential(*[Down(widths[i], widths[i + 1], norm) for i in range(depth)])
        self.head = gaussian_head(widths[-1], latent_dim, layout)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.downs(self.inc(torch.cat([L, ab], 1))))


class ConditionalVAE(nn.Module):
    """L_norm (B, 1, H, W) [+ ab_norm (B, 2, H, W) in training] [+ hints (B, 3, H, W)] → ab_norm (B, 2, H, W).

    Any H, W: inputs are reflect-padded to a multiple of the encoder's output stride
    (``2**depth`` for the from-scratch encoder, 32 for EfficientNet-Lite) and outputs cropped back.
    Pretrained encoders see L_norm mapped to their input normalisation (for EfficientNet-Lite,
    mean = std = 0.5, that mapping is the identity: L_norm is lightness in [-1, 1]).

    ``hints`` (models with ``config.hints``): the hint map, (B, :data:`HINT_CHANNELS`, H, W) =
    (a, b, mask), ab in ab_norm and zero wherever the mask is 0; None means no hints (all zero).
    Hints given to a model without hint channels raise ConfigError.
    """

    def __init__(self, config: CVAEConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = c = config or CVAEConfig(**kwargs)
        self.encoder = build_encoder(c.encoder, c.encoder_weights, EncoderOptions(
            in_channels=1, depth=c.depth, base_width=c.base_width, norm=c.norm))
        enc = self.encoder
        if c.hints:  # after the 1-channel build: the same weights as without hints, plus zero hint weights
            extend_input_conv(enc.input_conv, HINT_CHANNELS)
        bottleneck, zc = enc.out_channels[-1], c.latent_dim
        self.inject = nn.Conv2d(bottleneck + zc, bottleneck, 1)
        channels = c.decoder_channels or default_decoder_channels(enc.out_channels, enc.strides, c.encoder == "unet")
        try:
            self.decoder = UNetDecoder(enc.out_channels, enc.strides, channels, c.norm)
        except ValueError as exc:
            raise ConfigError(f"decoder_channels for encoder {c.encoder!r}: {exc}") from exc
        width = self.decoder.out_channels
        out_channels = AB_BINS * AB_BINS if c.head == "classification" else 2
        self.head = nn.Sequential(nn.Conv2d(width + zc, width, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, width, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(width, out_channels, 1))
        if c.head == "classification":
            self.register_buffer("bin_centers", ab_bin_centers(), persistent=False)  # (Q, 2) ab_norm
        if zc:
            self.prior = gaussian_head(bottleneck, zc, c.latent_layout)
            # a spatial posterior must reach the bottleneck's resolution: one halving per factor 2 of stride
            posterior_depth = c.depth if c.latent_layout == "global" else enc.output_stride.bit_length() - 1
            self.posterior = PosteriorNet(c.posterior_width, posterior_depth, zc, c.norm, c.latent_layout)
        # pretrained encoders: L_norm in [-1, 1] → lightness in [0, 1] → the weights' normalisation
        pretrained_input = c.encoder != "unet"
        self.register_buffer("in_scale", torch.tensor(0.5 / enc.std[0] if pretrained_input else 1.0),
                             persistent=False)
        self.register_buffer("in_shift", torch.tensor((0.5 - enc.mean[0]) / enc.std[0] if pretrained_input else 0.0),
                             persistent=False)
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def size_multiple(self) -> int:
        return self.encoder.output_stride

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return pad_to_multiple(x, self.size_multiple)

    @property
    def hints(self) -> bool:
        """Whether the model takes colour hints."""
        return self.config.hints

    def check_hints(self, L: torch.Tensor, hints: torch.Tensor | None) -> torch.Tensor | None:
        """The hint map the encoder reads: ``hints``, zeros for None on a hint model, None without
        hint channels. ConfigError for hints given to a model without them or of the wrong shape."""
        if not self.hints:
            if hints is not None:
                raise ConfigError(NO_HINTS_MESSAGE)
            return None
        if hints is None:
            return L.new_zeros(L.shape[0], HINT_CHANNELS, *L.shape[2:])
        if hints.dim() != 4 or hints.shape[1] != HINT_CHANNELS or hints.shape[0] != L.shape[0] \
                or hints.shape[-2:] != L.shape[-2:]:
            raise ConfigError(f"hints must be (B, {HINT_CHANNELS}, H, W) like L {tuple(L.shape)}, "
                              f"got {tuple(hints.shape)}")
        return hints.to(L.dtype)

    def encode(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Skip features of the (padded) L [and hints]; the last one is the bottleneck. The encoder's
        input normalisation applies to L only; hints are padded as L is."""
        hints = self.check_hints(L, hints)
        x = self._pad(L) * self.in_scale + self.in_shift
        if hints is not None:
            x = torch.cat([x, self._pad(hints)], 1)
        return self.encoder(x)

    def prior_params(self, skips: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z | L): (mu, logvar), each (B, latent_dim) or, spatial, (B, latent_dim, h, w)."""
        return self.prior(skips[-1])

    def posterior_params(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | L, ab): (mu, logvar), shaped as :meth:`prior_params`."""
        return self.posterior(self._pad(L), self._pad(ab))

    def latent_shape(self, L: torch.Tensor) -> tuple[int, ...]:
        """Shape of z for L (B, 1, H, W): (B, latent_dim), or (B, latent_dim, ⌈H/s⌉, ⌈W/s⌉) spatial (s = stride)."""
        if self.config.latent_layout == "global":
            return (L.shape[0], self.latent_dim)
        s = self.size_multiple
        return (L.shape[0], self.latent_dim, -(-L.shape[-2] // s), -(-L.shape[-1] // s))

    def decode_logits(self, skips: list[torch.Tensor], z: torch.Tensor | None,
                      size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Skips + z → (ab_norm (B, 2, *size) in (-1, 1), logits or None).

        The regression head's ab is tanh of its output. The classification head's logits are
        (B, AB_BINS², ⌈H/4⌉, ⌈W/4⌉) (:data:`CLASSIFICATION_STRIDE`) and its ab is their annealed
        mean over the bin centres, upsampled bilinearly to full size.
        """
        def with_z(x: torch.Tensor) -> torch.Tensor:
            if z is None:
                return x
            if z.dim() == 2:
                zx = z[:, :, None, None].expand(-1, -1, *x.shape[-2:])
            else:  # at the bottleneck's own size this bilinear resize is exactly the identity (no shape branch)
                zx = F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=False)
            return torch.cat([x, zx], 1)

        y = self.decoder(skips, self.inject(with_z(skips[-1])))
        if self.config.head == "regression":
            return torch.tanh(self.head(with_z(y)))[..., : size[0], : size[1]], None
        s = CLASSIFICATION_STRIDE  # the padded size is a multiple of the encoder's stride (≥ 4)
        logits = self.head(with_z(F.avg_pool2d(y, s)))
        ab = annealed_mean(logits, self.bin_centers, self.config.annealed_mean_temperature)
        ab = F.interpolate(ab, size=y.shape[-2:], mode="bilinear", align_corners=False)
        return ab[..., : size[0], : size[1]], logits[..., : -(-size[0] // s), : -(-size[1] // s)]

    def decode(self, skips: list[torch.Tensor], z: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor:
        """Skips + z → ab_norm (B, 2, *size) in (-1, 1) (see :meth:`decode_logits`)."""
        return self.decode_logits(skips, z, size)[0]

    def forward(self, L: torch.Tensor, ab: torch.Tensor | None = None,
                hints: torch.Tensor | None = None, prior_decode: bool = False) -> dict[str, torch.Tensor]:
        """Training (``ab`` given): z ~ q(z | L, ab) (its mean in eval mode). Otherwise z = prior mean
        (of p(z | L, hints) for a hint model).

        Returns ``ab`` (B, 2, H, W), ``ab_logits`` (B, AB_BINS², H, W) for the classification
        head, and, for VAEs, ``prior_mu``/``prior_logvar`` and, with ab, ``post_mu``/``post_logvar``
        (shaped as :meth:`latent_shape`). ``prior_decode`` (VAEs with ``ab``): also ``prior_ab``
        (and ``prior_ab_logits``), decoded at the prior mean as at inference, from the same features.
        """
        skips = self.encode(L, hints)
        out: dict[str, torch.Tensor] = {}
        z = None
        if self.latent_dim:
            out["prior_mu"], out["prior_logvar"] = self.prior_params(skips)
            z = out["prior_mu"]
            if ab is not None:
                out["post_mu"], out["post_logvar"] = self.posterior_params(L, ab)
                z = out["post_mu"]
                if self.training:
                    z = z + torch.randn_like(z) * (0.5 * out["post_logvar"]).exp()
                if prior_decode:
                    out["prior_ab"], prior_logits = self.decode_logits(skips, out["prior_mu"], L.shape[-2:])
                    if prior_logits is not None:
                        out["prior_ab_logits"] = prior_logits
        out["ab"], logits = self.decode_logits(skips, z, L.shape[-2:])
        if logits is not None:
            out["ab_logits"] = logits
        return out

    def prior_latent(self, skips: list[torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        """z = prior_mu + noise · prior_std for standard-normal ``noise`` (:meth:`latent_shape`); the
        one place a prior sample is formed (sampling and the exported sampling graph)."""
        mu, logvar = self.prior_params(skips)
        if mu.dim() == 4:  # spatial: noise of another grid size is resized (nearest) to the latent grid
            noise = F.interpolate(noise, size=mu.shape[-2:], mode="nearest")
        return mu + noise * (0.5 * logvar).exp()

    def decode_noise(self, L: torch.Tensor, noise: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """L_norm (B, 1, H, W) and standard-normal noise (:meth:`latent_shape`) [+ hints] → ab_norm (B, 2, H, W)."""
        skips = self.encode(L, hints)
        return self.decode(skips, self.prior_latent(skips, noise), L.shape[-2:])

    @torch.no_grad()
    def sample(self, L: torch.Tensor, n_samples: int = 1, temperature: float = 1.0,
               generator: torch.Generator | None = None, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Draw ``n_samples`` colourings from the prior: (B, 1, H, W) → (B, n_samples, 2, H, W).

        ``temperature`` scales the prior's standard deviation (0 → the prior mean every time).
        The regression model (latent_dim=0) returns ``n_samples`` identical outputs.
        """
        skips = self.encode(L, hints)
        outs = []
        for _ in range(n_samples):
            z = None
            if self.latent_dim:
                eps = torch.randn(self.latent_shape(L), generator=generator, device=L.device, dtype=L.dtype)
                z = self.prior_latent(skips, temperature * eps)
            outs.append(self.decode(skips, z, L.shape[-2:]))
        return torch.stack(outs, 1)


def annealed_mean(logits: torch.Tensor, centers: torch.Tensor, temperature: float) -> torch.Tensor:
    """Zhang et al.'s annealed mean: logits (B, Q, H, W), centers (Q, 2) → ab (B, 2, H, W).

    softmax(logits / T) re-sharpens the distribution (T → 0: its mode, T = 1: its mean).
    """
    p = (logits.float() / temperature).softmax(1)
    return torch.einsum("bqhw,qc->bchw", p, centers.to(p)).to(logits.dtype)
