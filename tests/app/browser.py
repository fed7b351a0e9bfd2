"""Driving the web app in a real browser: the system's headless Chromium through Selenium and the
system's chromedriver (never a downloaded browser or driver: both paths are given, so Selenium
Manager does not run). Used by tests/app/test_browser.py and scripts/app_screenshots.py."""

from __future__ import annotations

import importlib.util
import io
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "apt install chromium chromium-driver"


def browser_path() -> str | None:
    """The system's Chromium (or Chrome) executable, if any."""
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def missing_reason() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    for module, hint in (("gradio", "pip install 'colorseg[app]'"), ("selenium", "pip install selenium")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({hint}, or make test-browser)"
    if browser_path() is None:
        return f"no Chromium found ({', '.join(BROWSERS)}); install it: {INSTALL}"
    if shutil.which("chromedriver") is None:
        return f"no chromedriver found; install it: {INSTALL}"
    return None


def chrome(download_dir: Path, width: int = 1400, height: int = 1600):
    """A headless Chromium window of ``width`` × ``height`` that saves downloads to ``download_dir``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60.0, poll: float = 0.2):
    """Poll ``condition`` until it returns something truthy (returned); AssertionError naming
    ``what`` after ``timeout`` seconds. Exceptions from a page still rendering count as not yet."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 (stale or not-yet-rendered elements, any kind)
            last_error = exc
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" +
                         (f" (last error: {last_error!r})" if last_error else ""))


def css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_app(driver, url: str) -> None:
    """Load the page and wait until Gradio has rendered it."""
    driver.get(url)
    wait_until(lambda: css(driver, "#colorize-upload input[type=file]"), "the page to render")


def upload(driver, elem_id: str, path: Path) -> None:
    """Choose ``path`` in the file component ``elem_id``."""
    field = wait_until(lambda: css(driver, f"#{elem_id} input[type=file]"), f"the file input of #{elem_id}")
    field[0].send_keys(str(path))


def clear_upload(driver, elem_id: str) -> None:
    """Press the file component's clear (×) button."""
    wait_until(lambda: css(driver, f"#{elem_id} button[aria-label='Clear']"), f"#{elem_id}'s clear button")[0].click()
    wait_until(lambda: css(driver, f"#{elem_id} input[type=file]"), f"#{elem_id} to be empty")


def text_of(driver, selector: str) -> str:
    found = css(driver, selector)
    return found[0].text if found else ""


def toast_texts(driver) -> list[str]:
    """The messages of the toasts (gr.Error / gr.Warning / gr.Info) now on the page."""
    return [e.text for e in css(driver, "[data-testid='toast-text']")]


def image_srcs(driver, selector: str) -> list[str]:
    return [e.get_attribute("src") for e in css(driver, selector) if e.get_attribute("src")]


def fetch_image(url: str) -> np.ndarray:
    """An image the page shows (its src URL) as a uint8 RGB array."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))


def select_tab(driver, name: str) -> None:
    tab = wait_until(lambda: [b for b in css(driver, "button[role=tab]") if b.text.strip() == name], f"tab {name}")
    tab[0].click()


def set_text(driver, elem_id: str, text: str) -> None:
    """Replace the text of the textbox ``elem_id``."""
    from selenium.webdriver.common.keys import Keys

    box = wait_until(lambda: [e for e in css(driver, f"#{elem_id} textarea, #{elem_id} input") if e.is_displayed()],
                     f"textbox #{elem_id}")[0]
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)


def pick_colour(driver, elem_id: str, hex_colour: str) -> None:
    """Open the colour picker ``elem_id``, type ``hex_colour`` (#rrggbb) and close it."""
    from selenium.webdriver.common.keys import Keys

    css(driver, f"#{elem_id} button.dialog-button")[0].click()
    box = wait_until(lambda: css(driver, f"#{elem_id} .input-wrap input"), "the colour picker's hex field")[0]
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(hex_colour)
    box.send_keys(Keys.ENTER)
    driver.find_element("tag name", "h1").click()  # close the dialog
    wait_until(lambda: not css(driver, f"#{elem_id} .color-picker"), "the colour picker to close")


def click_image(driver, selector: str, dx: int, dy: int) -> tuple[float, float]:
    """Click ``dx``, ``dy`` CSS pixels from the centre of the image ``selector``; returns the
    image pixel (x, y) under the click, computed as Gradio's image component does (the image is
    centred, scaled down to fit, never up)."""
    from selenium.webdriver.common.action_chains import ActionChains

    image = css(driver, selector)[0]
    width, height = image.size["width"], image.size["height"]
    natural = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image)
    scale = min(width / natural[0], height / natural[1], 1.0)
    ActionChains(driver).move_to_element_with_offset(image, dx, dy).click().perform()
    return natural[0] / 2 + dx / scale, natural[1] / 2 + dy / scale


def click_at_fraction(driver, selector: str, fx: float, fy: float) -> tuple[float, float]:
    """Click the image ``selector`` at ``fx``, ``fy`` of its width and height (0..1, from the
    top-left corner); returns the image pixel (x, y) under the click (see :func:`click_image`)."""
    image = css(driver, selector)[0]
    natural = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", image)
    scale = min(image.size["width"] / natural[0], image.size["height"] / natural[1], 1.0)
    return click_image(driver, selector, round((fx - 0.5) * natural[0] * scale),
                       round((fy - 0.5) * natural[1] * scale))


def wait_for_download(folder: Path, name: str, timeout: float = 60.0) -> Path:
    """The file ``name`` once the browser has finished writing it into ``folder``."""
    path = Path(folder) / name

    def done():
        return path.is_file() and not list(Path(folder).glob("*.crdownload")) and path.stat().st_size > 0

    wait_until(done, f"the download {name}", timeout)
    return path
