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
LABELS = {"hints": "built-in model's run (recipe with hints), hint propagation on (the default)",
          "hints_network": "the same model's network alone (`propagation=NO_PROPAGATION`)",
          "nohints": "same recipe, `--model.hints=false`"}
LEGEND = {"hints": "built-in model, hint propagation (default)", "hints_network": "built-in model, network alone",
          "nohints": "same recipe without hints"}


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
               patch: int | None = None, propagation=None) -> dict:
    """Mean PSNR (and its standard error) per hint count of one checkpoint over ``photos`` (files,
    or (name, RGB array) pairs); ``patch``: the hint patch side at working resolution (default:
    the Colorizer's :data:`~colorseg.inference.hints.HINT_PATCH`); ``propagation``: the
    Colorizer's hint propagation (default: its default; ``NO_PROPAGATION``: the network alone)."""
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
            scores[n].append(psnr(colorizer.colorize(rgb, hints=hints or None, hint_patch=patch,
                                                     propagation=propagation), rgb))
    curve = {}
    for n in counts:
        values = np.asarray(scores[n])
        curve[str(n)] = {"psnr": float(values.mean()), "sem": float(values.std(ddof=1) / math.sqrt(len(values))),
                         "gain_db": float(values.mean() - np.mean(scores[0])) if 0 in scores else None}
    return {"checkpoint": str(ckpt.relative_to(REPO) if ckpt.is_relative_to(REPO) else ckpt),
            "takes_hints": colorizer.takes_hints, "images": len(scores[counts[0]]), "skipped_gray": skipped,
            "curve": curve, "seconds": time.perf_counter() - t0}


def propagation_study(ckpt: Path, photos: list[tuple[str, np.ndarray]], counts: tuple[int, ...],
                      grid: list[tuple[float, float, float]]) -> dict:
    """Mean PSNR per hint count for each hint-propagation setting (sigma_space, sigma_light,
    strength) and for none, over ``photos`` (the validation split): the network runs once per photo
    and count, each setting is applied to its output."""
    from tqdm import tqdm

    from colorseg.data.color_sources import is_grayscale
    from colorseg.inference.colorizer import Colorizer, recombine_rows
    from colorseg.inference.hint_propagation import NO_PROPAGATION, HintPropagation, propagate_hints
    from colorseg.metrics.colorization import psnr

    colorizer = Colorizer.from_checkpoint(ckpt)
    settings = {"none": NO_PROPAGATION} | {f"{s}/{light}/{k}": HintPropagation(s, light, k) for s, light, k in grid}
    scores = {key: {n: [] for n in counts} for key in settings}
    for name, rgb in tqdm(photos, desc="propagation study", unit="photo"):
        if is_grayscale(rgb):
            continue
        L_full, L_work = colorizer.lightness(rgb)
        for n in counts:
            hints = gt_hints(rgb, n, photo_seed(name), colorizer.image_size, HINT_PATCH)
            hint_map = colorizer.hint_map(hints or None, L_full.shape[-2:], L_work.shape[-2:], HINT_PATCH)
            ab = colorizer.predict_ab(L_work, hints=hint_map, propagation=NO_PROPAGATION)
            for key, setting in settings.items():
                out = recombine_rows(L_full, propagate_hints(ab, L_work, hint_map, HINT_PATCH, setting))[0]
                scores[key][n].append(psnr(out, rgb))
    table = {}
    for key, per_count in scores.items():
        base = float(np.mean(per_count[0])) if 0 in per_count else None
        curve = {str(n): {"psnr": float(np.mean(v)), "gain_db": None if base is None else float(np.mean(v)) - base}
                 for n, v in per_count.items()}
        hinted = [c["psnr"] for n, c in curve.items() if n != "0"]
        table[key] = {"curve": curve, "mean_hinted_psnr": float(np.mean(hinted)) if hinted else None}
    best = max((k for k in table if k != "none"), key=lambda k: table[k]["mean_hinted_psnr"])
    return {"split": "val", "checkpoint": str(ckpt.relative_to(REPO) if ckpt.is_relative_to(REPO) else ckpt),
            "counts": list(counts), "images": len(scores["none"][counts[0]]),
            "criterion": "mean PSNR over the hinted counts", "best": best, "settings": table}


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
        network = checks.get("network_gain_at_10_db")
        lines.append(f"Gain at 10 hints: **{checks['gain_at_10_db']:+.2f} dB** (target ≥ +2 dB)"
                     + (f"; the network alone, without hint propagation: {network:+.2f} dB" if network is not None
                        else "") + ". "
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


def render_propagation_study(study: dict) -> str:
    """Markdown table of the validation propagation study: PSNR per hint count for each setting
    (sigma_space / sigma_light / strength), best first, and none."""
    counts = [str(n) for n in study["counts"]]
    lines = ["| hint propagation (σ space / σ L / strength) | " + " | ".join(f"{n} hints" for n in counts)
             + " | mean over hinted counts |", "|---|" + "---:|" * (len(counts) + 1)]
    ranked = sorted(study["settings"].items(), key=lambda kv: -kv[1]["mean_hinted_psnr"])
    for key, result in ranked:
        cells = [f"{p['psnr']:.2f}" + (f" (+{p['gain_db']:.2f})" if n != "0" else "")
                 for n, p in result["curve"].items()]
        label = "none (the network alone)" if key == "none" else key.replace("/", " / ")
        if key == study["best"]:
            label = f"**{label}** (chosen)"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {result['mean_hinted_psnr']:.2f} |")
    lines.append("")
    lines.append(f"Validation split of the hint model ({study['images']} held-out pool photos), chosen by "
                 f"{study['criterion']}; the test set was not used for this choice.")
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
        ax.errorbar(ns, ys, yerr=err, marker="o", capsize=3, label=LEGEND.get(key, key))
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
    """Gray input | no hints | ``n_hints`` ground-truth hints, the network alone | the same with
    hint propagation (the default) | ground truth, for a few test photos (every 50th), with the
    benchmark's own hints marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from colorseg.data.image_io import read_image
    from colorseg.data.lab import to_gray
    from colorseg.inference.colorizer import Colorizer
    from colorseg.inference.hint_propagation import NO_PROPAGATION

    colorizer = Colorizer.from_checkpoint(ckpt)
    chosen = photos[::50][:n_images]
    fig, axes = plt.subplots(len(chosen), 5, figsize=(13.5, 2.1 * len(chosen)))
    titles = ["gray input", "no hints", f"{n_hints} hints (marked): network alone",
              f"{n_hints} hints: with hint propagation (default)", "ground truth"]
    for r, photo in enumerate(chosen):
        rgb = read_image(photo, channels=3)
        hints = gt_hints(rgb, n_hints, photo_seed(photo.name), colorizer.image_size, HINT_PATCH)
        tiles = [to_gray(rgb), colorizer.colorize(rgb), colorizer.colorize(rgb, hints=hints, propagation=NO_PROPAGATION),
                 colorizer.colorize(rgb, hints=hints), rgb]
        for c, tile in enumerate(tiles):
            axes[r, c].imshow(np.clip(tile, 0, 1))
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
        xs, ys = [h[0] for h in hints], [h[1] for h in hints]
        for c in (2, 3):
            axes[r, c].scatter(xs, ys, s=28, c=[h[2] for h in hints], edgecolors="white", linewidths=1.2)
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
    ap.add_argument("--propagation-study", action="store_true",
                    help="only score hint-propagation settings on the hint model's *validation* split "
                         "→ results/colorize_hints_propagation_val.json")
    ap.add_argument("--limit", type=int, default=None, help="studies: only the first N validation photos")
    args = ap.parse_args()
    if args.propagation_study:
        ckpt = DEFAULT_MODELS["hints"]
        photos = validation_photos(ckpt)[: args.limit]
        # a first coarse pass (sigma_space 0.05-0.4, sigma_light 5-40, strength 0.5/1, on 12 validation
        # photos) put strength 1 and the widest spatial reach ahead, so this grid starts there
        grid = [(s, light, 1.0) for s in (0.2, 0.4, 0.8, 1.6) for light in (5.0, 10.0, 20.0)]
        study = propagation_study(ckpt, photos, tuple(sorted(args.counts)), grid)
        write_json(RESULTS / "colorize_hints_propagation_val.json", study)
        for key, r in sorted(study["settings"].items(), key=lambda kv: -kv[1]["mean_hinted_psnr"])[:8] + \
                [("none", study["settings"]["none"])]:
            print(f"{key:>14}: " + ", ".join(f"{n}: {p['psnr']:.2f}" for n, p in r["curve"].items()))
        print("best on validation:", study["best"])
        return
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
        if "hints" in models:  # the network's own share of the gain, without the propagation step
            from colorseg.inference.hint_propagation import NO_PROPAGATION

            result["models"]["hints_network"] = hint_curve(Path(models["hints"]), photos,
                                                           tuple(sorted(args.counts)), propagation=NO_PROPAGATION)
        hint_model, plain = result["models"].get("hints"), result["models"].get("nohints")
        if hint_model and plain and "10" in hint_model["curve"]:
            network = result["models"].get("hints_network")
            result["targets"] = {"gain_at_10_db": hint_model["curve"]["10"]["gain_db"],
                                 "network_gain_at_10_db": network["curve"]["10"]["gain_db"] if network else None,
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
