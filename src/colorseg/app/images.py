"""Uploads and previews shared by the app's tabs: reading an upload with a message that names the
file the user chose, preview sizes, and mapping a click on a preview back to the input's pixels.

The page shows previews at most :data:`PREVIEW_SIDE` pixels on their long side (a browser shows a
12-megapixel photo no better, and every redraw would cost seconds); results are computed and
downloaded at the input's full size.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colorseg.data.files import display_path
from colorseg.data.image_io import read_image
from colorseg.errors import ConfigError, DataError

PREVIEW_SIDE = 768  # long side of the images shown in the page (pixels)


def read_upload(path: str | Path, name: str | None = None, channels: int | None = None,
                max_pixels: int | None = None) -> np.ndarray:
    """An uploaded file as float32 (H, W, C) in [0, 1] (:func:`~colorseg.data.image_io.read_image`).

    ``name``: what the user called the file (default: the upload's base name; Gradio keeps the
    original name as the last part of its temporary path). DataError for a file that is not an
    image, corrupt, empty or over the pixel limit, naming ``name``, never the temporary folder.
    """
    path = Path(path)
    name = name or path.name
    try:
        return read_image(path, channels=channels, max_pixels=max_pixels)
    except DataError as exc:
        message = str(exc)
        for long in (display_path(path), str(path)):
            message = message.replace(long, name)
        raise DataError(message) from exc


def preview_shape(height: int, width: int, max_side: int = PREVIEW_SIDE) -> tuple[int, int]:
    """(h, w) of a preview: the image's own size when its long side is at most ``max_side``,
    else scaled down (aspect kept, each side ≥ 1)."""
    if height < 1 or width < 1:
        raise ConfigError(f"an image needs at least one pixel, got {width}x{height}")
    if max_side < 1:
        raise ConfigError(f"the preview side must be at least 1 pixel, got {max_side}")
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """float (H, W) or (H, W, C) → float32 of ``shape`` = (h, w) (antialiased bilinear; the
    same array when the size is unchanged)."""
    if tuple(image.shape[:2]) == tuple(shape):
        return np.asarray(image, dtype=np.float32)
    chw = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    chw = chw[None] if chw.ndim == 2 else chw.permute(2, 0, 1)
    out = F.interpolate(chw[None], size=tuple(shape), mode="bilinear", align_corners=False, antialias=True)[0]
    out = out.clamp(0, 1)
    return (out[0] if image.ndim == 2 else out.permute(1, 2, 0)).numpy()


def nearest_indices(size: int, new_size: int) -> np.ndarray:
    """Source indices (new_size,) of a nearest-neighbour resize from ``size`` to ``new_size``
    (each output pixel takes the input pixel under its centre)."""
    return np.minimum(((np.arange(new_size) + 0.5) * size / new_size).astype(np.int64), size - 1)


def resize_labels(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Class indices (H, W) → (h, w) by nearest neighbour (no new classes at boundaries)."""
    rows, cols = nearest_indices(mask.shape[0], shape[0]), nearest_indices(mask.shape[1], shape[1])
    return mask[np.ix_(rows, cols)]


def to_input_pixel(index, preview_hw: tuple[int, int], input_hw: tuple[int, int]) -> tuple[int, int]:
    """A click on a preview → (x, y) of the input pixel under it.

    ``index``: the click as Gradio's image select event gives it, ``[x, y]`` in the shown
    preview's pixels (x the column, y the row, origin top-left). ``preview_hw`` / ``input_hw``:
    (height, width) of the preview and the input. ConfigError for a malformed or outside click.
    """
    if not isinstance(index, (list, tuple)) or len(index) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in index):
        raise ConfigError(f"a click on the image is [x, y] in pixels, got {index!r}")
    (ph, pw), (h, w) = preview_hw, input_hw
    x, y = index
    if not (0 <= x < pw and 0 <= y < ph):
        raise ConfigError(f"the click (x={x}, y={y}) is outside the {pw}x{ph} image")
    return min(w - 1, int((x + 0.5) * w / pw)), min(h - 1, int((y + 0.5) * h / ph))

