"""U-Net (Ronneberger et al. 2015) with configurable depth, width, norm, upsampling and dropout."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
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


def _pad_index(size, multiple: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Source rows (or columns) of one side padded to ``multiple``: (reflect, replicate) index vectors.

    The reflect vector has negative entries when the pad is not smaller than ``size``."""
    i = torch.arange((size + multiple - 1) // multiple * multiple, device=device)
    return torch.where(i < size, i, 2 * (size - 1) - i), i.clamp(max=size - 1)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (..., H, W) at the bottom and right up to multiples of ``multiple``.

    Reflect padding, or replicate when the image is too small to reflect (a pad not smaller than
    its side), exactly as ``F.pad(x, (0, pw, 0, ph), mode=...)``. Written as an index gather with no
    Python branch on the size, so ``torch.jit.trace`` and ``torch.export`` (ONNX) keep H and W
    dynamic; the padded size ``ceil(H / multiple) * multiple`` is visibly a multiple, so the
    decoder's size checks need no guards.
    """
    h, w = x.shape[-2:]
    if isinstance(h, int) and isinstance(w, int) and h % multiple == 0 and w % multiple == 0:
        return x  # eager (concrete sizes), nothing to pad: no copy
    rows_reflect, rows_replicate = _pad_index(h, multiple, x.device)
    cols_reflect, cols_replicate = _pad_index(w, multiple, x.device)
    reflect = (rows_reflect[-1] >= 0) & (cols_reflect[-1] >= 0)  # the last index is the smallest
    rows = torch.where(reflect, rows_reflect, rows_replicate)
    cols = torch.where(reflect, cols_reflect, cols_replicate)
    return x.index_select(-2, rows).index_select(-1, cols)


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
        skips = [self.inc(pad_to_multiple(x, self.size_multiple))]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        return self.outc(y)[..., :h, :w]
