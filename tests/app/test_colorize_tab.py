"""The Colorize tab's logic without a browser: photos (colour → gray, with a note), colour parsing,
hint editing and markers, the model note, colorization (same values as the Colorizer API, samples
reproducible, hints change the result), saturation and the full-resolution PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'colorseg[app]'")

from colorseg.app import colorize_tab as ct
from colorseg.data.color_datasets import to_uint8
from colorseg.data.lab import rgb_to_lab_array, to_gray
from colorseg.errors import ConfigError, DataError
from colorseg.inference.colorizer import Colorizer
from colorseg.inference.hint_propagation import NO_PROPAGATION
from tests.app.conftest import colour_photo


@pytest.fixture(scope="module")
def hint_model(hint_ckpt: Path) -> Colorizer:
    return Colorizer.from_checkpoint(hint_ckpt)


@pytest.fixture(scope="module")
def plain_model(plain_ckpt: Path) -> Colorizer:
    return Colorizer.from_checkpoint(plain_ckpt)


# ---------------------------------------------------------------------------- photos

def test_colour_photos_become_the_gray_of_their_lightness(photo_png: Path) -> None:
    photo = ct.load_photo(photo_png)
    rgb = colour_photo().astype(np.float32) / 255
    assert photo.was_colour and photo.name == "holiday photo.png" and photo.shape == (45, 61)
    assert photo.gray.dtype == np.float32 and np.allclose(photo.gray, to_gray(rgb)[..., 0], atol=1e-6)
    assert np.array_equal(photo.preview, photo.gray)  # small: the preview is the photo
    note = ct.photo_note(photo)
    assert "61×45" in note and "A colour photo: converted to gray" in note and "holiday photo.png" in note


def test_gray_photos_are_kept_and_not_called_colour(gray_png: Path, tmp_path: Path) -> None:
    photo = ct.load_photo(gray_png)
    assert not photo.was_colour and "converted" not in ct.photo_note(photo)
    assert np.array_equal(photo.gray, colour_photo()[..., 1].astype(np.float32) / 255)
    rgb_gray = tmp_path / "rgb_gray.png"  # a gray photo saved as RGB is gray too
    Image.fromarray(np.repeat(colour_photo()[..., 1:2], 3, axis=2)).save(rgb_gray)
    assert not ct.load_photo(rgb_gray).was_colour


def test_large_photos_get_a_smaller_preview(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(colour_photo(90, 122)).save(path)
    photo = ct.load_photo(path, max_side=61)
    assert photo.shape == (90, 122) and photo.preview_shape == (45, 61)


def test_gray_of_converts_in_strips_exactly() -> None:
    rgb = colour_photo().astype(np.float32) / 255
    assert np.array_equal(ct.gray_of(rgb, rows=7), ct.gray_of(rgb, rows=1000))
    assert np.allclose(ct.gray_of(rgb), to_gray(rgb)[..., 0], atol=1e-6)


def test_bad_photos_name_the_file(bad_uploads: dict) -> None:
    with pytest.raises(DataError, match="notes.txt: not a recognised image format"):
        ct.load_photo(bad_uploads["text"])
    with pytest.raises(DataError, match="upload.png"):
        ct.load_photo(bad_uploads["truncated"], name="upload.png")


# ---------------------------------------------------------------------------- hints

@pytest.mark.parametrize("text, rgb", [("#c81e1e", (200, 30, 30)), ("c81e1e", (200, 30, 30)), ("#FFF", (255, 255, 255)),
                                       ("#2050e0ff", (32, 80, 224)), ("rgb(1, 2, 3)", (1, 2, 3)),
                                       ("rgba(10.4, 20.6, 255, 0.5)", (10, 21, 255)), (" #000000 ", (0, 0, 0))])
def test_parse_colour(text: str, rgb: tuple) -> None:
    assert ct.parse_colour(text) == rgb


@pytest.mark.parametrize("text", ["", None, "red", "#12345", "rgb(1, 2)", "rgb(300, 0, 0)", "rgb(a, b, c)", "#gggggg"])
def test_bad_colours_are_refused_by_value(text) -> None:
    with pytest.raises(ConfigError, match="hint colour"):
        ct.parse_colour(text)


def test_hints_are_added_listed_removed_and_cleared(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(colour_photo(90, 122)).save(path)
    photo = ct.load_photo(path, max_side=61)  # preview at half size
    hints = ct.add_hint([], photo, [10, 20], "#c81e1e")
    hints = ct.add_hint(hints, photo, [60, 44], "rgb(0, 0, 255)")
    assert hints == [(21, 41, (200, 30, 30)), (121, 89, (0, 0, 255))]  # input pixels under the clicks
    labels = ct.hint_labels(hints)
    assert labels == ["1: x=21, y=41, #c81e1e", "2: x=121, y=89, #0000ff"]
    assert ct.remove_hints(hints, [labels[0]]) == hints[1:]
    assert ct.remove_hints(hints, []) == hints
    assert ct.remove_hints(hints, labels) == []
    with pytest.raises(ConfigError, match="no such hint: 3: x=1"):
        ct.remove_hints(hints, ["3: x=1, y=1, #000000"])
    with pytest.raises(ConfigError, match="outside"):
        ct.add_hint(hints, photo, [61, 0], "#000000")
    with pytest.raises(ConfigError, match="hint colour"):
        ct.add_hint(hints, photo, [1, 1], "blue")


def test_hint_markers_are_drawn_where_the_hints_are(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.fromarray(np.full((200, 300), 128, np.uint8)).save(path)
    photo = ct.load_photo(path, max_side=150)
    drawn = ct.draw_hints(photo, [(100, 60, (0, 0, 255)), (250, 150, (255, 0, 0))])
    assert drawn.shape == (100, 150, 3) and drawn.dtype == np.uint8
    assert tuple(drawn[30, 50]) == (0, 0, 255) and tuple(drawn[75, 125]) == (255, 0, 0)
    assert tuple(drawn[5, 5]) == (128, 128, 128)  # elsewhere: the gray photo
    assert np.array_equal(ct.draw_hints(photo, []), ct.before_image(photo))


# ---------------------------------------------------------------------------- model + colorization

def test_model_note_says_whether_hints_work(hint_model: Colorizer, plain_model: Colorizer) -> None:
    assert "takes colour hints" in ct.model_note("hint.ckpt", hint_model)
    note = ct.model_note("built-in colorize-default", plain_model)
    assert "built-in colorize-default" in note and "trained without colour hints" in note
    assert "choose a hint model checkpoint" in note.lower()


def test_colorize_photo_matches_the_colorizer_api(plain_model: Colorizer, photo_png: Path, tmp_path: Path) -> None:
    photo = ct.load_photo(photo_png)
    out = ct.colorize_photo(plain_model, photo, n_samples=3, temperature=0.8, seed=5)
    assert out.ab.shape[:2] == (4, 2) and out.L_full.shape == (1, 1, 45, 61) and out.n_samples == 3
    ref = plain_model.colorize(photo.gray)
    samples = plain_model.colorize(photo.gray, n_samples=3, temperature=0.8, seed=5)
    result, previews = ct.render_previews(photo, out)
    assert np.array_equal(result, to_uint8(ref))  # preview at the input's size: the same pixels
    assert np.array_equal(np.stack(previews), to_uint8(samples))
    again = ct.colorize_photo(plain_model, photo, n_samples=3, temperature=0.8, seed=5)
    assert torch.equal(again.ab, out.ab)
    assert not torch.equal(ct.colorize_photo(plain_model, photo, n_samples=3, temperature=0.8, seed=6).ab, out.ab)
    png = ct.save_result(tmp_path / ct.result_filename(photo), out)
    assert png.name == "holiday photo_colorized.png"
    assert np.array_equal(np.asarray(Image.open(png)), to_uint8(ref))
    assert len(ct.colorize_photo(plain_model, photo, n_samples=0).ab) == 1


def test_the_colour_photo_gives_what_its_gray_gives(plain_model: Colorizer, photo_png: Path) -> None:
    """Converting to gray first changes nothing the colorizer sees (its input is the lightness)."""
    photo = ct.load_photo(photo_png)
    out = ct.render_previews(photo, ct.colorize_photo(plain_model, photo))[0]
    direct = to_uint8(plain_model.colorize(colour_photo()))
    assert np.abs(out.astype(int) - direct).max() <= 1


def test_full_resolution_download_of_a_large_photo(plain_model: Colorizer, tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    Image.fromarray(colour_photo(180, 244)).save(path)
    photo = ct.load_photo(path, max_side=61)
    out = ct.colorize_photo(plain_model, photo, n_samples=2)
    result, samples = ct.render_previews(photo, out)
    assert result.shape == (45, 61, 3) and [s.shape for s in samples] == [(45, 61, 3)] * 2
    png = Image.open(ct.save_result(tmp_path / "out.png", out))
    assert png.size == (244, 180) and png.mode == "RGB"
    assert np.array_equal(np.asarray(png), to_uint8(plain_model.colorize(photo.gray)))


def test_hints_need_a_hint_model(plain_model: Colorizer, photo_png: Path) -> None:
    photo = ct.load_photo(photo_png)
    with pytest.raises(ConfigError, match="trained without colour hints"):
        ct.colorize_photo(plain_model, photo, [(3, 4, (255, 0, 0))])


def test_hints_change_the_result_like_the_api(hint_model: Colorizer, photo_png: Path) -> None:
    photo = ct.load_photo(photo_png)
    hints = [(30, 20, (20, 60, 240))]
    plain = ct.render_previews(photo, ct.colorize_photo(hint_model, photo))[0]
    hinted = ct.render_previews(photo, ct.colorize_photo(hint_model, photo, hints))[0]
    assert np.abs(hinted.astype(int) - plain).max() > 20
    assert np.array_equal(hinted, to_uint8(hint_model.colorize(photo.gray, hints=hints)))
    network = ct.render_previews(photo, ct.colorize_photo(hint_model, photo, hints, spread_hints=False))[0]
    assert np.array_equal(network, to_uint8(hint_model.colorize(photo.gray, hints=hints, propagation=NO_PROPAGATION)))
    assert not np.array_equal(network, hinted)
    with pytest.raises(ConfigError, match="outside"):
        ct.colorize_photo(hint_model, photo, [(61, 0, (0, 0, 0))])


def test_progress_is_reported(plain_model: Colorizer, photo_png: Path) -> None:
    seen = []
    ct.colorize_photo(plain_model, ct.load_photo(photo_png), n_samples=2, progress=lambda f, d: seen.append((f, d)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and len(seen) >= 3 and any("samples" in d for _, d in seen)


@pytest.mark.parametrize("options, match", [((-1, 1.0, 0), "samples"), ((17, 1.0, 0), "samples"),
                                            ((1.5, 1.0, 0), "samples"), ((2, -0.1, 0), "temperature"),
                                            ((2, float("inf"), 0), "temperature"), ((2, None, 0), "temperature"),
                                            ((2, 1.0, -3), "seed"), ((2, 1.0, 0.5), "seed"), ((2, 1.0, None), "seed")])
def test_bad_sampling_options_are_named(options: tuple, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ct.check_options(*options)


def test_check_options_accepts_what_gradio_sends() -> None:
    assert ct.check_options(4.0, 1, 7.0) == (4, 1.0, 7)


# ---------------------------------------------------------------------------- saturation

def test_saturation_scales_chroma_and_keeps_lightness(plain_model: Colorizer, photo_png: Path, tmp_path: Path) -> None:
    photo = ct.load_photo(photo_png)
    out = ct.colorize_photo(plain_model, photo)
    normal = ct.render_previews(photo, out, 1.0)[0].astype(np.float64) / 255
    gray = ct.render_previews(photo, out, 0.0)[0].astype(np.float64) / 255
    double = ct.render_previews(photo, out, 2.0)[0].astype(np.float64) / 255
    chroma = [np.hypot(*rgb_to_lab_array(im)[..., 1:].transpose(2, 0, 1)).mean() for im in (gray, normal, double)]
    assert chroma[0] < 1.0 < chroma[1] < chroma[2]
    lightness = [rgb_to_lab_array(im)[..., 0] for im in (gray, normal)]
    assert np.abs(lightness[0] - lightness[1]).mean() < 1.0  # L units (0..100); 8-bit rounding and gamut clipping
    assert np.array_equal(np.asarray(Image.open(ct.save_result(tmp_path / "g.png", out, 0.0))),
                          ct.render_previews(photo, out, 0.0)[0])
    assert torch.equal(ct.saturate(out.ab, 0.5), out.ab * 0.5)


@pytest.mark.parametrize("value", [-0.1, 4.5, float("nan"), None, "1", True])
def test_bad_saturation_is_refused(value) -> None:
    with pytest.raises(ConfigError, match="saturation"):
        ct.check_saturation(value)
