"""U-Net building blocks (after milesial's ``unet_parts``): DoubleConv, Down, Up, OutConv."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "group", "none")
UPSAMPLES = ("transpose", "bilinear")


def make_norm(kind: str, channels: int) -> nn.Module:
    """BatchNorm2d, GroupNorm (8 groups or fewer) or Identity."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; choose one of {NORMS}")


class DoubleConv(nn.Sequential):
    """(conv 3×3 → norm → ReLU) × 2, with optional dropout. (B, in, H, W) → (B, out, H, W)."""

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch", dropout: float = 0.0) -> None:
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=bias), make_norm(norm, out_ch), nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=bias), make_norm(norm, out_ch), nn.ReLU(inplace=True),
        ]
        if dropout > 0:
            layers.append(nn.Dropout2d(dropout))
        super().__init__(*layers)


class Down(nn.Sequential):
    """Max-pool ×2 then DoubleConv. (B, in, H, W) → (B, out, H/2, W/2)."""

    def __init__(self, in_ch: int, out_ch: int, norm: str = "batch", dropout: float = 0.0) -> None:
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_ch, out_ch, norm, dropout))


class Up(nn.Module):
    """Upsample ×2, pad to the skip's size (odd sizes work), concatenate, DoubleConv.

    ``x`` (B, in, h, w) and ``skip`` (B, skip_ch, H, W) → (B, out, H, W). ``skip_ch=0``: no skip
    (``skip=None``), (B, in, h, w) → (B, out, 2h, 2w).
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, norm: str = "batch",
                 upsample: str = "transpose", dropout: float = 0.0) -> None:
        super().__init__()
        if upsample == "transpose":
            self.up = nn.ConvTranspose2d(in_ch, in_ch // 2, 2, stride=2)
        elif upsample == "bilinear":
            self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                    nn.Conv2d(in_ch, in_ch // 2, 1))
        else:
            raise ValueError(f"unknown upsample {upsample!r}; choose one of {UPSAMPLES}")
        self.conv = DoubleConv(in_ch // 2 + skip_ch, out_ch, norm, dropout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = self.up(x)
        if skip is None:
            return self.conv(x)
        dh, dw = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
        if dh or dw:
            x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Conv2d):
    """1×1 convolution to class logits."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__(in_ch, out_ch, kernel_size=1)
