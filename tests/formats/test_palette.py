"""Mask-image formats: VOC index PNGs, RGB colour masks with a palette file, 0/255 binary masks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.errors import ConfigError, DataError
from colorseg.formats.convert import convert
from colorseg.formats.palette import VOC_CLASSES, read_binary, read_palette, read_rgb, read_voc, voc_colormap
from tests.formats.helpers import layout_config, layout_masks, save_image


def _voc_png(path: Path, indices: np.ndarray) -> None:
    im = Image.fromarray(indices.astype(np.uint8), mode="P")
    im.putpalette([v for c in voc_colormap(256) for v in c])
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def test_voc_colormap_is_the_standard_one() -> None:
    cmap = voc_colormap(256)
    assert cmap[:4] == [(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0)]
    assert cmap[15] == (192, 128, 128) and cmap[255] == (224, 224, 192)  # person; the boundary colour


@pytest.fixture
def voc_root(tmp_path: Path) -> Path:
    """VOC layout: JPEGImages (one image more than masks), SegmentationClass, ImageSets/Segmentation."""
    root = tmp_path / "VOC2012"
    for i, stem in enumerate(["2007_000032", "2007_000033", "2007_000039"]):
        save_image(root / "JPEGImages" / f"{stem}.jpg", 12, 10, seed=i)
    a = np.zeros((12, 10), dtype=np.uint8)
    a[2:6, 2:6] = 15
    a[2:6, 6] = 255
    _voc_png(root / "SegmentationClass" / "2007_000032.png", a)
    _voc_png(root / "SegmentationClass" / "2007_000033.png", np.full((12, 10), 1, dtype=np.uint8))
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("2007_000032\n")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text("2007_000033\n2007_000039\n")
    return root


def test_voc_keeps_indices_and_boundaries_and_splits(voc_root: Path, tmp_path: Path) -> None:
    summary = convert("voc", voc_root / "SegmentationClass", tmp_path / "out", progress=False)
    masks = layout_masks(tmp_path / "out")
    assert set(masks) == {"2007_000032", "2007_000033"}
    assert masks["2007_000032"][3, 3] == 15 and masks["2007_000032"][3, 6] == 255
    cfg = layout_config(tmp_path / "out")
    assert cfg["class_names"] == VOC_CLASSES and cfg["ignore_index"] == 255
    assert cfg["class_colors"][15] == [192, 128, 128]
    assert (tmp_path / "out" / "splits" / "train.txt").read_text() == "2007_000032\n"
    assert (tmp_path / "out" / "splits" / "val.txt").read_text() == "2007_000033\n"  # only converted names
    assert summary.pixel_counts[255] == 4
    assert summary.warnings == [f"1 images in {voc_root / 'JPEGImages'} have no mask and were skipped"]


def test_voc_classes_from_a_labelmap(voc_root: Path) -> None:
    (voc_root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nbackground:0,0,0::\n"
                                           + "".join(f"c{i}:{i},{i},{i}::\n" for i in range(1, 16)))
    conv = read_voc(voc_root / "SegmentationClass")
    assert conv.class_names == ["background"] + [f"c{i}" for i in range(1, 16)]
    assert conv.class_colors[3] == (3, 3, 3)


@pytest.mark.parametrize("case, message", [
    ("out of range", "mask values outside the 3 classes 0..2 (255 = ignore): 15: 16 px"),
    ("rgb", "an RGB colour mask, not class indices; use --from rgb --palette voc"),
    ("no image", "mask without image"),
    ("corrupt", "cannot read image"),
])
def test_voc_errors_name_the_mask(voc_root: Path, tmp_path: Path, case: str, message: str) -> None:
    bad = voc_root / "SegmentationClass" / "2007_000032.png"
    if case == "rgb":
        Image.fromarray(np.full((12, 10, 3), (128, 0, 0), dtype=np.uint8)).save(bad)
    elif case == "no image":
        bad = voc_root / "SegmentationClass" / "orphan.png"
        _voc_png(bad, np.zeros((4, 4), dtype=np.uint8))
    elif case == "corrupt":
        bad.write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match=bad.name) as err:
        convert("voc", voc_root / "SegmentationClass", tmp_path / "out", classes="bg,a,b", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "out").exists()


def _write_palette(path: Path, kind: str) -> Path:
    entries = [("Sky", (128, 128, 128)), ("Road", (128, 64, 128)), ("Car", (64, 0, 128)), ("Void", (0, 0, 0))]
    if kind == "camvid":
        path.write_text("".join(f"{r} {g} {b}\t\t{n}\n" for n, (r, g, b) in entries))
    elif kind == "csv":
        path.write_text("name,r,g,b\n" + "".join(f"{n},{r},{g},{b}\n" for n, (r, g, b) in entries))
    elif kind == "csv-rgb-first":
        path.write_text("".join(f"{r}, {g}, {b}, {n}\n" for n, (r, g, b) in entries))
    elif kind == "labelmap":
        path.write_text("# label:color_rgb:parts:actions\n" + "".join(f"{n}:{r},{g},{b}::\n" for n, (r, g, b) in entries))
    elif kind == "json-dict":
        path.write_text(json.dumps({n: list(c) for n, c in entries}))
    else:
        path.write_text(json.dumps([{"name": n, "color": list(c)} for n, c in entries]))
    return path


@pytest.mark.parametrize("kind, suffix", [("camvid", ".txt"), ("csv", ".csv"), ("csv-rgb-first", ".csv"),
                                          ("labelmap", ".txt"), ("json-dict", ".json"), ("json-list", ".json")])
def test_palette_files(tmp_path: Path, kind: str, suffix: str) -> None:
    entries = read_palette(_write_palette(tmp_path / f"palette{suffix}", kind))
    assert entries == [("Sky", (128, 128, 128)), ("Road", (128, 64, 128)), ("Car", (64, 0, 128)), ("Void", (0, 0, 0))]
    assert read_palette("voc")[15] == ("person", (192, 128, 128))


@pytest.mark.parametrize("text, message", [
    ("1 2 3 a\n1 2 3 b\n", "colour (1, 2, 3) is given twice"),
    ("1 2 300 a\n4 5 6 b\n", "outside 0..255"),
    ("1 2 3 a\nnot a colour line\n", "line 2: expected 'R G B name'"),
    ("1 2 3 a\n", "at least 2 classes"),
    ("1 2 a\n4 5 6 b\n7 8 9 c\n", "line 1: expected"),  # a malformed first line is not taken for a header
])
def test_bad_palette_files(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pal.txt").write_text(text)
    with pytest.raises(DataError, match="pal.txt") as err:
        read_palette(tmp_path / "pal.txt")
    assert message in str(err.value)


@pytest.fixture
def rgb_src(tmp_path: Path) -> Path:
    """CamVid-style colour masks named <stem>_L.png, the images <stem>.png."""
    for stem in ("0001TP_0060", "0001TP_0090"):
        save_image(tmp_path / "images" / f"{stem}.png", 6, 8)
    m = np.zeros((6, 8, 3), dtype=np.uint8) + np.array([128, 128, 128], dtype=np.uint8)  # sky
    m[3:, :] = (128, 64, 128)  # road
    m[4:, 2:4] = (64, 0, 128)  # car
    m[0, 0] = (0, 0, 0)  # void
    (tmp_path / "labels").mkdir()
    Image.fromarray(m).save(tmp_path / "labels" / "0001TP_0060_L.png")
    Image.fromarray(m[::-1].copy()).save(tmp_path / "labels" / "0001TP_0090_L.png")
    _write_palette(tmp_path / "label_colors.txt", "camvid")
    return tmp_path


def test_rgb_masks_map_colours_to_classes(rgb_src: Path) -> None:
    conv = read_rgb(rgb_src / "labels", rgb_src / "images", rgb_src / "label_colors.txt", ignore_names=["Void"],
                    mask_suffix="_L")
    assert conv.class_names == ["Sky", "Road", "Car"]
    assert conv.class_colors == [(128, 128, 128), (128, 64, 128), (64, 0, 128)]
    samples = {s.name: s for s in conv.samples}
    m = samples["0001TP_0060"].mask
    assert m[1, 1] == 0 and m[3, 0] == 1 and m[4, 2] == 2 and m[0, 0] == 255
    assert samples["0001TP_0060"].image.name == "0001TP_0060.png"


def test_rgb_unknown_colours_are_listed_with_pixel_counts(rgb_src: Path, tmp_path: Path) -> None:
    m = np.zeros((6, 8, 3), dtype=np.uint8) + np.array([128, 128, 128], dtype=np.uint8)
    m[:2, :] = (1, 2, 3)
    m[5, 7] = (9, 9, 9)
    Image.fromarray(m).save(rgb_src / "labels" / "0001TP_0090_L.png")
    args = ("rgb", rgb_src / "labels", tmp_path / "out", rgb_src / "images")
    with pytest.raises(DataError, match="0001TP_0090_L.png") as err:
        convert(*args, palette=rgb_src / "label_colors.txt", mask_suffix="_L", progress=False)
    assert "2 colour(s) not in the palette" in str(err.value)
    assert "[1, 2, 3]: 16 px, [9, 9, 9]: 1 px" in str(err.value)
    summary = convert(*args, palette=rgb_src / "label_colors.txt", mask_suffix="_L", unknown_colors="ignore",
                      progress=False)
    assert summary.pixel_counts[255] == 17 and summary.class_names == ["Sky", "Road", "Car", "Void"]


def test_rgb_option_errors(rgb_src: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--ignore-names \\['Trees'\\] are not in the palette"):
        read_rgb(rgb_src / "labels", rgb_src / "images", rgb_src / "label_colors.txt", ignore_names=["Trees"])
    with pytest.raises(DataError, match="if mask names carry a suffix such as _L, pass --mask-suffix"):
        read_rgb(rgb_src / "labels", rgb_src / "images", rgb_src / "label_colors.txt")
    with pytest.raises(ConfigError, match="needs --images"):
        read_rgb(rgb_src / "labels", None, rgb_src / "label_colors.txt")
    gray = tmp_path / "gray"
    gray.mkdir()
    Image.fromarray(np.zeros((6, 8), dtype=np.uint8)).save(gray / "0001TP_0060.png")
    with pytest.raises(DataError, match="mode L is not a colour mask"):
        list(read_rgb(gray, rgb_src / "images", rgb_src / "label_colors.txt").samples)


@pytest.fixture
def binary_src(tmp_path: Path) -> Path:
    save_image(tmp_path / "images" / "cell.tif", 5, 6, gray=True)
    m = np.zeros((5, 6), dtype=np.uint8)
    m[1:3, 2:5] = 255
    (tmp_path / "masks").mkdir()
    Image.fromarray(m).save(tmp_path / "masks" / "cell.png")
    return tmp_path


def test_binary_masks_become_zero_one(binary_src: Path, tmp_path: Path) -> None:
    summary = convert("binary", binary_src / "masks", tmp_path / "out", binary_src / "images", progress=False)
    m = layout_masks(tmp_path / "out")["cell"]
    assert m.max() == 1 and m.sum() == 6
    cfg = layout_config(tmp_path / "out")
    assert cfg["class_names"] == ["background", "foreground"] and cfg["in_channels"] == 1
    assert summary.pixel_counts == {0: 24, 1: 6}


def test_binary_other_values_need_a_threshold(binary_src: Path) -> None:
    m = np.zeros((5, 6), dtype=np.uint8)
    m[1:3, 2:5] = 250  # JPEG-like noise
    m[0, 0] = 3
    Image.fromarray(m).save(binary_src / "masks" / "cell.png")
    with pytest.raises(DataError, match="cell.png: a binary mask holds only 0 and 255, found 250: 6 px, 3: 1 px"):
        list(read_binary(binary_src / "masks", binary_src / "images").samples)
    mask = next(read_binary(binary_src / "masks", binary_src / "images", threshold=128).samples).mask
    assert mask.sum() == 6 and mask[0, 0] == 0
    with pytest.raises(ConfigError, match="2 classes"):
        read_binary(binary_src / "masks", binary_src / "images", classes="a,b,c")


def test_binary_one_bit_png(binary_src: Path) -> None:
    m = np.zeros((5, 6), dtype=bool)
    m[0, :] = True
    Image.fromarray(m).convert("1").save(binary_src / "masks" / "cell.png")
    conv = read_binary(binary_src / "masks", binary_src / "images", classes="bg,cell")
    assert next(conv.samples).mask.sum() == 6 and conv.class_names == ["bg", "cell"]


def test_mask_folders_pair_like_the_loaders(binary_src: Path, tmp_path: Path) -> None:
    """Pairing is the loaders' (colorseg.data.pairing): two masks with one name are refused (the
    loader would silently pair one), an empty mask folder is named."""
    Image.fromarray(np.zeros((5, 6), dtype=np.uint8)).save(binary_src / "masks" / "cell.tif")
    with pytest.raises(DataError, match=r"two files with one name: .*cell\.png and .*cell\.tif"):
        read_binary(binary_src / "masks", binary_src / "images")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no image files .* in folder: .*empty"):
        read_binary(tmp_path / "empty", binary_src / "images")
