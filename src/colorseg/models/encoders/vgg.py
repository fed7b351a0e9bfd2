"""VGG16 encoder with ImageNet weights from torch.hub's cache (downloaded once; online users)."""

from __future__ import annotations

import torch
from torch import nn

from colorseg.models.backbones.vgg import FEATURES, MEAN, STD, VGGFeatureStack, vgg16
from colorseg.models.encoders.base import Encoder, adapt_first_conv, per_channel

FEATURE_NAMES = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


class VGG16Encoder(Encoder):
    """VGG16 convolutional stack up to relu5_3 (the last max-pool is not needed).

    (B, in_channels, H, W), H and W multiples of 16 → 5 features at strides 1, 2, 4, 8, 16 with
    64, 128, 256, 512, 512 channels. ``pretrained`` loads torchvision's ImageNet weights through
    torch.hub's cache; offline without a cached file it raises CheckpointError naming the cache
    path, the URL and the offline alternatives. A 1-channel first convolution sums the RGB weights
    and the normalisation becomes the mean of ImageNet's per-channel mean and std (approximate:
    ImageNet's per-channel constants differ slightly).
    """

    def __init__(self, in_channels: int = 3, pretrained: bool = True) -> None:
        super().__init__()
        self.features = vgg16(pretrained=True).features if pretrained else VGGFeatureStack()
        last = FEATURES[FEATURE_NAMES[-1]][0]
        del self.features[last + 1:]  # drop the final max-pool
        adapt_first_conv(self.features[0], in_channels)
        self._taps = {FEATURES[n][0]: i for i, n in enumerate(FEATURE_NAMES)}
        self.out_channels = tuple(FEATURES[n][1] for n in FEATURE_NAMES)
        self.strides = tuple(FEATURES[n][2] for n in FEATURE_NAMES)
        self.mean = per_channel(MEAN, in_channels)
        self.std = per_channel(STD, in_channels)

    @property
    def input_conv(self) -> nn.Conv2d:
        return self.features[0]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features: list[torch.Tensor] = []
        h = x
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self._taps:
                features.append(h)
        return features
