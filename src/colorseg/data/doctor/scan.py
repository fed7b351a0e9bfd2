"""Reading every file once: image facts (size, mode, channels, gray, perceptual hash) and mask
facts (value histogram with interior counts, colour or index, JPEG signature).

Images are decoded with :func:`colorseg.data.image_io.read_image`, the decoder training uses, so
"unreadable" here means unreadable for ``fit``. Masks are decoded with
:func:`colorseg.data.image_io.read_mask_raw` (the decoder of ``read_mask``, without refusing colour
masks), because the doctor diagnoses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from colorseg.data.color_sources import is_grayscale
from colorseg.data.doctor.duplicates import phash, pixel_digest
from colorseg.data.doctor.layout import Entry
from colorseg.data.doctor.mask_checks import MaskStats, is_jpeg_bytes, mask_plane, mask_stats
from colorseg.data.files import display_path
from colorseg.data.image_io import convert_channels, image_mode, read_image, read_mask_raw
from colorseg.errors import DataError

PROGRESS_MIN_FILES = 50  # show a progress bar from this many files on


@dataclass
class ImageInfo:
    """Facts about one readable image."""

    height: int
    width: int
    mode: str  # PIL mode of the file ("TIFF" for files only tifffile reads)
    channels: int  # channels after decoding as training does (1 or 3)
    gray: bool  # all colour channels equal (within 1/255), or a single channel
    phash: int
    digest: str


@dataclass
class MaskInfo:
    """Facts about one readable mask."""

    height: int
    width: int
    mode: str
    stats: MaskStats
    jpeg_file: bool


@dataclass
class Record:
    """An entry with what reading its files gave (None when absent or unreadable; the reason in
    ``image_error`` / ``mask_error``)."""

    entry: Entry
    image: ImageInfo | None = None
    mask: MaskInfo | None = None
    image_error: str | None = None
    mask_error: str | None = None


def read_image_info(path: str | Path) -> ImageInfo:
    """Decode an image as training does; DataError (naming the file) when it cannot be read."""
    path = Path(path)
    img = read_image(path)
    gray = img.shape[2] == 1 or is_grayscale(img)
    return ImageInfo(img.shape[0], img.shape[1], image_mode(path) or "TIFF", img.shape[2], bool(gray),
                     phash(convert_channels(img, 1, display_path(path))[..., 0]), pixel_digest(img))


def read_mask_plane(path: str | Path) -> tuple[np.ndarray, bool, str]:
    """Decode a mask raw → (2-D plane, is_colour, PIL mode); colour masks as packed ``0xRRGGBB``.
    DataError (naming the file) for unreadable files and non-integer masks."""
    path = Path(path)
    arr, mode = read_mask_raw(path)
    try:
        plane, colour = mask_plane(arr)
    except ValueError as exc:
        raise DataError(f"{display_path(path)}: {exc}") from exc
    return plane, colour, mode or "TIFF"


def read_mask_info(path: str | Path) -> MaskInfo:
    """Decode a mask and describe it (see :class:`MaskInfo`); DataError when it cannot be read."""
    path = Path(path)
    plane, colour, mode = read_mask_plane(path)
    with open(path, "rb") as fh:
        head = fh.read(3)
    return MaskInfo(plane.shape[0], plane.shape[1], mode, mask_stats(plane, colour), is_jpeg_bytes(head))


def progress_bar(items: Sequence, desc: str, progress: bool = True):
    """``items`` wrapped in a progress bar titled ``desc`` on stderr, shown when ``progress`` and
    there are at least :data:`PROGRESS_MIN_FILES` of them."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", leave=False, disable=not progress or len(items) < PROGRESS_MIN_FILES)


def scan(entries: Iterable[Entry], progress: bool = True, desc: str = "checking") -> list[Record]:
    """Read every image and mask of ``entries`` once (a progress bar titled ``desc`` for big data sets)."""
    records = []
    for entry in progress_bar(list(entries), desc, progress):
        rec = Record(entry)
        if entry.image is not None:
            try:
                rec.image = read_image_info(entry.image)
            except DataError as exc:
                rec.image_error = str(exc)
        if entry.mask is not None:
            try:
                rec.mask = read_mask_info(entry.mask)
            except (DataError, OSError) as exc:
                rec.mask_error = str(exc)
        records.append(rec)
    return records


def load_for_display(entry: Entry) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(image float (H, W, 3) in [0, 1], mask plane or None, mask is colour) for overlays."""
    image = read_image(entry.image, channels=3)
    if entry.mask is None:
        return image, None, False
    plane, colour, _ = read_mask_plane(entry.mask)
    return image, plane, colour
