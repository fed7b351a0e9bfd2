"""Data options → source → disjoint train / val / test samples → the split datasets (no Lightning).

One implementation for everyone who needs a split: the training data modules
(:mod:`colorseg.training.datamodule`, :mod:`colorseg.training.color_datamodule`) wrap these
classes for their loaders, and evaluation rebuilds the evaluated split from the options a
checkpoint stores (``checkpoint["datamodule_hyper_parameters"]``) through
:meth:`SegmentationSplits.from_options` / :meth:`ColorSplits.from_options`. The constructor
defaults are the data modules' defaults (a test keeps them equal), so a checkpoint that lacks an
option rebuilds the same split either way.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from colorseg.data.color_datasets import ColorDataset, ColorFileDataset, ColorSampleTable
from colorseg.data.color_sources import (
    ColorSample,
    ColorSource,
    build_color_source,
    color_samples_under,
    drop_grayscale,
    is_grayscale,
)
from colorseg.data.datasets import SegmentationDataset
from colorseg.data.sources import Source, build_source
from colorseg.data.splits import kfold_split, split_by_fraction, split_by_names
from colorseg.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


def option_names(cls) -> set[str]:
    """The data options ``cls`` (or a data module class) is built from."""
    return set(inspect.signature(cls.__init__).parameters) - {"self"}


def _from_options(cls, options: Mapping | None, overrides: Mapping | None):
    """``cls(**options)`` with ``overrides`` applied; keys ``cls`` does not take (loader settings such
    as ``batch_size``, LightningCLI's private keys) are dropped."""
    names = option_names(cls)
    values = {k: v for k, v in dict(options or {}).items() if k in names}
    values.update(overrides or {})
    return cls(**values)


def check_disjoint(splits: dict[str, list], allow_test_is_val: bool = False) -> None:
    """Raise ConfigError naming the samples when two splits share a sample name (the test split
    may be the validation split itself only when ``allow_test_is_val``)."""
    names = {k: {s.name for s in v} for k, v in splits.items()}
    pairs = [("train", "val"), ("train", "test")] + ([] if allow_test_is_val else [("val", "test")])
    for a, b in pairs:
        shared = sorted(names[a] & names[b])
        if shared:
            raise ConfigError(f"the {a} and {b} splits share {len(shared)} samples, e.g. {shared[:5]}: "
                              f"train, validation and test must be disjoint")


class SegmentationSplits:
    """The segmentation splits a set of data options describes (options: see
    :class:`~colorseg.training.datamodule.SegmentationDataModule`, minus the loader settings).

    ``datasets`` holds the split datasets once :meth:`build` ran (``dataset`` builds on demand);
    ``test_is_val`` is True when no test split was carved, so ``test`` is the validation split.
    """

    def __init__(self, source: str = "synthetic", root: str | None = None,
                 class_names: list[str] | None = None, class_colors: list[tuple[int, int, int]] | None = None,
                 in_channels: int | None = None, ignore_index: int | None = None,
                 mask_value_map: dict[int, int] | None = None,
                 test_names: list[str] | None = None, test_fraction: float = 0.2,
                 val_names: list[str] | None = None, val_fraction: float = 0.2,
                 num_folds: int | None = None, fold: int = 0, split_seed: int = 0,
                 crop_size: int | None = 128, scale_range: tuple[float, float] = (0.8, 1.25),
                 repeats: int = 1, num_images: int = 64, image_size: int = 128, seed: int = 0) -> None:
        self.test_names, self.test_fraction = test_names, test_fraction
        self.val_names, self.val_fraction = val_names, val_fraction
        self.num_folds, self.fold, self.split_seed = num_folds, fold, split_seed
        self.crop_size, self.scale_range, self.repeats = crop_size, scale_range, repeats
        self.source: Source = build_source(source, root, class_names, class_colors, in_channels,
                                           ignore_index, mask_value_map, num_images, image_size, seed)
        self.datasets: dict[str, SegmentationDataset] = {}
        self.test_is_val = False

    @classmethod
    def from_options(cls, options: Mapping | None, overrides: Mapping | None = None) -> SegmentationSplits:
        """Build from saved data options (e.g. a checkpoint's ``datamodule_hyper_parameters``)."""
        return _from_options(cls, options, overrides)

    @property
    def class_names(self) -> list[str]:
        return list(self.source.class_names)

    @property
    def class_colors(self) -> list[tuple[int, int, int]]:
        return list(self.source.class_colors)

    @property
    def in_channels(self) -> int:
        return self.source.in_channels

    @property
    def ignore_index(self) -> int:
        return self.source.ignore_index

    def split_samples(self) -> dict[str, list]:
        """Disjoint sample lists for ``train``, ``val`` and ``test`` following the split options."""
        predefined = self.source.splits()
        test = predefined.get("test")
        if "train" in predefined:
            pool = predefined["train"]
        else:
            held = {s.name for s in test or []} | {s.name for s in predefined.get("val", [])}
            pool = [s for s in self.source.pool() if s.name not in held]
        total = len(pool) + len(test or [])
        if test is None and (self.test_names or self.test_fraction):
            if self.test_names:
                pool, test = split_by_names(pool, [s.name for s in pool], [str(n) for n in self.test_names],
                                            what="test_names")
            else:
                pool, test = split_by_fraction(pool, self.test_fraction, self.split_seed, what="test_fraction")
        if self.val_names and self.num_folds:
            raise ConfigError("data.val_names and data.num_folds both choose the validation split: set one")
        if "val" in predefined:
            train, val = pool, predefined["val"]
        elif self.val_names:
            train, val = split_by_names(pool, [s.name for s in pool], [str(n) for n in self.val_names])
        elif self.num_folds:
            train, val = kfold_split(pool, self.num_folds, self.fold, self.split_seed)
        else:
            train, val = split_by_fraction(pool, self.val_fraction, self.split_seed + 1, total=total)
        if not train or not val:
            raise ConfigError(f"empty split: {len(train)} training and {len(val)} validation samples")
        self.test_is_val = test is None
        splits = {"train": train, "val": val, "test": val if test is None else test}
        check_disjoint(splits, allow_test_is_val=self.test_is_val)
        return splits

    def build(self) -> dict[str, SegmentationDataset]:
        """The split datasets (training: random rescaled crops, repeated; val / test: whole images)."""
        if not self.datasets:
            samples = self.split_samples()
            self.datasets.update({
                "train": SegmentationDataset(self.source, samples["train"], self.crop_size, self.scale_range,
                                             self.repeats),
                "val": SegmentationDataset(self.source, samples["val"]),
                "test": SegmentationDataset(self.source, samples["test"]),
            })
        return self.datasets

    def dataset(self, split: str) -> SegmentationDataset:
        datasets = self.build()
        if split not in datasets:
            raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        return datasets[split]

    def split_names(self) -> dict[str, list[str]]:
        """Sample names per split (saved in checkpoints, so evaluation can check for overlap)."""
        return {k: [s.name for s in ds.samples] for k, ds in self.build().items()}

    def selection_split_reused(self, split: str) -> bool:
        """True when ``split`` was used for training or for choosing checkpoints and schedules
        (train, val, or a test split that is the validation split)."""
        self.build()
        return split != "test" or self.test_is_val


class ColorSplits:
    """The colorization splits a set of data options describes (options: see
    :class:`~colorseg.training.color_datamodule.ColorizationDataModule`, minus the loader settings).

    ``preload=True`` (default): splits are decoded on first use, one split at a time, and held in
    memory (:class:`~colorseg.data.color_datasets.ColorDataset`); grayscale-only images are dropped.
    ``preload=False`` (streaming, for folders too large for memory, e.g. ImageNet): the datasets
    hold file paths only (:class:`~colorseg.data.color_datasets.ColorFileDataset`) and decode each
    file when an item is read, in the DataLoader workers. The validation and test splits are read
    once when first built, to drop their grayscale-only images exactly as preloading does (same
    items, same order, same tensors); the training split is not read up front: a grayscale-only
    training image is replaced by the next image when it comes up (with a warning and a count).
    A file that cannot be read is an error naming it in both modes; when streaming it surfaces
    when the file is first read, possibly mid-epoch.
    """

    def __init__(self, source: str = "synthetic", root: str | None = None, image_size: int = 64,
                 max_zoom: float = 1.25, repeats: int = 1, val_from_train: int = 20, num_images: int = 256,
                 synthetic_size: int = 64, seed: int = 0, val_fraction: float = 0.1,
                 test_fraction: float = 0.1, extra_train_roots: list[str] | None = None,
                 preload: bool = True) -> None:
        if image_size < 8:
            raise ConfigError(f"image_size must be at least 8, got {image_size}")
        self.image_size, self.max_zoom, self.repeats = int(image_size), max_zoom, repeats
        self.val_from_train, self.seed = val_from_train, seed
        self.preload = bool(preload)
        self.source: ColorSource = build_color_source(source, root, num_images, synthetic_size, seed, val_fraction,
                                                      test_fraction)
        self.extra_train_roots = [Path(r) for r in (extra_train_roots or [])]
        for extra in self.extra_train_roots:
            if not extra.is_dir():
                raise DataError(f"data.extra_train_roots: {extra} is not a folder")
        self._samples: dict[str, list[ColorSample]] | None = None
        self._data: dict[str, tuple[list[np.ndarray], list[str]]] = {}
        self._tables: dict[str, ColorSampleTable] | None = None  # streaming: compact splits
        self._colour_tables: dict[str, ColorSampleTable] = {}  # streaming: val / test without gray images

    @classmethod
    def from_options(cls, options: Mapping | None, overrides: Mapping | None = None) -> ColorSplits:
        """Build from saved data options (e.g. a checkpoint's ``datamodule_hyper_parameters``)."""
        return _from_options(cls, options, overrides)

    def _compute_splits(self) -> dict[str, list[ColorSample]]:
        splits = self.source.splits()
        for root in self.extra_train_roots:
            extra = color_samples_under(root, prefix=root.name)
            if not extra:
                raise DataError(f"data.extra_train_roots: no images under {root}")
            splits["train"] = splits["train"] + extra
        if not splits.get("val") and self.val_from_train and len(splits["train"]) > 1:
            order = np.random.default_rng(self.seed).permutation(len(splits["train"]))
            n_val = min(self.val_from_train, len(splits["train"]) - 1)
            held = set(order[:n_val].tolist())
            splits["val"] = [s for i, s in enumerate(splits["train"]) if i in held]
            splits["train"] = [s for i, s in enumerate(splits["train"]) if i not in held]
        return splits

    def split_samples(self) -> dict[str, list[ColorSample]]:
        """The source's splits, with every image under ``extra_train_roots`` (recursive, named
        ``<folder name>/<relative path>``) added to the training pool; without a validation split
        (BSDS500), ``val_from_train`` seeded images of that pool are held out for validation.

        When streaming, the lists are rebuilt from the compact tables on each call (the
        splits keep no Python object per file)."""
        if not self.preload:
            return {k: list(t) for k, t in self.sample_tables().items()}
        if self._samples is None:
            self._samples = self._compute_splits()
        return self._samples

    def sample_tables(self) -> dict[str, ColorSampleTable]:
        """The splits as compact :class:`~colorseg.data.color_datasets.ColorSampleTable` s (all
        images, grayscale-only ones included), computed once."""
        if self._tables is None:
            self._tables = {k: ColorSampleTable(v) for k, v in self._compute_splits().items()}
        return self._tables

    def load_split(self, split: str) -> tuple[list[np.ndarray], list[str]]:
        """Decoded colour images (H, W, 3) and names of a split (grayscale-only ones dropped).
        This decodes the whole split into memory in either mode (streaming datasets never call it)."""
        if split not in self._data:
            splits = self.split_samples()
            if split not in splits:
                raise ConfigError(f"unknown split {split!r}")
            from tqdm import tqdm

            samples = splits[split]
            images = [s.load() for s in tqdm(samples, desc=f"load {split}", unit="img", leave=False,
                                             disable=len(samples) < 50)]
            kept, images = drop_grayscale(samples, images, split)
            self._data[split] = (images, [s.name for s in kept])
        return self._data[split]

    def colour_table(self, split: str) -> ColorSampleTable:
        """Streaming: an evaluation split without its grayscale-only images, found by reading each
        file once (warning and error as :func:`~colorseg.data.color_sources.drop_grayscale`)."""
        if split not in self._colour_tables:
            tables = self.sample_tables()
            if split not in tables:
                raise ConfigError(f"unknown split {split!r}")
            from tqdm import tqdm

            table = tables[split]
            keep = [i for i in tqdm(range(len(table)), desc=f"check {split}", unit="img", leave=False,
                                    disable=len(table) < 50) if not is_grayscale(table[i].load())]
            dropped = len(table) - len(keep)
            if dropped:
                warnings.warn(f"skipped {dropped} grayscale-only image(s) of {len(table)} in the {split} split "
                              "(they carry no colour to learn from)", stacklevel=2)
            if len(table) and not keep:
                path = table[0].path
                where = path.parent if path is not None else "the data"
                raise DataError(f"no colour images to {split} on: all {len(table)} images in {where} are grayscale")
            self._colour_tables[split] = table if not dropped else table.subset(keep)
        return self._colour_tables[split]

    def dataset(self, split: str) -> ColorDataset | ColorFileDataset:
        train = split == "train"
        repeats = self.repeats if train else 1
        if not self.preload:
            if split not in SPLITS:
                raise ConfigError(f"unknown split {split!r}")
            table = self.sample_tables()[split] if train else self.colour_table(split)
            if not len(table):
                raise ConfigError(f"the {split} split is empty")
            return ColorFileDataset(table, self.image_size, train=train, max_zoom=self.max_zoom, repeats=repeats,
                                    split=split)
        images, names = self.load_split(split)
        if not images:
            raise ConfigError(f"the {split} split is empty")
        return ColorDataset(images, names, self.image_size, train=train, max_zoom=self.max_zoom,
                            repeats=repeats)
