"""The data fingerprint the planner reads (nnU-Net's idea, for 2-D photos): counts, sizes,
channels and label statistics of a segmentation data set, computed once from the files.

Everything the planning rules (:mod:`colorseg.planning.rules`) know about the data is in
:class:`Fingerprint`; this module is the only one of the planner that reads files, and it reads
them the way the data doctor (``colorseg data check``) does: the loaders' pairing
(:func:`~colorseg.data.sources.paired_samples`, strict), the doctor's scan
(:func:`~colorseg.data.doctor.scan.scan`: images decoded as training does, masks raw), its mask
statistics (:class:`~colorseg.data.doctor.mask_checks.ValueHistogram`) and size summary
(:class:`~colorseg.data.doctor.fingerprint.SizeStats`).

* Pairing and sizes cover every file (image headers only, no decoding).
* Pixel statistics come from the training masks (the predefined ``train`` split, else the whole
  pool) and their images; above ``max_masks`` a seeded random sample of them is read, and
  :attr:`Fingerprint.masks_scanned` says how many.
* Mask values are the stored ones, before any ``mask_value_map``. A colour (RGB) mask is refused
  with a pointer to the converter.

Refusals (:class:`~colorseg.errors.DataError`, naming the file or folder): a missing or empty
folder, an image without a mask or a mask without an image, two files with one name, an unreadable
file, an image and mask of different sizes, a colour mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colorseg.data.doctor.fingerprint import SizeStats, size_stats
from colorseg.data.doctor.layout import Entry
from colorseg.data.doctor.mask_checks import ValueHistogram, is_binary_0_255
from colorseg.data.doctor.scan import Record, progress_bar, scan
from colorseg.data.files import display_path
from colorseg.data.image_io import probe_image, unpack_rgb
from colorseg.data.pairing import size_mismatch_message
from colorseg.data.sources import POOL, Sample, build_source, paired_samples, read_split_files, source_folders
from colorseg.errors import ConfigError, DataError

PLAN_SOURCES = ("folder", "camvid", "isbi2012")
MAX_MASKS = 200  # masks (and their images) decoded for pixel statistics; more are subsampled
CONVERT_HINT = "convert colour masks to class indices with `colorseg data convert --from rgb`, then plan again"


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
        """The masks hold only 0 and 255, 255 present (binary masks saved as 0/255; the data
        doctor's :func:`~colorseg.data.doctor.mask_checks.is_binary_0_255`)."""
        return is_binary_0_255(self.value_counts)


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

def split_fingerprint(samples: list[Sample], desc: str, progress: bool) -> SplitFingerprint:
    """Counts and size statistics of ``samples`` (every image header)."""
    sizes = [probe_image(s.image_path)[:2] for s in progress_bar(samples, f"sizes {desc}", progress)]
    hs, ws = [h for h, _ in sizes], [w for _, w in sizes]
    return SplitFingerprint(len(samples), size_stats(hs), size_stats(ws), int(sum(h * w for h, w in sizes)))


def _refuse_unusable(record: Record) -> None:
    """Refuse a scanned training pair the planner cannot use: an unreadable mask or image, a colour
    mask (pointing to the converter), an image and mask of different sizes. DataError naming the file."""
    entry, mask = record.entry, record.mask
    if record.mask_error:
        raise DataError(record.mask_error)
    if mask.stats.is_colour:
        colours = mask.stats.values
        example = unpack_rgb(colours[min(1, len(colours) - 1)])
        raise DataError(f"{display_path(entry.mask)}: mask is a colour (RGB) image with {len(colours)} colours "
                        f"(e.g. {example}), not class indices; {CONVERT_HINT}")
    if record.image_error:
        raise DataError(record.image_error)
    if (record.image.height, record.image.width) != (mask.height, mask.width):
        raise DataError(size_mismatch_message(entry.image, (record.image.height, record.image.width), entry.mask,
                                              (mask.height, mask.width)))


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
    or folder for an empty or missing folder, unpaired or unreadable files, size mismatches or
    colour masks.
    """
    predefined, pool = list_samples(root, source)
    splits = {name: split_fingerprint(samples, name, progress) for name, samples in predefined.items()}
    if "train" not in predefined:
        splits["pool"] = split_fingerprint(pool, "pool", progress)
    training = pool
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(len(training), size=max_masks, replace=False).tolist()) \
        if len(training) > max_masks else list(range(len(training)))
    records = scan([Entry(training[i].name, "train", training[i].image_path, training[i].mask_path) for i in chosen],
                   progress=progress, desc="scan masks")
    for record in records:
        _refuse_unusable(record)
    hist = ValueHistogram.of(r.mask.stats for r in records)
    rgb = [r.image for r in records if r.image.channels == 3]
    n = len(records)
    names = [s.name for s in pool]
    return Fingerprint(
        source=source, root=str(root), splits=splits, predefined_splits=tuple(predefined),
        pool_names=tuple(_sequence_order(names) if is_numbered_sequence(names) else names),
        numbered_sequence=is_numbered_sequence(names), channels=3 if any(not i.gray for i in rgb) else 1,
        images_gray_as_rgb=sum(i.gray for i in rgb), images_scanned=n, masks_scanned=n, masks_total=len(training),
        value_counts={v: hist.pixels[v] for v in hist.values()}, value_rows=hist.mean_rows(),
        value_boundary=hist.boundary_shares(), value_images=hist.mask_shares(n),
        **_source_conventions(source))


def _source_conventions(source: str) -> dict:
    """The source's own label conventions (its defaults in :func:`~colorseg.data.sources.build_source`)."""
    if source == "folder":
        return {"source_ignore_index": 255, "source_value_map": None, "source_class_names": None}
    src = build_source(source, ".")
    return {"source_ignore_index": src.ignore_index, "source_value_map": src.mask_value_map,
            "source_class_names": tuple(src.class_names)}
