"""The Segment tab's logic, without Gradio: an upload → class-index mask (with a segmentation
checkpoint), the overlay at an opacity, the class legend, the per-class area table and the mask PNG.

Masks are predicted at the input's full size (tiled when large, see
:class:`~colorseg.inference.segmenter.Segmenter`); the page shows the overlay at preview size and
the download is the mask itself: one channel of class indices (8-bit, 16-bit past 256 classes),
the input's size, as ``colorseg segment predict`` writes it.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from colorseg.app.colorize_tab import Progress, _no_progress
from colorseg.app.images import PREVIEW_SIDE, preview_shape, read_upload, resize_image, resize_labels
from colorseg.errors import ConfigError
from colorseg.inference.predict_folder import save_label_png
from colorseg.inference.segmenter import Segmenter, overlay

AREA_COLUMNS = ("class", "pixels", "%")


@dataclass
class Segmented:
    """One segmented upload.

    name: the uploaded file's name; image: float32 (H, W, C) in [0, 1], C = 1 or 3, as read;
    mask: class indices (H, W) (uint8, or int32 past 256 classes); preview / preview_mask: the
    image (h, w, C) and mask (h, w) at the page's size; class_names / class_colors: the model's.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    preview: np.ndarray
    preview_mask: np.ndarray
    class_names: list[str]
    class_colors: list[tuple[int, int, int]]


def load_segment_image(path: str | Path, name: str | None = None, max_pixels: int | None = None) -> np.ndarray:
    """An upload → float32 (H, W, C) in [0, 1] (C = 1 or 3 as stored; the segmenter converts to
    its channel count). DataError naming ``name`` for a file that is not an image, corrupt or
    over the pixel limit."""
    return read_upload(path, name or Path(path).name, max_pixels=max_pixels)


def segment_image(segmenter: Segmenter, image: np.ndarray, name: str, max_side: int = PREVIEW_SIDE,
                  progress: Progress = _no_progress) -> Segmented:
    """Predict the class of every pixel of ``image`` (float32 (H, W, C)); ``progress`` hears of
    each batch of windows when the image is tiled."""
    progress(0.1, "segmenting")

    def windows(done: int) -> None:
        progress(None, f"segmenting: {done} windows done")

    mask = segmenter.predict(image, progress=windows)
    progress(0.9, "rendering")
    shape = preview_shape(*mask.shape, max_side)
    return Segmented(name, image, mask, resize_image(image, shape), resize_labels(mask, shape),
                     segmenter.class_names, segmenter.class_colors)


def check_opacity(value) -> float:
    """The overlay's opacity in [0, 1] (0: the photo, 1: the class colours); ConfigError else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise ConfigError(f"opacity must be a number in 0..1, got {value!r}")
    return float(value)


def overlay_preview(result: Segmented, opacity: float = 0.5) -> np.ndarray:
    """Class colours over the preview at ``opacity``: uint8 (h, w, 3)."""
    return overlay(result.preview, result.preview_mask, result.class_colors, check_opacity(opacity))


def area_table(mask: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Per-class area of a mask (H, W): one row per class of the model (absent ones with 0), in
    class order, columns ``class``, ``pixels`` and ``%`` (of all pixels, 2 decimals). Indices
    beyond the model's classes (none from a segmenter) get rows named ``class <index>``."""
    counts = np.bincount(np.asarray(mask).ravel().astype(np.int64), minlength=len(class_names))
    total = max(1, int(mask.size))
    names = list(class_names) + [f"class {i}" for i in range(len(class_names), len(counts))]
    return pd.DataFrame({AREA_COLUMNS[0]: names, AREA_COLUMNS[1]: counts.astype(np.int64),
                         AREA_COLUMNS[2]: np.round(counts * 100.0 / total, 2)})


def legend_html(class_names: list[str], class_colors: list[tuple[int, int, int]]) -> str:
    """The class legend: an HTML list of colour swatches and class names (names escaped)."""
    items = []
    for name, (r, g, b) in zip(class_names, class_colors):
        items.append(f'<span class="colorseg-legend-item"><span class="colorseg-swatch" '
                     f'style="background: rgb({int(r)}, {int(g)}, {int(b)})"></span>{html.escape(str(name))}</span>')
    return f'<div class="colorseg-legend">{"".join(items)}</div>'


def mask_filename(name: str) -> str:
    """``<stem>_mask.png`` for an uploaded file's name."""
    return f"{Path(name).stem or 'image'}_mask.png"


def save_mask(path: str | Path, mask: np.ndarray) -> Path:
    """Write class indices (H, W) as a one-channel PNG of the same size (8-bit; 16-bit past 255)."""
    path = Path(path)
    save_label_png(path, np.asarray(mask))
    return path
