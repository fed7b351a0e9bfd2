"""The Segment tab's logic without a browser: prediction (the Segmenter's values), overlay and
opacity, the class legend, the per-class area table on hand-built masks, and the mask PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'colorseg[app]'")

from colorseg.app import segment_tab as st
from colorseg.data.image_io import read_image, read_mask
from colorseg.errors import ConfigError, DataError
from colorseg.inference.segmenter import Segmenter, colorize_mask
from tests.app.conftest import colour_photo


@pytest.fixture(scope="module")
def segmenter(seg_ckpt: Path) -> Segmenter:
    return Segmenter.from_checkpoint(seg_ckpt)


def test_area_table_on_a_hand_built_mask() -> None:
    mask = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [3, 0, 0, 0]], np.uint8)
    table = st.area_table(mask, ["background", "road", "car", "person"])
    assert list(table.columns) == ["class", "pixels", "%"]
    assert table["class"].tolist() == ["background", "road", "car", "person"]
    assert table["pixels"].tolist() == [11, 4, 0, 1]  # an absent class has a row with 0
    assert table["%"].tolist() == [68.75, 25.0, 0.0, 6.25]
    assert int(table["pixels"].sum()) == mask.size


def test_area_table_edge_cases() -> None:
    one = st.area_table(np.zeros((1, 1), np.uint8), ["only"])
    assert one.to_dict("list") == {"class": ["only"], "pixels": [1], "%": [100.0]}
    extra = st.area_table(np.array([[0, 5]], np.int32), ["a", "b"])  # indices past the model's classes
    assert extra["class"].tolist() == ["a", "b", "class 2", "class 3", "class 4", "class 5"]
    assert extra["pixels"].tolist() == [1, 0, 0, 0, 0, 1]
    thirds = st.area_table(np.array([[0, 1, 2]], np.uint8), ["a", "b", "c"])
    assert thirds["%"].tolist() == [33.33, 33.33, 33.33]


def test_legend_lists_every_class_with_its_colour_escaped() -> None:
    text = st.legend_html(["bg", "<b>cell</b>"], [(0, 0, 0), (255, 10, 20)])
    assert text.count("colorseg-swatch") == 2
    assert "rgb(255, 10, 20)" in text and "&lt;b&gt;cell&lt;/b&gt;" in text and "<b>" not in text


def test_segment_image_predicts_like_the_segmenter(segmenter: Segmenter, photo_png: Path) -> None:
    image = st.load_segment_image(photo_png)
    result = st.segment_image(segmenter, image, "holiday photo.png")
    assert np.array_equal(result.mask, segmenter.predict(read_image(photo_png)))
    assert result.mask.shape == (45, 61) and result.class_names == ["bg", "a", "b"]
    assert result.class_colors == segmenter.class_colors
    assert np.array_equal(result.preview, image) and np.array_equal(result.preview_mask, result.mask)


def test_large_images_get_a_preview_and_tiles_report_progress(seg_ckpt: Path) -> None:
    from colorseg.inference.tiling import TileConfig

    tiled = Segmenter.from_checkpoint(seg_ckpt, tiling=TileConfig(tile=32, overlap=8))
    image = colour_photo(90, 122).astype(np.float32) / 255
    seen = []
    result = st.segment_image(tiled, image, "big.png", max_side=61, progress=lambda f, d: seen.append((f, d)))
    assert result.mask.shape == (90, 122) and result.preview.shape == (45, 61, 3) and result.preview_mask.shape == (45, 61)
    assert any("windows done" in d for _, d in seen)


def test_overlay_opacity(segmenter: Segmenter, photo_png: Path) -> None:
    result = st.segment_image(segmenter, st.load_segment_image(photo_png), "p.png")
    assert np.array_equal(st.overlay_preview(result, 0.0), colour_photo())  # opacity 0: the photo
    assert np.array_equal(st.overlay_preview(result, 1.0), colorize_mask(result.mask, result.class_colors))
    half = st.overlay_preview(result, 0.5).astype(int)
    assert np.abs(half - (colour_photo().astype(int) + colorize_mask(result.mask, result.class_colors)) / 2).max() <= 1
    for bad in (-0.1, 1.5, float("nan"), None, "0.5"):
        with pytest.raises(ConfigError, match="opacity"):
            st.overlay_preview(result, bad)


def test_gray_images_are_segmented_too(segmenter: Segmenter, gray_png: Path) -> None:
    image = st.load_segment_image(gray_png)
    assert image.shape == (45, 61, 1)
    result = st.segment_image(segmenter, image, "scan.png")
    assert st.overlay_preview(result, 0.3).shape == (45, 61, 3)


def test_mask_png_holds_the_class_indices_at_the_input_size(tmp_path: Path) -> None:
    mask = np.random.default_rng(0).integers(0, 3, (45, 61)).astype(np.uint8)
    path = st.save_mask(tmp_path / st.mask_filename("holiday photo.jpg"), mask)
    assert path.name == "holiday photo_mask.png"
    with Image.open(path) as im:
        assert im.size == (61, 45) and im.mode == "L"
    assert np.array_equal(read_mask(path), mask)
    many = np.array([[0, 300]], np.int32)  # more than 256 classes: 16 bits
    assert np.array_equal(read_mask(st.save_mask(tmp_path / "many.png", many)), many)
    assert st.mask_filename("folder/a.b.tif") == "a.b_mask.png"


def test_bad_images_name_the_file(bad_uploads: dict) -> None:
    with pytest.raises(DataError, match="notes.txt: not a recognised image format"):
        st.load_segment_image(bad_uploads["text"])
    with pytest.raises(DataError, match="empty.jpg: empty file"):
        st.load_segment_image(bad_uploads["empty"])
