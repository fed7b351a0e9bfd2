"""The encoder protocol shared by every registered encoder (after segmentation_models_pytorch).

An encoder maps the normalised input (B, in_channels, H, W), with H and W multiples of
:attr:`Encoder.output_stride`, to a list of feature maps from shallow to deep: feature ``i`` is
(B, ``out_channels[i]``, H / ``strides[i]``, W / ``strides[i]``). Decoders
(:class:`~colorseg.models.decoder.UNetDecoder`) only read these three attributes, so any
registered encoder fits any decoder.

``mean`` / ``std`` are the input normalisation the encoder's pretrained weights expect, per
input channel (the model applies ``(x - mean) / std`` to images in [0, 1] before the encoder).
"""

from __future__ import annotations

import torch
from torch import nn

from colorseg.errors import ConfigError


class Encoder(nn.Module):
    """Base class: subclasses set the attributes in ``__init__`` and implement ``forward``."""

    out_channels: tuple[int, ...]
    strides: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def output_stride(self) -> int:
        """Stride of the deepest feature: inputs are padded to a multiple of it."""
        return self.strides[-1]

    @property
    def input_conv(self) -> nn.Conv2d:  # pragma: no cover - abstract
        """The first convolution, the one that reads the input channels."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Pretrained first-layer weights (out, 3, k, k) adapted to ``in_channels`` inputs.

    1 channel: the sum over the RGB weights, so a gray image x gives exactly the response the
    RGB network gives to (x, x, x) when the normalisation is the same per channel (as in
    segmentation_models_pytorch's ``patch_first_conv``). 3 channels: unchanged. Others refused.
    """
    if in_channels == weight.shape[1]:
        return weight
    if in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    raise ConfigError(f"pretrained encoders take 1 or 3 input channels, got {in_channels}")


def adapt_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """Make a pretrained first convolution take ``in_channels`` inputs, in place (same module, same
    state-dict keys, bias kept): its weights become :func:`adapt_input_conv` of the RGB ones."""
    if in_channels != conv.in_channels:
        conv.weight = nn.Parameter(adapt_input_conv(conv.weight.detach(), in_channels))
        conv.in_channels = in_channels
    return conv


def extend_input_conv(conv: nn.Conv2d, extra_channels: int) -> nn.Conv2d:
    """Append ``extra_channels`` zero-initialised input channels to a convolution, in place (same
    module and state-dict keys, existing weights and bias kept): at first the new inputs have no
    effect, so the network computes exactly what it did before for any values on them."""
    if extra_channels < 0:
        raise ConfigError(f"extra input channels must be >= 0, got {extra_channels}")
    if extra_channels and conv.groups != 1:
        raise ConfigError("cannot add input channels to a grouped first convolution")
    if extra_channels:
        w = conv.weight.detach()
        zeros = w.new_zeros(w.shape[0], extra_channels, *w.shape[2:])
        conv.weight = nn.Parameter(torch.cat([w, zeros], 1))
        conv.in_channels += extra_channels
    return conv


def per_channel(values: tuple[float, ...], in_channels: int) -> tuple[float, ...]:
    """An RGB normalisation constant for ``in_channels`` inputs: 1 channel gets the RGB mean."""
    if in_channels == len(values):
        return tuple(float(v) for v in values)
    if in_channels == 1:
        return (float(sum(values) / len(values)),)
    raise ConfigError(f"cannot adapt a {len(values)}-channel normalisation to {in_channels} channels")
