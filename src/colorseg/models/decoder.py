"""U-Net decoder over any registered encoder's features (see :mod:`colorseg.models.encoders`)."""

from __future__ import annotations

import torch
from torch import nn

from colorseg.models.blocks import Up


def default_decoder_channels(encoder_channels: tuple[int, ...], encoder_strides: tuple[int, ...],
                             from_scratch: bool) -> tuple[int, ...]:
    """Widths of the decoder stages, deepest first.

    From scratch (the classic U-Net): each stage as wide as the skip it joins. Pretrained
    encoders: 256 halving per stage, at least 16 (segmentation_models_pytorch's U-Net default),
    with extra stages (no skip) from the shallowest feature's stride up to stride 1.
    """
    if from_scratch:
        return tuple(reversed(encoder_channels[:-1]))
    stages = len(encoder_channels) - 1 + (encoder_strides[0].bit_length() - 1)
    return tuple(max(16, 256 // 2**i) for i in range(stages))


class UNetDecoder(nn.Module):
    """Features (shallow → deep, strides ``encoder_strides``) → (B, channels[-1], H, W) at stride 1.

    One :class:`~colorseg.models.blocks.Up` stage per skip (upsample ×2, concatenate the skip,
    DoubleConv), deepest first, then stages without a skip until stride 1 when the shallowest
    feature has stride > 1 (EfficientNet: stride 2). ``bottleneck`` is the deepest feature's
    channel count as seen by the decoder (a model may transform the bottleneck first).
    """

    def __init__(self, encoder_channels: tuple[int, ...], encoder_strides: tuple[int, ...],
                 channels: tuple[int, ...], norm: str = "batch", upsample: str = "transpose",
                 bottleneck: int | None = None) -> None:
        super().__init__()
        skips = list(encoder_channels[:-1])[::-1]
        extra = encoder_strides[0].bit_length() - 1  # log2 of the shallowest stride
        if len(channels) != len(skips) + extra:
            raise ValueError(f"decoder needs {len(skips) + extra} stage widths, got {len(channels)}")
        previous = bottleneck or encoder_channels[-1]
        self.ups = nn.ModuleList()
        for i, width in enumerate(channels):
            skip = skips[i] if i < len(skips) else 0
            self.ups.append(Up(previous, skip, width, norm, upsample))
            previous = width
        self.out_channels = previous

    def forward(self, features: list[torch.Tensor], bottleneck: torch.Tensor | None = None) -> torch.Tensor:
        """``features`` from the encoder; ``bottleneck`` replaces the deepest one when given."""
        skips = list(features[:-1])
        y = features[-1] if bottleneck is None else bottleneck
        for up in self.ups:
            y = up(y, skips.pop() if skips else None)
        return y
