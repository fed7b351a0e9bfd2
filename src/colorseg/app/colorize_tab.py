"""The Colorize tab's logic, without Gradio: an upload → a gray photo, colour hints placed by
clicking on its preview, the deterministic result and N samples, the saturation control, and the
full-resolution PNG.

The colorizer sees only the photo's CIE lightness, so a colour upload is converted to the sRGB
gray of that lightness first (:func:`colorseg.data.lab.to_gray`) and the page says so. ab is
predicted once at the model's working size (:class:`Colorizer.predict_ab
<colorseg.inference.colorizer.Colorizer>`); every view recombines it with the lightness at its
own size: the page's previews and the download at the input's size. Saturation scales that ab
(CIE a and b) before recombining, which equals scaling the full-size ab since the upsampling is
linear; lightness never changes.

Hints are ``(x, y, (r, g, b))``: the input image's pixel column and row (origin top-left) and a
colour as 0..255 integers, as :mod:`colorseg.inference.hints` takes them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from colorseg.app.images import PREVIEW_SIDE, preview_shape, read_upload, resize_image, to_input_pixel
from colorseg.data.color_datasets import to_uint8
from colorseg.data.color_sources import is_grayscale
from colorseg.data.image_io import save_png
from colorseg.data.lab import gray_to_L_norm, to_gray
from colorseg.errors import ConfigError
from colorseg.inference.colorizer import Colorizer, recombine_rows
from colorseg.inference.hint_propagation import NO_PROPAGATION
from colorseg.inference.hints import check_hints

Hint = tuple[int, int, tuple[int, int, int]]
#: ``progress(fraction or None, description)``: how long work reports where it is
Progress = Callable[[float | None, str], None]

MAX_SAMPLES = 16
MAX_SATURATION = 4.0
ROWS_PER_CHUNK = 512  # colour → gray conversion of large photos, in strips of rows
NO_HINTS_NOTE = ("This model was trained without colour hints: clicking on the photo does nothing. "
                 "Choose a hint model checkpoint (trained with `--model.hints=true`) to place hints.")
COLOUR_NOTE = ("A colour photo: converted to gray first (its CIE lightness, shown below); the colorizer never "
               "sees its colours.")


def _no_progress(fraction: float | None, description: str) -> None:
    pass


@dataclass
class Photo:
    """An uploaded photo as the colorizer sees it.

    name: the uploaded file's name; gray: (H, W) float32 in [0, 1], the sRGB gray of the photo's
    CIE lightness; preview: (h, w) float32, the same at the page's size; was_colour: whether the
    upload had colour (it was converted).
    """

    name: str
    gray: np.ndarray
    preview: np.ndarray
    was_colour: bool

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the input."""
        return tuple(self.gray.shape[:2])

    @property
    def preview_shape(self) -> tuple[int, int]:
        """(h, w) of the preview shown in the page."""
        return tuple(self.preview.shape[:2])


@dataclass
class Colorized:
    """One colorization of a photo: ab_norm (1 + N, 2, h, w) at the model's working size (the
    deterministic result first, then N samples) and the full-size lightness L_full (1, 1, H, W)."""

    ab: torch.Tensor
    L_full: torch.Tensor

    @property
    def n_samples(self) -> int:
        return len(self.ab) - 1


def gray_of(rgb: np.ndarray, rows: int = ROWS_PER_CHUNK) -> np.ndarray:
    """sRGB float (H, W, 3) in [0, 1] → (H, W) float32: the gray of its CIE lightness
    (:func:`~colorseg.data.lab.to_gray`), converted in strips of ``rows`` rows (bounded memory)."""
    out = np.empty(rgb.shape[:2], dtype=np.float32)
    for top in range(0, rgb.shape[0], rows):
        out[top: top + rows] = to_gray(rgb[top: top + rows])[..., 0]
    return out


def load_photo(path: str | Path, name: str | None = None, max_pixels: int | None = None,
               max_side: int = PREVIEW_SIDE) -> Photo:
    """An upload → :class:`Photo`. DataError naming ``name`` (default: the file's base name)
    for a file that is not an image, corrupt or over the pixel limit."""
    name = name or Path(path).name
    image = read_upload(path, name, max_pixels=max_pixels)  # (H, W, 1) or (H, W, 3)
    was_colour = image.shape[2] == 3 and not is_grayscale(image)
    gray = gray_of(image) if was_colour else np.ascontiguousarray(image[..., 0])
    return Photo(name, gray, resize_image(gray, preview_shape(*gray.shape, max_side)), was_colour)


def photo_note(photo: Photo) -> str:
    """Markdown for the page: the photo's size, and that a colour photo was converted to gray."""
    h, w = photo.shape
    text = f"**{photo.name}**: {w}×{h} pixels."
    if photo.was_colour:
        text += " " + COLOUR_NOTE
    return text


_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_RGB = re.compile(r"rgba?\(\s*([^)]*)\)", re.IGNORECASE)


def parse_colour(text: str) -> tuple[int, int, int]:
    """A colour picker's value → (r, g, b) in 0..255: ``#rgb``, ``#rrggbb``, ``#rrggbbaa`` (alpha
    ignored), ``rgb(r, g, b)`` or ``rgba(r, g, b, a)``. ConfigError naming the value otherwise."""
    value = str(text).strip() if text is not None else ""
    match = _HEX.fullmatch(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return tuple(int(digits[i: i + 2], 16) for i in (0, 2, 4))
    match = _RGB.fullmatch(value)
    if match:
        parts = [p.strip() for p in match.group(1).split(",")]
        try:
            numbers = [float(p) for p in parts[:3]]
        except ValueError:
            numbers = []
        if len(parts) in (3, 4) and len(numbers) == 3 and all(0 <= v <= 255 for v in numbers):
            return tuple(round(v) for v in numbers)
    raise ConfigError(f"hint colour {text!r}: expected #rrggbb or rgb(r, g, b) with values 0..255")


def add_hint(hints: Sequence[Hint], photo: Photo, index, colour: str) -> list[Hint]:
    """A new hint list: ``hints`` plus one at the input pixel under a click on the preview.

    ``index``: the click, ``[x, y]`` in the preview's pixels (Gradio's select event); ``colour``:
    the colour picker's value (:func:`parse_colour`). ConfigError for a bad click or colour.
    """
    x, y = to_input_pixel(index, photo.preview_shape, photo.shape)
    return [*hints, (x, y, parse_colour(colour))]


def hint_label(i: int, hint: Hint) -> str:
    """``"1: x=10, y=20, #c81e1e"`` for hint number ``i`` (from 0)."""
    x, y, (r, g, b) = hint
    return f"{i + 1}: x={x}, y={y}, #{r:02x}{g:02x}{b:02x}"


def hint_labels(hints: Sequence[Hint]) -> list[str]:
    """The page's hint list (one label per hint, numbered from 1)."""
    return [hint_label(i, h) for i, h in enumerate(hints)]


def remove_hints(hints: Sequence[Hint], labels: Sequence[str]) -> list[Hint]:
    """``hints`` without those whose labels (:func:`hint_labels`) are in ``labels``.
    ConfigError naming a label that is not in the list (a stale page)."""
    current = hint_labels(hints)
    unknown = [lab for lab in labels if lab not in current]
    if unknown:
        raise ConfigError(f"no such hint: {', '.join(unknown)} (the hints are: {', '.join(current) or 'none'})")
    drop = set(labels)
    return [h for h, lab in zip(hints, current) if lab not in drop]


def draw_hints(photo: Photo, hints: Sequence[Hint]) -> np.ndarray:
    """The gray preview with a marker per hint: uint8 (h, w, 3); each marker a disc of the
    hint's colour in a black and white ring, at the hint's pixel scaled to the preview."""
    h, w = photo.preview_shape
    image = Image.fromarray(np.repeat(to_uint8(photo.preview)[..., None], 3, axis=2))
    draw = ImageDraw.Draw(image)
    H, W = photo.shape
    radius = max(4, round(min(h, w) / 60))
    for x, y, rgb in hints:
        cx, cy = (x + 0.5) * w / W, (y + 0.5) * h / H
        box = [cx - radius, cy - radius, cx + radius, cy + radius]
        draw.ellipse([box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2], fill=(255, 255, 255))
        draw.ellipse([box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1], fill=(0, 0, 0))
        draw.ellipse(box, fill=tuple(int(v) for v in rgb))
    return np.asarray(image)


def model_note(name: str, colorizer: Colorizer) -> str:
    """Markdown for the page: which model is loaded, and whether it takes hints (if not, the
    note telling the user to choose a hint model)."""
    text = f"**Model:** {name} ({colorizer.module.kind}, working size {colorizer.image_size} px)."
    if colorizer.takes_hints:
        return text + " It takes colour hints: pick a colour, then click on the photo."
    return text + " " + NO_HINTS_NOTE


def check_options(n_samples, temperature, seed) -> tuple[int, float, int]:
    """The sampling controls as (n_samples, temperature, seed); ConfigError naming a bad one:
    n_samples an integer in 0..MAX_SAMPLES, temperature a finite number ≥ 0, seed an integer ≥ 0."""
    def as_int(value, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value != int(value):
            raise ConfigError(f"{what} must be a whole number, got {value!r}")
        return int(value)

    n = as_int(n_samples, "samples")
    if not 0 <= n <= MAX_SAMPLES:
        raise ConfigError(f"samples must be in 0..{MAX_SAMPLES}, got {n}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not math.isfinite(temperature) or temperature < 0:
        raise ConfigError(f"temperature must be a number >= 0, got {temperature!r}")
    s = as_int(seed, "seed")
    if not 0 <= s < 2**63:
        raise ConfigError(f"seed must be in 0..2**63-1, got {s}")
    return n, float(temperature), s


def colorize_photo(colorizer: Colorizer, photo: Photo, hints: Sequence[Hint] = (), n_samples: int = 0,
                   temperature: float = 1.0, seed: int = 0, progress: Progress = _no_progress,
                   spread_hints: bool = True) -> Colorized:
    """Colorize ``photo``: the deterministic result (the prior mean) and ``n_samples`` samples at
    ``temperature`` (reproducible for a ``seed``), all with ``hints``; ``spread_hints``: hint
    propagation (:mod:`colorseg.inference.hint_propagation`) on, or the network's output alone.

    ConfigError for hints on a model trained without them (the message says so), for a hint
    outside the photo, or for bad sampling options (:func:`check_options`).
    """
    n_samples, temperature, seed = check_options(n_samples, temperature, seed)
    if hints:
        check_hints(list(hints), photo.shape)
    progress(0.1, "lightness")
    L_full, L_work = colorizer.lightness(photo.gray)
    hint_map = colorizer.hint_map(list(hints), photo.shape, L_work.shape[-2:])
    progress(0.4, "colorizing")
    propagation = None if spread_hints else NO_PROPAGATION
    ab = [colorizer.predict_ab(L_work, 1, hints=hint_map, propagation=propagation)]
    if n_samples:
        progress(0.6, f"drawing {n_samples} samples")
        generator = torch.Generator(device=colorizer.device).manual_seed(seed)
        ab.append(colorizer.predict_ab(L_work, n_samples, temperature, generator, deterministic=False,
                                       hints=hint_map, propagation=propagation))
    progress(0.9, "rendering")
    return Colorized(torch.cat(ab).float().cpu(), L_full.cpu())


def check_saturation(value) -> float:
    """The saturation factor (1 = as predicted, 0 = gray); ConfigError unless a number in
    0..MAX_SATURATION."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 <= value <= MAX_SATURATION:
        raise ConfigError(f"saturation must be a number in 0..{MAX_SATURATION:g}, got {value!r}")
    return float(value)


def saturate(ab: torch.Tensor, saturation: float) -> torch.Tensor:
    """ab_norm (N, 2, h, w) scaled by the saturation factor (:func:`check_saturation`): CIE a and
    b scale, lightness stays (out-of-gamut colours are clipped when converted to RGB)."""
    return ab * check_saturation(saturation)


def render_previews(photo: Photo, colorized: Colorized, saturation: float = 1.0
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
    """What the page shows: (result uint8 (h, w, 3), [sample uint8 (h, w, 3)] * N) at the
    preview's size, with the saturation applied."""
    L_preview = gray_to_L_norm(torch.from_numpy(photo.preview)[None, None])
    rgb = to_uint8(recombine_rows(L_preview, saturate(colorized.ab, saturation)))
    return rgb[0], list(rgb[1:])


def before_image(photo: Photo) -> np.ndarray:
    """The gray preview as uint8 (h, w, 3): the "before" of the before/after comparison."""
    return np.repeat(to_uint8(photo.preview)[..., None], 3, axis=2)


def result_filename(photo: Photo) -> str:
    """``<stem>_colorized.png`` for the uploaded file's name."""
    return f"{Path(photo.name).stem or 'photo'}_colorized.png"


def save_result(path: str | Path, colorized: Colorized, saturation: float = 1.0) -> Path:
    """Write the deterministic result at the input's full size as an 8-bit RGB PNG (atomically):
    uint8 (H, W, 3) of the photo's size, with the saturation applied."""
    rgb = recombine_rows(colorized.L_full, saturate(colorized.ab[:1], saturation))[0]
    return save_png(path, to_uint8(rgb))
