"""Data sources: pairing, validation errors naming files, built-in layouts, real data sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.data.sources import (
    CAMVID_CLASSES,
    CamVidSource,
    FolderSource,
    ISBI2012Source,
    SyntheticSource,
    build_source,
)
from colorseg.data.synthetic import make_em_sample, make_shapes_sample
from colorseg.errors import ConfigError, DataError

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CLASSES3 = ["bg", "a", "b"]


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _folder(root: Path, **kw) -> FolderSource:
    return build_source("folder", root=root, class_names=kw.pop("class_names", CLASSES3), **kw)


# --------------------------------------------------------------------------- folder layout


def test_folder_pairs_by_stem_and_skips_thumbs(folder_dataset: Path) -> None:
    src = _folder(folder_dataset)
    assert isinstance(src, FolderSource)
    pool = src.pool()
    assert [s.name for s in pool] == [f"img_{i}" for i in range(6)]
    for s in pool:
        assert s.image_path.parent.name == "images" and s.mask_path.parent.name == "masks"
        assert s.image_path.stem == s.mask_path.stem == s.name
    assert src.splits() == {}
    assert src.num_classes == 3 and src.in_channels == 3 and src.ignore_index == 255


def test_folder_load_values(folder_dataset: Path) -> None:
    src = _folder(folder_dataset)
    sample = src.pool()[2]
    image, mask = src.load(sample)
    assert image.dtype == np.float32 and image.shape == (36, 40, 3)
    assert mask.dtype == np.int64 and mask.shape == (36, 40)
    expected_img = np.asarray(Image.open(sample.image_path)) / 255.0
    np.testing.assert_allclose(image, expected_img, atol=1e-6)
    expected_mask = np.zeros((36, 40), dtype=np.int64)
    expected_mask[5:20, 5:20] = 1
    expected_mask[22:30, 12:32] = 2
    np.testing.assert_array_equal(mask, expected_mask)


def test_folder_gray_conversion_on_request(folder_dataset: Path) -> None:
    src = _folder(folder_dataset, in_channels=1)
    image, _ = src.load(src.pool()[0])
    assert image.shape == (36, 40, 1)


def test_mixed_extensions_pair_by_stem(tmp_path: Path) -> None:
    _save(tmp_path / "images" / "x.jpg", np.full((4, 4, 3), 128, np.uint8))
    _save(tmp_path / "masks" / "x.png", np.zeros((4, 4), np.uint8))
    pool = _folder(tmp_path).pool()
    assert [(s.image_path.name, s.mask_path.name) for s in pool] == [("x.jpg", "x.png")]


def test_image_without_mask_names_the_image(folder_dataset: Path) -> None:
    (folder_dataset / "masks" / "img_3.png").unlink()
    with pytest.raises(DataError, match=r"image without mask: .*img_3\.png"):
        _folder(folder_dataset).pool()


def test_missing_masks_folder(tmp_path: Path) -> None:
    _save(tmp_path / "images" / "x.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match="mask folder not found"):
        _folder(tmp_path).pool()


def test_size_mismatch_names_both_files(folder_dataset: Path) -> None:
    _save(folder_dataset / "masks" / "img_1.png", np.zeros((30, 40), np.uint8))
    src = _folder(folder_dataset)
    sample = next(s for s in src.pool() if s.name == "img_1")
    with pytest.raises(DataError) as exc:
        src.load(sample)
    msg = str(exc.value)
    assert str(sample.image_path) in msg and str(sample.mask_path) in msg
    assert "40x36" in msg and "40x30" in msg


def test_mask_values_outside_classes_are_listed(folder_dataset: Path) -> None:
    m = np.zeros((36, 40), np.uint8)
    m[0, 0], m[1, 1], m[2, 2], m[3, 3] = 5, 7, 255, 2  # 255 = ignore is fine, 2 is a class
    _save(folder_dataset / "masks" / "img_4.png", m)
    src = _folder(folder_dataset)
    sample = next(s for s in src.pool() if s.name == "img_4")
    with pytest.raises(DataError, match=r"img_4\.png.*\[5, 7\]"):
        src.load(sample)


def test_ignore_value_passes_validation(folder_dataset: Path) -> None:
    m = np.zeros((36, 40), np.uint8)
    m[:, :5] = 255
    m[:, 5:10] = 2
    _save(folder_dataset / "masks" / "img_0.png", m)
    src = _folder(folder_dataset)
    _, mask = src.load(src.pool()[0])
    np.testing.assert_array_equal(mask, m.astype(np.int64))


def test_custom_ignore_index(folder_dataset: Path) -> None:
    m = np.zeros((36, 40), np.uint8)
    m[0, :] = 9
    _save(folder_dataset / "masks" / "img_0.png", m)
    _, mask = _folder(folder_dataset, ignore_index=9).load(_folder(folder_dataset).pool()[0])
    assert (mask[0] == 9).all() and (mask[1:] == 0).all()
    with pytest.raises(DataError, match=r"\[9\]"):
        _folder(folder_dataset).load(_folder(folder_dataset).pool()[0])


def test_empty_images_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "images" / "Thumbs.db").write_bytes(b"junk")
    with pytest.raises(DataError, match="no image files"):
        _folder(tmp_path).pool()


def test_split_lists_are_used(folder_dataset: Path) -> None:
    (folder_dataset / "splits").mkdir()
    (folder_dataset / "splits" / "train.txt").write_text("img_0\nimg_2\n\nimg_5\n")
    (folder_dataset / "splits" / "val.txt").write_text("  img_1  \nimg_3\n")
    splits = _folder(folder_dataset).splits()
    assert set(splits) == {"train", "val"}
    assert [s.name for s in splits["train"]] == ["img_0", "img_2", "img_5"]
    assert [s.name for s in splits["val"]] == ["img_1", "img_3"]
    assert splits["val"][0].mask_path.name == "img_1.png"


def test_split_list_with_unknown_names(folder_dataset: Path) -> None:
    (folder_dataset / "splits").mkdir()
    (folder_dataset / "splits" / "val.txt").write_text("img_1\nghost_7\n")
    with pytest.raises(DataError, match=r"val\.txt.*ghost_7"):
        _folder(folder_dataset).splits()


def test_mask_value_map(tmp_path: Path) -> None:
    m = np.zeros((6, 8), np.uint8)
    m[:, 4:] = 255
    _save(tmp_path / "images" / "a.png", np.zeros((6, 8), np.uint8))
    _save(tmp_path / "masks" / "a.png", m)
    src = build_source("folder", root=tmp_path, class_names=["bg", "fg"], in_channels=1,
                       mask_value_map={0: 0, 255: 1})
    image, mask = src.load(src.pool()[0])
    assert image.shape == (6, 8, 1)
    expected = np.zeros((6, 8), np.int64)
    expected[:, 4:] = 1
    np.testing.assert_array_equal(mask, expected)

    m[0, 0] = 128
    _save(tmp_path / "masks" / "a.png", m)
    with pytest.raises(DataError, match=r"\[128\].*allowed: \[0, 255\]"):
        src.load(src.pool()[0])


def test_mask_value_map_keeps_unmapped_ignore(tmp_path: Path) -> None:
    m = np.array([[10, 20, 255]], np.uint8)
    _save(tmp_path / "images" / "a.png", np.zeros((1, 3), np.uint8))
    _save(tmp_path / "masks" / "a.png", m)
    src = build_source("folder", root=tmp_path, class_names=["x", "y"],
                       mask_value_map={10: 0, 20: 1})
    _, mask = src.load(src.pool()[0])
    np.testing.assert_array_equal(mask, [[0, 1, 255]])


# --------------------------------------------------------------------------- build_source


def test_build_source_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown data source 'nope'"):
        build_source("nope", root=tmp_path)
    with pytest.raises(ConfigError, match="class_names"):
        build_source("folder", root=tmp_path)
    with pytest.raises(ConfigError, match="data.root"):
        build_source("folder", class_names=CLASSES3)
    with pytest.raises(ConfigError, match="data.root"):
        build_source("camvid")
    with pytest.raises(ConfigError, match="at least 2"):
        build_source("folder", root=tmp_path, class_names=["only"])
    with pytest.raises(ConfigError, match="class_colors"):
        build_source("folder", root=tmp_path, class_names=CLASSES3, class_colors=[(0, 0, 0)])


def test_default_colors_are_distinct(tmp_path: Path) -> None:
    src = build_source("folder", root=tmp_path, class_names=[f"c{i}" for i in range(12)])
    assert len(src.class_colors) == 12 and len(set(src.class_colors)) == 12
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c) for c in src.class_colors)


@pytest.mark.parametrize("kind, maker, channels", [("synthetic", make_shapes_sample, 3),
                                                    ("synthetic_em", make_em_sample, 1)])
def test_synthetic_sources(kind: str, maker, channels: int) -> None:
    src = build_source(kind, num_images=5, image_size=32, seed=3)
    assert isinstance(src, SyntheticSource) and src.in_channels == channels
    pool = src.pool()
    assert len(pool) == 5 and len({s.name for s in pool}) == 5
    image, mask = src.load(pool[4])
    ref_image, ref_mask = maker(3, 4, 32)
    np.testing.assert_array_equal(image, ref_image)
    np.testing.assert_array_equal(mask, ref_mask)
    assert image.shape == (32, 32, channels)


# --------------------------------------------------------------------------- ISBI / CamVid layouts


def test_isbi_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(12):
        label = np.where(rng.random((8, 8)) < 0.3, 0, 255).astype(np.uint8)
        label[0, 0] = i % 2 * 255
        image = rng.integers(0, 256, (8, 8)).astype(np.uint8)
        _save(tmp_path / "train" / "image" / f"{i}.png", image)
        _save(tmp_path / "train" / "label" / f"{i}.png", label)
    src = build_source("isbi2012", root=tmp_path)
    assert isinstance(src, ISBI2012Source)
    assert src.class_names == ["membrane", "cell"] and src.in_channels == 1
    pool = src.pool()
    # numeric order, not 0, 1, 10, 11, 2
    assert [s.name for s in pool] == [str(i) for i in range(12)]
    image, mask = src.load(pool[7])
    assert image.shape == (8, 8, 1)
    stored = np.asarray(Image.open(pool[7].mask_path))
    np.testing.assert_array_equal(mask, (stored == 255).astype(np.int64))
    assert set(np.unique(mask)) == {0, 1}


def test_camvid_layout(tmp_path: Path) -> None:
    counts = {"train": 3, "val": 2, "test": 1}
    for split, n in counts.items():
        for i in range(n):
            label = (np.arange(12 * 4) % 12).reshape(4, 12).astype(np.uint8)  # 0..10 + 11 void
            _save(tmp_path / split / f"{split}_{i}.png", np.full((4, 12, 3), 50 * i, np.uint8))
            _save(tmp_path / f"{split}annot" / f"{split}_{i}.png", label)
    src = build_source("camvid", root=tmp_path)
    assert isinstance(src, CamVidSource)
    assert src.ignore_index == 11 and src.num_classes == 11 and src.class_names == CAMVID_CLASSES
    splits = src.splits()
    assert {k: len(v) for k, v in splits.items()} == counts
    assert [s.name for s in src.pool()] == ["train_0", "train_1", "train_2"]
    image, mask = src.load(splits["val"][1])
    assert image.shape == (4, 12, 3)
    np.testing.assert_allclose(image, 50 / 255, atol=1e-6)
    np.testing.assert_array_equal(mask, (np.arange(48) % 12).reshape(4, 12))

    bad = np.full((4, 12), 12, np.uint8)
    _save(tmp_path / "testannot" / "test_0.png", bad)
    with pytest.raises(DataError, match=r"test_0\.png.*\[12\]"):
        src.load(src.splits()["test"][0])


def test_camvid_missing_annotation_folder(tmp_path: Path) -> None:
    for split in ("train", "val", "test"):
        _save(tmp_path / split / "a.png", np.zeros((2, 2, 3), np.uint8))
        if split != "val":
            _save(tmp_path / f"{split}annot" / "a.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(DataError, match="valannot"):
        build_source("camvid", root=tmp_path).splits()


# --------------------------------------------------------------------------- real data sets


def test_real_isbi2012() -> None:
    root = SHARED_DATA / "isbi2012"
    if not (root / "train").is_dir():
        pytest.skip(f"ISBI 2012 not present at {root}")
    src = build_source("isbi2012", root=root)
    pool = src.pool()
    assert len(pool) == 30
    assert [s.name for s in pool[:3]] == ["0", "1", "2"]
    for sample in (pool[0], pool[29]):
        image, mask = src.load(sample)
        assert image.shape == (512, 512, 1) and mask.shape == (512, 512)
        assert 0.0 <= image.min() < image.max() <= 1.0
        assert set(np.unique(mask).tolist()) == {0, 1}
        assert 0.05 < (mask == 0).mean() < 0.5  # membranes are a minority


def test_real_camvid() -> None:
    root = SHARED_DATA / "camvid"
    if not (root / "train").is_dir():
        pytest.skip(f"CamVid not present at {root}")
    src = build_source("camvid", root=root)
    splits = src.splits()
    assert {k: len(v) for k, v in splits.items()} == {"train": 367, "val": 101, "test": 233}
    names = {k: {s.name for s in v} for k, v in splits.items()}
    assert not (names["train"] & names["val"]) and not (names["train"] & names["test"])
    seen: set[int] = set()
    for split in ("train", "val", "test"):
        image, mask = src.load(splits[split][0])
        assert image.shape[:2] == mask.shape and image.shape[2] == 3
        seen |= set(np.unique(mask).tolist())
    assert seen <= set(range(12)) and len(seen) >= 5
