"""SegmentationDataModule: source → split → datasets → loaders, plus on-device augmentation."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from colorseg.data.datasets import SegmentationDataset, pad_collate
from colorseg.data.label_checks import absent_classes_note, check_training_labels
from colorseg.data.sources import Source
from colorseg.data.split_datasets import SegmentationSplits, check_disjoint  # noqa: F401 - check_disjoint re-exported
from colorseg.data.transforms import AugmentConfig, build_augment


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
        # the splits themselves are built by data code that evaluation shares (colorseg.data.split_datasets)
        self.splits = SegmentationSplits(**{k: v for k, v in args.items()
                                            if k not in ("batch_size", "eval_batch_size", "num_workers")})
        self.source: Source = self.splits.source
        # resolved metadata, so the checkpoint's data hparams agree with the model's
        self.save_hyperparameters({**args, "augment": asdict(augment), "class_names": self.class_names,
                                   "class_colors": self.class_colors, "in_channels": self.in_channels,
                                   "ignore_index": self.ignore_index})
        self.augment = build_augment(augment, self.source.ignore_index)

    @property
    def _splits(self) -> dict[str, SegmentationDataset]:
        return self.splits.datasets

    @property
    def test_is_val(self) -> bool:
        """No test split was carved: ``test`` is the validation split."""
        return self.splits.test_is_val

    # --- metadata the model needs (linked into the module by the CLI) ---
    @property
    def class_names(self) -> list[str]:
        return self.splits.class_names

    @property
    def class_colors(self) -> list[tuple[int, int, int]]:
        return self.splits.class_colors

    @property
    def in_channels(self) -> int:
        return self.splits.in_channels

    @property
    def ignore_index(self) -> int:
        return self.splits.ignore_index

    def split_samples(self) -> dict[str, list]:
        """Disjoint sample lists for ``train``, ``val`` and ``test`` following the split options."""
        return self.splits.split_samples()

    def selection_split_reused(self, split: str) -> bool:
        """True when ``split`` was used for training or for choosing checkpoints and schedules
        (train, val, or a test split that is the validation split)."""
        return self.splits.selection_split_reused(split)

    def split_names(self) -> dict[str, list[str]]:
        """Sample names per split (saved in checkpoints, so evaluation can check for overlap)."""
        return self.splits.split_names()

    def state_dict(self) -> dict:
        return {"split_names": self.split_names()}

    def setup(self, stage: str | None = None) -> None:
        """Build the split datasets; for ``fit``, load and validate the training and validation
        samples up front (they are cached for training anyway), so bad files stop the run at once."""
        self.splits.build()
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

    def dataset(self, split: str) -> SegmentationDataset:
        return self.splits.dataset(split)

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
