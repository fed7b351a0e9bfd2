"""The data fingerprint on folders generated in tmp_path: counts, sizes, channels, label
statistics, subsampling, the built-in layouts, and clear refusals naming the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.errors import ConfigError, DataError
from colorseg.planning.fingerprint import (
    compute_fingerprint,
    is_numbered_sequence,
    list_samples,
)
from tests.conftest import write_pair
from tests.planning.helpers import binary_folder, index_folder


def test_folder_fingerprint_counts_sizes_channels_and_values(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "d", n=8, size=40, classes=3)
    fp = compute_fingerprint(root, "folder", progress=False)
    pool = fp.splits["pool"]
    assert pool.n_images == 8 and pool.height.median == 40 and pool.width.max == 40 and pool.pixels == 8 * 1600
    assert fp.channels == 3 and fp.predefined_splits == ()
    assert set(fp.value_counts) == {0, 1, 2} and sum(fp.value_counts.values()) == 8 * 1600
    assert fp.value_counts[1] == fp.value_counts[2] == 8 * 5 * 26
    # class 1 occupies rows 6-10 of 40, class 2 rows 12-16: mean heights 8/39 and 14/39
    assert fp.value_rows[1] == pytest.approx(8 / 39) and fp.value_rows[2] == pytest.approx(14 / 39)
    assert fp.value_images == {0: 1.0, 1: 1.0, 2: 1.0}
    assert 0 < fp.value_boundary[1] <= 1 and fp.value_boundary[0] < fp.value_boundary[1]
    assert not fp.subsampled and not fp.binary_0_255 and fp.source_ignore_index == 255


def test_thin_structures_have_a_high_boundary_share(tmp_path: Path) -> None:
    mask = np.zeros((30, 30), np.uint8)
    mask[:, 10] = 1  # a one-pixel line: every pixel on the outline
    mask[5:25, 15:28] = 2
    write_pair(tmp_path / "d", "a", np.zeros((30, 30, 3), np.uint8), mask)
    write_pair(tmp_path / "d", "b", np.zeros((30, 30, 3), np.uint8), mask)
    fp = compute_fingerprint(tmp_path / "d", progress=False)
    assert fp.value_boundary[1] == 1.0 and fp.value_boundary[2] < 0.5


def test_gray_images_and_gray_stored_as_rgb_are_one_channel(tmp_path: Path) -> None:
    root = binary_folder(tmp_path / "gray", n=4, rgb=False)
    fp = compute_fingerprint(root, progress=False)
    assert fp.channels == 1 and fp.images_gray_as_rgb == 0 and fp.binary_0_255
    rgb_gray = tmp_path / "rgbgray"
    for i in range(3):
        g = np.full((20, 20), 40 * i, np.uint8)
        write_pair(rgb_gray, f"s{i}", np.stack([g] * 3, axis=2), (g > 0).astype(np.uint8))
    fp = compute_fingerprint(rgb_gray, progress=False)
    assert fp.channels == 1 and fp.images_gray_as_rgb == 3


def test_large_folders_are_subsampled_with_a_seed(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "d", n=12, size=16, classes=2)
    a = compute_fingerprint(root, max_masks=5, progress=False)
    b = compute_fingerprint(root, max_masks=5, progress=False)
    assert a.subsampled and a.masks_scanned == 5 and a.masks_total == 12
    assert a.value_counts == b.value_counts and sum(a.value_counts.values()) == 5 * 256
    assert a.splits["pool"].n_images == 12  # sizes still cover every file


def test_progress_bar_for_big_folders(tmp_path: Path, capsys) -> None:
    root = index_folder(tmp_path / "d", n=55, size=8, classes=2)
    compute_fingerprint(root, max_masks=3, progress=True)
    assert "sizes pool" in capsys.readouterr().err


def test_numbered_sequence_is_detected_and_ordered_numerically(tmp_path: Path) -> None:
    assert is_numbered_sequence([str(i) for i in range(12)])
    assert is_numbered_sequence([f"slice_{i:03d}" for i in range(0, 30, 2)])
    assert not is_numbered_sequence(["a1", "b2", "c3"])
    assert not is_numbered_sequence(["1", "2", "5"])
    assert not is_numbered_sequence(["1", "2"])
    root = tmp_path / "stack"
    for i in range(12):
        write_pair(root, str(i), np.zeros((8, 8), np.uint8), (np.arange(64).reshape(8, 8) % 2).astype(np.uint8))
    fp = compute_fingerprint(root, progress=False)
    assert fp.numbered_sequence and list(fp.pool_names) == [str(i) for i in range(12)]


def test_predefined_split_files_are_read(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "d", n=6, size=16, classes=2)
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text("img_0\nimg_1\n")
    fp = compute_fingerprint(root, progress=False)
    assert fp.predefined_splits == ("test",) and fp.splits["test"].n_images == 2
    assert fp.splits["pool"].n_images == 4 and "img_0" not in fp.pool_names
    (root / "splits" / "val.txt").write_text("nope\n")
    with pytest.raises(DataError, match=r"val\.txt: unknown sample names \['nope'\]"):
        compute_fingerprint(root, progress=False)


def _camvid(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        for i in range(n):
            mask = rng.integers(0, 12, (18, 24), dtype=np.uint8)
            write_pair(root, f"{split}{i}", rng.integers(0, 255, (18, 24, 3), dtype=np.uint8), mask,
                       image_dir=split, mask_dir=f"{split}annot")
    return root


def test_camvid_layout_keeps_its_splits_and_conventions(tmp_path: Path) -> None:
    fp = compute_fingerprint(_camvid(tmp_path / "camvid"), "camvid", progress=False)
    assert fp.predefined_splits == ("train", "val", "test") and "pool" not in fp.splits
    assert fp.masks_total == 3 and fp.source_ignore_index == 11 and len(fp.source_class_names) == 11
    assert fp.splits["train"].width.median == 24


def test_isbi_layout(tmp_path: Path) -> None:
    root = tmp_path / "isbi"
    for i in range(4):
        mask = np.full((16, 16), 255, np.uint8)
        mask[:, 7] = 0
        write_pair(root, str(i), np.zeros((16, 16), np.uint8), mask, image_dir="train/image", mask_dir="train/label")
    fp = compute_fingerprint(root, "isbi2012", progress=False)
    assert fp.source_value_map == {0: 0, 255: 1} and fp.source_class_names == ("membrane", "cell")
    assert fp.numbered_sequence and fp.channels == 1 and fp.binary_0_255


# ------------------------------------------------------------------------------------ refusals

def test_missing_and_empty_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data folder not found: .*nowhere"):
        compute_fingerprint(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no images/ folder in .*empty \(the folder layout is ROOT/images"):
        compute_fingerprint(tmp_path / "empty")
    (tmp_path / "empty" / "images").mkdir()
    with pytest.raises(DataError, match=r"no image files .* in folder: .*empty/images"):
        compute_fingerprint(tmp_path / "empty")


def test_wrong_source_gets_a_layout_hint(tmp_path: Path) -> None:
    root = _camvid(tmp_path / "camvid")
    with pytest.raises(DataError, match="looks like the CamVid layout: pass --source camvid"):
        compute_fingerprint(root, "folder")
    with pytest.raises(DataError, match="no train/image/ folder"):
        compute_fingerprint(root, "isbi2012")
    with pytest.raises(ConfigError, match="unknown source 'synthetic'"):
        list_samples(root, "synthetic")


def test_unpaired_files_are_refused_by_name(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "d", n=3, size=8, classes=2)
    (root / "masks" / "img_1.png").unlink()
    with pytest.raises(DataError, match=r"image without mask: .*images/img_1\.png"):
        compute_fingerprint(root)
    root = index_folder(tmp_path / "e", n=3, size=8, classes=2)
    (root / "images" / "img_2.png").unlink()
    with pytest.raises(DataError, match=r"mask without image: .*masks/img_2\.png"):
        compute_fingerprint(root)
    root = index_folder(tmp_path / "f", n=2, size=8, classes=2)
    Image.new("RGB", (8, 8)).save(root / "images" / "img_0.jpg")
    with pytest.raises(DataError, match="two files with one name"):
        compute_fingerprint(root)
    (tmp_path / "g" / "images").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "g" / "images" / "a.png")
    with pytest.raises(DataError, match="mask folder not found"):
        compute_fingerprint(tmp_path / "g")


def test_colour_masks_are_refused_pointing_to_the_converter(tmp_path: Path) -> None:
    root = tmp_path / "d"
    colour = np.zeros((10, 10, 3), np.uint8)
    colour[:5] = (128, 64, 128)
    colour[5:] = (60, 40, 222)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(root / "images" / "a.png")
    Image.fromarray(colour).save(root / "masks" / "a.png")
    with pytest.raises(DataError, match=r"masks/a\.png: mask is a colour \(RGB\) image with 2 colours .*"
                                        r"colorseg data convert --from rgb"):
        compute_fingerprint(root)
    gray_rgb = np.stack([np.eye(10, dtype=np.uint8)] * 3, axis=2)
    Image.fromarray(gray_rgb).save(root / "masks" / "a.png")  # gray saved as RGB: fine
    assert compute_fingerprint(root, progress=False).value_counts == {0: 90, 1: 10}


def test_unreadable_files_are_refused_by_name(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "d", n=3, size=8, classes=2)
    (root / "masks" / "img_1.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read image .*masks/img_1\.png"):
        compute_fingerprint(root, progress=False)
    root = index_folder(tmp_path / "e", n=3, size=8, classes=2)
    (root / "images" / "img_2.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"images/img_2\.png.*empty file"):
        compute_fingerprint(root, progress=False)


def test_size_mismatch_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "d"
    write_pair(root, "a", np.zeros((10, 12, 3), np.uint8), np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match=r"size mismatch: image .*a\.png is 12x10 but mask .*a\.png is 10x10"):
        compute_fingerprint(root)
