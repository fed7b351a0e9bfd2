"""Built-in procedurally generated segmentation data (no files, no network).

Two seeded generators; the same ``(seed, index)`` always gives the same pair:

* :func:`make_shapes_sample` — multi-class RGB: textured circles, squares and triangles
  (classes 1..3) on a textured, noisy background (class 0). Shape classes differ by geometry
  and by texture, and their colours overlap, so a model must look at shape, not colour alone.
* :func:`make_em_sample` — EM-like binary gray: Voronoi "cells" (label 1) separated by thin
  dark membranes (label 0), with grainy texture and blur, like ISBI 2012.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SHAPES_CLASSES = ["background", "circle", "square", "triangle"]
SHAPES_COLORS = [(40, 40, 40), (230, 25, 75), (60, 180, 75), (0, 130, 200)]
EM_CLASSES = ["membrane", "cell"]
EM_COLORS = [(255, 0, 255), (0, 0, 0)]


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, index])


def _texture(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth random field in [0, 1], (H, W)."""
    noise = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma=scale)
    noise -= noise.min()
    return noise / max(noise.max(), 1e-8)


def make_shapes_sample(seed: int, index: int, size: int = 128, max_shapes: int = 6):
    """One multi-class sample: image float32 (H, W, 3) in [0, 1], mask int64 (H, W) in 0..3."""
    rng = _rng(seed, index)
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = rng.uniform(0.2, 0.8, size=3)
    bg = base[None, None, :] * (0.6 + 0.4 * _texture(rng, h, w, 6.0)[:, :, None])
    image = bg.astype(np.float32)
    mask = np.zeros((h, w), dtype=np.int64)
    for _ in range(int(rng.integers(2, max_shapes + 1))):
        cls = int(rng.integers(1, 4))
        r = rng.uniform(0.07, 0.16) * size
        cy, cx = rng.uniform(r, h - r), rng.uniform(r, w - r)
        if cls == 1:
            region = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
            pattern = 0.5 + 0.5 * np.sin(np.hypot(yy - cy, xx - cx) / 1.5)  # rings
        elif cls == 2:
            region = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
            pattern = ((yy // 4 + xx // 4) % 2).astype(np.float32)  # checkers
        else:
            region = (yy <= cy + r) & (np.abs(xx - cx) <= (yy - (cy - r)) * 0.577)
            region &= yy >= cy - r
            pattern = 0.5 + 0.5 * np.sin((xx + yy) / 1.2)  # diagonal stripes
        colour = rng.uniform(0.1, 0.9, size=3)
        shaded = colour[None, None, :] * (0.55 + 0.45 * pattern[:, :, None])
        image = np.where(region[:, :, None], shaded, image)
        mask[region] = cls
    image = image + rng.normal(0, 0.04, size=image.shape)
    return np.clip(image, 0, 1).astype(np.float32), mask


def make_em_sample(seed: int, index: int, size: int = 128, cells: int = 30):
    """One EM-like sample: image float32 (H, W, 1) in [0, 1], mask int64 (H, W): 1 cell, 0 membrane."""
    rng = _rng(seed, index)
    h = w = size
    points = rng.uniform(0, size, size=(cells, 2))
    yy, xx = np.mgrid[0:h, 0:w]
    d = (yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2
    owner = d.argmin(-1)
    boundary = np.zeros((h, w), dtype=bool)
    boundary[:-1] |= owner[:-1] != owner[1:]
    boundary[:, :-1] |= owner[:, :-1] != owner[:, 1:]
    thickness = int(rng.integers(1, 3))
    membrane = ndimage.binary_dilation(boundary, iterations=thickness)
    cell_tone = rng.uniform(0.55, 0.8, size=cells)[owner]
    image = cell_tone * (0.8 + 0.2 * _texture(rng, h, w, 2.0))
    image = np.where(membrane, 0.15 + 0.1 * rng.random((h, w)), image)
    image = ndimage.gaussian_filter(image, 0.8) + rng.normal(0, 0.05, size=(h, w))
    mask = (~membrane).astype(np.int64)
    return np.clip(image, 0, 1).astype(np.float32)[:, :, None], mask
