"""U-Net (Ronneberger et al. 2015) over any registered encoder, with the input normalisation inside.

``encoder="unet"`` is the classic from-scratch U-Net (configurable depth, width, norm, dropout);
the pretrained encoders of :mod:`colorseg.models.encoders` (EfficientNet-Lite0/1/2, VGG16) take
ImageNet weights with ``encoder_weights="imagenet"``. The decoder
(:class:`~colorseg.models.decoder.UNetDecoder`) is the same for all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from colorseg.errors import ConfigError
from colorseg.models.blocks import NORMS, UPSAMPLES, OutConv
from colorseg.models.decoder import UNetDecoder, default_decoder_channels
from colorseg.models.encoders import EncoderOptions, build_encoder, check_encoder
from colorseg.models.padding import pad_to_multiple

__all__ = ["UNet", "UNetConfig", "pad_to_multiple"]


@dataclass
class UNetConfig:
    """Architecture and input normalisation of :class:`UNet`; stored in checkpoints to rebuild it.

    ``mean`` / ``std``: ``(x - mean) / std`` on inputs in [0, 1], one value or one per channel;
    None: the encoder's own (0.5 / 0.25 for ``unet``, the pretrained weights' for the others).
    ``decoder_channels``: decoder stage widths, deepest first (None: the encoder's default).
    ``depth``, ``base_width``, ``norm`` (of the encoder), ``dropout``: the ``unet`` encoder only.
    """

    in_channels: int = 3
    num_classes: int = 2
    depth: int = 4
    base_width: int = 32
    norm: str = "batch"
    upsample: str = "transpose"
    dropout: float = 0.0
    encoder: str = "unet"
    encoder_weights: str = "none"
    decoder_channels: tuple[int, ...] | None = None
    mean: float | tuple[float, ...] | None = None
    std: float | tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.in_channels not in (1, 3):
            raise ConfigError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if self.num_classes < 2:
            raise ConfigError(f"num_classes must be >= 2 (binary = 2 classes), got {self.num_classes}")
        if not 1 <= self.depth <= 6:
            raise ConfigError(f"depth must be in 1..6, got {self.depth}")
        if self.base_width < 1:
            raise ConfigError(f"base_width must be positive, got {self.base_width}")
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.upsample not in UPSAMPLES:
            raise ConfigError(f"upsample must be one of {UPSAMPLES}, got {self.upsample!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        check_encoder(self.encoder, self.encoder_weights)
        if self.decoder_channels is not None:
            self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
            if not self.decoder_channels or min(self.decoder_channels) < 1:
                raise ConfigError(f"decoder_channels must be positive widths, got {self.decoder_channels}")
        for key in ("mean", "std"):
            value = getattr(self, key)
            if value is None:
                continue
            values = (value,) if isinstance(value, (int, float)) else tuple(value)
            if len(values) not in (1, self.in_channels) or (key == "std" and min(values) <= 0):
                raise ConfigError(f"{key} must be one {'positive ' if key == 'std' else ''}number or one per "
                                  f"input channel ({self.in_channels}), got {value!r}")

    @classmethod
    def from_dict(cls, values: dict) -> UNetConfig:
        """The config from a dict that may hold other keys (e.g. a module's hyper-parameters)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def to_dict(self) -> dict:
        return asdict(self)


def _per_channel(value, default: tuple[float, ...], channels: int) -> torch.Tensor:
    values = default if value is None else ((value,) if isinstance(value, (int, float)) else tuple(value))
    return torch.tensor(values, dtype=torch.float32).expand(channels).clone().view(1, channels, 1, 1)


class UNet(nn.Module):
    """Encoder–decoder with skip connections; binary segmentation uses 2 classes (softmax).

    Input (B, in_channels, H, W) in [0, 1] of any H, W: normalised with ``mean`` / ``std``,
    reflect-padded to a multiple of the encoder's output stride (:attr:`size_multiple`), and the
    logits (B, num_classes, H, W) are cropped back.
    """

    def __init__(self, config: UNetConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = c = config or UNetConfig(**kwargs)
        self.encoder = build_encoder(c.encoder, c.encoder_weights, EncoderOptions(
            in_channels=c.in_channels, depth=c.depth, base_width=c.base_width, norm=c.norm, dropout=c.dropout))
        enc = self.encoder
        channels = c.decoder_channels or default_decoder_channels(enc.out_channels, enc.strides, c.encoder == "unet")
        try:
            self.decoder = UNetDecoder(enc.out_channels, enc.strides, channels, c.norm, c.upsample)
        except ValueError as exc:
            raise ConfigError(f"decoder_channels for encoder {c.encoder!r}: {exc}") from exc
        self.outc = OutConv(self.decoder.out_channels, c.num_classes)
        # the normalisation is part of the model (inference, export and training share it); not saved
        self.register_buffer("mean", _per_channel(c.mean, enc.mean, c.in_channels), persistent=False)
        self.register_buffer("std", _per_channel(c.std, enc.std, c.in_channels), persistent=False)

    @property
    def size_multiple(self) -> int:
        return self.encoder.output_stride

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] → ``(x - mean) / std`` (out of place)."""
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] → logits (B, num_classes, H, W)."""
        h, w = x.shape[-2:]
        features = self.encoder(pad_to_multiple(self.normalize(x), self.size_multiple))
        return self.outc(self.decoder(features))[..., :h, :w]
