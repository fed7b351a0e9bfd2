"""Writing the folder layout: atomic, refuses to clobber, links or copies, and colorseg's folder source reads it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.data.image_io import probe_image, read_image, read_mask
from colorseg.data.sources import build_source
from colorseg.errors import ConfigError, DataError
from colorseg.formats.annotations import (
    Conversion,
    EmbeddedImage,
    LabelledImage,
    classes_from_labels,
    ignore_index_for,
    is_background_name,
    parse_class_names,
    sample_name,
)
from colorseg.formats.layout import PARTIAL_MARKER, ConvertSummary, check_output, write_layout
from tests.formats.helpers import layout_config, layout_masks, png_b64, save_image


def _conversion(tmp_path: Path, n: int = 3, bad_at: int | None = None, names: list[str] | None = None) -> Conversion:
    """``n`` 6x5 samples; sample ``bad_at`` points at a missing image."""
    samples = []
    for i in range(n):
        img = save_image(tmp_path / "src" / f"s{i}.png", 6, 5, seed=i)
        mask = np.zeros((6, 5), dtype=np.uint16)
        mask[: i + 1] = 1
        samples.append(LabelledImage(f"s{i}", tmp_path / "src" / "gone.png" if i == bad_at else img, mask,
                                     tmp_path / "src" / "ann.json"))
    return Conversion(tmp_path / "src" / "ann.json", "test", names or ["background", "thing"], iter(samples), n)


def test_layout_is_read_by_the_folder_source(tmp_path: Path) -> None:
    summary = write_layout(_conversion(tmp_path), tmp_path / "out", progress=False)
    cfg = layout_config(tmp_path / "out")
    assert cfg["root"] == str((tmp_path / "out").resolve()) and cfg["source"] == "folder"
    source = build_source(cfg["source"], cfg["root"], cfg["class_names"], in_channels=cfg["in_channels"],
                          ignore_index=cfg["ignore_index"])
    loaded = {s.name: source.load(s) for s in source.pool()}
    assert sorted(loaded) == ["s0", "s1", "s2"]
    for i in range(3):
        image, mask = loaded[f"s{i}"]
        np.testing.assert_array_equal(mask, (np.arange(6)[:, None] <= i).repeat(5, 1).astype(np.int64))
        np.testing.assert_array_equal(image, read_image(tmp_path / "src" / f"s{i}.png"))
    assert summary.pixel_counts == {0: 60, 1: 30} and summary.copied == 3 and summary.linked == 0
    assert not (tmp_path / "out" / PARTIAL_MARKER).exists() and not (tmp_path / "out.partial").exists()


def test_summary_describes_classes_pixels_and_the_train_command(tmp_path: Path) -> None:
    text = write_layout(_conversion(tmp_path), tmp_path / "out", progress=False).describe()
    assert "converted 3 images (test:" in text and "2 classes" in text
    assert "1: thing" in text and "30 px   33.3%" in text and "(ignored)" in text
    assert f"-c {tmp_path / 'out' / 'colorseg.yaml'}" in text


def test_refuses_a_non_empty_output_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty; pass --overwrite"):
        write_layout(_conversion(tmp_path), tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "keep.txt").exists()
    write_layout(_conversion(tmp_path), tmp_path / "out", overwrite=True, progress=False)
    assert not (tmp_path / "out" / "keep.txt").exists() and len(layout_masks(tmp_path / "out")) == 3
    (tmp_path / "empty").mkdir()
    write_layout(_conversion(tmp_path), tmp_path / "empty", progress=False)  # an empty folder is fine


def test_a_failed_conversion_leaves_nothing_and_keeps_the_old_output(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ann.json: image file referenced but missing"):
        write_layout(_conversion(tmp_path, bad_at=2), tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
    write_layout(_conversion(tmp_path), tmp_path / "out", progress=False)
    with pytest.raises(DataError):
        write_layout(_conversion(tmp_path, bad_at=1), tmp_path / "out", overwrite=True, progress=False)
    assert len(layout_masks(tmp_path / "out")) == 3 and not (tmp_path / "out.partial").exists()


def test_partial_folders(tmp_path: Path) -> None:
    stale = tmp_path / "out.partial"
    (stale / "images").mkdir(parents=True)
    (stale / PARTIAL_MARKER).write_text("")
    write_layout(_conversion(tmp_path), tmp_path / "out", progress=False)  # an interrupted run's leftovers go
    assert not stale.exists()
    (tmp_path / "two.partial").mkdir()
    (tmp_path / "two.partial" / "notes.txt").write_text("not ours")
    with pytest.raises(ConfigError, match="two.partial exists and was not made by colorseg"):
        write_layout(_conversion(tmp_path), tmp_path / "two", progress=False)


def test_refuses_an_output_that_contains_the_inputs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contains the input"):
        check_output(tmp_path, overwrite=True, inputs=[tmp_path / "src" / "ann.json"])
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        check_output(tmp_path / "file", overwrite=True, inputs=[])


def test_hard_links(tmp_path: Path) -> None:
    summary = write_layout(_conversion(tmp_path), tmp_path / "out", link=True, progress=False)
    assert summary.linked == 3 and summary.copied == 0
    assert os.stat(tmp_path / "out" / "images" / "s0.png").st_ino == os.stat(tmp_path / "src" / "s0.png").st_ino


def test_embedded_images_and_gray_inputs(tmp_path: Path) -> None:
    data = png_b64(np.full((4, 3), 9, dtype=np.uint8))
    import base64

    sample = LabelledImage("e", EmbeddedImage(base64.b64decode(data), ".png"), np.zeros((4, 3), np.uint16), tmp_path / "e.json")
    write_layout(Conversion(tmp_path / "e.json", "test", ["a", "b"], iter([sample]), 1), tmp_path / "out", progress=False)
    assert layout_config(tmp_path / "out")["in_channels"] == 1
    assert read_image(tmp_path / "out" / "images" / "e.png").shape == (4, 3, 1)


def test_more_than_255_classes_use_16_bit_masks(tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(300)]
    conv = _conversion(tmp_path, n=1, names=names)
    sample = next(conv.samples)
    sample.mask[0, 0] = 299
    sample.mask[0, 1] = 65535
    conv.samples = iter([sample])
    write_layout(conv, tmp_path / "out", progress=False)
    mask = read_mask(tmp_path / "out" / "masks" / "s0.png")
    assert mask[0, 0] == 299 and mask[0, 1] == 65535
    assert layout_config(tmp_path / "out")["ignore_index"] == 65535 == ignore_index_for(300)


@pytest.mark.parametrize("case, message", [
    ("duplicate", "two images map to the sample name 's0'"),
    ("suffix", "has a suffix colorseg does not read"),
    ("size", "annotation is for a 5x7 image but"),
    ("value", "mask values [7] are outside the 2 classes"),
    ("empty", "no images to convert"),
])
def test_writer_errors_name_the_annotation_file(tmp_path: Path, case: str, message: str) -> None:
    img = save_image(tmp_path / "src" / "a.png", 6, 5)
    mask = np.zeros((6, 5), dtype=np.uint16)
    samples = [LabelledImage("s0", img, mask, tmp_path / "ann.json")]
    if case == "duplicate":
        samples.append(LabelledImage("s0", img, mask, tmp_path / "ann.json"))
    elif case == "suffix":
        (tmp_path / "src" / "a.webp").write_bytes(img.read_bytes())
        samples = [LabelledImage("s0", tmp_path / "src" / "a.webp", mask, tmp_path / "ann.json")]
    elif case == "size":
        samples = [LabelledImage("s0", img, np.zeros((7, 5), dtype=np.uint16), tmp_path / "ann.json")]
    elif case == "value":
        mask[0, 0] = 7
    elif case == "empty":
        samples = []
    conv = Conversion(tmp_path / "ann.json", "test", ["a", "b"], iter(samples), len(samples))
    with pytest.raises(DataError, match="ann.json") as err:
        write_layout(conv, tmp_path / "out", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_exif_rotation_mismatch_gets_a_hint(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: colorseg reads this 10x6 JPEG as 6x10
    Image.fromarray(np.zeros((6, 10, 3), dtype=np.uint8)).save(tmp_path / "r.jpg", exif=exif)
    assert probe_image(tmp_path / "r.jpg") == (10, 6, 3) == read_image(tmp_path / "r.jpg").shape
    sample = LabelledImage("r", tmp_path / "r.jpg", np.zeros((6, 10), dtype=np.uint16), tmp_path / "ann.json")
    with pytest.raises(DataError, match="EXIF orientation rotates it"):
        write_layout(Conversion(tmp_path / "ann.json", "test", ["a", "b"], iter([sample]), 1), tmp_path / "out",
                     progress=False)


def test_class_name_rules() -> None:
    assert classes_from_labels(["cat", "Background", "dog", "cat"]) == (["background", "cat", "dog"],
                                                                        {"cat": 1, "Background": 0, "dog": 2})
    assert is_background_name(" _Background_ ") and not is_background_name("backgrounds")
    assert parse_class_names(" bg , fg ") == ["bg", "fg"]
    for bad in ("only", "a,,b", "a,b,a"):
        with pytest.raises(ConfigError):
            parse_class_names(bad)
    assert sample_name("train/0001.jpg") == "train__0001" and sample_name("..\\x\\a.b.png") == "x__a.b"
    assert ConvertSummary(Path("r"), "f", Path("s"), 0, ["a", "b"], 255, {}).config_path == Path("r/colorseg.yaml")
