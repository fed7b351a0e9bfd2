"""Pictures for the data check page: class-frequency bars, the mask value histogram, and
thumbnails with a mask overlaid (one class outlined) to show that masks and images align."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from scipy import ndimage

from colorseg.inference.segmenter import overlay
from colorseg.reports.plots_common import new_figure, tick_labels

OUTLINE = (255, 255, 255)
UNKNOWN = (255, 0, 255)  # values without a display colour (stray values)


def frequency_bars(freq: dict[str, dict[int, float]], names: dict[int, str],
                   colors: dict[int, tuple[int, int, int]] | None = None) -> Figure:
    """Grouped bars: per label value (x, named by ``names``), the pixel share in each split."""
    values = sorted({v for f in freq.values() for v in f})
    fig, ax = new_figure((max(6.0, 0.55 * len(values) * max(1, len(freq)) ** 0.5 + 2.0), 3.4))
    x, width = np.arange(len(values)), 0.8 / max(len(freq), 1)
    for j, (split, f) in enumerate(freq.items()):
        ax.bar(x + (j - (len(freq) - 1) / 2) * width, [f.get(v, 0.0) for v in values], width, label=split,
               color=f"C{j}")
    tick_labels(ax, [names.get(v, str(v)) for v in values])
    ax.set(ylabel="share of labelled pixels", title="Class pixel frequency per split")
    if len(freq) > 1:
        ax.legend(fontsize=8)
    return fig


def value_histogram(pixels: dict[int, int], stray: set[int], title: str = "Mask value histogram",
                    max_categorical: int = 40) -> Figure:
    """Pixels per stored mask value (log scale): label values blue, stray values red. Up to
    ``max_categorical`` values get one labelled bar each; more are drawn on a numeric axis."""
    values = sorted(pixels)
    counts = np.array([pixels[v] for v in values], dtype=float)
    colours = ["C3" if v in stray else "C0" for v in values]
    categorical = len(values) <= max_categorical
    fig, ax = new_figure((max(4.0, min(7.0, 0.45 * len(values) + 2.0)) if categorical else 7.0, 3.0))
    ax.bar(np.arange(len(values)) if categorical else values, counts, width=0.8 if categorical else 1.0,
           color=colours, log=True)
    if categorical:
        tick_labels(ax, [str(v) for v in values])
    ax.set(xlabel="stored value", ylabel="pixels", title=title)
    if stray:
        ax.plot([], [], "s", color="C3", label="stray (edges only)")
        ax.plot([], [], "s", color="C0", label="label value")
        ax.legend(fontsize=8)
    return fig


def _thumbnail_size(height: int, width: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def enlarge(rgb: np.ndarray, side: int = 200) -> np.ndarray:
    """Repeat the pixels of an image smaller than half of ``side`` by a whole factor (crisp pixels),
    so tiny images stay visible; larger ones are returned as they are."""
    k = max(1, side // max(rgb.shape[:2]))
    return np.repeat(np.repeat(rgb, k, axis=0), k, axis=1) if k > 1 else rgb


def thumbnail(image: np.ndarray, side: int = 200) -> np.ndarray:
    """(H, W, C) float in [0, 1] → uint8 (h, w, 3): longest side at most ``side``, small images
    enlarged by a whole factor (:func:`enlarge`)."""
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]
    im = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    return enlarge(np.asarray(im.resize(_thumbnail_size(*rgb.shape[:2], side), Image.Resampling.BOX)), side)


def mask_overlay(image: np.ndarray, plane: np.ndarray, colors: dict[int, tuple[int, int, int]],
                 highlight: int | None = None, side: int = 200, alpha: float = 0.45,
                 highlight_alpha: float = 0.75, background_alpha: float = 0.2) -> np.ndarray:
    """A thumbnail of ``image`` with the mask ``plane`` blended over it (value → ``colors``;
    values without a colour magenta; small images enlarged as by :func:`enlarge`). With ``highlight``, that value is blended at
    ``highlight_alpha``, the others at ``background_alpha``, and its regions get a one-pixel white
    outline unless they are too thin to keep their colour under one (then the colour alone shows them).

    ``plane`` holds stored values, or packed ``0xRRGGBB`` for colour masks (then ``colors`` maps
    each packed value to its own colour). Image and mask must have the same size."""
    if plane.shape != image.shape[:2]:
        raise ValueError(f"mask {plane.shape} and image {image.shape[:2]} differ in size")
    size = _thumbnail_size(*plane.shape, side)
    rows = (np.arange(size[1]) * plane.shape[0] / size[1]).astype(int)  # nearest neighbour
    cols = (np.arange(size[0]) * plane.shape[1] / size[0]).astype(int)
    small_plane = np.asarray(plane, dtype=np.int64)[rows[:, None], cols[None, :]]
    values = sorted(colors)
    index = np.searchsorted(values, small_plane).clip(0, max(len(values) - 1, 0))
    known = np.asarray(values, dtype=np.int64)[index] == small_plane if values else np.zeros_like(small_plane, bool)
    index = np.where(known, index, len(values))
    palette = [colors[v] for v in values] + [UNKNOWN]
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image[..., :3]
    base = np.asarray(Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(
        size, Image.Resampling.BOX)).astype(np.float32) / 255.0
    if highlight is None:
        return enlarge(overlay(base, index, palette, alpha=alpha), side)
    region = small_plane == highlight
    out = np.where(region[..., None], overlay(base, index, palette, alpha=highlight_alpha),
                   overlay(base, index, palette, alpha=background_alpha))
    edge = region & ~ndimage.binary_erosion(region, border_value=1)
    if edge.sum() < 0.5 * region.sum():
        out[edge] = OUTLINE
    return enlarge(out, side)
