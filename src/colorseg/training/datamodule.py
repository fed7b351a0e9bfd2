"""SegmentationDataModule: source → split → datasets → loaders, plus on-device augmentation."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from colorseg.data.datasets import SegmentationDataset, pad_collate
from colorseg.data.label_checks import absent_classes_note, check_training_labels
from colorseg.data.sources import Source, build_source
from colorseg.data.splits import kfold_split, split_by_fraction, split_by_names
from colorseg.data.transforms import AugmentConfig, build_augment
from colorseg.errors import ConfigError


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


class SegmentationDataModule(pl.LightningDataModule):
    """Data for the U-Net.

    Args:
        source: ``synthetic`` | ``synthetic_em`` | ``folder`` | ``isbi2012`` | ``camvid``.
        root: data folder (not needed for synthetic sources).
        class_names / class_colors / in_channels / ignore_index / mask_value_map: override the
            source's defaults (``folder`` requires ``class_names``).
        test_names: the test set, by sample name (e.g. ISBI slices "24".."29") ...
        test_fraction: ... otherwise this seeded fraction of the pool; carved out first, so it is
            never seen by training or by checkpoint/schedule selection. ``0`` (with no
            ``test_names``) carves no test set: ``test`` then means the validation split, and
            evaluation marks its metrics ``selection_split_reused``.
        val_names: validation samples by name, drawn from what the test set left ...
        val_fraction: ... otherwise this seeded fraction (of the whole pool) ...
        num_folds, fold: ... or fold ``fold`` of a seeded k-fold split of what the test set left.
        Predefined splits (CamVid, folder with ``splits/{train,val,test}.txt``) are used as they
        are; a missing predefined split is carved as above. Train, validation and test are checked
        to be disjoint (by sample name).
        crop_size: training crop side (None = whole images); scale_range: random rescale before it.
        repeats: how many times the training set is passed per epoch (tiny data sets).
        augment: :class:`~colorseg.data.transforms.AugmentConfig`; ``augment.enabled=false`` turns it off.
        num_images, image_size, seed: synthetic data only.
    """

    def __init__(self, source: str = "synthetic", root: str | None = None,
                 class_names: list[str] | None = None, class_colors: list[tuple[int, int, int]] | None = None,
                 in_channels: int | None = None, ignore_index: int | None = None,
                 mask_value_map: dict[int, int] | None = None,
                 test_names: list[str] | None = None, test_fraction: float = 0.2,
                 val_names: list[str] | None = None, val_fraction: float = 0.2,
                 num_folds: int | None = None, fold: int = 0, split_seed: int = 0,
                 crop_size: int | None = 128, scale_range: tuple[float, float] = (0.8, 1.25),
                 repeats: int = 1, batch_size: int = 4, eval_batch_size: int = 1, num_workers: int = 0,
                 augment: AugmentConfig = AugmentConfig(),  # noqa: B008 - LightningCLI parses this default
                 num_images: int = 64, image_size: int = 128, seed: int = 0) -> None:
        super().__init__()
        augment = AugmentConfig(**augment) if isinstance(augment, dict) else augment
        args = {k: v for k, v in locals().items() if k not in ("self", "__class__", "augment")}
        self.source: Source = build_source(source, root, class_names, class_colors, in_channels,
                                           ignore_index, mask_value_map, num_images, image_size, seed)
        # resolved metadata, so the checkpoint's data hparams agree with the model's
        self.save_hyperparameters({**args, "augment": asdict(augment), "class_names": self.class_names,
                                   "class_colors": self.class_colors, "in_channels": self.in_channels,
                                   "ignore_index": self.ignore_index})
        self.augment = build_augment(augment, self.source.ignore_index)
        self._splits: dict[str, SegmentationDataset] = {}
        self.test_is_val = False

    # --- metadata the model needs (linked into the module by the CLI) ---
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
        hp = self.hparams
        predefined = self.source.splits()
        test = predefined.get("test")
        if "train" in predefined:
            pool = predefined["train"]
        else:
            held = {s.name for s in test or []} | {s.name for s in predefined.get("val", [])}
            pool = [s for s in self.source.pool() if s.name not in held]
        total = len(pool) + len(test or [])
        if test is None and (hp.test_names or hp.test_fraction):
            if hp.test_names:
                pool, test = split_by_names(pool, [s.name for s in pool], [str(n) for n in hp.test_names],
                                            what="test_names")
            else:
                pool, test = split_by_fraction(pool, hp.test_fraction, hp.split_seed, what="test_fraction")
        if hp.val_names and hp.num_folds:
            raise ConfigError("data.val_names and data.num_folds both choose the validation split: set one")
        if "val" in predefined:
            train, val = pool, predefined["val"]
        elif hp.val_names:
            train, val = split_by_names(pool, [s.name for s in pool], [str(n) for n in hp.val_names])
        elif hp.num_folds:
            train, val = kfold_split(pool, hp.num_folds, hp.fold, hp.split_seed)
        else:
            train, val = split_by_fraction(pool, hp.val_fraction, hp.split_seed + 1, total=total)
        if not train or not val:
            raise ConfigError(f"empty split: {len(train)} training and {len(val)} validation samples")
        self.test_is_val = test is None
        splits = {"train": train, "val": val, "test": val if test is None else test}
        check_disjoint(splits, allow_test_is_val=self.test_is_val)
        return splits

    def selection_split_reused(self, split: str) -> bool:
        """True when ``split`` was used for training or for choosing checkpoints and schedules
        (train, val, or a test split that is the validation split)."""
        self.setup()
        return split != "test" or self.test_is_val

    def split_names(self) -> dict[str, list[str]]:
        """Sample names per split (saved in checkpoints, so evaluation can check for overlap)."""
        self.setup()
        return {k: [s.name for s in ds.samples] for k, ds in self._splits.items()}

    def state_dict(self) -> dict:
        return {"split_names": self.split_names()}

    def setup(self, stage: str | None = None) -> None:
        """Build the split datasets; for ``fit``, load and validate the training and validation
        samples up front (they are cached for training anyway), so bad files stop the run at once."""
        if not self._splits:
            self._build_splits()
        if stage == "fit":
            self._splits["train"].preload()
            self._splits["val"].preload()
            self.check_labels()

    def check_labels(self) -> None:
        """Stop when a declared class has no training pixels (DataError naming the class and the
        values the masks hold); warn when the validation split lacks a class."""
        src = self.source
        check_training_labels(self._splits["train"].label_counts(), self.class_names, src.ignore_index,
                              len(self._splits["train"].samples), src.mask_value_map)
        note = absent_classes_note(self._splits["val"].label_counts(), self.class_names, "validation")
        if note:
            rank_zero_warn(note)

    def _build_splits(self) -> None:
        hp = self.hparams
        samples = self.split_samples()
        self._splits = {
            "train": SegmentationDataset(self.source, samples["train"], hp.crop_size, hp.scale_range,
                                         hp.repeats),
            "val": SegmentationDataset(self.source, samples["val"]),
            "test": SegmentationDataset(self.source, samples["test"]),
        }

    def dataset(self, split: str) -> SegmentationDataset:
        self.setup()
        return self._splits[split]

    def _loader(self, split: str, shuffle: bool) -> DataLoader:
        hp = self.hparams
        return DataLoader(self.dataset(split), batch_size=hp.batch_size if split == "train" else hp.eval_batch_size,
                          shuffle=shuffle, num_workers=hp.num_workers, drop_last=False,
                          persistent_workers=hp.num_workers > 0,
                          collate_fn=partial(pad_collate, ignore_index=self.ignore_index))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        """Augment training batches on the device they were moved to (GPU-friendly)."""
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            batch["image"], batch["mask"] = self.augment(batch["image"], batch["mask"])
        return batch
