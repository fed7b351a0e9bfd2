"""HtmlReport renders one self-contained page; saving is atomic; figures are closed after encoding."""

from __future__ import annotations

import base64
import io
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from colorseg.reports.html import HtmlReport, array_to_data_uri, figure_to_data_uri


def small_figure():
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [1, 0])
    return fig


def decode_png(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def build_report() -> HtmlReport:
    report = HtmlReport("Run <alpha> & co")
    report.text("Before any section.")
    report.section("Summary")
    report.key_values({"mean IoU": 0.123456789, "checkpoint": None, "classes": ["a", "b"]})
    report.text("<script>alert('x')</script>")
    report.section("Per-class scores")
    report.table(pd.DataFrame({"class": ["cell", "edge"], "iou": [0.5, np.nan]}), caption="IoU per class")
    report.figure(small_figure(), "A line")
    report.section("Summary")  # a repeated title gets its own anchor
    report.image(np.zeros((4, 5, 3), dtype=np.uint8), "black")
    report.link("tables/per_image.csv", "per-image table")
    return report


def test_render_is_a_complete_self_contained_page():
    page = build_report().render()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Run &lt;alpha&gt; &amp; co</title>" in page
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
    ids = re.findall(r'<h2 id="([^"]+)">', page)
    assert ids == ["summary", "per-class-scores", "summary-2"]
    toc = page[page.index('<nav class="toc">'):page.index("</nav>")]
    for anchor, title in zip(ids, ["Summary", "Per-class scores", "Summary"]):
        assert f'<a href="#{anchor}">{title}</a>' in toc
    assert page.index("Before any section.") < page.index('<h2 id="summary">')


def test_render_content_escaped_and_embedded():
    page = build_report().render()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "0.123457" in page and "—" in page and "[&quot;a&quot;, &quot;b&quot;]" in page  # key_values
    assert "<caption>IoU per class</caption>" in page and "0.5000" in page and "cell" in page  # table
    table = page[page.index('<table class="dataframe report-table">'):]
    table = table[:table.index("</table>")]
    assert "<td>edge</td>\n      <td></td>" in table and "nan" not in table.lower()  # NaN cells are empty
    assert ">0</th>" not in page  # default RangeIndex hidden
    uris = re.findall(r'src="(data:image/png;base64,[^"]+)"', page)
    assert len(uris) == 2
    assert decode_png(uris[1]).shape == (4, 5, 3)
    assert '<a href="tables/per_image.csv">per-image table</a>' in page


def test_table_float_format_and_index():
    report = HtmlReport("t")
    report.section("s")
    report.table(pd.DataFrame({"v": [1.23456]}, index=["run_a"]), float_format="{:.2f}")
    page = report.render()
    assert "1.23" in page and "1.2346" not in page and "run_a" in page


def test_save_is_atomic_and_creates_parents(tmp_path):
    target = tmp_path / "deep" / "dir" / "report.html"
    out = build_report().save(target)
    assert out == target
    assert out.read_text(encoding="utf-8") == build_report().render()
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]  # no temp file left behind
    HtmlReport("again").save(target)  # overwrite in place
    assert "again" in target.read_text(encoding="utf-8")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_save_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    report = HtmlReport("x")
    monkeypatch.setattr("colorseg.data.files.os.replace", lambda *a: (_ for _ in ()).throw(OSError("disk")))
    with pytest.raises(OSError):
        report.save(tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_figure_to_data_uri_closes_the_figure():
    fig = small_figure()
    assert plt.fignum_exists(fig.number)
    uri = figure_to_data_uri(fig, dpi=50)
    assert not plt.fignum_exists(fig.number)
    assert decode_png(uri).ndim == 3
    svg = figure_to_data_uri(small_figure(), fmt="svg")
    assert svg.startswith("data:image/svg+xml;base64,")
    with pytest.raises(ValueError):
        figure_to_data_uri(small_figure(), fmt="bmp")
    plt.close("all")


def test_array_to_data_uri_as_jpeg() -> None:
    rgb = np.full((8, 8, 3), (200, 30, 30), np.uint8)
    uri = array_to_data_uri(rgb, "jpeg", quality=90)
    assert uri.startswith("data:image/jpeg;base64,/9j/")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert decoded.shape == (8, 8, 3) and np.abs(decoded.astype(int) - rgb).max() <= 4
    with pytest.raises(ValueError, match="alpha"):
        array_to_data_uri(np.zeros((2, 2, 4), np.uint8), "jpeg")
    with pytest.raises(ValueError, match="png or jpeg"):
        array_to_data_uri(rgb, "gif")


def test_array_to_data_uri_range_by_dtype():
    np.testing.assert_array_equal(decode_png(array_to_data_uri(np.array([[0.0, 0.5, 2.0]]))), [[0, 128, 255]])
    np.testing.assert_array_equal(decode_png(array_to_data_uri(np.array([[True, False]]))), [[255, 0]])
    assert decode_png(array_to_data_uri(np.zeros((3, 2, 1), np.uint8))).shape == (3, 2)
    with pytest.raises(ValueError):
        array_to_data_uri(np.array([[300, 0]]))
    with pytest.raises(ValueError):
        array_to_data_uri(np.zeros((2, 2, 2)))
