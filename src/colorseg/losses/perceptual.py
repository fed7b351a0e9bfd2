"""Perceptual loss: L1 distance between frozen pre-trained CNN features of two RGB images.

Follows the "frozen feature extractor" pattern (MONAI's perceptual loss), without its in-place
normalisation: the backbone is in eval mode with ``requires_grad_(False)``, inputs are
normalised out of place, gradients reach ``pred_rgb`` but never the backbone's parameters.

The backbone is deliberately *not* a registered submodule: it is held in a plain attribute so
it is absent from ``state_dict()`` (checkpoints stay small, and its weights are reloaded from the
backbone's package / torch.hub cache when the loss is built), absent from ``parameters()`` (no
optimizer or DDP ever sees it) and untouched by ``train()``. ``_apply`` is extended so that
``.to(device)``, ``.cuda()``, ``.double()`` … still move it with the loss.

Distance: L1 (mean absolute difference) per layer, which is less dominated by a few large
activations than MSE and is what most colourisation work uses; layers are combined by a
weighted mean, ``sum(w_l * d_l) / sum(w_l)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import nn

from colorseg.errors import ConfigError
from colorseg.models.backbones import FeatureBackbone, build_backbone


class PerceptualLoss(nn.Module):
    """Weighted mean over layers of the L1 distance between backbone features.

    Args:
        backbone: a name accepted by :func:`colorseg.models.backbones.build_backbone`.
        layers: feature layer names; None → the backbone's ``default_layers`` (several depths).
        layer_weights: one non-negative weight per layer; None → equal weights.
        pretrained: load ImageNet weights (False: random weights, for shape tests only).

    ``forward(pred_rgb, target_rgb)``: two (B, 3, H, W) float RGB tensors in [0, 1] → scalar.
    """

    _backbone: nn.Module  # set with object.__setattr__: not a registered submodule

    def __init__(self, backbone: str = "efficientnet_lite0", layers: Sequence[str] | None = None,
                 layer_weights: Sequence[float] | None = None, pretrained: bool = True) -> None:
        super().__init__()
        net = build_backbone(backbone, pretrained=pretrained)
        if not isinstance(net, nn.Module):
            raise TypeError(f"backbone {backbone!r} is not an nn.Module")
        net.eval().requires_grad_(False)
        self.layers = list(net.default_layers if layers is None else layers)
        unknown = [n for n in self.layers if n not in net.feature_channels]
        if unknown or not self.layers:
            raise ConfigError(f"perceptual loss: unknown layers {unknown or self.layers} for "
                              f"backbone {backbone!r}; choose from {list(net.feature_channels)}")
        weights = [1.0] * len(self.layers) if layer_weights is None else list(layer_weights)
        if len(weights) != len(self.layers) or min(weights) < 0 or sum(weights) <= 0:
            raise ConfigError(f"perceptual loss: layer_weights {weights} must be one non-negative "
                              f"weight per layer {self.layers}, not all zero")
        self.layer_weights = [float(w) for w in weights]
        self.backbone_name = backbone
        object.__setattr__(self, "_backbone", net)  # bypass nn.Module registration, see above

    @property
    def backbone(self) -> FeatureBackbone:
        """The frozen backbone (not a submodule: not in ``state_dict`` or ``parameters``)."""
        return cast(FeatureBackbone, self._backbone)

    def train(self, mode: bool = True) -> PerceptualLoss:
        """Set this module's mode; the backbone always stays in eval mode."""
        super().train(mode)
        self._backbone.eval()
        return self

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], *args: Any, **kwargs: Any
               ) -> PerceptualLoss:
        """Apply device/dtype moves to the unregistered backbone too."""
        super()._apply(fn, *args, **kwargs)
        self._backbone._apply(fn, *args, **kwargs)
        return self

    def _features(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"expected RGB images (B, 3, H, W), got shape {tuple(rgb.shape)}")
        return self.backbone.features(self.backbone.normalize(rgb), self.layers)

    def _layer_distances(self, pred_rgb: torch.Tensor, target_rgb: torch.Tensor
                         ) -> torch.Tensor:
        """(B, 3, H, W) × 2 → per-image weighted layer mean of L1 feature distances, (B,)."""
        if pred_rgb.shape != target_rgb.shape:
            raise ValueError(f"pred {tuple(pred_rgb.shape)} and target "
                             f"{tuple(target_rgb.shape)} must have the same shape")
        fp = self._features(pred_rgb)
        with torch.set_grad_enabled(torch.is_grad_enabled() and target_rgb.requires_grad):
            ft = self._features(target_rgb)
        total = sum(w * (fp[n] - ft[n]).abs().flatten(1).mean(dim=1)
                    for n, w in zip(self.layers, self.layer_weights, strict=True))
        return total / sum(self.layer_weights)

    def forward(self, pred_rgb: torch.Tensor, target_rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] × 2 → scalar loss (mean over the batch); 0 if equal."""
        return self._layer_distances(pred_rgb, target_rgb).mean()

    @torch.no_grad()
    def feature_distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """No-grad: (B, 3, H, W) RGB in [0, 1] × 2 → per-image distances (B,).

        This is the loss itself, so as an evaluation metric (``feature_distance`` in
        ``metrics.json``) it measures the training objective of any model trained with this
        loss, not an independent quality; see :mod:`colorseg.metrics.feature_distribution`.
        """
        return self._layer_distances(a, b)

    def extra_repr(self) -> str:
        return (f"backbone={self.backbone_name!r}, layers={self.layers}, "
                f"layer_weights={self.layer_weights}")
