"""Conditional VAE colorizer: ab from L, with a learned conditional prior (Kohl et al. 2018).

* L encoder: U-Net encoder on L → skip features and a bottleneck.
* prior p(z | L): from the pooled bottleneck → (mu, logvar) of a diagonal Gaussian.
* posterior q(z | L, ab): a separate conv encoder on [L, ab] → (mu, logvar).
* decoder: U-Net decoder over the L skips; z is tiled and injected at the bottleneck and again
  before the output head (the Probabilistic U-Net's "combination" layers). Output: tanh ab_norm.

``latent_dim=0`` gives the deterministic regression baseline with the same decoder.
Inference is deterministic in ``eval()`` (prior mean); sampling is explicit
(:meth:`ConditionalVAE.sample` with ``n_samples`` and ``temperature``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from colorseg.errors import ConfigError
from colorseg.models.blocks import NORMS, DoubleConv, Down, Up
from colorseg.models.unet import pad_to_multiple


@dataclass
class CVAEConfig:
    """Architecture; stored in checkpoints."""

    latent_dim: int = 8
    base_width: int = 32
    depth: int = 4
    norm: str = "batch"
    posterior_width: int = 16

    def __post_init__(self) -> None:
        if self.latent_dim < 0:
            raise ConfigError(f"latent_dim must be >= 0, got {self.latent_dim}")
        if not 1 <= self.depth <= 6:
            raise ConfigError(f"depth must be in 1..6, got {self.depth}")
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.base_width < 1 or self.posterior_width < 1:
            raise ConfigError("base_width and posterior_width must be positive")

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


class PosteriorNet(nn.Module):
    """q(z | L, ab): conv encoder on (B, 3, H, W) → (mu, logvar)."""

    def __init__(self, width: int, depth: int, latent_dim: int, norm: str) -> None:
        super().__init__()
        widths = [width * 2**min(i, 3) for i in range(depth + 1)]
        self.inc = DoubleConv(3, widths[0], norm)
        self.downs = nn.Sequential(*[Down(widths[i], widths[i + 1], norm) for i in range(depth)])
        self.head = GaussianHead(widths[-1], latent_dim)

    def forward(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.downs(self.inc(torch.cat([L, ab], 1))))


class ConditionalVAE(nn.Module):
    """L_norm (B, 1, H, W) [+ ab_norm (B, 2, H, W) in training] → ab_norm (B, 2, H, W).

    Any H, W: inputs are reflect-padded to a multiple of ``2**depth`` and outputs cropped back.
    """

    def __init__(self, config: CVAEConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = c = config or CVAEConfig(**kwargs)
        widths = [c.base_width * 2**i for i in range(c.depth + 1)]
        self.inc = DoubleConv(1, widths[0], c.norm)
        self.downs = nn.ModuleList(Down(widths[i], widths[i + 1], c.norm) for i in range(c.depth))
        zc = c.latent_dim
        self.inject = nn.Conv2d(widths[-1] + zc, widths[-1], 1)
        self.ups = nn.ModuleList(Up(widths[i + 1], widths[i], widths[i], c.norm) for i in reversed(range(c.depth)))
        self.head = nn.Sequential(nn.Conv2d(widths[0] + zc, widths[0], 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(widths[0], widths[0], 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(widths[0], 2, 1))
        if zc:
            self.prior = GaussianHead(widths[-1], zc)
            self.posterior = PosteriorNet(c.posterior_width, c.depth, zc, c.norm)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        return pad_to_multiple(x, 2**self.config.depth)

    def encode(self, L: torch.Tensor) -> list[torch.Tensor]:
        """Skip features of the (padded) L; the last one is the bottleneck."""
        skips = [self.inc(self._pad(L))]
        for down in self.downs:
            skips.append(down(skips[-1]))
        return skips

    def prior_params(self, skips: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z | L): (mu, logvar), each (B, latent_dim)."""
        return self.prior(skips[-1])

    def posterior_params(self, L: torch.Tensor, ab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | L, ab): (mu, logvar), each (B, latent_dim)."""
        return self.posterior(self._pad(L), self._pad(ab))

    def decode(self, skips: list[torch.Tensor], z: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor:
        """Skips + z (B, latent_dim) → ab_norm (B, 2, *size) in (-1, 1)."""
        def tile(x: torch.Tensor) -> torch.Tensor:
            if z is None:
                return x
            return torch.cat([x, z[:, :, None, None].expand(-1, -1, *x.shape[-2:])], 1)

        skips = list(skips)
        y = self.inject(tile(skips.pop()))
        for up in self.ups:
            y = up(y, skips.pop())
        return torch.tanh(self.head(tile(y)))[..., : size[0], : size[1]]

    def forward(self, L: torch.Tensor, ab: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Training (``ab`` given): z ~ q(z | L, ab) (its mean in eval mode). Otherwise z = prior mean.

        Returns ``ab`` (B, 2, H, W) and, for VAEs, ``prior_mu``/``prior_logvar`` and, with ab,
        ``post_mu``/``post_logvar`` (B, latent_dim).
        """
        skips = self.encode(L)
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
        out["ab"] = self.decode(skips, z, L.shape[-2:])
        return out

    @torch.no_grad()
    def sample(self, L: torch.Tensor, n_samples: int = 1, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n_samples`` colourings from the prior: (B, 1, H, W) → (B, n_samples, 2, H, W).

        ``temperature`` scales the prior's standard deviation (0 → the prior mean every time).
        The regression model (latent_dim=0) returns ``n_samples`` identical outputs.
        """
        skips = self.encode(L)
        outs = []
        for _ in range(n_samples):
            z = None
            if self.latent_dim:
                mu, logvar = self.prior_params(skips)
                eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
                z = mu + temperature * eps * (0.5 * logvar).exp()
            outs.append(self.decode(skips, z, L.shape[-2:]))
        return torch.stack(outs, 1)
