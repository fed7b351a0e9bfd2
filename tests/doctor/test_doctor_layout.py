"""Layout recognition, and discovery that agrees with the loaders on clean data."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorseg.data.color_sources import BSDS500Source
from colorseg.data.doctor.layout import convert_command, detect, discover
from colorseg.data.sources import build_source
from colorseg.errors import ConfigError, DataError
from tests.doctor.builders import photo, save, write_camvid, write_folder, write_isbi, write_photos


def test_detect_recognises_each_layout(tmp_path: Path) -> None:
    assert detect(write_folder(tmp_path / "f", n=2)) == ("segment", "folder")
    assert detect(write_camvid(tmp_path / "c", n=1)) == ("segment", "camvid")
    assert detect(write_isbi(tmp_path / "i", n=1)) == ("segment", "isbi2012")
    assert detect(write_photos(tmp_path / "p", n=2)) == ("colorize", "folder")
    for split in ("train", "test"):
        save(tmp_path / "b" / "images" / split / "1.jpg", photo(1))
    assert detect(tmp_path / "b") == ("colorize", "bsds500")
    assert detect(tmp_path / "f", task="colorize") == ("colorize", "folder")
    assert detect(tmp_path / "p", task="segment") == ("segment", "folder")
    assert detect(tmp_path / "c", source="camvid") == ("segment", "camvid")


def test_detect_refuses_bad_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found: .*missing"):
        detect(tmp_path / "missing")
    with pytest.raises(ConfigError, match="unknown task"):
        detect(tmp_path, task="classify")
    with pytest.raises(ConfigError, match="unknown source 'voc'"):
        detect(tmp_path, source="voc")
    with pytest.raises(ConfigError, match="segmentation data"):
        detect(tmp_path, task="colorize", source="camvid")
    with pytest.raises(ConfigError, match="colorization photos"):
        detect(tmp_path, task="segment", source="bsds500")


def _pairs(samples) -> list[tuple[str, Path, Path]]:
    return [(s.name, s.image_path, s.mask_path) for s in samples]


def test_discovery_agrees_with_the_loaders(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", n=4)
    layout = discover(folder)
    src = build_source("folder", folder, class_names=["a", "b", "c"])
    assert [(e.name, e.image, e.mask) for e in layout.entries] == _pairs(src.pool())
    camvid = write_camvid(tmp_path / "c", n=2)
    layout = discover(camvid)
    for split, samples in build_source("camvid", camvid).splits().items():
        assert [(e.name, e.image, e.mask) for e in layout.entries if e.split == split] == _pairs(samples)
    isbi = write_isbi(tmp_path / "i", n=3)
    assert sorted((e.name, e.image, e.mask) for e in discover(isbi).entries) == \
        sorted(_pairs(build_source("isbi2012", isbi).pool()))
    for split in ("train", "val", "test"):
        save(tmp_path / "b" / "images" / split / f"{split}1.jpg", photo(1))
    got = {(e.split, e.name, e.image) for e in discover(tmp_path / "b").entries}
    want = {(k, s.name, s.path) for k, v in BSDS500Source(tmp_path / "b").splits().items() for s in v}
    assert got == want and len(got) == 3


def test_split_files_assign_entries_and_report_problems(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "f", n=5)
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("s0\ns1\ns2\n")
    (root / "splits" / "val.txt").write_text("s2\nghost\n")
    layout = discover(root)
    splits = {e.name: e.split for e in layout.entries}
    assert splits == {"s0": "train", "s1": "train", "s2": "train", "s3": "unlisted", "s4": "unlisted"}
    codes = {f.code: f for f in layout.findings}
    assert "ghost" in codes["unknown_split_name"].message and codes["unknown_split_name"].severity == "error"
    assert "'s2'" in codes["split_overlap"].message
    assert sorted(f.file for f in layout.findings if f.code == "unlisted_sample") == \
        [str(root / "images" / "s3.png"), str(root / "images" / "s4.png")]
    (root / "splits" / "train.txt").unlink()
    assert {e.split for e in discover(root).entries} == {"val", "pool"}  # no train.txt: the rest is the pool


def test_pairing_problems_are_all_reported(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "f", n=4)
    (root / "masks" / "s1.png").unlink()
    (root / "masks" / "s2.png").unlink()
    (root / "images" / "s3.png").unlink()
    save(root / "images" / "s0.jpg", photo(9))  # two images named s0
    (root / "images" / "Thumbs.db").write_bytes(b"junk")
    layout = discover(root)
    by_code: dict[str, list[str]] = {}
    for f in layout.findings:
        by_code.setdefault(f.code, []).append(f.file)
    assert sorted(by_code["image_without_mask"]) == [str(root / "images" / "s1.png"), str(root / "images" / "s2.png")]
    assert by_code["mask_without_image"] == [str(root / "masks" / "s3.png")]
    assert by_code["ambiguous_stem"] == [str(root / "images" / "s0.png")]
    assert by_code["skipped_file"] == [str(root / "images" / "Thumbs.db")]


def test_missing_folders_are_findings(tmp_path: Path) -> None:
    (tmp_path / "c" / "trainannot").mkdir(parents=True)
    layout = discover(tmp_path / "c")
    missing = sorted(f.file for f in layout.findings if f.code == "missing_folder")
    assert str(tmp_path / "c" / "train") in missing and str(tmp_path / "c" / "valannot") in missing
    (tmp_path / "e" / "images").mkdir(parents=True)
    (tmp_path / "e" / "masks").mkdir()
    assert [f.code for f in discover(tmp_path / "e").findings] == ["no_images"]
    (tmp_path / "p").mkdir()
    assert [f.code for f in discover(tmp_path / "p", task="colorize").findings] == ["no_images"]


def test_convert_command_names_the_layouts_folders(tmp_path: Path) -> None:
    root = tmp_path / "my data"
    assert convert_command("folder", root, "rgb", "out/palette.txt") == (
        f"colorseg data convert --from rgb '{root / 'masks'}' --images '{root / 'images'}' "
        f"--palette out/palette.txt --output '{tmp_path / 'my data-converted'}'")
    assert convert_command("isbi2012", tmp_path / "i", "binary").startswith(
        f"colorseg data convert --from binary {tmp_path / 'i' / 'train' / 'label'} --images")
    assert " MASKS --images IMAGES " in convert_command("camvid", tmp_path / "c", "rgb", "p.txt")  # one per split
