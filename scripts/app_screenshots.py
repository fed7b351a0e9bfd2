"""Screenshots of the web app's two tabs for the README: docs/app_colorize.png and docs/app_segment.png.

Starts the app as ``colorseg app`` does (the built-in colorizer) in headless Chromium (the
system's chromium and chromedriver, through the same Selenium set-up as tests/app/test_browser.py),
colourises scikit-image's astronaut photo, and segments a synthetic shapes image (seed 7, never
trained on) with a small U-Net: ``--segment-ckpt`` or, by default, one trained here on the
built-in synthetic shapes (configs/segment/synthetic.yaml, 12 epochs; about 80 s on one CPU
core). Screenshots are dithered palette PNGs (at most 256 colours) to stay under 300 KB each.

    python scripts/app_screenshots.py [--segment-ckpt CKPT] [--output-dir docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.app import browser as b

MAX_BYTES = 300_000
# hints shown on the astronaut photo when the built-in model takes them: colour, (x, y) as
# fractions of the photo's width and height (the suit's orange, a red flag stripe)
HINTS = [("#e0782c", (0.30, 0.80)), ("#e0782c", (0.62, 0.86)), ("#c02828", (0.08, 0.30))]
WIDTH = 1120  # browser window width (CSS pixels)


def train_segmenter(folder: Path, epochs: int = 12) -> Path:
    """A small U-Net on the built-in synthetic shapes (4 classes); returns its best checkpoint."""
    from colorseg.training.tasks import fit_task

    run = folder / "segment-shapes"
    fit_task("segment", ["-c", str(REPO / "configs/segment/synthetic.yaml"), "--run_dir", str(run),
                         "--trainer.accelerator=cpu", "--trainer.devices=1", f"--trainer.max_epochs={epochs}",
                         "--trainer.enable_progress_bar=false"])
    return run / "checkpoints" / "best.ckpt"


def save_small(png: bytes, path: Path) -> Path:
    """A browser screenshot (PNG bytes) → ``path`` as a palette PNG of at most 256 colours, fewer
    if needed to stay under MAX_BYTES."""
    import io

    image = Image.open(io.BytesIO(png)).convert("RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    for colors in (256, 192, 128, 96):
        palette = image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
        # dithered: an undithered palette turns the photos' smooth colours into flat blotches
        image.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
        if path.stat().st_size <= MAX_BYTES:
            return path
    raise SystemExit(f"{path} is {path.stat().st_size / 1000:.0f} KB, over {MAX_BYTES / 1000:.0f} KB")


def shoot(driver, selector: str, path: Path) -> Path:
    """Screenshot of the page down to the bottom of ``selector`` (the window is resized to fit)."""
    bottom = driver.execute_script("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                                   "return Math.ceil(r.bottom + window.scrollY) + 24;", selector)
    width = driver.get_window_size()["width"]
    driver.set_window_size(width, bottom + 140)  # the window chrome of headless Chromium
    driver.execute_script("window.scrollTo(0, 0)")
    return save_small(driver.get_screenshot_as_png(), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segment-ckpt", default=None, help="segmentation checkpoint (default: train a small one)")
    parser.add_argument("--output-dir", default=str(REPO / "docs"))
    args = parser.parse_args(argv)
    if b.missing_reason():
        raise SystemExit(f"cannot take screenshots: {b.missing_reason()}")
    from skimage import data

    from colorseg.app.server import AppConfig, start_app
    from colorseg.data.synthetic import make_shapes_sample
    from colorseg.inference.colorizer import Colorizer

    out = Path(args.output_dir)
    with tempfile.TemporaryDirectory(prefix="colorseg-screenshots-") as tmp:
        tmp = Path(tmp)
        ckpt = Path(args.segment_ckpt) if args.segment_ckpt else train_segmenter(tmp)
        photo = tmp / "astronaut.png"
        Image.fromarray(data.astronaut()).save(photo)
        shapes = tmp / "shapes.png"
        image, _ = make_shapes_sample(seed=7, index=0, size=256)
        Image.fromarray((image * 255 + 0.5).astype(np.uint8)).save(shapes)

        with start_app(AppConfig(port=0, segment_ckpts=[str(ckpt)])) as app:
            driver = b.chrome(tmp / "downloads", width=WIDTH, height=1200)
            try:
                b.open_app(driver, app.url)
                b.upload(driver, "colorize-upload", photo)
                b.wait_until(lambda: len(b.image_srcs(driver, "#colorize-result img")) == 2, "the result", 120)
                b.wait_until(lambda: len(b.image_srcs(driver, "#colorize-samples img")) >= 4, "the samples", 120)
                b.wait_until(lambda: "built-in" in b.text_of(driver, "#colorize-model"), "the model note")
                if Colorizer.pretrained().takes_hints:  # show hints: the suit's orange, the flag's red
                    for colour, (fx, fy) in HINTS:
                        before = b.image_srcs(driver, "#colorize-result img")
                        b.pick_colour(driver, "colorize-colour", colour)
                        b.click_at_fraction(driver, "#colorize-gray img", fx, fy)
                        b.wait_until(lambda old=before: b.image_srcs(driver, "#colorize-result img") != old,
                                     f"the result with the {colour} hint", 120)
                b.wait_until(lambda: not b.toast_texts(driver), "toasts to fade", 30)
                print(shoot(driver, "#colorize-samples", out / "app_colorize.png"))

                driver.set_window_size(WIDTH, 1200)
                b.select_tab(driver, "Segment")
                b.upload(driver, "segment-upload", shapes)
                b.wait_until(lambda: b.image_srcs(driver, "#segment-overlay img"), "the overlay", 120)
                b.wait_until(lambda: "%" in b.text_of(driver, "#segment-areas"), "the area table")
                print(shoot(driver, "#segment-areas", out / "app_segment.png"))
            finally:
                driver.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
