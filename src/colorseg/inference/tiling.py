"""Sliding-window (overlap-tile) prediction for images of any size in bounded memory.

The image is cut into ``tile × tile`` windows on a grid with stride ``tile − overlap`` (rounded
down to the model's size multiple, so every window sees the same down-sampling phase). Windows
that reach past the border read mirrored pixels (the U-Net paper's overlap-tile strategy), and
the image is mirror-padded by half the overlap so border pixels get context too. Per-window
class probabilities are weighted by a smooth window (Gaussian, σ = tile/8 as in nnU-Net, or a
raised cosine) and averaged.

Memory is bounded: tiles are read from the source array one row of windows at a time, and only
a strip of ``tile`` rows of accumulated probabilities is kept; finished rows are reduced to
class indices at once. An 8192×8192 image needs the image itself, the uint8 result and a strip
of K × tile × W floats, not K full-size probability maps (unless ``return_probs`` asks for them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from colorseg.errors import ConfigError
from colorseg.models.padding import mirror_index

BLENDS = ("gaussian", "cosine", "constant")
TTAS = ("none", "hflip", "flips", "d4")


@dataclass
class TileConfig:
    """Tiled-inference settings.

    tile: window side in pixels (rounded up to the model's size multiple).
    overlap: pixels shared by neighbouring windows (rounded so the stride is a size multiple).
    blend: window weights: ``gaussian`` | ``cosine`` | ``constant``.
    batch_size: windows per forward pass.
    tta: test-time augmentation averaged over ``none`` | ``hflip`` (2: identity and the left-right
        mirror, for scenes with an up direction such as street photos) | ``flips`` (4: identity, h,
        v, hv) | ``d4`` (8: the four 90° rotations, each also flipped).
    """

    tile: int = 512
    overlap: int = 128
    blend: str = "gaussian"
    batch_size: int = 4
    tta: str = "none"

    def __post_init__(self) -> None:
        if self.tile < 8:
            raise ConfigError(f"tile must be >= 8 pixels, got {self.tile}")
        if not 0 <= self.overlap < self.tile:
            raise ConfigError(f"overlap must be in [0, tile), got {self.overlap} for tile {self.tile}")
        if self.blend not in BLENDS:
            raise ConfigError(f"unknown blend {self.blend!r}; choose one of {', '.join(BLENDS)}")
        if self.tta not in TTAS:
            raise ConfigError(f"unknown tta {self.tta!r}; choose one of {', '.join(TTAS)}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")


def blend_window(size: int | tuple[int, int], kind: str) -> torch.Tensor:
    """(h, w) float32 weights (``size`` an int: square), 1 at the centre, strictly positive at the edges."""
    if kind not in BLENDS:
        raise ConfigError(f"unknown blend {kind!r}; choose one of {', '.join(BLENDS)}")
    h, w = (size, size) if isinstance(size, int) else size
    window = torch.outer(_window_1d(h, kind), _window_1d(w, kind))
    return (window / window.max()).clamp_min(1e-3).float()


def _window_1d(n: int, kind: str) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float64) + 0.5 - n / 2
    if kind == "gaussian":
        return torch.exp(-0.5 * (pos / (n / 8)) ** 2)
    if kind == "cosine":
        return 0.5 + 0.5 * torch.cos(math.pi * pos / (n / 2))
    return torch.ones(n, dtype=torch.float64)


def apply_tta(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tta: str) -> torch.Tensor:
    """Average ``predict`` (B, C, h, w) → (B, K, h, w) over flips / 90° rotations, each undone."""
    if tta == "none":
        return predict(x)
    rotations = (0, 1, 2, 3) if tta == "d4" else (0,)
    flips = {"hflip": ((), (-1,)), "flips": ((), (-1,), (-2,), (-2, -1))}.get(tta, ((), (-1,)))
    total, count = None, 0
    for k in rotations:
        for dims in flips:
            y = torch.rot90(x, k, (-2, -1)) if k else x
            y = torch.flip(y, dims) if dims else y
            p = predict(y)
            p = torch.flip(p, dims) if dims else p
            p = torch.rot90(p, -k, (-2, -1)) if k else p
            total = p if total is None else total + p
            count += 1
    return total / count


def _grid(n: int, tile: int, stride: int, margin: int) -> list[int]:
    """Window origins (may be negative) covering [−margin, n + margin)."""
    count = max(1, math.ceil((n + 2 * margin - tile) / stride) + 1)
    return [-margin + i * stride for i in range(count)]


def predict_tiled(predict: Callable[[torch.Tensor], torch.Tensor], image: np.ndarray,
                  to_tensor: Callable[[np.ndarray], torch.Tensor], num_classes: int, config: TileConfig,
                  multiple: int = 1, return_probs: bool = False, progress: Callable[[int], None] | None = None):
    """Tiled prediction of one image.

    Args:
        predict: (B, C, th, tw) windows → (B, K, th, tw) class probabilities (windows are
            ``tile`` square, or shorter along a side where the image is shorter than a tile).
        image: (H, W[, C]) array in any dtype ``to_tensor`` accepts; read one window at a time.
        to_tensor: (th, tw[, C]) window array → (C, th, tw) float tensor on the model's device.
        multiple: the model's size multiple; tile and stride are rounded to it.
        progress: called with the number of windows done after each batch.

    Returns:
        Class indices (H, W) (uint8 when K ≤ 256, else int32), and with ``return_probs`` also
        probabilities (K, H, W) float32.
    """
    h, w = image.shape[:2]
    tile = math.ceil(config.tile / multiple) * multiple
    stride = max(multiple, (tile - config.overlap) // multiple * multiple)
    margin = (tile - stride) // 2
    # a side shorter than a tile gets one window just large enough (thin images stay cheap)
    th, tw = (min(tile, math.ceil((n + 2 * margin) / multiple) * multiple) for n in (h, w))
    ys, xs = _grid(h, th, stride, margin), _grid(w, tw, stride, margin)
    width = xs[-1] + tw - xs[0]
    weight = blend_window((th, tw), config.blend)
    dtype = np.uint8 if num_classes <= 256 else np.int32
    labels = np.empty((h, w), dtype=dtype)
    probs = np.empty((num_classes, h, w), dtype=np.float32) if return_probs else None
    acc = torch.zeros(num_classes, th, width)
    wsum = torch.zeros(th, width)
    col_idx = [mirror_index(np.arange(x, x + tw), w) for x in xs]
    done = 0
    for row, y in enumerate(ys):
        rows = mirror_index(np.arange(y, y + th), h)
        for start in range(0, len(xs), config.batch_size):
            cols = col_idx[start: start + config.batch_size]
            batch = torch.stack([to_tensor(image[np.ix_(rows, c)]) for c in cols])
            with torch.inference_mode():
                out = apply_tta(predict, batch, config.tta).float().cpu()
            for i, p in enumerate(out):
                x = xs[start + i] - xs[0]
                acc[:, :, x: x + tw] += p * weight
                wsum[:, x: x + tw] += weight
            done += len(cols)
            if progress is not None:
                progress(done)
        last = row == len(ys) - 1
        final = th if last else stride  # rows no later window touches
        _emit(acc[:, :final] / wsum[:final], y, -xs[0], h, w, labels, probs)
        if not last:
            acc = torch.cat([acc[:, stride:], torch.zeros(num_classes, stride, width)], 1)
            wsum = torch.cat([wsum[stride:], torch.zeros(stride, width)], 0)
    return (labels, probs) if return_probs else labels


def _emit(strip: torch.Tensor, y: int, x_off: int, h: int, w: int, labels: np.ndarray,
          probs: np.ndarray | None) -> None:
    """Write the finished strip (K, n, width), starting at image row ``y``, into the outputs."""
    top, bottom = max(0, y), min(h, y + strip.shape[1])
    if bottom <= top:
        return
    part = strip[:, top - y: bottom - y, x_off: x_off + w]
    labels[top:bottom] = argmax_classes(part).numpy().astype(labels.dtype)
    if probs is not None:
        probs[:, top:bottom] = part.numpy()


def argmax_classes(probs: torch.Tensor) -> torch.Tensor:
    """(K, H, W) → (H, W) int32 index of the largest class (first on ties, like ``argmax``).

    One elementwise pass per class: much faster than ``argmax(0)`` on strided strips.
    """
    best = probs[0].clone()
    index = torch.zeros(best.shape, dtype=torch.int32)
    for k in range(1, probs.shape[0]):
        better = probs[k] > best
        index[better] = k
        best = torch.maximum(best, probs[k])
    return index
