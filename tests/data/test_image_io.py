"""Image/mask reading: dtype-based scaling, common file flavours, errors that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
from PIL import Image

from colorseg.data.image_io import (
    convert_channels,
    image_mode,
    pack_rgb,
    probe_image,
    read_image,
    read_mask,
    read_mask_raw,
    save_png,
    to_float,
    unpack_rgb,
)
from colorseg.errors import DataError


def _quadrant_rgb(h: int = 16, w: int = 24) -> np.ndarray:
    """uint8 RGB with flat blocks (JPEG-friendly): distinct colour per quadrant."""
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[: h // 2, : w // 2] = (250, 10, 10)
    img[: h // 2, w // 2:] = (10, 250, 10)
    img[h // 2:, : w // 2] = (10, 10, 250)
    img[h // 2:, w // 2:] = (240, 240, 240)
    return img


# --------------------------------------------------------------------------- read_image


def test_read_gray_8bit_png(tmp_path: Path) -> None:
    arr = np.arange(0, 240, 2, dtype=np.uint8).reshape(8, 15)
    Image.fromarray(arr).save(tmp_path / "g8.png")
    img = read_image(tmp_path / "g8.png")
    assert img.dtype == np.float32 and img.shape == (8, 15, 1)
    np.testing.assert_allclose(img[:, :, 0], arr / 255.0, atol=1e-6)


def test_read_gray_16bit_png(tmp_path: Path) -> None:
    arr = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000 + 7).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert img.shape == (3, 4, 1) and img.dtype == np.float32
    np.testing.assert_allclose(img[:, :, 0], arr / 65535.0, atol=1e-6)


def test_read_rgb_16bit_png_keeps_full_precision(tmp_path: Path) -> None:
    h, w = 5, 6
    arr = np.random.default_rng(0).integers(0, 65536, size=(h, w, 3)).astype(np.uint16)
    arr[0, 0] = (1, 257, 65535)  # values PIL's 8-bit decoding would lose
    png.from_array(arr.reshape(h, w * 3).tolist(), "RGB;16").save(str(tmp_path / "rgb16.png"))
    img = read_image(tmp_path / "rgb16.png")
    assert img.shape == (h, w, 3)
    np.testing.assert_allclose(img, arr / 65535.0, atol=1e-7)


def test_read_16bit_tiff(tmp_path: Path) -> None:
    arr = np.array([[0, 1000, 65535], [300, 40000, 2]], dtype=np.uint16)
    tifffile.imwrite(tmp_path / "t16.tif", arr)
    img = read_image(tmp_path / "t16.tif")
    assert img.shape == (2, 3, 1)
    np.testing.assert_allclose(img[:, :, 0], arr / 65535.0, atol=1e-7)


def test_uint16_with_small_values_is_not_rescaled_as_8bit(tmp_path: Path) -> None:
    arr = np.full((4, 5), 200, dtype=np.uint16)  # all < 256: still 16-bit data
    Image.fromarray(arr).save(tmp_path / "dim16.png")
    tifffile.imwrite(tmp_path / "dim16.tif", arr)
    for name in ("dim16.png", "dim16.tif"):
        img = read_image(tmp_path / name)
        np.testing.assert_allclose(img, 200 / 65535.0, atol=1e-7)
        assert img.max() < 0.01


def test_read_jpeg(tmp_path: Path) -> None:
    rgb = _quadrant_rgb()
    Image.fromarray(rgb).save(tmp_path / "q.jpg", quality=95)
    img = read_image(tmp_path / "q.jpg")
    assert img.shape == (16, 24, 3)
    # block centres survive JPEG compression within a few levels
    for y, x in ((4, 6), (4, 18), (12, 6), (12, 18)):
        np.testing.assert_allclose(img[y, x] * 255, rgb[y, x], atol=12)


def test_read_rgba_drops_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 10, 128, 250
    rgba[..., 3] = np.arange(16).reshape(4, 4) * 16  # varying alpha must not leak in
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.shape == (4, 4, 3)
    expected = np.broadcast_to(np.array([10, 128, 250]) / 255.0, (4, 4, 3))
    np.testing.assert_allclose(img, expected, atol=1e-6)


def _palette_image(tmp_path: Path) -> tuple[Path, np.ndarray, list[int]]:
    idx = np.array([[0, 1, 2], [2, 1, 0]], dtype=np.uint8)
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (256 * 3 - 9)
    im = Image.fromarray(idx, "P")
    im.putpalette(palette)
    im.save(tmp_path / "pal.png")
    return tmp_path / "pal.png", idx, palette


def test_read_palette_image_expands_through_palette(tmp_path: Path) -> None:
    path, idx, palette = _palette_image(tmp_path)
    img = read_image(path)
    colours = np.array(palette[:9]).reshape(3, 3) / 255.0
    assert img.shape == (2, 3, 3)
    np.testing.assert_allclose(img, colours[idx], atol=1e-6)


def test_read_cmyk_jpeg_as_rgb(tmp_path: Path) -> None:
    rgb = np.zeros((16, 16, 3), dtype=np.uint8)
    rgb[...] = (200, 50, 120)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    with Image.open(tmp_path / "c.jpg") as im:
        assert im.mode == "CMYK"
    img = read_image(tmp_path / "c.jpg")
    assert img.shape == (16, 16, 3)
    np.testing.assert_allclose(img.mean(axis=(0, 1)) * 255, [200, 50, 120], atol=6)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    stored = _quadrant_rgb(16, 32)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise for display
    Image.fromarray(stored).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    img = read_image(tmp_path / "rot.jpg")
    assert img.shape == (32, 16, 3)  # transposed
    expected = np.rot90(stored, k=-1) / 255.0
    # compare block interiors (away from JPEG ringing at block edges)
    for y, x in ((4, 4), (4, 12), (28, 4), (28, 12)):
        np.testing.assert_allclose(img[y, x], expected[y, x], atol=0.05)


@pytest.mark.parametrize(
    "arr, expected",
    [
        (np.array([[0, 255]], dtype=np.uint8), [0.0, 1.0]),
        (np.array([[0, 65535]], dtype=np.uint16), [0.0, 1.0]),
        (np.array([[255, 256]], dtype=np.uint16), [255 / 65535, 256 / 65535]),
        (np.array([[False, True]]), [0.0, 1.0]),
        (np.array([[0.25, 1.0]], dtype=np.float64), [0.25, 1.0]),
    ],
)
def test_to_float_scales_by_dtype(arr: np.ndarray, expected: list[float]) -> None:
    out = to_float(arr)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.array([[1.5]], np.float32), np.array([[-0.1]], np.float32),
                                 np.array([[np.nan]], np.float32), np.array([[3]], np.int32)])
def test_to_float_rejects_out_of_range_or_unknown(bad: np.ndarray) -> None:
    with pytest.raises(DataError, match="img.tif"):
        to_float(bad, "img.tif")


def test_float_tiff_out_of_range_raises(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "f.tif", np.full((4, 4), 1.5, dtype=np.float32))
    with pytest.raises(DataError, match=r"f\.tif"):
        read_image(tmp_path / "f.tif")


def test_float_tiff_in_range_is_kept(tmp_path: Path) -> None:
    arr = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    tifffile.imwrite(tmp_path / "ok.tif", arr)
    np.testing.assert_array_equal(read_image(tmp_path / "ok.tif")[:, :, 0], arr)


def test_channel_conversion(tmp_path: Path) -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[1, 0] = (0, 0, 255)
    rgb[1, 1] = (255, 255, 255)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    gray = read_image(tmp_path / "c.png", channels=1)
    assert gray.shape == (2, 2, 1)
    np.testing.assert_allclose(gray[:, :, 0], [[0.299, 0.587], [0.114, 1.0]], atol=1e-5)

    g = np.array([[10, 200]], dtype=np.uint8)
    Image.fromarray(g).save(tmp_path / "g.png")
    three = read_image(tmp_path / "g.png", channels=3)
    assert three.shape == (1, 2, 3)
    for c in range(3):
        np.testing.assert_allclose(three[:, :, c], g / 255.0, atol=1e-6)


def test_convert_channels_bad_request() -> None:
    with pytest.raises(DataError):
        convert_channels(np.zeros((2, 2, 3), np.float32), 2)
    with pytest.raises(DataError):
        convert_channels(np.zeros((2, 2, 5), np.float32), None)


# --------------------------------------------------------------------------- read_mask


def test_read_mask_gray(tmp_path: Path) -> None:
    m = np.array([[0, 1, 2], [255, 3, 0]], dtype=np.uint8)
    Image.fromarray(m).save(tmp_path / "m.png")
    out = read_mask(tmp_path / "m.png")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, m)


def test_read_mask_palette_keeps_indices(tmp_path: Path) -> None:
    path, idx, _ = _palette_image(tmp_path)
    out = read_mask(path)
    assert out.dtype == np.int64 and out.shape == idx.shape
    np.testing.assert_array_equal(out, idx)


def test_read_mask_rgb_with_equal_channels(tmp_path: Path) -> None:
    m = np.array([[0, 1], [2, 7]], dtype=np.uint8)
    Image.fromarray(np.repeat(m[:, :, None], 3, axis=2)).save(tmp_path / "rgbmask.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "rgbmask.png"), m)


def test_read_mask_true_colour_raises_naming_file(tmp_path: Path) -> None:
    m = np.zeros((3, 3, 3), dtype=np.uint8)
    m[1, 1] = (128, 64, 128)
    Image.fromarray(m).save(tmp_path / "colour_mask.png")
    with pytest.raises(DataError, match="colour_mask.png"):
        read_mask(tmp_path / "colour_mask.png")


def test_read_mask_raw_keeps_colour_masks_and_reports_the_mode(tmp_path: Path) -> None:
    colour = np.zeros((3, 4, 3), dtype=np.uint8)
    colour[1, 1] = (128, 64, 128)
    Image.fromarray(colour).save(tmp_path / "colour_mask.png")
    arr, mode = read_mask_raw(tmp_path / "colour_mask.png")
    assert mode == "RGB" and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr, colour)  # the colours, not refused and not converted


def test_read_mask_raw_stored_values_of_other_flavours(tmp_path: Path) -> None:
    path, idx, _ = _palette_image(tmp_path)
    arr, mode = read_mask_raw(path)
    assert mode == "P"
    np.testing.assert_array_equal(arr, idx)  # palette PNG: the indices
    bits = np.array([[True, False], [False, True]])
    Image.fromarray(bits).save(tmp_path / "bits.png")
    arr, mode = read_mask_raw(tmp_path / "bits.png")
    assert mode == "1" and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr, bits.astype(np.uint8))
    wide = np.array([[0, 300], [65535, 7]], dtype=np.uint16)
    tifffile.imwrite(tmp_path / "wide.tif", wide)
    arr, mode = read_mask_raw(tmp_path / "wide.tif")
    assert mode == "" and arr.dtype == np.uint16
    np.testing.assert_array_equal(arr, wide)


def test_read_mask_raw_refuses_non_integer_masks_naming_the_file(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "float_mask.tif", np.zeros((2, 2), np.float32))
    with pytest.raises(DataError, match=r"float_mask\.tif: mask must hold integer class indices, got float32"):
        read_mask_raw(tmp_path / "float_mask.tif")
    with pytest.raises(DataError, match="nope.png"):
        read_mask_raw(tmp_path / "nope.png")


def test_pack_unpack_rgb_roundtrip() -> None:
    rgba = np.array([[[1, 2, 3, 9], [255, 0, 128, 0]]], np.uint8)
    packed = pack_rgb(rgba)  # alpha dropped
    assert packed.dtype == np.uint32 and packed.tolist() == [[0x010203, 0xFF0080]]
    assert unpack_rgb(packed[0, 1]) == (255, 0, 128) and int(pack_rgb(np.array((64, 0, 128)))) == 0x400080


# --------------------------------------------------------------------------- headers


def test_probe_image_agrees_with_read_image(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((7, 9), np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(_quadrant_rgb(7, 9)).save(tmp_path / "c.jpg")
    _palette_image(tmp_path)
    tifffile.imwrite(tmp_path / "t.tif", np.zeros((7, 9, 3), dtype=np.uint16))
    tifffile.imwrite(tmp_path / "g.tif", np.zeros((7, 9), dtype=np.uint8))
    for name in ("g.png", "c.jpg", "pal.png", "t.tif", "g.tif"):
        assert probe_image(tmp_path / name) == read_image(tmp_path / name).shape, name
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90°: displayed as 20 wide, 30 high
    Image.new("RGB", (30, 20)).save(tmp_path / "rot.jpg", exif=exif)
    assert probe_image(tmp_path / "rot.jpg") == (30, 20, 3) == read_image(tmp_path / "rot.jpg").shape
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="junk.png"):
        probe_image(tmp_path / "junk.png")


def test_image_mode_from_the_header(tmp_path: Path) -> None:
    path, _, _ = _palette_image(tmp_path)
    assert image_mode(path) == "P"
    Image.fromarray(np.zeros((2, 2), bool)).save(tmp_path / "bits.png")
    assert image_mode(tmp_path / "bits.png") == "1"
    (tmp_path / "junk.png").write_bytes(b"not an image")
    assert image_mode(tmp_path / "junk.png") is None and image_mode(tmp_path / "missing.png") is None


# --------------------------------------------------------------------------- broken files


def _truncated_png(tmp_path: Path) -> Path:
    arr = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3)).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    return tmp_path / "truncated.png"


@pytest.mark.parametrize("kind", ["truncated", "zero", "text"])
@pytest.mark.parametrize("reader", [read_image, read_mask, read_mask_raw])
def test_broken_files_raise_data_error_naming_file(tmp_path: Path, kind: str, reader) -> None:
    if kind == "truncated":
        path = _truncated_png(tmp_path)
    elif kind == "zero":
        path = tmp_path / "zero.png"
        path.write_bytes(b"")
    else:
        path = tmp_path / "notes.png"
        path.write_text("this is not an image\n")
    with pytest.raises(DataError, match=path.name):
        reader(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope.png"):
        read_image(tmp_path / "nope.png")


def test_decompression_bomb_guard(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((20, 30), np.uint8)).save(tmp_path / "big.png")
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((20, 30), np.uint8))
    for name in ("big.png", "big.tif"):
        with pytest.raises(DataError, match="exceeds the limit"):
            read_image(tmp_path / name, max_pixels=599)
        with pytest.raises(DataError, match=name):
            read_mask(tmp_path / name, max_pixels=100)
        assert read_image(tmp_path / name, max_pixels=600).shape == (20, 30, 1)


# --------------------------------------------------------------------------- writing


def test_save_png_roundtrip_and_rejects_non_uint8(tmp_path: Path) -> None:
    arr = np.random.default_rng(1).integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    save_png(tmp_path / "s.png", arr)
    np.testing.assert_allclose(read_image(tmp_path / "s.png"), arr / 255.0, atol=1e-6)
    m = np.array([[0, 3], [1, 2]], dtype=np.uint8)
    save_png(tmp_path / "m.png", m)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), m)
    for bad in (arr.astype(np.float32) / 255, arr.astype(np.uint16), arr.astype(np.int64)):
        with pytest.raises(ValueError, match="uint8"):
            save_png(tmp_path / "bad.png", bad)
    assert not (tmp_path / "bad.png").exists()
