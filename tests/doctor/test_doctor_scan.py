"""Reading files once for the doctor (and the planner): image facts, raw mask planes, records with
the reader's error instead of an exception, the progress bar, pairs for display."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorseg.data.doctor.layout import Entry
from colorseg.data.doctor.scan import load_for_display, read_image_info, read_mask_info, read_mask_plane, scan
from tests.doctor.builders import RGB_PALETTE, gray_photo, label_mask, photo, save


def test_image_info_of_colour_and_gray_photos(tmp_path: Path) -> None:
    info = read_image_info(save(tmp_path / "c.png", photo(0)))
    assert (info.height, info.width, info.mode, info.channels, info.gray) == (48, 64, "RGB", 3, False)
    gray = read_image_info(save(tmp_path / "g.png", gray_photo(0)))
    assert gray.channels == 3 and gray.gray and gray.mode == "RGB"
    assert read_image_info(save(tmp_path / "copy.png", photo(0))).digest == info.digest  # same pixels


def test_mask_plane_and_info_of_index_and_colour_masks(tmp_path: Path) -> None:
    index = label_mask(0)
    plane, colour, mode = read_mask_plane(save(tmp_path / "i.png", index))
    assert not colour and mode == "L" and np.array_equal(plane, index)
    rgb = np.array([RGB_PALETTE[v] for v in range(3)], np.uint8)[index]
    plane, colour, mode = read_mask_plane(save(tmp_path / "c.png", rgb))
    assert colour and mode == "RGB" and set(np.unique(plane).tolist()) == {0x000000, 0xDC143C, 0x005AC8}
    info = read_mask_info(save(tmp_path / "j.jpg", index))
    assert info.jpeg_file and (info.height, info.width) == (48, 64) and info.stats.num_pixels == 48 * 64


def test_scan_records_errors_instead_of_raising_and_shows_progress(tmp_path: Path, capsys) -> None:
    good = Entry("a", "all", save(tmp_path / "a.png", photo(1)), save(tmp_path / "am.png", label_mask(1)))
    (tmp_path / "b.png").write_bytes(b"broken")
    bad = Entry("b", "all", tmp_path / "b.png", tmp_path / "missing.png")
    records = scan([good, bad] + [Entry(f"x{i}", "all") for i in range(60)], progress=True, desc="reading pairs")
    assert records[0].image.width == 64 and records[0].mask.stats.values.tolist() == [0, 1, 2]
    assert records[1].image is None and "b.png" in records[1].image_error
    assert records[1].mask is None and "missing.png" in records[1].mask_error
    assert "reading pairs" in capsys.readouterr().err  # 62 entries: a progress bar
    scan([good], progress=True, desc="quiet")
    assert "quiet" not in capsys.readouterr().err  # few files: none


def test_load_for_display(tmp_path: Path) -> None:
    entry = Entry("a", "all", save(tmp_path / "a.png", photo(2)), save(tmp_path / "m.png", label_mask(2)))
    image, plane, colour = load_for_display(entry)
    assert image.shape == (48, 64, 3) and image.dtype == np.float32 and 0 <= image.min() <= image.max() <= 1
    assert np.array_equal(plane, label_mask(2)) and not colour
    image, plane, colour = load_for_display(Entry("a", "all", entry.image))
    assert plane is None and not colour
