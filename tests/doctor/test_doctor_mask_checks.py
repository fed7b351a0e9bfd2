"""Mask diagnosis on hand-built arrays: planes, interior counts, stray values, 0/255, gaps, palettes."""

from __future__ import annotations

import numpy as np
import pytest

from colorseg.data.doctor.mask_checks import (
    MaskStats,
    PaletteEntry,
    ValueHistogram,
    consecutive_value_map,
    format_palette,
    format_value_map,
    has_edge_artifacts,
    is_binary_0_255,
    is_jpeg_bytes,
    label_values,
    mask_plane,
    mask_stats,
    propose_palette,
    stray_values,
    value_gaps,
)
from colorseg.data.image_io import pack_rgb
from colorseg.data.sources import CAMVID_CLASSES, CAMVID_COLORS
from tests.doctor.builders import jpeg_roundtrip, label_mask


def test_mask_plane_gray_gray_as_rgb_and_colour() -> None:
    gray = np.array([[0, 1], [2, 1]], np.uint8)
    plane, colour = mask_plane(gray)
    assert not colour and plane is gray
    assert mask_plane(gray[..., None])[0].tolist() == gray.tolist()
    plane, colour = mask_plane(np.repeat(gray[..., None], 3, axis=2))  # a gray mask saved as RGB
    assert not colour and plane.tolist() == gray.tolist()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0, :3] = (10, 20, 30)
    plane, colour = mask_plane(rgba)
    assert colour and plane[0, 0] == 0x0A141E and plane[1, 1] == 0
    with pytest.raises(ValueError, match="got \\(2, 2, 2\\)"):
        mask_plane(np.zeros((2, 2, 2), np.uint8))


def test_mask_stats_counts_interior_pixels() -> None:
    # a 5x5 block of 1 in a 7x7 field of 0: 1 has 3x3 = 9 interior pixels; 0 has none (a 1-pixel ring)
    m = np.zeros((7, 7), np.uint8)
    m[1:6, 1:6] = 1
    s = mask_stats(m)
    assert s.values.tolist() == [0, 1]
    assert s.counts.tolist() == [24, 25]
    assert s.interior.tolist() == [0, 9]
    assert s.count_of(1) == 25 and s.count_of(7) == 0 and s.num_pixels == 49


def test_mask_stats_row_positions_and_boundary_pixels() -> None:
    # rows 0-1 hold 1 (top), rows 2-4 hold 0, with a one-pixel column of 2 in row 4 (bottom)
    m = np.zeros((5, 4), np.uint8)
    m[:2] = 1
    m[4, 1] = 2
    s = mask_stats(m)
    assert s.values.tolist() == [0, 1, 2]
    rows = np.arange(5) / 4  # 0 = top row, 1 = bottom row
    assert s.row_sums.tolist() == pytest.approx([4 * rows[2] + 4 * rows[3] + 3 * rows[4], 4 * (rows[0] + rows[1]), 1.0])
    # boundary: 0 touches 1 along row 2 (4 px) and 2 from above and both sides (3 px); 1 along row 1; 2 itself
    assert s.boundary.tolist() == [7, 4, 1]


def test_value_histogram_mean_rows_boundary_and_mask_shares() -> None:
    top = np.zeros((3, 3), np.uint8)
    top[0] = 1
    hist = ValueHistogram.of([mask_stats(top), mask_stats(np.zeros((3, 3), np.uint8))])
    assert hist.mean_rows() == pytest.approx({0: (3 * 0.5 + 3 * 1.0 + 9 * 0.5) / 15, 1: 0.0})
    assert hist.boundary_shares() == {0: 3 / 15, 1: 1.0}
    assert hist.mask_shares(2) == {0: 1.0, 1: 0.5}


def test_stray_values_found_in_jpeg_compressed_binary_mask_but_not_in_clean_masks() -> None:
    clean = label_mask(0, 96, 128, values=(0, 255))
    jpeg = jpeg_roundtrip(clean, 75)
    clean_hist = ValueHistogram.of([mask_stats(clean)])
    jpeg_hist = ValueHistogram.of([mask_stats(jpeg)])
    assert stray_values(clean_hist) == [] and not has_edge_artifacts(clean_hist)
    stray = stray_values(jpeg_hist)
    assert len(stray) >= 3 and has_edge_artifacts(jpeg_hist)
    assert 0 not in stray and 255 not in stray
    assert set(label_values(jpeg_hist)) >= {0, 255}


def test_a_thin_class_alone_is_not_compression_noise() -> None:
    m = label_mask(3, 64, 64)
    m[:, 30] = 7  # one-pixel-wide pole: no interior at all
    hist = ValueHistogram.of([mask_stats(m)])
    assert stray_values(hist) == [7]
    assert not has_edge_artifacts(hist)  # one such value is a thin class, not JPEG noise


def test_value_histogram_merges_masks() -> None:
    a, b = np.zeros((3, 3), np.uint8), np.full((3, 3), 2, np.uint8)
    hist = ValueHistogram.of([mask_stats(a), mask_stats(b), mask_stats(a)])
    assert hist.pixels == {0: 18, 2: 9} and hist.masks == {0: 2, 2: 1} and hist.total == 27
    assert hist.frequencies() == {0: 18 / 27, 2: 9 / 27}
    assert ValueHistogram().frequencies() == {}


def test_binary_gaps_and_value_maps() -> None:
    assert is_binary_0_255([0, 255]) and is_binary_0_255([255])
    assert not is_binary_0_255([0, 1]) and not is_binary_0_255([0, 1, 255]) and not is_binary_0_255([0])
    assert value_gaps([0, 2, 5]) == [1, 3, 4]
    assert value_gaps([1, 2]) == [0]  # class 0 would have no pixels
    assert value_gaps([0, 1, 2, 255], ignore=[255]) == []
    assert value_gaps([]) == []
    assert consecutive_value_map([5, 0, 2]) == {0: 0, 2: 1, 5: 2}
    assert consecutive_value_map([0, 3, 255], ignore=[255]) == {0: 0, 3: 1, 255: 255}
    assert format_value_map({0: 0, 255: 1}) == "{0: 0, 255: 1}"


def test_jpeg_signature() -> None:
    assert is_jpeg_bytes(b"\xff\xd8\xff\xe0")
    assert not is_jpeg_bytes(b"\x89PNG") and not is_jpeg_bytes(b"")


def test_propose_palette_generic_order_black_first_then_by_pixels() -> None:
    counts = {0xFF0000: 50, 0x000000: 10, 0x00FF00: 90}
    pal = propose_palette(counts)
    assert [(p.rgb, p.name, p.index, p.pixels) for p in pal] == [
        ((0, 0, 0), "background", 0, 10), ((0, 255, 0), "class_1", 1, 90), ((255, 0, 0), "class_2", 2, 50)]
    assert format_palette(pal) == "0 0 0 background\n0 255 0 class_1\n255 0 0 class_2\n"


def test_propose_palette_recognises_a_known_palette_and_keeps_its_indices() -> None:
    known = list(zip(CAMVID_COLORS, CAMVID_CLASSES))
    road, car = CAMVID_COLORS[3], CAMVID_COLORS[8]
    pal = propose_palette({pack_rgb(np.array(road, np.uint8)).item(): 5, pack_rgb(np.array(car, np.uint8)).item(): 7},
                          known)
    assert len(pal) == 11  # the whole palette, so line i of the file stays label i
    assert pal[3] == PaletteEntry(tuple(road), "Road", 3, 5) and pal[8].pixels == 7 and pal[0].pixels == 0
    assert format_palette(pal).splitlines()[6] == "192 128 128 SignSymbol"
    # one unknown colour: the generic proposal
    assert propose_palette({0x123456: 3, pack_rgb(np.array(road, np.uint8)).item(): 5}, known)[0].name == "class_0"


def test_mask_stats_rejects_non_planes() -> None:
    with pytest.raises(ValueError, match="2-D"):
        mask_stats(np.zeros((2, 2, 3)))
    assert isinstance(mask_stats(np.zeros((2, 2), np.uint16)), MaskStats)
