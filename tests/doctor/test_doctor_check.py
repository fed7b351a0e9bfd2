"""``check_data`` on generated data sets: one case per finding, each with a clean control."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.data.doctor import check_data, fingerprint_data, save_check_json
from colorseg.data.doctor.check import pick_overlays
from colorseg.data.doctor.fingerprint import SizeStats, size_stats
from colorseg.errors import ConfigError
from tests.doctor.builders import (
    RGB_PALETTE,
    gray_photo,
    jpeg_roundtrip,
    label_mask,
    save,
    write_camvid,
    write_folder,
    write_isbi,
    write_photos,
)


def _check(root: Path, **kw):
    return check_data(root, progress=False, **kw)


def _codes(check, severity: str | None = None) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in check.findings:
        if severity is None or f.severity == severity:
            out.setdefault(f.code, []).append(f)
    return out


def test_size_stats_median_min_max() -> None:
    assert size_stats([30, 10, 20, 100]) == SizeStats(25.0, 10, 100)
    assert size_stats([]) is None


def test_clean_folder_exit_0_and_fingerprint(tmp_path: Path) -> None:
    check = _check(write_folder(tmp_path / "d", n=6))
    assert [f for f in check.findings if f.severity != "info"] == [] and check.exit_status == 0
    fp = check.fingerprint
    assert (fp.task, fp.source) == ("segment", "folder") and list(fp.splits) == ["all"]
    split = fp.splits["all"]
    assert split.images == 6 and split.width == SizeStats(64.0, 64, 64) and split.channels == {3: 6}
    assert split.modes == {"RGB": 6} and split.distinct_sizes == 1
    assert sorted(split.class_pixel_frequency) == [0, 1, 2]
    assert sum(split.class_pixel_frequency.values()) == pytest.approx(1.0)
    expected = sum(int((label_mask(i) == 1).sum()) for i in range(6)) / (6 * 48 * 64)
    assert split.class_pixel_frequency[1] == pytest.approx(expected)
    assert fp.mask.kind == "index" and fp.mask.label_values == [0, 1, 2] and not fp.mask.edge_artifacts
    assert fp.mask.suggested_value_map is None
    json.dumps(fp.to_dict())  # JSON-ready
    assert fingerprint_data(tmp_path / "d").to_dict() == fp.to_dict()


def test_binary_0_255_masks_get_the_value_map(tmp_path: Path) -> None:
    check = _check(write_folder(tmp_path / "d", values=(0, 255)))
    (finding,) = _codes(check)["binary_0_255"]
    assert finding.severity == "warning" and check.exit_status == 1
    assert "--data.mask_value_map='{0: 0, 255: 1}'" in finding.message
    assert "colorseg data convert --from binary" in finding.message
    assert check.fingerprint.mask.kind == "binary_0_255"
    assert check.fingerprint.mask.suggested_value_map == {0: 0, 255: 1}


def test_isbi_source_maps_0_255_itself(tmp_path: Path) -> None:
    check = _check(write_isbi(tmp_path / "i"))
    assert check.exit_status == 0 and _codes(check)["binary_0_255"][0].severity == "info"
    assert check.fingerprint.class_names == {0: "membrane", 255: "cell"}


def test_rgb_masks_are_errors_with_a_palette(tmp_path: Path) -> None:
    check = _check(write_folder(tmp_path / "d", n=4, colour=True))
    errors = _codes(check)["rgb_mask"]
    assert sorted(f.file for f in errors) == sorted(str(tmp_path / "d" / "masks" / f"s{i}.png") for i in range(4))
    root = tmp_path / "d"
    assert (f"then convert with `colorseg data convert --from rgb {root / 'masks'} --images {root / 'images'} "
            f"--palette palette.txt --output {tmp_path / 'd-converted'}`") in errors[0].message
    assert check.exit_status == 2 and check.convert_commands["rgb"] in errors[0].message
    assert check.fingerprint.mask.kind == "rgb" and check.fingerprint.mask.colour_masks == 4
    pixels = {v: sum(int((label_mask(i) == v).sum()) for i in range(4)) for v in RGB_PALETTE}
    assert [(p.rgb, p.index, p.pixels) for p in check.palette] == [
        (RGB_PALETTE[0], 0, pixels[0]),
        *[(RGB_PALETTE[v], k, pixels[v]) for k, v in enumerate(sorted((1, 2), key=lambda v: -pixels[v]), 1)]]
    assert check.palette[0].name == "background"
    assert check.colour_overlays and not check.overlays
    assert check.fingerprint.mask.label_values == [] and len(check.fingerprint.mask.colour_values) == 3


def test_mixed_colour_and_index_masks(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=4, colour=True)
    for i in (0, 1):
        save(root / "masks" / f"s{i}.png", label_mask(i))
    check = _check(root)
    assert check.fingerprint.mask.kind == "mixed" and len(_codes(check)["rgb_mask"]) == 2
    assert check.fingerprint.mask.label_values == [0, 1, 2] and len(check.palette) == 3
    assert sorted(check.overlays) == [0, 1, 2] and len(check.colour_overlays) == 3


def test_jpeg_masks_quality_75_are_errors(tmp_path: Path) -> None:
    # 0/255 masks saved as JPEG (quality 75): signature and stray edge values
    check = _check(write_folder(tmp_path / "j", values=(0, 255), mask_ext=".jpg"))
    found = _codes(check)["jpeg_artifacts"]
    assert len(found) == 6 and all(f.severity == "error" for f in found)
    assert "(the file is a JPEG)" in found[0].message and found[0].file.endswith(".jpg")
    assert check.fingerprint.mask.edge_artifacts and check.fingerprint.mask.jpeg_files == 6
    assert set(check.fingerprint.mask.label_values) == {0, 255}  # stray values are not classes
    # class-index masks saved as JPEG: the signature alone says so
    check = _check(write_folder(tmp_path / "k", mask_ext=".jpg"))
    assert len(_codes(check)["jpeg_mask"]) == 6 and check.exit_status == 2


def test_jpeg_damage_is_found_in_png_files_too(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", values=(0, 255))
    for i in (1, 3):
        mask = np.asarray(Image.open(root / "masks" / f"s{i}.png"))
        save(root / "masks" / f"s{i}.png", jpeg_roundtrip(mask, 75))
    check = _check(root)
    found = _codes(check)["jpeg_artifacts"]
    assert sorted(f.file for f in found) == [str(root / "masks" / "s1.png"), str(root / "masks" / "s3.png")]
    assert "the file is a JPEG" not in found[0].message


def test_value_gaps(tmp_path: Path) -> None:
    check = _check(write_folder(tmp_path / "d", values=(0, 2, 5)))
    (f,) = _codes(check)["value_gaps"]
    assert "1, 3, 4 have no pixel" in f.message and "'{0: 0, 2: 1, 5: 2}'" in f.message
    assert check.fingerprint.mask.gaps == [1, 3, 4]
    # 255 beside small values is the ignore value, not a gap
    check = _check(write_folder(tmp_path / "e", values=(0, 1, 255)))
    assert "value_gaps" not in _codes(check) and "ignore_value" in _codes(check)
    assert check.fingerprint.ignore_index == 255


def test_empty_masks(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=4)
    save(root / "masks" / "s2.png", np.zeros((48, 64), np.uint8))
    (f,) = _codes(check := _check(root))["empty_mask"]
    assert f.file == str(root / "masks" / "s2.png") and f.severity == "warning"
    assert check.fingerprint.mask.empty_masks == 1


def test_unpaired_and_corrupt_files(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=4)
    (root / "masks" / "s0.png").unlink()
    save(root / "masks" / "extra.png", label_mask(9))
    (root / "images" / "s1.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "masks" / "s2.png").write_bytes(b"")
    check = _check(root)
    codes = _codes(check)
    assert [f.file for f in codes["image_without_mask"]] == [str(root / "images" / "s0.png")]
    assert [f.file for f in codes["mask_without_image"]] == [str(root / "masks" / "extra.png")]
    unreadable = {f.file: f.message for f in codes["unreadable"]}
    assert set(unreadable) == {str(root / "images" / "s1.png"), str(root / "masks" / "s2.png")}
    assert "empty file" in unreadable[str(root / "masks" / "s2.png")]
    assert check.exit_status == 2


def test_size_mismatch(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=3)
    save(root / "masks" / "s1.png", label_mask(1, 40, 64))
    (f,) = _codes(_check(root))["size_mismatch"]
    assert "64x48" in f.message and "64x40" in f.message and f.severity == "error"


def test_duplicates_within_a_pool_and_across_splits(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=5)
    shutil.copy(root / "images" / "s0.png", root / "images" / "copy.png")
    shutil.copy(root / "masks" / "s0.png", root / "masks" / "copy.png")
    (f,) = _codes(_check(root))["duplicate"]
    assert f.severity == "warning" and "identical" in f.message and "copy.png" in f.message
    assert "leakage" in f.message  # a pool that fit still splits
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("s0\ns1\ns2\n")
    (root / "splits" / "val.txt").write_text("s3\ns4\ncopy\n")
    check = _check(root)
    (f,) = _codes(check)["cross_split_duplicate"]
    assert f.severity == "warning" and "(train)" in f.message and "(val)" in f.message
    assert "duplicate" not in _codes(check)
    assert [d.cross_split for d in check.duplicates] == [True]


def test_near_duplicates_within_a_predefined_split_are_info(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "c", n=3)
    img = np.asarray(Image.open(root / "train" / "train_0.png"))
    save(root / "train" / "train_1.png", jpeg_roundtrip(np.clip(img * 1.05, 0, 255).astype(np.uint8), 90))
    check = _check(root)
    (f,) = _codes(check)["duplicate"]
    assert f.severity == "info" and "near-identical" in f.message and check.exit_status == 0
    assert not check.duplicates[0].identical


def test_camvid_values_outside_classes_and_absent_classes(tmp_path: Path) -> None:
    root = write_camvid(tmp_path / "c", n=2)
    mask = np.zeros((30, 72), np.uint8)
    mask[:, 36:] = 14
    save(root / "valannot" / "val_0.png", mask)
    check = _check(root)
    (f,) = _codes(check)["values_outside_classes"]
    assert f.file == str(root / "valannot" / "val_0.png") and "[14]" not in f.message and "14" in f.message
    assert not any(a.severity == "error" for a in _codes(check).get("absent_class", []))
    root2 = write_camvid(tmp_path / "c2", n=1, values=tuple(range(10)))  # no Bicyclist (10), no void
    absent = _codes(_check(root2))["absent_class"]
    assert {a.severity for a in absent} == {"error", "warning"}  # train: fit stops; val / test: warned
    assert all("Bicyclist" in a.message for a in absent)


def test_gray_photos_in_a_colorization_folder(tmp_path: Path) -> None:
    root = write_photos(tmp_path / "p", n=5, gray=(1, 3))
    check = _check(root)
    gray = _codes(check)["gray_photo"]
    assert sorted(f.file for f in gray) == [str(root / "photos" / "p1.png"), str(root / "photos" / "p3.png")]
    (share,) = _codes(check)["gray_photos"]
    assert "2 of 5 photos (40.0 %)" in share.message and check.exit_status == 1
    assert check.fingerprint.splits["all"].gray_share == pytest.approx(0.4)
    assert _check(write_photos(tmp_path / "q", n=3)).exit_status == 0
    single = save(tmp_path / "r" / "a.png", gray_photo(1)[..., 0])  # one channel counts as gray too
    save(tmp_path / "r" / "b.png", gray_photo(2))
    assert single.exists() and "all_gray" in _codes(_check(tmp_path / "r"))


def test_check_json_holds_every_finding(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=3, values=(0, 2, 5))
    (root / "masks" / "s0.png").unlink()
    check = _check(root)
    path = save_check_json(check, tmp_path / "out" / "check.json")
    data = json.loads(path.read_text())
    assert data["exit_status"] == 2 and data["counts"]["error"] == 1
    assert {(f["severity"], f["code"], f["file"]) for f in data["findings"]} >= {
        ("error", "image_without_mask", str(root / "images" / "s0.png")), ("warning", "value_gaps", None)}
    assert data["fingerprint"]["splits"]["all"]["images"] == 3


def test_pick_overlays_per_class_and_spread(tmp_path: Path) -> None:
    check = _check(write_folder(tmp_path / "d", n=8), max_overlays=2)
    assert sorted(check.overlays) == [0, 1, 2] and all(len(v) == 2 for v in check.overlays.values())
    picks = pick_overlays(check.records, [1], 3, pool_factor=1)[1]
    most = sorted(check.records, key=lambda r: -r.mask.stats.count_of(1))[:3]
    assert {r.entry.name for r in picks} == {r.entry.name for r in most}
    assert _check(tmp_path / "d", max_overlays=0).overlays == {}
    with pytest.raises(ConfigError, match="max_overlays"):
        _check(tmp_path / "d", max_overlays=-1)
    with pytest.raises(ConfigError, match="near_threshold"):
        _check(tmp_path / "d", near_threshold=64)
