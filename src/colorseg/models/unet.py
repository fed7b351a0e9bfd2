"""U-Net (Ronneberger et al. 2015) with configurable depth, width, norm, upsampling and dropout."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.errors import ConfigError
from colorseg.models.blocks import NORMS, UPSAMPLES, DoubleConv, Down, OutConv, Up


@dataclass
class UNetConfig:
    """Architecture of :class:`UNet`; stored in checkpoints to rebuild the model."""

    in_channels: int = 3
    num_classes: int = 2
    depth: int = 4
    base_width: int = 32
    norm: str = "batch"
    upsample: str = "transpose"
    dropout: float = 0.0

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

    def to_dict(self) -> dict:
        return asdict(self)


class UNet(nn.Module):
    """Encoder–decoder with skip connections; binary segmentation uses 2 classes (softmax).

    Input (B, in_channels, H, W) of any H, W: it is reflect-padded to a multiple of
    ``2**depth`` and the logits (B, num_classes, H, W) are cropped back.
    """

    def __init__(self, config: UNetConfig | None = None, **kwargs) -> None:
        super().__init__()
        self.config = config or UNetConfig(**kwargs)
        c = self.config
        widths = [c.base_width * 2**i for i in range(c.depth + 1)]
        self.inc = DoubleConv(c.in_channels, widths[0], c.norm)
        self.downs = nn.ModuleList(
            Down(widths[i], widths[i + 1], c.norm, c.dropout if i == c.depth - 1 else 0.0)
            for i in range(c.depth))
        self.ups = nn.ModuleList(
            Up(widths[i + 1], widths[i], widths[i], c.norm, c.upsample) for i in reversed(range(c.depth)))
        self.outc = OutConv(widths[0], c.num_classes)

    @property
    def size_multiple(self) -> int:
        return 2**self.config.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.size_multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        return self.outc(y)[..., :h, :w]
