"""The from-scratch U-Net encoder (Ronneberger et al. 2015): the default for gray EM data."""

from __future__ import annotations

import torch
from torch import nn

from colorseg.models.blocks import DoubleConv, Down
from colorseg.models.encoders.base import Encoder


class UNetEncoder(Encoder):
    """DoubleConv, then ``depth`` × (max-pool, DoubleConv), widths ``base_width · 2**i``.

    (B, in_channels, H, W) → ``depth + 1`` features, feature i: (B, base_width·2**i, H/2**i, W/2**i).
    ``dropout`` applies to the deepest block only. Random initialisation (no pretrained weights);
    input normalisation defaults to mean 0.5, std 0.25 per channel.
    """

    def __init__(self, in_channels: int = 3, depth: int = 4, base_width: int = 32, norm: str = "batch",
                 dropout: float = 0.0) -> None:
        super().__init__()
        widths = [base_width * 2**i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, widths[0], norm)
        self.downs = nn.ModuleList(
            Down(widths[i], widths[i + 1], norm, dropout if i == depth - 1 else 0.0) for i in range(depth))
        self.out_channels = tuple(widths)
        self.strides = tuple(2**i for i in range(depth + 1))
        self.mean = (0.5,) * in_channels
        self.std = (0.25,) * in_channels

    @property
    def input_conv(self) -> nn.Conv2d:
        return self.inc[0]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.inc(x)]
        for down in self.downs:
            features.append(down(features[-1]))
        return features
