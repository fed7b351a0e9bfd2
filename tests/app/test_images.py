"""Uploads and previews: messages naming the uploaded file, preview sizes, resizing, and clicks on a
preview mapped back to the input's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'colorseg[app]'")

from colorseg.app.images import (
    nearest_indices,
    preview_shape,
    read_upload,
    resize_image,
    resize_labels,
    to_input_pixel,
)
from colorseg.data.image_io import read_image
from colorseg.errors import ConfigError, DataError


def test_read_upload_reads_like_read_image(photo_png: Path) -> None:
    assert np.array_equal(read_upload(photo_png), read_image(photo_png))


@pytest.mark.parametrize("kind, problem", [("text", "not a recognised image format"), ("truncated", "cannot read image"),
                                           ("empty", "empty file")])
def test_bad_uploads_name_the_file_not_the_temporary_folder(bad_uploads: dict, kind: str, problem: str) -> None:
    path = bad_uploads[kind]
    with pytest.raises(DataError, match=problem) as info:
        read_upload(path)
    message = str(info.value)
    assert path.name in message and str(path.parent) not in message
    with pytest.raises(DataError, match="my upload.png"):
        read_upload(path, name="my upload.png")


def test_too_large_uploads_say_so(photo_png: Path, monkeypatch) -> None:
    with pytest.raises(DataError, match=r"holiday photo.png: 61x45 pixels exceeds the limit 100 "):
        read_upload(photo_png, max_pixels=100)
    monkeypatch.setenv("COLORSEG_MAX_PIXELS", "2000")
    with pytest.raises(DataError, match="COLORSEG_MAX_PIXELS"):
        read_upload(photo_png)


def test_preview_shape() -> None:
    assert preview_shape(300, 200, 768) == (300, 200)  # small images as they are
    assert preview_shape(3000, 1500, 768) == (768, 384)
    assert preview_shape(10, 5000, 100) == (1, 100)  # never zero
    with pytest.raises(ConfigError, match="at least one pixel"):
        preview_shape(0, 10)
    with pytest.raises(ConfigError, match="preview side"):
        preview_shape(10, 10, 0)


def test_resize_image_keeps_values_and_channels() -> None:
    flat = np.full((40, 60, 3), 0.25, np.float32)
    out = resize_image(flat, (20, 30))
    assert out.shape == (20, 30, 3) and out.dtype == np.float32 and np.allclose(out, 0.25, atol=1e-6)
    gray = np.linspace(0, 1, 40 * 60, dtype=np.float32).reshape(40, 60)
    small = resize_image(gray, (10, 15))
    assert small.shape == (10, 15) and 0 <= small.min() and small.max() <= 1
    assert small[0, 0] < small[-1, -1]
    assert resize_image(gray, (40, 60)) is not None and np.array_equal(resize_image(gray, (40, 60)), gray)


def test_resize_labels_is_nearest_and_adds_no_class() -> None:
    mask = np.zeros((6, 6), np.uint8)
    mask[:, 3:] = 2
    small = resize_labels(mask, (3, 3))
    assert small.dtype == np.uint8 and set(np.unique(small)) <= {0, 2}
    assert np.array_equal(small, [[0, 2, 2]] * 3)  # columns 1, 3, 5: the centres of each pair
    assert np.array_equal(nearest_indices(4, 2), [1, 3]) and np.array_equal(nearest_indices(2, 4), [0, 0, 1, 1])


def test_clicks_map_to_the_input_pixel_under_them() -> None:
    assert to_input_pixel([10, 20], (45, 61), (45, 61)) == (10, 20)  # preview at input size
    assert to_input_pixel([0, 0], (100, 200), (1000, 2000)) == (5, 5)  # centre of the 10x10 block
    assert to_input_pixel([199, 99], (100, 200), (1000, 2000)) == (1995, 995)
    assert to_input_pixel([3.6, 1.2], (10, 10), (10, 10)) == (4, 1)


@pytest.mark.parametrize("index, match", [([10], r"\[x, y\]"), ("10,20", r"\[x, y\]"), ([1, None], r"\[x, y\]"),
                                          ([float("nan"), 1], r"\[x, y\]"), ([200, 5], "outside the 200x100"),
                                          ([-1, 5], "outside")])
def test_bad_clicks_are_refused(index, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        to_input_pixel(index, (100, 200), (1000, 2000))
