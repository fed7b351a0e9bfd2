"""Vector shapes → pixel masks, with one rule for every format (COCO, labelme, CVAT).

Coordinates are continuous image coordinates: pixel (row *r*, column *c*) is the unit square
``[c, c+1) × [r, r+1)``, so a box from (1, 1) to (4, 3) covers columns 1–3 and rows 1–2.
Polygons are filled by pycocotools (``frPyObjects`` → ``merge`` → ``decode``), the COCO API's own
rasteriser, which COCO's masks and evaluation use. Boxes (optionally rotated) and circles /
ellipses become polygons first (ellipses with about one vertex per pixel of perimeter), so every
shape goes through the same rasteriser. Parts outside the image are clipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pycocotools import mask as mask_utils

from colorseg.errors import DataError

MAX_COORDINATE = 1e6  # beyond this pycocotools' integer arithmetic is not safe


def check_points(values: Sequence, where: str, min_points: int = 3) -> list[float]:
    """Flat ``[x0, y0, x1, y1, …]`` of finite numbers with at least ``min_points`` points, as floats."""
    if not isinstance(values, (list, tuple)):
        raise DataError(f"{where}: points must be a list of numbers, got {type(values).__name__}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise DataError(f"{where}: points must be numbers")
    out = [float(v) for v in values]
    if len(out) % 2:
        raise DataError(f"{where}: {len(out)} coordinates is not a whole number of (x, y) points")
    if len(out) < 2 * min_points:
        raise DataError(f"{where}: polygon with {len(out) // 2} point(s); a polygon needs at least {min_points}")
    if not all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in out):
        raise DataError(f"{where}: coordinates must be finite and within ±{MAX_COORDINATE:g}")
    return out


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Filled union of flat polygons ``[[x0, y0, x1, y1, …], …]`` (each ≥ 3 points) → bool (H, W)."""
    if not polygons:
        return np.zeros((height, width), dtype=bool)
    rles = mask_utils.frPyObjects([list(map(float, p)) for p in polygons], height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def _rotate(points: list[tuple[float, float]], cx: float, cy: float, degrees: float) -> list[float]:
    """Rotate about (cx, cy) by ``degrees`` clockwise on screen (image y points down), flattened."""
    a = math.radians(degrees)
    cos, sin = math.cos(a), math.sin(a)
    out: list[float] = []
    for x, y in points:
        dx, dy = x - cx, y - cy
        out += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return out


def box_polygon(x0: float, y0: float, x1: float, y1: float, rotation: float = 0.0) -> list[float]:
    """Corners of the box spanned by two opposite corners (any order), rotated about its centre."""
    left, right, top, bottom = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
    corners = [(left, top), (right, top), (right, bottom), (left, bottom)]
    return _rotate(corners, (left + right) / 2, (top + bottom) / 2, rotation)


def ellipse_polygon(cx: float, cy: float, rx: float, ry: float, rotation: float = 0.0) -> list[float]:
    """Polygon approximating the ellipse with radii ``rx``, ``ry`` (a circle when equal)."""
    n = max(16, math.ceil(2 * math.pi * max(abs(rx), abs(ry))))
    pts = [(cx + rx * math.cos(2 * math.pi * i / n), cy + ry * math.sin(2 * math.pi * i / n)) for i in range(n)]
    return _rotate(pts, cx, cy, rotation)
