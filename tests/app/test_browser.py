"""The web app in a real browser (headless Chromium through Selenium and the system chromedriver):
upload a photo, see the result and samples, switch to a hint model, pick a colour, click to place
a hint and see the result change, download the full-resolution PNG; segment a photo, see the
overlay, legend and area table, download the mask; a bad upload shows its problem in the page.

Skips with the reason when Gradio, Selenium, Chromium or chromedriver is missing
(``make test-browser`` installs the Python packages; ``apt install chromium chromium-driver``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.app import browser as b

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
if b.missing_reason():
    pytest.skip(b.missing_reason(), allow_module_level=True)

from colorseg.app.server import AppConfig, start_app
from colorseg.inference.colorizer import Colorizer

PREVIEW = 120  # preview side: the 151×100 photo is shown at 120×79


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    """scikit-image's cat (a colour photo) at 151×100: odd sizes, smaller than a preview."""
    from skimage import data

    path = tmp_path_factory.mktemp("photos") / "chelsea.png"
    Image.fromarray(data.chelsea()[::3, ::3]).save(path)
    return path


@pytest.fixture(scope="module")
def app(seg_ckpt: Path, tmp_path_factory, monkeypatch_module):
    """The app as `colorseg app` starts it (the built-in colorizer, one segmentation checkpoint),
    with previews of at most 120 pixels, so the page shows the photo smaller than it is."""
    monkeypatch_module.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch_module.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch_module.setenv("no_proxy", "127.0.0.1,localhost")
    with start_app(AppConfig(port=0, segment_ckpts=[str(seg_ckpt)], preview_side=PREVIEW)) as running:
        yield running
    assert not running.temp_dir.exists()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads: Path):
    drv = b.chrome(downloads)
    yield drv
    drv.quit()


def _result_src(driver) -> str:
    srcs = b.image_srcs(driver, "#colorize-result img")
    return srcs[1] if len(srcs) == 2 else ""


def test_colorize_tab(app, driver, photo: Path, hint_ckpt: Path, downloads: Path, tmp_path: Path) -> None:
    b.open_app(driver, app.url)
    builtin_note = "takes colour hints" if Colorizer.pretrained().takes_hints else "trained without colour hints"
    b.wait_until(lambda: builtin_note in b.text_of(driver, "#colorize-model"),
                 f"the built-in model's note ({builtin_note!r})")
    assert "built-in colorize-default" in b.text_of(driver, "#colorize-model")

    notes = tmp_path / "notes.txt"  # a bad upload: its problem is shown in the page
    notes.write_text("not an image")
    b.upload(driver, "colorize-upload", notes)
    b.wait_until(lambda: any("notes.txt: not a recognised image format" in t for t in b.toast_texts(driver)),
                 "the error message about notes.txt")
    assert not any("Traceback" in t for t in b.toast_texts(driver))
    b.clear_upload(driver, "colorize-upload")

    b.upload(driver, "colorize-upload", photo)
    b.wait_until(lambda: "converted to gray" in b.text_of(driver, "#colorize-note"), "the colour-photo note")
    first = b.wait_until(lambda: _result_src(driver), "the before/after result")
    b.wait_until(lambda: len(b.image_srcs(driver, "#colorize-samples img")) >= 4, "4 samples in the gallery")
    result = b.fetch_image(first)
    assert result.shape == (79, 120, 3) and np.ptp(result.astype(int), axis=2).max() > 10  # colour, not gray

    # a hint model: hints become possible
    driver.find_element("css selector", "#colorize-model-box button, #colorize-model-box .label-wrap").click()
    b.set_text(driver, "colorize-ckpt", str(hint_ckpt))
    load = b.wait_until(lambda: [e for e in b.css(driver, "button") if e.text == "Load model"], "the Load model button")
    load[0].click()
    b.wait_until(lambda: "takes colour hints" in b.text_of(driver, "#colorize-model"), "the hint model's note")
    plain_src = b.wait_until(lambda: _result_src(driver) not in ("", first) and _result_src(driver),
                             "the hint model's result")
    plain = b.fetch_image(plain_src)

    b.pick_colour(driver, "colorize-colour", "#2050e0")
    x, y = b.click_image(driver, "#colorize-gray img", -30, 12)  # in the preview's pixels
    x, y = x * 151 / 120, y * 100 / 79  # in the photo's
    label = b.wait_until(lambda: b.text_of(driver, "#colorize-hints") if "1: x=" in b.text_of(driver, "#colorize-hints")
                         else "", "the hint in the list")
    hx, hy = map(int, re.search(r"1: x=(\d+), y=(\d+), #2050e0", label).groups())
    assert abs(hx - x) <= 2 and abs(hy - y) <= 2, (label, x, y)  # the input's pixel under the click
    hinted_src = b.wait_until(lambda: _result_src(driver) not in ("", plain_src) and _result_src(driver),
                              "the result with the hint")
    hinted = b.fetch_image(hinted_src)
    assert np.abs(hinted.astype(int) - plain).max() > 20  # the hint changed the colours

    driver.find_element("css selector", "#colorize-download").click()
    png = b.wait_for_download(downloads, "chelsea_colorized.png")
    with Image.open(png) as im:
        assert im.size == (151, 100) and im.mode == "RGB"


def test_segment_tab(app, driver, photo: Path, downloads: Path) -> None:
    if not b.css(driver, "#segment-upload"):
        b.open_app(driver, app.url)
    b.select_tab(driver, "Segment")
    b.upload(driver, "segment-upload", photo)
    b.wait_until(lambda: b.image_srcs(driver, "#segment-overlay img"), "the overlay")
    b.wait_until(lambda: "bg" in b.text_of(driver, "#segment-legend"), "the class legend")
    assert [e.text for e in b.css(driver, "#segment-legend .colorseg-legend-item")] == ["bg", "a", "b"]
    table = b.wait_until(lambda: b.text_of(driver, "#segment-areas") if "%" in b.text_of(driver, "#segment-areas")
                         else "", "the area table")
    rows = re.findall(r"^(bg|a|b)\n(\d+)\n([\d.]+)$", table, flags=re.MULTILINE)
    assert [r[0] for r in rows] == ["bg", "a", "b"], table
    assert sum(int(r[1]) for r in rows) == 151 * 100
    assert abs(sum(float(r[2]) for r in rows) - 100) < 0.05

    driver.find_element("css selector", "#segment-download").click()
    png = b.wait_for_download(downloads, "chelsea_mask.png")
    with Image.open(png) as im:
        assert im.size == (151, 100) and im.mode == "L"
        assert set(np.unique(np.asarray(im))) <= {0, 1, 2}


def test_nothing_was_left_in_the_browser_downloads_but_the_two_files(downloads: Path) -> None:
    assert sorted(p.name for p in downloads.iterdir()) == ["chelsea_colorized.png", "chelsea_mask.png"]
    shutil.rmtree(downloads, ignore_errors=True)
