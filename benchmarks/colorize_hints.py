"""Colour-hint curve on BSDS500 test: PSNR with 0, 1, 5, 10, 20 ground-truth hints (Zhang et al. 2017, Fig. 5).

    python benchmarks/colorize_hints.py                       # the hint model + the hint-free built-in recipe
    python benchmarks/colorize_hints.py --models hints=PATH nohints=PATH [--counts 0 1 5 10 20]
    python benchmarks/colorize_hints.py --table-only

For every colour photo of BSDS500 test (full resolution; gray-only photos skipped, as
``colorseg colorize test`` does) and every hint count n, n hint positions are drawn uniformly
from the image with a seed fixed by the photo's name: the first n of one random order, so the
10 hints include the 5. Each hint's colour is the ground truth's mean RGB over the hint's
footprint (the 3 × 3 working-resolution patch the Colorizer paints for a click, mapped back to
the full-resolution photo), the way a user would pick the colour a region should have. The
photo's own lightness is the input (its colours are discarded), the deterministic output (prior
mean) is scored with the same PSNR as ``colorize test`` (RGB, 8-bit range). A model trained
without hints is scored at n = 0 only.

Default models: ``benchmarks/runs/colorize_default_hints`` (``benchmarks/colorize.py --models
default_hints``: ``configs/colorize/default.yaml``, the built-in model's run) and
``benchmarks/runs/colorize_default`` (``--models default``: the same recipe with
``--model.hints=false``, the built-in model before hints), both their validation-best
checkpoints. ``--patch-study 3 5 7`` scores the hint model on its validation split with each hint
patch side (how :data:`~colorseg.inference.hints.HINT_PATCH` was chosen). Writes ``results/colorize_hints.json`` (per model: mean
PSNR, its standard error and the gain over n = 0 per count), the curve
``results/colorize_hints_curve.png``, example outputs ``results/colorize_hints_examples.png``
and the table in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np

from colorseg.inference.hints import HINT_PATCH

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import write_json

COUNTS = (0, 1, 5, 10, 20)
DEFAULT_MODELS = {"hints": HERE / "runs" / "colorize_default_hints" / "checkpoints" / "best.ckpt",
                  "nohints": HERE / "runs" / "colorize_default" / "checkpoints" / "best.ckpt"}
LABELS = {"hints": "built-in model's run (recipe with hints)",
          "nohints": "same recipe, `--model.hints=false`"}


def photo_seed(name: str) -> int:
    """A seed fixed by the photo's file name (stable across runs and machines)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


def gt_hints(rgb: np.ndarray, n: int, seed: int, work_short_side: int, patch: int) -> list:
    """``n`` ground-truth hints ``[(x, y, (r, g, b)), ...]`` for the (H, W, 3) float photo ``rgb``:
    the first n positions of one seeded uniform random order; colour = the photo's mean RGB over
    the hint's footprint (``patch`` working pixels at a working short side of ``work_short_side``)."""
    h, w = rgb.shape[:2]
    rng = np.random.default_rng(seed)
    order = rng.choice(h * w, size=max(COUNTS), replace=False)[:n]
    radius = max(1, math.ceil(patch / 2 * min(h, w) / work_short_side))
    hints = []
    for flat in order:
        y, x = divmod(int(flat), w)
        window = rgb[max(0, y - radius + 1): y + radius, max(0, x - radius + 1): x + radius]
        hints.append((x, y, tuple(float(v) for v in window.reshape(-1, 3).mean(0))))
    return hints


def test_photos(data_root: Path) -> list[Path]:
    from colorseg.data.files import list_images

    folder = data_root / "bsds500" / "images" / "test"
    photos = list_images(folder)
    if not photos:
        raise SystemExit(f"no test photos in {folder}")
    return photos


def validation_photos(ckpt: Path) -> list[tuple[str, np.ndarray]]:
    """(name, RGB (H, W, 3) float) of the checkpoint's own validation split at full resolution
    (the photos its training held out; for choices such as the hint patch)."""
    from colorseg.checkpoint import load_checkpoint
    from colorseg.evaluation.colorization import split_data_from_checkpoint

    dataset = split_data_from_checkpoint(load_checkpoint(ckpt, task="colorize")).dataset("val")
    items = (dataset[i] for i in range(len(dataset)))
    return [(item["name"], item["rgb_full"].permute(1, 2, 0).numpy()) for item in items]


def hint_curve(ckpt: Path, photos: list[Path] | list[tuple[str, np.ndarray]], counts: tuple[int, ...],
               patch: int | None = None) -> dict:
    """Mean PSNR (and its standard error) per hint count of one checkpoint over ``photos`` (files,
    or (name, RGB array) pairs); ``patch``: the hint patch side at working resolution (default:
    the Colorizer's :data:`~colorseg.inference.hints.HINT_PATCH`)."""
    from tqdm import tqdm

    from colorseg.data.color_sources import is_grayscale
    from colorseg.data.image_io import read_image
    from colorseg.inference.colorizer import Colorizer
    from colorseg.metrics.colorization import psnr

    colorizer = Colorizer.from_checkpoint(ckpt)
    if not colorizer.takes_hints:
        counts = tuple(n for n in counts if n == 0)
    patch = patch or HINT_PATCH
    scores: dict[int, list[float]] = {n: [] for n in counts}
    skipped = []
    t0 = time.perf_counter()
    for photo in tqdm(photos, desc=ckpt.parent.parent.name, unit="photo"):
        name, rgb = (photo.name, read_image(photo, channels=3)) if isinstance(photo, Path) else photo
        if is_grayscale(rgb):
            skipped.append(name)
            continue
        for n in counts:
            hints = gt_hints(rgb, n, photo_seed(name), colorizer.image_size, patch)
            scores[n].append(psnr(colorizer.colorize(rgb, hints=hints or None, hint_patch=patch), rgb))
    curve = {}
    for n in counts:
        values = np.asarray(scores[n])
        curve[str(n)] = {"psnr": float(values.mean()), "sem": float(values.std(ddof=1) / math.sqrt(len(values))),
                         "gain_db": float(values.mean() - np.mean(scores[0])) if 0 in scores else None}
    return {"checkpoint": str(ckpt.relative_to(REPO) if ckpt.is_relative_to(REPO) else ckpt),
            "takes_hints": colorizer.takes_hints, "images": len(scores[counts[0]]), "skipped_gray": skipped,
            "curve": curve, "seconds": time.perf_counter() - t0}


def render_table(result: dict) -> str:
    """Markdown table: PSNR (dB) per hint count and model, gains over no hints in brackets."""
    counts = [str(n) for n in result["counts"]]
    lines = ["| model | " + " | ".join(f"{n} hints" for n in counts) + " |",
             "|---|" + "---:|" * len(counts)]
    for key, model in result["models"].items():
        cells = []
        for n in counts:
            point = model["curve"].get(n)
            if point is None:
                cells.append("—")
            elif n == "0":
                cells.append(f"{point['psnr']:.2f} ± {point['sem']:.2f}")
            else:
                cells.append(f"{point['psnr']:.2f} (+{point['gain_db']:.2f})")
        lines.append(f"| {LABELS.get(key, key)} | " + " | ".join(cells) + " |")
    checks = result.get("targets", {})
    if checks:
        lines.append("")
        lines.append(f"Gain at 10 hints: **{checks['gain_at_10_db']:+.2f} dB** (target ≥ +2 dB). "
                     f"No hints: the hint model minus the same recipe trained without hints, "
                     f"**{checks['no_hint_cost_db']:+.2f} dB** (target: no loss beyond 0.2 dB).")
    return "\n".join(lines)


def render_patch_study(study: dict) -> str:
    """Markdown table of the validation patch study: PSNR per hint count for each patch side."""
    counts = [str(n) for n in study["counts"]]
    lines = ["| hint patch (working px) | " + " | ".join(f"{n} hints" for n in counts) + " |",
             "|---|" + "---:|" * len(counts)]
    for patch, result in study["patches"].items():
        cells = [f"{p['psnr']:.2f}" + (f" (+{p['gain_db']:.2f})" if n != "0" else "")
                 for n, p in result["curve"].items()]
        lines.append(f"| {patch} × {patch} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Validation split of the hint model ({study['patches'][next(iter(study['patches']))]['images']} "
                 "held-out pool photos); the test set was not used for this choice.")
    return "\n".join(lines)


def plot_curve(result: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    for key, model in result["models"].items():
        ns = [int(n) for n in model["curve"]]
        ys = [p["psnr"] for p in model["curve"].values()]
        err = [p["sem"] for p in model["curve"].values()]
        ax.errorbar(ns, ys, yerr=err, marker="o", capsize=3, label=LABELS.get(key, key).split(" (")[0])
    ax.set_xlabel("ground-truth hints per photo")
    ax.set_ylabel("PSNR (dB), BSDS500 test")
    ax.set_xticks(result["counts"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def example_figure(ckpt: Path, photos: list[Path], out: Path, n_hints: int = 10, n_images: int = 4) -> Path:
    """Gray input | no hints | ``n_hints`` ground-truth hints (marked) | ground truth, for a few
    test photos (every 50th), with the benchmark's own hints."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colorseg.data.image_io import read_image
    from colorseg.data.lab import to_gray
    from colorseg.inference.colorizer import Colorizer

    colorizer = Colorizer.from_checkpoint(ckpt)
    chosen = photos[::50][:n_images]
    fig, axes = plt.subplots(len(chosen), 4, figsize=(11, 2.1 * len(chosen)))
    titles = ["gray input", "no hints", f"{n_hints} hints (ground-truth colours, marked)", "ground truth"]
    for r, photo in enumerate(chosen):
        rgb = read_image(photo, channels=3)
        hints = gt_hints(rgb, n_hints, photo_seed(photo.name), colorizer.image_size, HINT_PATCH)
        tiles = [to_gray(rgb), colorizer.colorize(rgb),
                 colorizer.colorize(rgb, hints=hints), rgb]
        for c, tile in enumerate(tiles):
            axes[r, c].imshow(np.clip(tile, 0, 1))
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
        xs, ys = [h[0] for h in hints], [h[1] for h in hints]
        axes[r, 2].scatter(xs, ys, s=28, c=[h[2] for h in hints], edgecolors="white", linewidths=1.2)
    fig.tight_layout()
    fig.savefig(out, dpi=72)
    plt.close(fig)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=None, metavar="NAME=CKPT",
                    help="checkpoints to score (default: the hint and no-hint runs of the built-in recipe)")
    ap.add_argument("--counts", type=int, nargs="+", default=list(COUNTS))
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--patch-study", type=int, nargs="+", default=None, metavar="PATCH",
                    help="only score the hint model on its *validation* split with each hint patch side "
                         "(working pixels) → results/colorize_hints_patch_val.json")
    args = ap.parse_args()
    if args.patch_study:
        ckpt = DEFAULT_MODELS["hints"]
        photos = validation_photos(ckpt)
        study = {"split": "val", "checkpoint": str(ckpt.relative_to(REPO)), "counts": sorted(args.counts),
                 "patches": {str(k): hint_curve(ckpt, photos, tuple(sorted(args.counts)), patch=k)
                             for k in args.patch_study}}
        write_json(RESULTS / "colorize_hints_patch_val.json", study)
        for k, r in study["patches"].items():
            print(f"patch {k}: " + ", ".join(f"{n}: {p['psnr']:.2f}" for n, p in r["curve"].items()))
        return
    out = RESULTS / "colorize_hints.json"
    if not args.table_only:
        if any(n < 0 or n > max(COUNTS) for n in args.counts) or 0 not in args.counts:
            raise SystemExit(f"--counts must include 0 and lie in 0..{max(COUNTS)}, got {args.counts}")
        models = dict(m.split("=", 1) for m in args.models) if args.models else dict(DEFAULT_MODELS)
        for name, ckpt in models.items():
            if not Path(ckpt).is_file():
                raise SystemExit(f"checkpoint for {name!r} not found: {ckpt}")
        photos = test_photos(args.data_root)
        result = {"dataset": "bsds500", "split": "test", "counts": sorted(args.counts),
                  "protocol": "n uniform random positions per photo (seed from the file name, nested), colour = "
                              "ground-truth mean RGB over the hint's footprint; deterministic output; PSNR as "
                              "colorize test (RGB, 8-bit range)",
                  "models": {name: hint_curve(Path(ckpt), photos, tuple(sorted(args.counts)))
                             for name, ckpt in models.items()}}
        hint_model, plain = result["models"].get("hints"), result["models"].get("nohints")
        if hint_model and plain and "10" in hint_model["curve"]:
            result["targets"] = {"gain_at_10_db": hint_model["curve"]["10"]["gain_db"],
                                 "no_hint_cost_db": hint_model["curve"]["0"]["psnr"] - plain["curve"]["0"]["psnr"]}
        write_json(out, result)
        if "hints" in models:
            example_figure(Path(models["hints"]), photos, RESULTS / "colorize_hints_examples.png")
    import json

    import tables

    plot_curve(json.loads(out.read_text()), RESULTS / "colorize_hints_curve.png")
    tables.update()
    print(render_table(json.loads(out.read_text())))


if __name__ == "__main__":
    main()
