"""The data modules build their splits with the data code evaluation uses
(colorseg.data.split_datasets): same options, same defaults, same samples."""

from __future__ import annotations

import inspect

import pytest

from colorseg.data.split_datasets import ColorSplits, SegmentationSplits
from colorseg.evaluation.segmentation import DATAMODULE_STATE_KEY
from colorseg.training.color_datamodule import ColorizationDataModule
from colorseg.training.datamodule import SegmentationDataModule

LOADER_OPTIONS = {"batch_size", "eval_batch_size", "num_workers", "augment", "persistent_workers", "pin_memory",
                  "histogram_images"}  # loader settings, and the training-only histogram sample size


@pytest.mark.parametrize(("module_class", "splits_class"), [(SegmentationDataModule, SegmentationSplits),
                                                            (ColorizationDataModule, ColorSplits)])
def test_split_options_and_defaults_agree(module_class, splits_class) -> None:
    """A checkpoint without an option rebuilds the same split in training and in evaluation."""
    module = {k: p.default for k, p in inspect.signature(module_class.__init__).parameters.items() if k != "self"}
    splits = {k: p.default for k, p in inspect.signature(splits_class.__init__).parameters.items() if k != "self"}
    assert set(module) - LOADER_OPTIONS == set(splits)
    assert {k: module[k] for k in splits} == splits


def test_state_key_is_the_data_modules_name() -> None:
    assert DATAMODULE_STATE_KEY == SegmentationDataModule.__qualname__


def test_module_and_options_rebuild_give_the_same_samples() -> None:
    dm = SegmentationDataModule(source="synthetic", num_images=20, image_size=32, test_fraction=0.2)
    rebuilt = SegmentationSplits.from_options(dict(dm.hparams))
    assert rebuilt.split_names() == dm.split_names()
    color = ColorizationDataModule(source="synthetic", num_images=20, synthetic_size=16, image_size=16)
    again = ColorSplits.from_options(dict(color.hparams))
    for split in ("train", "val", "test"):
        assert color.load_split(split)[1] == again.load_split(split)[1]
