"""COCO run-length encoding (RLE) of binary masks, validated before decoding.

A COCO RLE is ``{"size": [H, W], "counts": ...}``: run lengths over the pixels in column-major
(Fortran) order, starting with a run of zeros (possibly empty). ``counts`` is a list of ints
(*uncompressed*, COCO's crowd annotations) or a string (*compressed*: pycocotools' LEB128-like
text coding). Counts are checked to cover exactly H×W pixels before anything is decoded
(pycocotools itself would read past its buffer on a bad string).
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from colorseg.errors import DataError


def counts_from_string(text: str, where: str = "RLE") -> list[int]:
    """Decode pycocotools' compressed counts string into run lengths (the inverse of its ``rleToString``)."""
    counts: list[int] = []
    data = text.encode("ascii", "replace")
    p = 0
    while p < len(data):
        x, k, more = 0, 0, True
        while more:
            if p >= len(data):
                raise DataError(f"{where}: compressed RLE counts string is truncated")
            c = data[p] - 48
            if not 0 <= c < 64:
                raise DataError(f"{where}: compressed RLE counts string has an invalid character {chr(data[p])!r}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        if x < 0:
            raise DataError(f"{where}: compressed RLE counts string decodes to a negative run length")
        counts.append(x)
    return counts


def runs_to_mask(counts: list[int], height: int, width: int) -> np.ndarray:
    """Run lengths (column-major, zeros first) → bool (H, W). Counts must sum to H×W."""
    values = (np.arange(len(counts)) % 2).astype(bool)
    flat = np.repeat(values, np.asarray(counts, dtype=np.int64))
    return flat.reshape(width, height).T


def decode_rle(segmentation: dict, height: int, width: int, where: str = "RLE") -> np.ndarray:
    """A COCO RLE (compressed or not) → bool (H, W), after checking it against the image size.

    Raises DataError (prefixed by ``where``) for a missing key, a size other than the image's,
    bad counts, or counts that do not cover exactly ``height × width`` pixels.
    """
    for key in ("size", "counts"):
        if key not in segmentation:
            raise DataError(f"{where}: RLE segmentation has no {key!r}")
    size, counts = segmentation["size"], segmentation["counts"]
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in size)):
        raise DataError(f"{where}: RLE 'size' must be [height, width], got {size!r}")
    if size != [height, width]:
        raise DataError(f"{where}: RLE size {size[1]}x{size[0]} (width x height) does not match the image's "
                        f"{width}x{height}")
    if isinstance(counts, str):
        runs = counts_from_string(counts, where)
    elif isinstance(counts, list):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts):
            raise DataError(f"{where}: uncompressed RLE 'counts' must be non-negative integers")
        runs = counts
    else:
        raise DataError(f"{where}: RLE 'counts' must be a string (compressed) or a list of integers, "
                        f"got {type(counts).__name__}")
    total = sum(runs)
    if total != height * width:
        raise DataError(f"{where}: RLE counts cover {total} pixels but the image has {width}x{height} = "
                        f"{height * width} (RLE size mismatch)")
    return runs_to_mask(runs, height, width)


def encode_rle(mask: np.ndarray) -> dict:
    """bool/0-1 (H, W) → compressed COCO RLE ``{"size": [H, W], "counts": str}`` (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_area_bbox(rle: dict) -> tuple[int, list[float]]:
    """Pixel area and ``[x, y, width, height]`` box of a compressed RLE (pycocotools' own numbers)."""
    coded = {"size": rle["size"], "counts": rle["counts"].encode("ascii")}
    return int(mask_utils.area(coded)), [float(v) for v in mask_utils.toBbox(coded)]
