"""What every reader produces: label masks paired with their images, plus the class list.

A reader returns a :class:`Conversion`: class names (index *i* = mask value *i*), an iterator of
:class:`LabelledImage` (decoded one at a time, so a large dataset never sits in memory) and what
:mod:`~colorseg.formats.layout` needs to write the folder layout. Shared rules live here:

* **Class 0** holds every pixel no annotation covers. A source class named ``background`` or
  ``_background_`` (any case) *is* class 0, never a second background class.
* **Ignore index**: 255 when there are at most 255 classes (8-bit masks), else 65535 (16-bit masks).
* **Sample names** come from the image's path relative to its folder, without the extension, with
  folders joined by ``__`` (``train/0001.jpg`` → ``train__0001``), so names never collide silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from colorseg.data.files import display_path
from colorseg.errors import ConfigError, DataError

BACKGROUND_NAMES = ("background", "_background_")


@dataclass(frozen=True)
class EmbeddedImage:
    """Image bytes stored inside an annotation file (labelme ``imageData``), with the file suffix to use."""

    data: bytes
    suffix: str


@dataclass
class LabelledImage:
    """One sample: ``mask`` (H, W) uint16 class indices (``ignore_index`` allowed) for ``image``.

    ``source`` is the annotation file (or mask file) the mask came from: every error about this
    sample names it.
    """

    name: str
    image: Path | EmbeddedImage
    mask: np.ndarray
    source: Path


@dataclass
class Conversion:
    """A reader's result. ``samples`` yields ``count`` items lazily; ``warnings`` may grow while it runs."""

    source: Path
    format: str
    class_names: list[str]
    samples: Iterator[LabelledImage]
    count: int
    class_colors: list[tuple[int, int, int]] | None = None
    splits: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ignore_index(self) -> int:
        return ignore_index_for(len(self.class_names))


def ignore_index_for(num_classes: int) -> int:
    """255 for up to 255 classes (masks fit 8 bits), else 65535 (16-bit masks)."""
    if num_classes > 65535:
        raise DataError(f"{num_classes} classes: a 16-bit mask holds at most 65535")
    return 255 if num_classes <= 255 else 65535


def is_background_name(name: str) -> bool:
    """True for ``background`` / ``_background_`` (any case): such a class is class 0."""
    return name.strip().lower() in BACKGROUND_NAMES


def classes_from_labels(labels: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    """Class names and label → index for ``labels`` in their order: ``background`` is class 0,
    the other labels follow as 1, 2, …; a label named like the background maps to 0."""
    names = ["background"]
    index: dict[str, int] = {}
    for label in labels:
        if label in index:
            continue
        if is_background_name(label):
            index[label] = 0
        else:
            index[label] = len(names)
            names.append(label)
    return names, index


def parse_class_names(classes: str | list[str], what: str = "--classes") -> list[str]:
    """``"background,cat,dog"`` (or a list) → names in index order; at least 2, unique, non-empty."""
    names = [c.strip() for c in classes.split(",")] if isinstance(classes, str) else [str(c).strip() for c in classes]
    if len(names) < 2 or any(not n for n in names):
        raise ConfigError(f"{what} needs at least 2 non-empty class names in index order (class 0 first), "
                          f"got {classes!r}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{what}: duplicate class names {dupes}")
    return names


def sample_name(relative: str | PurePosixPath) -> str:
    """Output stem for an image at ``relative`` (posix or Windows separators): folders joined by ``__``."""
    parts = [p for p in PurePosixPath(str(relative).replace("\\", "/")).parts if p not in ("/", ".", "..")]
    if not parts:
        raise DataError(f"cannot derive a sample name from the image path {relative!r}")
    parts[-1] = PurePosixPath(parts[-1]).stem or parts[-1]
    return "__".join(parts)


def load_json(path: Path) -> object:
    """Parse a JSON file; DataError naming the file (and line/column) when it is missing or malformed."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(f"annotation file not found: {display_path(path)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {display_path(path)}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{display_path(path)}: not valid JSON: {exc.msg} at line {exc.lineno}, "
                        f"column {exc.colno}") from exc


def require(mapping: object, key: str, kind: type | tuple[type, ...], where: str) -> object:
    """``mapping[key]`` checked for type (bools are not numbers); DataError saying what is missing or wrong."""
    if not isinstance(mapping, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(mapping).__name__}")
    if key not in mapping:
        raise DataError(f"{where}: missing key {key!r}")
    value = mapping[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise DataError(f"{where}: {key!r} must be {names}, got {json.dumps(value)[:60]}")
    return value


def image_size(mapping: dict, where: str, keys: tuple[str, str] = ("height", "width")) -> tuple[int, int]:
    """Positive integer (height, width) stored under ``keys``."""
    h, w = (require(mapping, k, int, where) for k in keys)
    if h <= 0 or w <= 0:
        raise DataError(f"{where}: image size must be positive, got {keys[1]}={w}, {keys[0]}={h}")
    return h, w
