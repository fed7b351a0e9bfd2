"""The pieces of the data check page and the terminal summary."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from colorseg.data.doctor import check_data
from colorseg.data.doctor.summary import print_summary, summary_lines
from colorseg.reports import data_check_plots as plots
from colorseg.reports.data_check_report import render_data_check, run_data_check, swatch
from tests.doctor.builders import write_folder, write_photos


def test_mask_overlay_blends_colours_and_outlines_the_class() -> None:
    image = np.zeros((40, 40, 3), np.float32)
    plane = np.zeros((40, 40), np.int64)
    plane[10:30, 10:30] = 5
    colors = {0: (0, 0, 200), 5: (200, 0, 0)}
    out = plots.mask_overlay(image, plane, colors, highlight=5, side=40, highlight_alpha=0.5, background_alpha=0.2)
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
    assert tuple(out[20, 20]) == (100, 0, 0)  # inside class 5: half its colour over black
    assert tuple(out[2, 2]) == (0, 0, 40)  # the other classes fainter
    assert tuple(out[10, 20]) == plots.OUTLINE and tuple(out[29, 20]) == plots.OUTLINE  # the region's edge
    assert tuple(out[11, 20]) == (100, 0, 0)  # one pixel wide
    plain = plots.mask_overlay(image, plane, colors, side=40, alpha=0.5)
    assert tuple(plain[10, 20]) == (100, 0, 0) and tuple(plain[2, 2]) == (0, 0, 100)  # no highlight, no outline
    thin = np.zeros((40, 40), np.int64)
    thin[:, 20] = 5  # too thin to outline: its colour shows instead
    assert tuple(plots.mask_overlay(image, thin, colors, highlight=5, side=40, highlight_alpha=0.5)[5, 20]) == \
        (100, 0, 0)
    stray = plane.copy()
    stray[0, 0] = 77  # a value without a colour is shown magenta
    assert tuple(plots.mask_overlay(image, stray, {0: (0, 0, 200), 5: (200, 0, 0)}, side=40, alpha=1.0)[0, 0]) == \
        plots.UNKNOWN
    with pytest.raises(ValueError, match="differ in size"):
        plots.mask_overlay(image, plane[:20], {0: (0, 0, 0)})


def test_thumbnail_keeps_aspect_and_bounds_the_side() -> None:
    assert plots.thumbnail(np.zeros((100, 300, 3), np.float32), side=150).shape == (50, 150, 3)
    assert plots.thumbnail(np.ones((30, 20, 1), np.float32), side=150).shape == (150, 100, 3)  # tiny: x5
    assert plots.thumbnail(np.ones((100, 60, 3), np.float32), side=150).shape == (100, 60, 3)  # kept
    tiny = np.arange(4, dtype=np.uint8).reshape(2, 2, 1).repeat(3, 2)
    big = plots.enlarge(tiny, side=8)
    assert big.shape == (8, 8, 3) and (big[:4, :4] == 0).all() and (big[4:, 4:] == 3).all()  # crisp pixels
    small = plots.mask_overlay(np.zeros((100, 300, 3), np.float32), np.zeros((100, 300), np.int64),
                               {0: (1, 2, 3)}, side=150)
    assert small.shape == (50, 150, 3)


def test_figures() -> None:
    fig = plots.frequency_bars({"train": {0: 0.7, 1: 0.3}, "val": {0: 0.5, 1: 0.5}}, {0: "bg", 1: "cell"})
    assert isinstance(fig, Figure) and [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["bg", "cell"]
    assert len(fig.axes[0].patches) == 4
    fig = plots.value_histogram({0: 100, 3: 2, 255: 50}, {3})
    assert len(fig.axes[0].patches) == 3 and fig.axes[0].get_legend() is not None
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0", "3", "255"]  # one labelled bar each
    fig = plots.value_histogram({v: 1 for v in range(100)}, set())
    assert len(fig.axes[0].patches) == 100 and fig.axes[0].get_legend() is None


def test_html_helpers() -> None:
    assert "rgb(1,2,3)" in swatch((1, 2, 3))


def test_summary_lines_and_print(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=3, values=(0, 255))
    (root / "masks" / "s0.png").unlink()
    check = check_data(root, progress=False)
    lines = [text for _, text in summary_lines(check)]
    assert lines[0].startswith("colorseg data check: ") and "(segment, source folder)" in lines[0]
    assert any("image_without_mask" in t and "error" in t for t in lines)
    assert lines[-1] == "verdict: 1 error, 1 warning (exit status 2; 0 info)"
    buf = io.StringIO()
    print_summary(check, file=buf)
    assert buf.getvalue().splitlines()[-1] == lines[-1]
    assert summary_lines(check, max_groups=1)[-2][1].startswith("  … 1 more kinds")


def test_render_and_run_write_the_files(tmp_path: Path) -> None:
    root = write_photos(tmp_path / "p", n=3)
    check = run_data_check(root, tmp_path / "out" / "page.html", progress=False)
    assert (tmp_path / "out" / "page.html").is_file() and (tmp_path / "out" / "check.json").is_file()
    assert check.exit_status == 0
    path = render_data_check(check_data(root, progress=False), tmp_path / "other.html")
    html = path.read_text()
    assert "Grayscale-only photos" in html and "0 of 3 photos" in html and "No findings." in html
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_long_finding_lists_are_cut_on_the_page_not_in_the_json(tmp_path: Path) -> None:
    from colorseg.data.doctor import Finding
    from colorseg.reports import data_check_report

    check = check_data(write_photos(tmp_path / "p", n=2), progress=False)
    check.findings = [Finding("warning", "many", f"message {i}", f"f{i}.png") for i in range(7)]
    page = data_check_report._Page("t")
    data_check_report._findings_section(page, check, max_listed=5)
    html = page.render()
    assert "message 4" in html and "message 5" not in html and "… and 2 more (all in check.json)" in html
    assert len(check.to_dict()["findings"]) == 7
