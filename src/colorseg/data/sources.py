"""Data sources: where segmentation pairs come from, with class names and display colours.

Every source yields :class:`Sample` records and loads them through :meth:`Source.load`, which
validates the pair (readable files, equal sizes, mask values within the declared classes) and
raises :class:`~colorseg.errors.DataError` naming the offending file.

Layouts
-------
* ``folder``:  ``ROOT/images/<stem>.<ext>`` + ``ROOT/masks/<stem>.<ext>`` paired by file stem;
  optional ``ROOT/splits/{train,val,test}.txt`` with one stem per line.
* ``isbi2012``: ``ROOT/train/image/N.png`` + ``ROOT/train/label/N.png`` (255 = cell → 1, 0 = membrane → 0).
* ``camvid``:  SegNet layout ``ROOT/{train,val,test}/*.png`` + ``ROOT/{train,val,test}annot/*.png``,
  labels 0..10, 11 = void (ignored).
* ``synthetic`` / ``synthetic_em``: generated in memory (see :mod:`colorseg.data.synthetic`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from colorseg.data import synthetic
from colorseg.data.files import display_path
from colorseg.data.image_io import read_image, read_mask
from colorseg.data.pairing import LOADER_REFUSES, PROBLEM_KINDS, pair_by_stem, size_mismatch_message
from colorseg.errors import ConfigError, DataError

CAMVID_CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence",
                  "Car", "Pedestrian", "Bicyclist"]
CAMVID_COLORS = [(128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222),
                 (128, 128, 0), (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0),
                 (0, 128, 192)]
SOURCE_KINDS = ("folder", "isbi2012", "camvid", "synthetic", "synthetic_em")


@dataclass(frozen=True)
class Sample:
    """One image/mask pair: file paths, or a generator returning ``(image, mask)``."""

    name: str
    image_path: Path | None = None
    mask_path: Path | None = None
    generate: Callable[[], tuple[np.ndarray, np.ndarray]] | None = field(default=None, compare=False)


def default_colors(n: int) -> list[tuple[int, int, int]]:
    """Distinct display colours for ``n`` classes (tab20, then a seeded random fill)."""
    import colorsys

    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.75, 0.95))
            for i in range(n)]


@dataclass
class Source:
    """Base source. ``splits`` holds predefined split name → samples (may be empty)."""

    class_names: list[str]
    in_channels: int
    ignore_index: int = 255
    class_colors: list[tuple[int, int, int]] | None = None
    mask_value_map: dict[int, int] | None = None

    def __post_init__(self) -> None:
        if len(self.class_names) < 2:
            raise ConfigError(f"need at least 2 class names, got {self.class_names!r}")
        if self.class_colors is None:
            self.class_colors = default_colors(len(self.class_names))
        if len(self.class_colors) != len(self.class_names):
            raise ConfigError(f"class_colors has {len(self.class_colors)} entries for "
                              f"{len(self.class_names)} classes")
        self.class_colors = [tuple(int(v) for v in c) for c in self.class_colors]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def splits(self) -> dict[str, list[Sample]]:
        """Predefined splits; an empty dict means "split the pool yourself"."""
        return {}

    def pool(self) -> list[Sample]:
        """All samples available for fraction / k-fold / list splitting."""
        raise NotImplementedError

    def load(self, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
        """Load and validate: image float32 (H, W, C) in [0, 1], mask int64 (H, W)."""
        if sample.generate is not None:
            image, mask = sample.generate()
            return image, mask
        image = read_image(sample.image_path, channels=self.in_channels)
        mask = read_mask(sample.mask_path)
        if mask.shape != image.shape[:2]:
            raise DataError(size_mismatch_message(sample.image_path, image.shape[:2], sample.mask_path, mask.shape))
        return image, self._map_and_check(mask, sample.mask_path)

    def _map_and_check(self, mask: np.ndarray, path: Path | None) -> np.ndarray:
        if self.mask_value_map:
            mapped = np.full_like(mask, -1)
            for stored, label in self.mask_value_map.items():
                mapped[mask == stored] = label
            mapped[(mapped == -1) & (mask == self.ignore_index)] = self.ignore_index
            bad = np.unique(mask[mapped == -1])
            mask = mapped
        else:
            valid = (mask >= 0) & (mask < self.num_classes) | (mask == self.ignore_index)
            bad = np.unique(mask[~valid])
        if bad.size:
            allowed = (sorted(self.mask_value_map) if self.mask_value_map
                       else f"0..{self.num_classes - 1}")
            raise DataError(f"{display_path(path)}: mask values {bad.tolist()[:20]} are outside the declared "
                            f"classes (allowed: {allowed}, ignore: {self.ignore_index})")
        return mask


#: the splits a source may predefine, in order (``folder``: ``ROOT/splits/<name>.txt``)
SPLIT_NAMES = ("train", "val", "test")
POOL = "all"  # split name of the folders of a source without predefined splits (the pool)


def source_folders(kind: str, root: str | Path) -> list[tuple[str, Path, Path]]:
    """``(split, image folder, mask folder)`` of a file-based source, as its loader reads them:
    ``camvid`` one per predefined split, ``isbi2012`` and ``folder`` one pool (split :data:`POOL`)."""
    root = Path(root)
    if kind == "camvid":
        return [(s, root / s, root / f"{s}annot") for s in SPLIT_NAMES]
    if kind == "isbi2012":
        return [(POOL, root / "train" / "image", root / "train" / "label")]
    if kind == "folder":
        return [(POOL, root / "images", root / "masks")]
    raise ConfigError(f"data source {kind!r} has no folders; file-based sources: folder, isbi2012, camvid")


def paired_samples(images_dir: str | Path, masks_dir: str | Path, strict: bool = False) -> list[Sample]:
    """Samples of the image/mask pairs of two folders (:func:`~colorseg.data.pairing.pair_by_stem`),
    in image name order.

    Raises DataError with the first problem a loader cannot train with (a missing folder, a broken
    link, no image files, an image without a mask); masks without an image are ignored and of two
    files with one name the first is used. ``strict`` refuses those too (any pairing problem).
    """
    pairing = pair_by_stem(images_dir, masks_dir)
    pairing.raise_first(PROBLEM_KINDS if strict else LOADER_REFUSES)
    return [Sample(f.name, f.image, f.mask) for f in pairing.pairs]


def split_file_names(path: str | Path) -> list[str]:
    """The sample names of a split file: one a line, blank lines skipped."""
    return [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]


def read_split_files(split_dir: str | Path, samples: list[Sample]) -> dict[str, list[Sample]]:
    """Split name → samples, from ``split_dir/{train,val,test}.txt`` (the files present; none: ``{}``).

    Raises DataError naming the file when it lists a name that is not one of ``samples``.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        return {}
    by_name = {s.name: s for s in samples}
    out = {}
    for split in SPLIT_NAMES:
        f = split_dir / f"{split}.txt"
        if f.is_file():
            names = split_file_names(f)
            unknown = [n for n in names if n not in by_name]
            if unknown:
                raise DataError(f"{display_path(f)}: unknown sample names {unknown[:10]}")
            out[split] = [by_name[n] for n in names]
    return out


@dataclass
class FolderSource(Source):
    """Generic ``images/`` + ``masks/`` folder (see module docstring)."""

    root: Path = Path(".")

    def pool(self) -> list[Sample]:
        [(_, images_dir, masks_dir)] = source_folders("folder", self.root)
        return paired_samples(images_dir, masks_dir)

    def splits(self) -> dict[str, list[Sample]]:
        split_dir = Path(self.root) / "splits"
        return read_split_files(split_dir, self.pool()) if split_dir.is_dir() else {}


@dataclass
class ISBI2012Source(Source):
    """ISBI 2012 EM membranes: 30 gray 512×512 slices, 0 = membrane, 1 = cell."""

    root: Path = Path("../shared/data/isbi2012")

    def pool(self) -> list[Sample]:
        [(_, images_dir, masks_dir)] = source_folders("isbi2012", self.root)
        return sorted(paired_samples(images_dir, masks_dir), key=lambda s: (len(s.name), s.name))


@dataclass
class CamVidSource(Source):
    """CamVid (SegNet copy): predefined train/val/test; 11 classes, 11 = void."""

    root: Path = Path("../shared/data/camvid")

    def splits(self) -> dict[str, list[Sample]]:
        return {split: paired_samples(images_dir, masks_dir)
                for split, images_dir, masks_dir in source_folders("camvid", self.root)}

    def pool(self) -> list[Sample]:
        return self.splits()["train"]


@dataclass
class SyntheticSource(Source):
    """Generated data: ``kind`` "shapes" (RGB, 4 classes) or "em" (gray, membrane/cell)."""

    kind: str = "shapes"
    num_images: int = 64
    image_size: int = 128
    seed: int = 0

    def pool(self) -> list[Sample]:
        make = synthetic.make_shapes_sample if self.kind == "shapes" else synthetic.make_em_sample
        return [Sample(f"{self.kind}_{i:04d}", generate=partial(make, self.seed, i, self.image_size))
                for i in range(self.num_images)]


def build_source(kind: str, root: str | Path | None = None, class_names: list[str] | None = None,
                 class_colors: list[tuple[int, int, int]] | None = None, in_channels: int | None = None,
                 ignore_index: int | None = None, mask_value_map: dict[int, int] | None = None,
                 num_images: int = 64, image_size: int = 128, seed: int = 0) -> Source:
    """Build a source by name (one of :data:`SOURCE_KINDS`); raises ConfigError for unknown names."""
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"unknown data source {kind!r}; choose one of {', '.join(SOURCE_KINDS)}")
    if kind in ("folder", "isbi2012", "camvid") and root is None:
        raise ConfigError(f"data source {kind!r} needs data.root")
    if kind == "folder":
        if not class_names:
            raise ConfigError("data source 'folder' needs data.class_names (one name per label value)")
        return FolderSource(class_names=list(class_names), in_channels=in_channels or 3,
                            ignore_index=255 if ignore_index is None else ignore_index,
                            class_colors=class_colors, mask_value_map=mask_value_map, root=Path(root))
    if kind == "isbi2012":
        return ISBI2012Source(class_names=class_names or list(synthetic.EM_CLASSES), in_channels=in_channels or 1,
                              ignore_index=255 if ignore_index is None else ignore_index,
                              class_colors=class_colors or list(synthetic.EM_COLORS),
                              mask_value_map=mask_value_map or {0: 0, 255: 1}, root=Path(root))
    if kind == "camvid":
        return CamVidSource(class_names=class_names or list(CAMVID_CLASSES), in_channels=in_channels or 3,
                            ignore_index=11 if ignore_index is None else ignore_index,
                            class_colors=class_colors or list(CAMVID_COLORS), root=Path(root))
    em = kind == "synthetic_em"
    return SyntheticSource(
        class_names=list(synthetic.EM_CLASSES if em else synthetic.SHAPES_CLASSES),
        class_colors=list(synthetic.EM_COLORS if em else synthetic.SHAPES_COLORS),
        in_channels=1 if em else 3, ignore_index=255 if ignore_index is None else ignore_index,
        kind="em" if em else "shapes", num_images=num_images, image_size=image_size, seed=seed)
