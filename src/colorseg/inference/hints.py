"""User colour hints for hint colorizers (models trained with ``--model.hints=true``).

A hint is ``(x, y, (r, g, b))``: the pixel at column ``x`` and row ``y`` of the input image
(origin at the top-left corner; 0 ≤ x < width, 0 ≤ y < height; fractional coordinates name the
pixel they fall in) should have the colour r, g, b. Colours are either three integers in 0 … 255
or, if any of them is a float, three numbers in 0 … 1 (so ``(200, 30, 30)`` and
``(0.784, 0.118, 0.118)`` are the same red, while ``(1, 1, 1)`` is almost black and
``(1.0, 1.0, 1.0)`` white).

The colorizer only uses the colour's chroma: the hint becomes the CIE ab of the colour
(:func:`colorseg.data.lab.rgb_to_lab_norm`); its lightness always comes from the input image.
At the model's working resolution a hint covers the input pixel's footprint, and at least a
:data:`HINT_PATCH` × :data:`HINT_PATCH` square around it (clipped at the image border); where
hints overlap the later one wins.

Hint files (``colorseg colorize predict --hints hints.json``) are JSON lists of objects
``{"x": 10, "y": 20, "rgb": [200, 30, 30]}`` (:func:`load_hints`).
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Sequence
from pathlib import Path

import torch

from colorseg.data.files import display_path
from colorseg.data.lab import rgb_to_lab_norm
from colorseg.errors import ConfigError, DataError
from colorseg.models.cvae import HINT_CHANNELS

# smallest hint patch side at working resolution (odd): 5 × 5 of 128 px. Chosen on the built-in
# recipe's validation split (benchmarks/colorize_hints.py --patch-study 3 5 7: 10 ground-truth hints
# gave +1.98 / +2.26 / +2.32 dB); 5 rather than 7 because it is within 0.1 dB and a click then
# spreads less past a small object
HINT_PATCH = 5

Hint = tuple[float, float, tuple[float, float, float]]


def _is_number(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def hint_rgb(colour, what: str = "hint") -> tuple[float, float, float]:
    """A hint colour as floats in [0, 1]: three ints in 0 … 255, or (any float) three numbers in
    0 … 1 (see module docstring). ConfigError naming ``what`` otherwise."""
    if hasattr(colour, "tolist") and not isinstance(colour, list):  # numpy array or tensor
        colour = colour.tolist()
    if isinstance(colour, (str, bytes)) or not isinstance(colour, Sequence) or len(colour) != 3 \
            or not all(_is_number(v) and math.isfinite(v) for v in colour):
        raise ConfigError(f"{what}: colour must be three numbers (r, g, b), got {colour!r}")
    if all(isinstance(v, numbers.Integral) for v in colour):
        if not all(0 <= v <= 255 for v in colour):
            raise ConfigError(f"{what}: integer colour values must be in 0..255, got {list(colour)}")
        return tuple(int(v) / 255.0 for v in colour)
    if not all(0.0 <= v <= 1.0 for v in colour):
        raise ConfigError(f"{what}: colour values with a float must all be in 0..1 (use integers for 0..255), "
                          f"got {list(colour)}")
    return tuple(float(v) for v in colour)


def check_hints(hints, image_hw: tuple[int, int]) -> list[Hint]:
    """Validate hints ``[(x, y, (r, g, b)), ...]`` against an image of ``image_hw`` = (height,
    width): the hints with colours as floats in [0, 1]. ConfigError naming the hint (its index
    and values) for a malformed hint, a colour out of range, or a position outside the image."""
    height, width = (int(v) for v in image_hw)
    if isinstance(hints, (str, bytes)) or not isinstance(hints, Sequence):
        raise ConfigError(f"hints must be a list of (x, y, (r, g, b)), got {type(hints).__name__}")
    out: list[Hint] = []
    for i, hint in enumerate(hints):
        what = f"hint {i} {hint!r}"
        if isinstance(hint, (str, bytes)) or not isinstance(hint, Sequence) or len(hint) != 3:
            raise ConfigError(f"{what}: a hint is (x, y, (r, g, b))")
        x, y, colour = hint
        if not (_is_number(x) and _is_number(y) and math.isfinite(x) and math.isfinite(y)):
            raise ConfigError(f"{what}: x and y must be numbers (pixel column and row)")
        if not (0 <= x < width and 0 <= y < height):
            raise ConfigError(f"{what}: position (x={x}, y={y}) is outside the {width}×{height} image "
                              f"(0 <= x < {width}, 0 <= y < {height}; x is the column, y the row)")
        out.append((float(x), float(y), hint_rgb(colour, what)))
    return out


def _span(pos: float, size: int, work: int, patch: int) -> tuple[int, int]:
    """Working-resolution [start, stop) covering input pixel ``floor(pos)`` of ``size`` pixels:
    its footprint, widened to ``patch`` around its centre, clipped to [0, work)."""
    pixel = math.floor(pos)
    start = math.floor(pixel * work / size)
    stop = max(start + 1, math.ceil((pixel + 1) * work / size))
    centre = min(work - 1, math.floor((pixel + 0.5) * work / size))
    r = patch // 2
    return max(0, min(start, centre - r)), min(work, max(stop, centre + r + 1))


def hints_to_tensor(hints, image_hw: tuple[int, int], work_hw: tuple[int, int],
                    patch: int = HINT_PATCH) -> torch.Tensor:
    """Hints ``[(x, y, (r, g, b)), ...]`` in the pixel coordinates of an image of ``image_hw`` =
    (height, width) → the hint map (1, 3, h, w) at the working size ``work_hw`` = (h, w):
    (a, b, mask) in ab_norm, zero where there is no hint (see module docstring for the placement).
    """
    if not (isinstance(patch, int) and patch >= 1 and patch % 2 == 1):
        raise ConfigError(f"hint patch must be an odd positive integer, got {patch!r}")
    checked = check_hints(hints, image_hw)
    height, width = (int(v) for v in image_hw)
    h, w = (int(v) for v in work_hw)
    out = torch.zeros(1, HINT_CHANNELS, h, w)
    if not checked:
        return out
    rgb = torch.tensor([c for _, _, c in checked], dtype=torch.float64).float()
    ab = rgb_to_lab_norm(rgb[:, :, None, None])[1][:, :, 0, 0]  # (N, 2)
    for (x, y, _), value in zip(checked, ab):
        r0, r1 = _span(y, height, h, patch)
        c0, c1 = _span(x, width, w, patch)
        out[0, :2, r0:r1, c0:c1] = value[:, None, None]
        out[0, 2, r0:r1, c0:c1] = 1.0
    return out


def load_hints(path: str | Path) -> list[tuple[float, float, tuple]]:
    """Hints from a JSON file: a list of objects ``{"x": 10, "y": 20, "rgb": [200, 30, 30]}``
    (see module docstring for coordinates and colours) → ``[(x, y, (r, g, b)), ...]`` as written.

    DataError naming the file, and the entry for a bad one: missing or unreadable file, invalid
    JSON, not a list, an entry that is not such an object (missing or unknown keys, non-numeric
    coordinates, a bad colour). Positions are checked against the image when colourising.
    """
    path = Path(path)
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"hints file not found: {name}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read hints file {name}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"hints file {name} is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise DataError(f"hints file {name} must hold a JSON list of {{\"x\": …, \"y\": …, \"rgb\": [r, g, b]}} "
                        f"objects, got {type(data).__name__}")
    hints = []
    for i, entry in enumerate(data):
        where = f"hints file {name}, entry {i} {json.dumps(entry)}"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected an object {{\"x\": …, \"y\": …, \"rgb\": [r, g, b]}}")
        missing = [k for k in ("x", "y", "rgb") if k not in entry]
        unknown = sorted(set(entry) - {"x", "y", "rgb"})
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + \
            ([f"unknown keys {', '.join(unknown)} (expected x, y, rgb)"] if unknown else [])
        if problems:
            raise DataError(f"{where}: {'; '.join(problems)}")
        x, y, rgb = entry["x"], entry["y"], entry["rgb"]
        if not (_is_number(x) and _is_number(y)) or x < 0 or y < 0:
            raise DataError(f"{where}: x and y must be non-negative numbers (pixel column and row)")
        if not isinstance(rgb, list):
            raise DataError(f"{where}: rgb must be a list [r, g, b]")
        try:
            hint_rgb(rgb, "rgb")
        except ConfigError as exc:
            raise DataError(f"{where}: {exc}") from exc
        hints.append((x, y, tuple(rgb)))
    return hints
