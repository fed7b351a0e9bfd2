"""Train, validation and test are disjoint for every source and split option; the test split is
never the selection split unless the user asks for it, and then it says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.errors import ConfigError
from colorseg.training.datamodule import SegmentationDataModule
from tests.conftest import write_pair


def _assert_disjoint(dm: SegmentationDataModule) -> dict[str, set[str]]:
    names = {k: set(v) for k, v in dm.split_names().items()}
    assert all(names.values()), names
    assert not names["train"] & names["val"]
    assert not names["train"] & names["test"]
    assert not names["val"] & names["test"]
    return names


def _folder(root: Path, n: int = 10) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        mask = np.zeros((12, 12), np.uint8)
        mask[2:8, 2:8] = 1
        write_pair(root, f"s{i:02d}", rng.integers(0, 256, (12, 12, 3), dtype=np.uint8), mask)
    return root


def _isbi(root: Path, n: int = 30) -> Path:
    for i in range(n):
        for sub, value in (("image", 100), ("label", 255)):
            (root / "train" / sub).mkdir(parents=True, exist_ok=True)
            arr = np.full((8, 8), value, np.uint8)
            arr[:2] = 0
            Image.fromarray(arr).save(root / "train" / sub / f"{i}.png")
    return root


def _camvid(root: Path) -> Path:
    for split, n in {"train": 4, "val": 2, "test": 3}.items():
        for i in range(n):
            write_pair(root, f"{split}_{i}", np.full((4, 12, 3), 40, np.uint8),
                       (np.arange(48) % 12).reshape(4, 12), image_dir=split, mask_dir=f"{split}annot")
    return root


def _write_splits(root: Path, **splits: list[str]) -> None:
    (root / "splits").mkdir()
    for name, stems in splits.items():
        (root / "splits" / f"{name}.txt").write_text("\n".join(stems) + "\n")


FOLDER = {"source": "folder", "class_names": ["bg", "fg"]}


@pytest.mark.parametrize("options", [
    {"source": "synthetic", "num_images": 20, "image_size": 32},
    {"source": "synthetic_em", "num_images": 20, "image_size": 32},
    {"source": "synthetic", "num_images": 25, "image_size": 32, "num_folds": 4, "fold": 3},
    {"source": "synthetic", "num_images": 20, "image_size": 32, "test_names": ["shapes_0003", "shapes_0007"],
     "val_names": ["shapes_0001"]},
])
def test_generated_sources_are_disjoint(options: dict) -> None:
    dm = SegmentationDataModule(**options)
    names = _assert_disjoint(dm)
    assert sum(len(v) for v in names.values()) == options["num_images"]  # nothing dropped
    assert not dm.selection_split_reused("test")


def test_folder_without_split_files(tmp_path: Path) -> None:
    dm = SegmentationDataModule(root=str(_folder(tmp_path)), **FOLDER)
    names = _assert_disjoint(dm)
    assert [len(names[k]) for k in ("train", "val", "test")] == [6, 2, 2]


def test_folder_split_files_train_and_val_only(tmp_path: Path) -> None:
    """A predefined train/val pair without test: the test set is carved out of train."""
    root = _folder(tmp_path)
    _write_splits(root, train=[f"s{i:02d}" for i in range(8)], val=["s08", "s09"])
    names = _assert_disjoint(SegmentationDataModule(root=str(root), **FOLDER))
    assert names["val"] == {"s08", "s09"} and names["test"] <= {f"s{i:02d}" for i in range(8)}


def test_folder_all_three_split_files(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    _write_splits(root, train=["s00", "s01", "s02"], val=["s03"], test=["s04", "s05"])
    names = _assert_disjoint(SegmentationDataModule(root=str(root), **FOLDER))
    assert names == {"train": {"s00", "s01", "s02"}, "val": {"s03"}, "test": {"s04", "s05"}}


def test_folder_test_file_only(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    _write_splits(root, test=["s04", "s05"])
    names = _assert_disjoint(SegmentationDataModule(root=str(root), **FOLDER))
    assert names["test"] == {"s04", "s05"} and len(names["train"]) + len(names["val"]) == 8


def test_overlapping_split_files_are_an_error(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    _write_splits(root, train=["s00", "s01", "s02"], val=["s02"], test=["s04"])
    with pytest.raises(ConfigError, match=r"train and val splits share 1 samples, e.g. \['s02'\]"):
        SegmentationDataModule(root=str(root), **FOLDER).split_names()


def test_isbi_config_split(tmp_path: Path) -> None:
    """The shipped ISBI split: train 0-19, validation 20-23, test 24-29."""
    import yaml

    config = Path(__file__).resolve().parents[2] / "configs" / "segment" / "isbi2012.yaml"
    data = yaml.safe_load(config.read_text())["data"]
    data.pop("augment")
    dm = SegmentationDataModule(**{**data, "root": str(_isbi(tmp_path))})
    names = _assert_disjoint(dm)
    assert names == {"train": {str(i) for i in range(20)}, "val": {"20", "21", "22", "23"},
                     "test": {str(i) for i in range(24, 30)}}


def test_isbi_folds_keep_the_test_slices(tmp_path: Path) -> None:
    root = str(_isbi(tmp_path))
    test = [str(i) for i in range(24, 30)]
    vals = []
    for fold in range(5):
        names = _assert_disjoint(SegmentationDataModule(source="isbi2012", root=root, test_names=test,
                                                        num_folds=5, fold=fold))
        assert names["test"] == set(test)
        vals.append(names["val"])
    assert set().union(*vals) == {str(i) for i in range(24)}  # the folds cover the rest once
    assert sum(len(v) for v in vals) == 24


def test_camvid_predefined_splits(tmp_path: Path) -> None:
    names = _assert_disjoint(SegmentationDataModule(source="camvid", root=str(_camvid(tmp_path))))
    assert {k: len(v) for k, v in names.items()} == {"train": 4, "val": 2, "test": 3}


def test_asking_for_no_test_split_is_marked(tmp_path: Path) -> None:
    dm = SegmentationDataModule(source="synthetic", num_images=10, image_size=32, test_fraction=0)
    names = dm.split_names()
    assert names["test"] == names["val"] and not set(names["train"]) & set(names["val"])
    assert dm.selection_split_reused("test") and dm.selection_split_reused("val")


def test_unknown_test_names(tmp_path: Path) -> None:
    dm = SegmentationDataModule(source="synthetic", num_images=10, image_size=32, test_names=["nope"])
    with pytest.raises(ConfigError, match=r"test_names not found in the data: \['nope'\]"):
        dm.split_names()


def test_split_names_are_saved_in_the_checkpoint_state() -> None:
    dm = SegmentationDataModule(source="synthetic", num_images=10, image_size=32)
    assert dm.state_dict() == {"split_names": dm.split_names()}
