"""`colorseg demo`: the whole toolkit on built-in data, no files and no network.

Colourises scikit-image's bundled real photos with the built-in colorizer (trained by
``configs/colorize/default.yaml``, shipped in the package), trains the U-Net with and without
augmentation and a small VAE colorizer and its regression baseline on synthetic data (the
ambiguous red-or-blue circles), tests them, writes a report per run and a comparison per task,
and links everything from ``index.html``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from colorseg.metrics.registry import HEADLINE, all_labels

STEPS = ("segment (augmentation on)", "segment (augmentation off)", "colorize VAE", "colorize regression",
         "reports", "comparisons", "photos (built-in colorizer)", "index")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")  # scikit-image's bundled colour photos


def _announce(i: int, what: str) -> None:
    print(f"\n[{i + 1}/{len(STEPS)}] {what}", flush=True)


def demo_args(quick: bool) -> dict[str, list[str]]:
    """Fit arguments per run (LightningCLI syntax): tiny (quick, for smoke tests) or demo-sized."""
    common = ["--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.log_every_n_steps=5"]
    seg = common + ["--trainer.max_epochs", "3" if quick else "8", "--data.source=synthetic",
                    "--data.num_images", "24" if quick else "96", "--data.image_size=96", "--data.crop_size=64",
                    "--data.batch_size=8", "--data.repeats=2", "--model.base_width=16", "--model.depth=3",
                    "--model.lr=3e-3"]
    col = common + ["--trainer.max_epochs", "3" if quick else "12", "--data.source=synthetic",
                    "--data.num_images", "64" if quick else "256", "--data.synthetic_size=64",
                    "--data.image_size=64", "--data.max_zoom=1.0", "--data.batch_size=16", "--model.base_width=16",
                    "--model.depth=3", "--model.lr=2e-3", "--model.scheduler=cosine"]
    vae = col + ["--model.kind=vae", "--model.latent_dim=4", "--model.beta=0.002", "--model.kl_warmup_steps=200",
                 "--model.perceptual_weight=0.05"]
    reg = col + ["--model.kind=regression", "--model.perceptual_weight=0.0"]
    return {"segment-augmented": seg, "segment-no-augmentation": seg + ["--data.augment.enabled=false"],
            "colorize-vae": vae, "colorize-regression": reg}


def colorize_photos(out: Path, n_samples: int = 3) -> list[Path]:
    """Gray versions of scikit-image's colour photos, colourised by the built-in model
    (gray input | truth | prediction | samples), one PNG per photo."""
    from skimage import data

    from colorseg.data.image_io import save_png
    from colorseg.data.lab import to_gray
    from colorseg.inference.colorize_folder import sample_grid
    from colorseg.inference.colorizer import Colorizer

    col = Colorizer.pretrained()
    paths = []
    for name in PHOTOS:
        rgb = getattr(data, name)().astype(np.float32) / 255.0
        rgb = rgb[::2, ::2]
        gray = to_gray(rgb)[..., 0]  # the lightness the colorizer sees
        tiles = np.concatenate([rgb[None], col.colorize(gray)[None], col.colorize(gray, n_samples, seed=0)])
        paths.append(save_png(out / f"{name}.png", sample_grid(gray, tiles)))
    return paths


def ambiguity_figure(vae_ckpt: Path, reg_ckpt: Path, n_images: int = 4, n_samples: int = 4):
    """Synthetic test images: gray, truth, regression, then VAE samples (the red/blue circles)."""
    from colorseg.data.color_sources import make_color_sample
    from colorseg.data.lab import to_gray
    from colorseg.inference.colorizer import Colorizer
    from colorseg.reports import plots_common as plots

    vae, reg = Colorizer.from_checkpoint(vae_ckpt), Colorizer.from_checkpoint(reg_ckpt)
    rows = []
    for i in range(n_images):
        rgb = make_color_sample(seed=2024, index=i)
        gray = to_gray(rgb)  # circles of equal lightness look equal, as the model sees them
        rows.append([gray, rgb, reg.colorize(rgb)] + list(vae.colorize(rgb, n_samples, seed=i)))
    titles = ["gray input", "ground truth", "regression"] + [f"VAE sample {k + 1}" for k in range(n_samples)]
    return plots.image_grid(rows, titles, [f"image {i}" for i in range(n_images)])


def run_demo(output: Path, quick: bool = False) -> Path:
    """Run everything (see module docstring); returns the path of ``index.html``."""
    from colorseg.reports import make_comparison, make_report
    from colorseg.reports.html import HtmlReport
    from colorseg.reports.run_data import load_run
    from colorseg.training.tasks import fit_task

    output = Path(output)
    t0 = time.perf_counter()
    runs = {}
    for i, (name, args) in enumerate(demo_args(quick).items()):
        _announce(i, STEPS[i])
        task = name.split("-")[0]
        run_dir = output / name
        fit_task(task, ["--run_dir", str(run_dir), "--overwrite=true", *args])
        runs[name] = run_dir
    _announce(4, STEPS[4])
    reports = {name: make_report(run_dir) for name, run_dir in runs.items()}
    _announce(5, STEPS[5])
    comparisons = {
        "segmentation: augmentation on vs off": make_comparison(
            [runs["segment-augmented"], runs["segment-no-augmentation"]], output / "compare-segment.html"),
        "colorization: VAE vs regression": make_comparison(
            [runs["colorize-vae"], runs["colorize-regression"]], output / "compare-colorize.html"),
    }
    _announce(6, STEPS[6])
    vae_ckpt = runs["colorize-vae"] / "checkpoints" / "last.ckpt"
    from colorseg.errors import CheckpointError

    try:
        photos, photo_error = colorize_photos(output / "photos"), None
    except CheckpointError as exc:  # e.g. an install without the package's weights
        photos, photo_error = [], str(exc)
        print(f"warning: no built-in colorizer, photos skipped: {exc}", flush=True)
    _announce(7, STEPS[7])
    index = HtmlReport("colorseg demo")
    index.section("Results")
    rows = []
    for name, run_dir in runs.items():
        m = load_run(run_dir).test_metrics
        keys = HEADLINE["segment" if name.startswith("segment") else "colorize"]
        rows.append({"run": name, **{k: m.get(k) for k in keys}})
    import pandas as pd

    index.table(pd.DataFrame(rows).rename(columns=all_labels()),
                caption="Test-set metrics (synthetic data; empty = not applicable)")
    index.section("Reports and comparisons")
    for name, path in reports.items():
        index.link(path.relative_to(output).as_posix(), f"report: {name}")
    for title, path in comparisons.items():
        index.link(path.relative_to(output).as_posix(), f"comparison: {title}")
    index.section("Several plausible colours")
    index.text("Circles in the synthetic set are red or blue at random with the same lightness, so the gray "
               "input cannot tell which. The regression baseline settles on one dull in-between colour; a VAE "
               "trained long enough on enough images samples red or blue. This demo's small VAE (about 200 "
               "training images, a short run to keep the demo quick) mostly settles on one colour too: the slow "
               "test tests/colorize/test_ambiguous_colours.py measures the claim on 3,000 images with thresholds.")
    index.figure(ambiguity_figure(vae_ckpt, runs["colorize-regression"] / "checkpoints" / "last.ckpt"), "")
    index.section("Real photos")
    index.text("scikit-image's bundled colour photos, converted to gray and colourised by the built-in model "
               "(`colorseg colorize predict` without --ckpt; model card in the README). Each row: gray input, "
               "ground truth, prediction, then samples: its latent is a map, so samples differ region by region.")
    if photo_error:
        index.text(f"Skipped: {photo_error}")
    from PIL import Image

    for p in photos:
        index.image(np.asarray(Image.open(p)), p.stem)
    index.key_values({"total time (s)": round(time.perf_counter() - t0, 1), "quick": quick})
    path = index.save(output / "index.html")
    print(f"\n=== colorseg demo done in {time.perf_counter() - t0:.0f} s ===\nopen {path}")
    return path
