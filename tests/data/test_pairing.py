"""Pairing images with masks by file stem: every file and problem found (the data doctor's view),
the first problem as the loaders' error, strict pairing for planning, split files, source folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.data.pairing import (
    AMBIGUOUS_STEM,
    BROKEN_LINK,
    IMAGE_WITHOUT_MASK,
    LOADER_REFUSES,
    MASK_WITHOUT_IMAGE,
    MISSING_FOLDER,
    NO_IMAGES,
    pair_by_stem,
    size_mismatch_message,
)
from colorseg.data.sources import (
    POOL,
    Sample,
    paired_samples,
    read_split_files,
    source_folders,
    split_file_names,
)
from colorseg.errors import ConfigError, DataError


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    return path


def _folder(root: Path, images: list[str], masks: list[str]) -> Path:
    for name in images:
        _touch(root / "images" / name)
    for name in masks:
        _touch(root / "masks" / name)
    return root


def test_pairs_by_stem_across_extensions_and_skips_other_files(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["b.jpg", "a.png"], ["a.png", "b.png"])
    (root / "images" / "Thumbs.db").write_bytes(b"junk")
    (root / "masks" / ".hidden.png").write_bytes(b"junk")  # hidden files are not images either
    pairing = pair_by_stem(root / "images", root / "masks")
    assert [(f.name, f.image.name, f.mask.name) for f in pairing.pairs] == [("a", "a.png", "a.png"),
                                                                            ("b", "b.jpg", "b.png")]
    assert pairing.problems == [] and pairing.first_error() is None
    assert pairing.skipped == [root / "images" / "Thumbs.db", root / "masks" / ".hidden.png"]


def test_every_problem_is_listed_in_order(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["a.png", "a.tif", "b.png", "c.png", "d.png"], ["a.png", "d.png", "d.jpg", "x.png"])
    pairing = pair_by_stem(root / "images", root / "masks")
    assert [(p.kind, p.path.name) for p in pairing.problems] == [
        (AMBIGUOUS_STEM, "a.tif"), (AMBIGUOUS_STEM, "d.png"),  # the first in name order is used
        (IMAGE_WITHOUT_MASK, "b.png"), (IMAGE_WITHOUT_MASK, "c.png"), (MASK_WITHOUT_IMAGE, "x.png")]
    assert [(f.name, f.image and f.image.name, f.mask and f.mask.name) for f in pairing.files] == [
        ("a", "a.png", "a.png"), ("b", "b.png", None), ("c", "c.png", None), ("d", "d.png", "d.jpg"),
        ("x", None, "x.png")]
    assert [f.name for f in pairing.pairs] == ["a", "d"]
    ambiguous = pairing.problems[0].message
    assert "two files with one name" in ambiguous and "a.png" in ambiguous and "a.tif" in ambiguous


def test_first_error_counts_the_rest_of_its_kind_and_takes_advice(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["a.png", "b.png", "c.png"], ["a.png", "z.png"])
    pairing = pair_by_stem(root / "images", root / "masks")
    error = pairing.first_error(LOADER_REFUSES)
    assert str(error) == (f"image without mask: {root / 'images' / 'b.png'} (no {root / 'masks' / 'b'}.*) and 1 more")
    error = pairing.first_error([MASK_WITHOUT_IMAGE], advice={MASK_WITHOUT_IMAGE: "remove it"})
    assert str(error) == f"mask without image: {root / 'masks' / 'z.png'} (no {root / 'images' / 'z'}.*); remove it"
    assert pairing.first_error([MISSING_FOLDER]) is None
    with pytest.raises(DataError, match=r"image without mask: .*b\.png"):
        pairing.raise_first()
    pairing.raise_first([NO_IMAGES])  # nothing of that kind: no error


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    pairing = pair_by_stem(tmp_path / "images", tmp_path / "masks")
    assert [(p.kind, p.message) for p in pairing.problems] == [
        (MISSING_FOLDER, f"folder not found: {tmp_path / 'images'}"),
        (MISSING_FOLDER, f"mask folder not found: {tmp_path / 'masks'}")]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "notes.txt").write_text("x")
    _touch(tmp_path / "masks" / "a.png")
    pairing = pair_by_stem(tmp_path / "images", tmp_path / "masks")
    assert [p.kind for p in pairing.problems] == [NO_IMAGES, MASK_WITHOUT_IMAGE]
    assert "no image files" in pairing.problems[0].message and pairing.files[0].image is None


def test_broken_links_are_problems_and_still_listed(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["a.png"], ["a.png"])
    (root / "images" / "b.png").symlink_to("missing.png")
    (root / "masks" / "b.png").symlink_to("b.png")  # a loop
    pairing = pair_by_stem(root / "images", root / "masks")
    assert [(p.kind, p.path.name) for p in pairing.problems] == [(BROKEN_LINK, "b.png"), (BROKEN_LINK, "b.png")]
    assert "broken symbolic link" in pairing.problems[0].message
    assert "symbolic link loop" in pairing.problems[1].message
    assert [f.name for f in pairing.pairs] == ["a", "b"]  # reading them reports them again, naming the file


def test_mask_suffix_pairs_camvid_style_names(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["f1.png", "f2.png"], ["f1_L.png"])
    pairing = pair_by_stem(root / "images", root / "masks", mask_suffix="_L")
    assert [(f.name, f.mask.name) for f in pairing.pairs] == [("f1", "f1_L.png")]
    assert pairing.problems[0].message == (f"image without mask: {root / 'images' / 'f2.png'} "
                                           f"(no {root / 'masks' / 'f2_L'}.*)")


def test_size_mismatch_message_names_both_files_width_first() -> None:
    assert size_mismatch_message(Path("i/a.png"), (10, 12), Path("m/a.png"), (10, 10)) == \
        "size mismatch: image i/a.png is 12x10 but mask m/a.png is 10x10"


def test_loader_pairing_refuses_what_it_cannot_train_with(tmp_path: Path) -> None:
    root = _folder(tmp_path, ["a.png", "a.tif", "b.png"], ["a.png", "b.png", "stray.png"])
    samples = paired_samples(root / "images", root / "masks")  # the stray mask and a.tif: ignored
    assert samples == [Sample("a", root / "images" / "a.png", root / "masks" / "a.png"),
                       Sample("b", root / "images" / "b.png", root / "masks" / "b.png")]
    with pytest.raises(DataError, match="two files with one name"):
        paired_samples(root / "images", root / "masks", strict=True)
    (root / "images" / "a.tif").unlink()
    with pytest.raises(DataError, match=r"mask without image: .*stray\.png"):
        paired_samples(root / "images", root / "masks", strict=True)
    (root / "masks" / "b.png").unlink()
    with pytest.raises(DataError, match=r"image without mask: .*b\.png"):
        paired_samples(root / "images", root / "masks")


def test_source_folders_of_the_file_based_sources(tmp_path: Path) -> None:
    assert source_folders("folder", tmp_path) == [(POOL, tmp_path / "images", tmp_path / "masks")]
    assert source_folders("isbi2012", tmp_path) == [(POOL, tmp_path / "train" / "image",
                                                     tmp_path / "train" / "label")]
    assert [f[0] for f in source_folders("camvid", tmp_path)] == ["train", "val", "test"]
    assert source_folders("camvid", tmp_path)[1][1:] == (tmp_path / "val", tmp_path / "valannot")
    with pytest.raises(ConfigError, match="'synthetic' has no folders"):
        source_folders("synthetic", tmp_path)


def test_split_files(tmp_path: Path) -> None:
    samples = [Sample(n) for n in ("a", "b", "c")]
    assert read_split_files(tmp_path / "splits", samples) == {}
    (tmp_path / "splits").mkdir()
    (tmp_path / "splits" / "test.txt").write_text("c\n\n  a \n")
    (tmp_path / "splits" / "notes.txt").write_text("ignored\n")
    assert split_file_names(tmp_path / "splits" / "test.txt") == ["c", "a"]
    assert read_split_files(tmp_path / "splits", samples) == {"test": [samples[2], samples[0]]}
    (tmp_path / "splits" / "val.txt").write_text("b\nnope\n")
    with pytest.raises(DataError, match=r"val\.txt: unknown sample names \['nope'\]"):
        read_split_files(tmp_path / "splits", samples)
