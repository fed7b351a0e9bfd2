"""The data fingerprint the planner reads (nnU-Net's idea, for 2-D photos): counts, sizes,
channels and label statistics of a segmentation data set, computed once from the files.

Everything the planning rules (:mod:`colorseg.planning.rules`) know about the data is in
:class:`Fingerprint`; this module is the only one that reads files, so it can later be swapped for
the data doctor's fingerprint (``colorseg data check``) without touching the rules.

* Pairing and sizes cover every file (image headers only, no decoding).
* Pixel statistics come from the training masks (the predefined ``train`` split, else the whole
  pool) and their images; above ``max_masks`` a seeded random sample of them is read, and
  :attr:`Fingerprint.masks_scanned` says how many.
* Masks are read raw (:func:`~colorseg.data.image_io.read_mask`): the stored values, before any
  ``mask_value_map``. A colour (RGB) mask is refused with a pointer to the converter.

Refusals (:class:`~colorseg.errors.DataError`, naming the file or folder): a missing or empty
folder, an image without a mask or a mask without an image, an image and mask of different sizes,
a colour mask.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colorseg.data.files import display_path
from colorseg.data.image_io import read_image, read_mask
from colorseg.data.pairing import size_mismatch_message
from colorseg.data.sources import POOL, Sample, build_source, paired_samples, read_split_files, source_folders
from colorseg.errors import ConfigError, DataError

PLAN_SOURCES = ("folder", "camvid", "isbi2012")
MAX_MASKS = 200  # masks (and their images) decoded for pixel statistics; more are subsampled
CONVERT_HINT = "convert colour masks to class indices with `colorseg data convert --from rgb`, then plan again"


@dataclass(frozen=True)
class SizeStats:
    """Median, smallest and largest of one image dimension over a split."""

    median: float
    min: int
    max: int


@dataclass(frozen=True)
class SplitFingerprint:
    """Image count and sizes of one split (every file, from image headers)."""

    n_images: int
    height: SizeStats
    width: SizeStats
    pixels: int  # total pixels over the split's images


@dataclass(frozen=True)
class Fingerprint:
    """What the planner knows about a data set.

    ``splits`` maps ``train``/``val``/``test`` (predefined splits) or ``pool`` (no predefined
    split: the planner carves them) to :class:`SplitFingerprint`; ``predefined_splits`` lists the
    predefined ones. Label statistics are over the stored mask values of the scanned training
    masks: ``value_counts`` (pixels per value), ``value_rows`` (mean vertical position of each
    value, 0 = top row, 1 = bottom row), ``value_boundary`` (share of the value's pixels with a
    4-neighbour of another value: near 1 for thin structures such as poles or membranes) and
    ``value_images`` (share of scanned masks holding the value).
    ``source_*`` are the source's own label conventions (CamVid: void 11 ignored; ISBI: 0/255
    mapped to membrane/cell; folder: ignore 255, no names).
    """

    source: str
    root: str
    splits: dict[str, SplitFingerprint]
    predefined_splits: tuple[str, ...]
    pool_names: tuple[str, ...]  # sample names of the splittable pool (predefined: train)
    numbered_sequence: bool  # names are one prefix + consecutive numbers (serial sections, frames)
    channels: int  # 1: every scanned image is gray (or RGB with equal channels); 3: colour
    images_gray_as_rgb: int  # scanned images stored as RGB(A) with three equal channels
    images_scanned: int
    masks_scanned: int
    masks_total: int
    value_counts: dict[int, int] = field(default_factory=dict)
    value_rows: dict[int, float] = field(default_factory=dict)
    value_boundary: dict[int, float] = field(default_factory=dict)
    value_images: dict[int, float] = field(default_factory=dict)
    source_ignore_index: int = 255
    source_value_map: dict[int, int] | None = None
    source_class_names: tuple[str, ...] | None = None

    @property
    def subsampled(self) -> bool:
        """True when the label statistics come from a sample of the training masks."""
        return self.masks_scanned < self.masks_total

    @property
    def binary_0_255(self) -> bool:
        """The masks hold exactly the values 0 and 255 (binary masks saved as 0/255)."""
        return set(self.value_counts) == {0, 255}


# ------------------------------------------------------------------------------------ listing

def _layout_hint(root: Path) -> str:
    if (root / "trainannot").is_dir():
        return "; it looks like the CamVid layout: pass --source camvid"
    if (root / "train" / "label").is_dir():
        return "; it looks like the ISBI 2012 layout: pass --source isbi2012"
    return ""


def list_samples(root: str | Path, source: str) -> tuple[dict[str, list[Sample]], list[Sample]]:
    """(predefined splits, pool) of ``source`` under ``root``; the pool is what the data module
    splits when a split is not predefined (all pairs minus the predefined val/test).

    Pairing is the loaders' (:func:`~colorseg.data.sources.paired_samples`), but strict: a mask
    without an image or two files with one name are refused too, naming the file.
    """
    if source not in PLAN_SOURCES:
        raise ConfigError(f"unknown source {source!r} for planning; choose one of {', '.join(PLAN_SOURCES)}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {display_path(root)}")
    if source == "folder" and not (root / "images").is_dir():
        raise DataError(f"no images/ folder in {display_path(root)} (the folder layout is ROOT/images + "
                        f"ROOT/masks){_layout_hint(root)}")
    if source == "camvid" and not (root / "train").is_dir():
        raise DataError(f"no train/ folder in {display_path(root)} (the CamVid layout is ROOT/train + "
                        "ROOT/trainannot, and the same for val and test)")
    if source == "isbi2012" and not (root / "train" / "image").is_dir():
        raise DataError(f"no train/image/ folder in {display_path(root)} (the ISBI 2012 layout is "
                        "ROOT/train/image + ROOT/train/label)")
    folders = {split: paired_samples(images_dir, masks_dir, strict=True)
               for split, images_dir, masks_dir in source_folders(source, root)}
    if source == "folder":
        pool = folders[POOL]
        splits = read_split_files(root / "splits", pool)
    else:  # the built-in sources' own split and order
        src = build_source(source, root)
        splits, pool = src.splits(), src.pool()
    if "train" in splits:
        pool = splits["train"]
    else:
        held = {s.name for k in ("val", "test") for s in splits.get(k, [])}
        pool = [s for s in pool if s.name not in held]
    if not pool:
        raise DataError(f"no training samples in {display_path(root)}: every pair is listed in a val/test split file")
    return splits, pool


# ------------------------------------------------------------------------------------ reading

def image_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header (EXIF rotations by 90° swap them), without decoding."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112, 1) if im.format in ("JPEG", "TIFF", "PNG") else 1
        return (w, h) if orientation in (5, 6, 7, 8) else (h, w)
    except (OSError, ValueError, SyntaxError):  # PIL cannot read the header (e.g. some TIFFs, a corrupt
        return read_image(path).shape[:2]  # file): decode once, or a DataError naming the file


def _stats(values: list[int]) -> SizeStats:
    return SizeStats(float(np.median(values)), int(min(values)), int(max(values)))


def split_fingerprint(samples: list[Sample], desc: str, progress: bool) -> SplitFingerprint:
    """Counts and size statistics of ``samples`` (every image header)."""
    sizes = [image_size(s.image_path) for s in _progress(samples, f"sizes {desc}", progress)]
    hs, ws = [h for h, _ in sizes], [w for _, w in sizes]
    return SplitFingerprint(len(samples), _stats(hs), _stats(ws), int(sum(h * w for h, w in sizes)))


def read_label_mask(path: Path) -> np.ndarray:
    """Stored mask values (H, W); a colour RGB mask is refused pointing to the converter."""
    with Image.open(path) as im:
        mode = im.mode
        if mode in ("RGB", "RGBA"):
            arr = np.asarray(im.convert("RGB"))
            if not ((arr == arr[:, :, :1]).all()):
                colours = np.unique(arr.reshape(-1, 3), axis=0)
                raise DataError(f"{display_path(path)}: mask is a colour (RGB) image with {len(colours)} colours "
                                f"(e.g. {tuple(int(v) for v in colours[min(1, len(colours) - 1)])}), not class "
                                f"indices; {CONVERT_HINT}")
    return read_mask(path)


def _progress(items: list, desc: str, progress: bool):
    if not progress or len(items) < 50:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file", leave=False, file=sys.stderr)


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def is_numbered_sequence(names: list[str]) -> bool:
    """True for names that are one common prefix + consecutive numbers with a constant step
    (``0..29``, ``slice_0001..slice_0120``, video frames): neighbours are near-duplicates."""
    if len(names) < 3:
        return False
    parts = [_NUMBERED.match(n) for n in names]
    if not all(parts) or len({p.group(1) for p in parts}) != 1:
        return False
    numbers = sorted(int(p.group(2)) for p in parts)
    steps = set(np.diff(numbers).tolist())
    return len(steps) == 1 and steps.pop() > 0


def _sequence_order(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: int(_NUMBERED.match(n).group(2)))


# ------------------------------------------------------------------------------------ fingerprint

def compute_fingerprint(root: str | Path, source: str = "folder", max_masks: int = MAX_MASKS, seed: int = 0,
                        progress: bool = True) -> Fingerprint:
    """Fingerprint of the data under ``root`` read as ``source`` (``folder``, ``camvid``, ``isbi2012``).

    Pixel statistics read at most ``max_masks`` training masks (a seeded sample above that) and
    their images; pairing and size statistics cover every file. Raises DataError naming the file
    or folder for an empty or missing folder, unpaired files, size mismatches or colour masks.
    """
    predefined, pool = list_samples(root, source)
    splits = {name: split_fingerprint(samples, name, progress) for name, samples in predefined.items()}
    if "train" not in predefined:
        splits["pool"] = split_fingerprint(pool, "pool", progress)
    training = pool
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(training), size=max_masks, replace=False).tolist()) \
        if len(training) > max_masks else list(range(len(training)))
    counts: dict[int, int] = {}
    rows: dict[int, float] = {}
    boundary: dict[int, float] = {}
    images_with: dict[int, int] = {}
    colour = gray_as_rgb = 0
    for i in _progress(chosen, "scan masks", progress):
        sample = training[i]
        mask = read_label_mask(sample.mask_path)
        raw = read_image(sample.image_path)
        if raw.shape[:2] != mask.shape:
            raise DataError(size_mismatch_message(sample.image_path, raw.shape[:2], sample.mask_path, mask.shape))
        if raw.shape[2] == 3:
            if np.array_equal(raw[:, :, 0], raw[:, :, 1]) and np.array_equal(raw[:, :, 0], raw[:, :, 2]):
                gray_as_rgb += 1
            else:
                colour += 1
        _add_mask_stats(mask, counts, rows, boundary, images_with)
    n = len(chosen)
    names = [s.name for s in pool]
    return Fingerprint(
        source=source, root=str(root), splits=splits, predefined_splits=tuple(predefined),
        pool_names=tuple(_sequence_order(names) if is_numbered_sequence(names) else names),
        numbered_sequence=is_numbered_sequence(names), channels=3 if colour else 1,
        images_gray_as_rgb=gray_as_rgb, images_scanned=n, masks_scanned=n, masks_total=len(training),
        value_counts=dict(sorted(counts.items())),
        value_rows={v: rows[v] / counts[v] for v in sorted(counts)},
        value_boundary={v: boundary[v] / counts[v] for v in sorted(counts)},
        value_images={v: images_with[v] / n for v in sorted(counts)},
        **_source_conventions(source))


def _add_mask_stats(mask: np.ndarray, counts: dict, rows: dict, boundary: dict, images_with: dict) -> None:
    """Accumulate per-value pixel counts, summed vertical positions, boundary pixels and presence."""
    h, w = mask.shape
    values, inverse = np.unique(mask, return_inverse=True)
    inverse = inverse.reshape(mask.shape)
    row_pos = np.broadcast_to((np.arange(h, dtype=np.float64) / max(h - 1, 1))[:, None], (h, w))
    edge = np.zeros(mask.shape, dtype=bool)
    vert = mask[1:] != mask[:-1]
    horiz = mask[:, 1:] != mask[:, :-1]
    edge[1:] |= vert
    edge[:-1] |= vert
    edge[:, 1:] |= horiz
    edge[:, :-1] |= horiz
    k = len(values)
    n = np.bincount(inverse.ravel(), minlength=k)
    r = np.bincount(inverse.ravel(), weights=row_pos.ravel(), minlength=k)
    b = np.bincount(inverse.ravel(), weights=edge.ravel().astype(np.float64), minlength=k)
    for j, v in enumerate(values.tolist()):
        counts[v] = counts.get(v, 0) + int(n[j])
        rows[v] = rows.get(v, 0.0) + float(r[j])
        boundary[v] = boundary.get(v, 0.0) + float(b[j])
        images_with[v] = images_with.get(v, 0) + 1


def _source_conventions(source: str) -> dict:
    """The source's own label conventions (its defaults in :func:`~colorseg.data.sources.build_source`)."""
    if source == "folder":
        return {"source_ignore_index": 255, "source_value_map": None, "source_class_names": None}
    src = build_source(source, ".")
    return {"source_ignore_index": src.ignore_index, "source_value_map": src.mask_value_map,
            "source_class_names": tuple(src.class_names)}
