"""Colorization benchmark on BSDS500: the built-in model, the VAE, baselines and one ablation side by side.

    python benchmarks/colorize.py [--minutes 30] [--models default vae regression no_perceptual gray regression_rarity]
                                  [--data-root ../shared/data] [--samples 8]
    python benchmarks/colorize.py --models default_hints  # train the built-in model's recipe (default.yaml)
    python benchmarks/colorize.py --models default     # the same recipe without colour hints
    python benchmarks/colorize.py --table-only --builtin  # evaluate the shipped built-in weights + figure
    python benchmarks/colorize.py --temperatures 0.5 1 1.5 2 3   # VAE sampling temperature, val split

``default_hints`` is the built-in model's recipe (``configs/colorize/default.yaml``: fixed steps,
BSDS500 train+val pooled with the ImageNet sample, 100 held out for validation, colour hints;
its validation-best checkpoint is tested); ``default`` is the same recipe with
``--model.hints=false`` (the built-in model before hints, and the hint benchmark's reference).
The other models are trained with ``configs/colorize/bsds500*.yaml`` on BSDS500 train + val (20 images
held out for validation) under a wall-clock budget (``--trainer.max_time``), then evaluated with
``colorseg colorize test`` on the 200 test photos at full resolution (ab predicted at the
working resolution of the config, 96 px short side, recombined with the original L). Writes
``benchmarks/results/colorize_<model>.json``, the table in ``benchmarks/README.md`` and a figure
of sample colourisations (``benchmarks/results/colorize_samples.png``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import run, run_measured, write_json

from colorseg.metrics.registry import COLORIZATION_METRICS

CONFIGS = {"default": "default.yaml", "default_hints": "default.yaml", "vae": "bsds500.yaml", "regression": "bsds500_regression.yaml",
           "no_perceptual": "bsds500_no_perceptual.yaml", "gray": "bsds500_gray.yaml",
           "regression_rarity": "bsds500_regression_rarity.yaml"}
# models trained with the built-in recipe (default.yaml: fixed steps, best validation PSNR)
BUILTIN_RECIPES = ("default", "default_hints")
# the benchmark model whose validation-best checkpoint was released as the built-in model
BUILTIN_SOURCE = "default_hints"
# metrics.json keys copied into results/colorize_<model>.json (meanings: colorseg.evaluation.colorization).
KEYS = (*COLORIZATION_METRICS, "feature_distribution_note")


def inference_seconds(ckpt: Path, photo: Path, repeats: int = 5) -> float:
    """Seconds to colourise one 481×321 photo (deterministic path), after a warm-up."""
    from colorseg.data.image_io import read_image
    from colorseg.inference.colorizer import Colorizer

    col = Colorizer.from_checkpoint(ckpt)
    image = read_image(photo)
    col.colorize(image)
    t0 = time.perf_counter()
    for _ in range(repeats):
        col.colorize(image)
    return (time.perf_counter() - t0) / repeats


def bench_model(model: str, minutes: float, data_root: Path, samples: int) -> dict:
    run_dir = HERE / "runs" / f"colorize_{model}"
    cmd = [sys.executable, "-m", "colorseg", "colorize"]
    budget = f"00:00:{int(minutes):02d}:{int(minutes * 60) % 60:02d}"
    fit = cmd + ["fit", "-c", f"configs/colorize/{CONFIGS[model]}", "--run_dir", str(run_dir), "--overwrite=true",
                 f"--data.root={data_root / 'bsds500'}", "--trainer.enable_progress_bar=false"]
    if model in BUILTIN_RECIPES:  # the built-in model's recipe: fixed steps, pooled with the ImageNet sample
        fit.append(f"--data.extra_train_roots=[{data_root / 'imagenet1k_sample' / 'images'}]")
        # default.yaml takes hints; "default" is the recipe without them (the built-in model before hints)
        fit.append(f"--model.hints={'true' if model == 'default_hints' else 'false'}")
    elif model != "gray":
        fit.append(f"--trainer.max_time={budget}")
    fit_s, peak = run_measured(fit, HERE / "runs" / f"colorize_{model}_fit.log")
    # the built-in model is the checkpoint chosen on validation PSNR; the others' last one
    ckpt = run_dir / "checkpoints" / ("best.ckpt" if model in BUILTIN_RECIPES else "last.ckpt")
    run(cmd + ["test", "--ckpt", str(ckpt), "--output", str(run_dir / "test"), "--samples", str(samples),
               f"--data.root={data_root / 'bsds500'}"], HERE / "runs" / f"colorize_{model}_test.log")
    metrics = json.loads((run_dir / "test" / "metrics.json").read_text())
    tp_file = run_dir / "throughput.json"
    throughput = json.loads(tp_file.read_text()) if tp_file.exists() else {"images_per_s": None, "steps": 0}
    photo = min((data_root / "bsds500" / "images" / "test").glob("*.jpg"))
    config = yaml.safe_load((REPO / "configs" / "colorize" / CONFIGS[model]).read_text())
    split = ("BSDS500 train+val + ImageNet sample (100 held out for validation) → BSDS500 test (200)"
             if model in BUILTIN_RECIPES else "train+val (280 train / 20 val) → test (200)")
    result = {"tool": f"colorseg {model}", "dataset": "bsds500", "model": model, "checkpoint": ckpt.name,
              "split": split, "working_resolution": config["data"]["image_size"],
              "budget_seconds": 0 if model in ("gray", *BUILTIN_RECIPES) else minutes * 60,
              "max_steps": config["trainer"].get("max_steps"), "wall_seconds": fit_s,
              "threads": os.environ.get("OMP_NUM_THREADS"),
              "train_images_per_s": throughput["images_per_s"], "steps": throughput["steps"],
              "inference_seconds_481x321": inference_seconds(ckpt, photo), "peak_rss_mib": peak,
              **{k: metrics.get(k) for k in KEYS}, "n_samples": samples,
              "psnr_convention": metrics.get("psnr_convention")}
    write_json(RESULTS / f"colorize_{model}.json", result)
    return result


def reevaluate(model: str, data_root: Path, samples: int) -> dict:
    """Refresh the metrics in an existing benchmark run's JSON (training figures are kept): for
    metrics added after the run was trained. Re-runs ``colorize test`` unless the run's
    ``test/metrics.json`` is newer than its checkpoint and already holds every key of :data:`KEYS`
    with the same number of samples."""
    run_dir = HERE / "runs" / f"colorize_{model}"
    path = RESULTS / f"colorize_{model}.json"
    result = json.loads(path.read_text())
    ckpt, test = run_dir / "checkpoints" / "last.ckpt", run_dir / "test" / "metrics.json"
    metrics = json.loads(test.read_text()) if test.is_file() else {}
    fresh = (metrics and test.stat().st_mtime > ckpt.stat().st_mtime and all(k in metrics for k in KEYS)
             and metrics.get("n_samples") == samples)
    if not fresh:
        run([sys.executable, "-m", "colorseg", "colorize", "test", "--ckpt", str(ckpt), "--output", str(test.parent),
             "--samples", str(samples), f"--data.root={data_root / 'bsds500'}"],
            HERE / "runs" / f"colorize_{model}_test.log")
        metrics = json.loads(test.read_text())
    result.update({k: metrics.get(k) for k in KEYS})
    write_json(path, result)
    return result


def temperature_study(data_root: Path, temperatures: list[float], samples: int) -> dict:
    """Sampled-output metrics of the trained VAE on the *validation* split at several temperatures
    (choose the temperature there, never on the test set). Writes results/colorize_temperature.json."""
    run_dir = HERE / "runs" / "colorize_vae"
    rows = []
    for t in temperatures:
        out = run_dir / f"val-temperature-{t:g}"
        run([sys.executable, "-m", "colorseg", "colorize", "test", "--ckpt", str(run_dir / "checkpoints" / "last.ckpt"),
             "--split", "val", "--output", str(out), "--samples", str(samples), "--temperature", str(t),
             f"--data.root={data_root / 'bsds500'}"], HERE / "runs" / f"colorize_vae_val_t{t:g}.log")
        metrics = json.loads((out / "metrics.json").read_text())
        rows.append({"temperature": t, **{k: metrics.get(k) for k in KEYS}, "num_images": metrics["num_images"]})
    result = {"model": "vae", "split": "val", "n_samples": samples, "rows": rows}
    write_json(RESULTS / "colorize_temperature.json", result)
    return result


def render_temperature_table(result: dict | None = None) -> str:
    """``colorize_temperature.json`` contents → markdown table (pure; None: read the file, or a hint)."""
    path = RESULTS / "colorize_temperature.json"
    if result is None:
        if not path.exists():
            return "(run `python benchmarks/colorize.py --temperatures 0.5 1 1.5 2 3`)"
        result = json.loads(path.read_text())
    n = result["n_samples"]
    rows = [f"Validation split ({result['rows'][0]['num_images']} images), {n} samples per image:", "",
            (f"| temperature | sampled colourfulness | sampled abs dCF | mean single-sample PSNR (dB) | "
             f"oracle best-of-{n} PSNR (dB) | diversity |"),
            "|---|---|---|---|---|---|"]
    rows += [f"| {x['temperature']:g} | {x['sample_colorfulness']:.1f} | {x['sample_delta_colorfulness']:.1f} | "
             f"{fmt(x.get('mean_sample_psnr'), 2)} | {x['best_of_n_psnr']:.2f} | {x['diversity']:.1f} |"
             for x in result["rows"]]
    return "\n".join(rows)


def fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def measure_memory(model: str, data_root: Path, seconds: int = 60) -> dict:
    """Peak RSS of a short re-run of the model's training (fresh run dir), stored in its JSON."""
    import shutil

    run_dir = HERE / "runs" / f"memory_{model}"
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "colorseg", "colorize", "fit", "-c", f"configs/colorize/{CONFIGS[model]}",
           "--run_dir", str(run_dir), f"--data.root={data_root / 'bsds500'}", "--trainer.enable_progress_bar=false"]
    if model != "gray":
        cmd.append(f"--trainer.max_time=00:00:00:{seconds:02d}" if seconds < 60 else "--trainer.max_time=00:00:01:00")
    _, peak = run_measured(cmd, HERE / "runs" / f"memory_{model}.log")
    path = RESULTS / f"colorize_{model}.json"
    result = json.loads(path.read_text())
    result.update(peak_rss_mib=peak, peak_rss_note=f"training process max RSS, measured in a {seconds} s re-run")
    write_json(path, result)
    return result


def load_results() -> dict[str, dict]:
    """model → contents of ``results/colorize_<model>.json``, for the models that have one."""
    paths = {model: RESULTS / f"colorize_{model}.json" for model in CONFIGS}
    return {model: json.loads(p.read_text()) for model, p in paths.items() if p.exists()}


def render_table(results: dict[str, dict] | None = None) -> str:
    """model → result JSON (as ``bench_model`` writes it) → markdown table. Pure when ``results`` is
    given (None: :func:`load_results`). Rows follow ``CONFIGS``; metrics a JSON lacks show "-".

    Headers are markdown-safe versions of the labels in ``colorseg.metrics.registry.COLORIZATION_METRICS``.
    """
    results = load_results() if results is None else results
    n = next((r.get("n_samples") for r in results.values() if r.get("n_samples")), "N")
    head = ("| model | PSNR (dB) | SSIM | colourfulness (GT) | abs dCF | sampled colourfulness | sampled abs dCF | "
            f"ab AuC | mean single-sample PSNR (dB) | oracle best-of-{n} PSNR (dB) | diversity | "
            "perceptual-loss distance (Lite0, training objective) | Fréchet distance (Lite2) | "
            "KID x10^3 (Lite2, mean ± std) | train img/s | infer s (481x321) | peak RSS (MiB) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for model in CONFIGS:
        if model not in results:
            continue
        r = results[model]
        tp = "-" if r.get("train_images_per_s") is None or model == "gray" else f"{r['train_images_per_s']:.1f}"
        kid = "-" if r.get("kid_lite2") is None else f"{1e3 * r['kid_lite2']:.2f} ± {1e3 * r['kid_lite2_std']:.2f}"
        rows.append(f"| {model} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['colorfulness']:.1f} ({r['gt_colorfulness']:.1f}) | "
                    f"{r['delta_colorfulness']:.1f} | {fmt(r.get('sample_colorfulness'), 1)} | "
                    f"{fmt(r.get('sample_delta_colorfulness'), 1)} | {r['ab_auc']:.3f} | "
                    f"{fmt(r.get('mean_sample_psnr'), 2)} | {r['best_of_n_psnr']:.2f} | {r['diversity']:.2f} | "
                    f"{r['feature_distance']:.4f} | {fmt(r.get('fd_lite2'), 2)} | {kid} | {tp} | "
                    f"{r['inference_seconds_481x321']:.3f} | {r['peak_rss_mib']:.0f} |")
    return "\n".join(rows)


def evaluate_builtin(data_root: Path, samples: int, source: str = BUILTIN_SOURCE) -> dict:
    """The shipped built-in model (half precision, ``colorseg/weights``) on BSDS500 test through
    ``colorize test --input`` (as a user would run it), and the precision check on the
    *validation* split: its PSNR against the full-precision checkpoint it was made from
    (``runs/colorize_<source>/checkpoints/best.ckpt``). Writes ``results/colorize_builtin.json``."""
    from colorseg.checkpoint import builtin_checkpoint, sha256_file

    shipped = builtin_checkpoint()
    full = HERE / "runs" / f"colorize_{source}" / "checkpoints" / "best.ckpt"
    cmd = [sys.executable, "-m", "colorseg", "colorize", "test"]
    val = {}
    for name, ckpt in (("full", full), ("half", shipped)):
        out = HERE / "runs" / "colorize_builtin" / f"val-{name}"
        run(cmd + ["--ckpt", str(ckpt), "--split", "val", "--samples", "1", "--output", str(out)],
            HERE / "runs" / f"colorize_builtin_val_{name}.log")
        val[name] = json.loads((out / "metrics.json").read_text())
    out = HERE / "runs" / "colorize_builtin" / "test"
    run(cmd + ["--input", str(data_root / "bsds500" / "images" / "test"), "--samples", str(samples),
               "--output", str(out)], HERE / "runs" / "colorize_builtin_test.log")
    metrics = json.loads((out / "metrics.json").read_text())
    photo = min((data_root / "bsds500" / "images" / "test").glob("*.jpg"))
    default = RESULTS / f"colorize_{source}.json"
    training = json.loads(default.read_text()) if default.is_file() else {}
    result = {"tool": "colorseg built-in (colorize-default)", "model": "builtin", "source_model": source,
              "file": shipped.name,
              "bytes": shipped.stat().st_size, "sha256": sha256_file(shipped),
              "split": "BSDS500 test (200 photos), `colorseg colorize test --input`",
              "val_psnr_full_precision": val["full"]["psnr"], "val_psnr_half_precision": val["half"]["psnr"],
              "half_precision_psnr_cost_db": val["full"]["psnr"] - val["half"]["psnr"],
              "val_images": val["full"]["num_images"],
              "training_wall_seconds": training.get("wall_seconds"), "training_threads": training.get("threads"),
              "max_steps": training.get("max_steps"),
              "inference_seconds_481x321": inference_seconds(shipped, photo),
              **{k: metrics.get(k) for k in KEYS}, "n_samples": samples}
    write_json(RESULTS / "colorize_builtin.json", result)
    return result


def sample_figure(data_root: Path, n_images: int = 5, n_samples: int = 3) -> Path:
    """Gray | ground truth | built-in model (deterministic) | its samples, for a few BSDS500 test photos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from colorseg.data.image_io import read_image
    from colorseg.data.lab import to_gray
    from colorseg.inference.colorizer import Colorizer

    model = Colorizer.pretrained()
    photos = sorted((data_root / "bsds500" / "images" / "test").glob("*.jpg"))[:: 40][:n_images]
    cols = 3 + n_samples
    fig, axes = plt.subplots(len(photos), cols, figsize=(2.0 * cols, 1.45 * len(photos)), squeeze=False)
    titles = ["gray input", "ground truth", "built-in"] + [f"sample {i + 1}" for i in range(n_samples)]
    for r, photo in enumerate(photos):
        rgb = read_image(photo, channels=3)
        small = rgb[::2, ::2]  # thumbnails only
        gray = to_gray(small)
        tiles = [gray, small, model.colorize(gray)] + list(model.colorize(gray, n_samples, seed=r))
        for c, tile in enumerate(tiles):
            axes[r, c].imshow(np.clip(tile, 0, 1))
            axes[r, c].axis("off")
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=8)
    fig.tight_layout()
    out = RESULTS / "colorize_builtin_samples.png"
    fig.savefig(out, dpi=110)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--reevaluate", action="store_true", help="re-test existing runs, keep training figures")
    ap.add_argument("--memory-only", action="store_true", help="re-measure peak training memory per model")
    ap.add_argument("--builtin", action="store_true",
                    help="evaluate the shipped built-in model (test + half-precision check on val) and draw "
                         "the sample figure; use --models none-trained: --table-only --builtin")
    ap.add_argument("--temperatures", type=float, nargs="+", default=None,
                    help="only run the VAE's sampling-temperature study on the validation split")
    args = ap.parse_args()
    if not (args.data_root / "bsds500").is_dir():
        raise SystemExit(f"data set not found: {args.data_root / 'bsds500'}")
    if args.temperatures:
        temperature_study(args.data_root, args.temperatures, args.samples)
        import tables

        tables.update()
        print(render_temperature_table())
        return
    if args.memory_only:
        for model in args.models:
            print(model, measure_memory(model, args.data_root)["peak_rss_mib"])
    if args.reevaluate:
        for model in args.models:
            print(json.dumps(reevaluate(model, args.data_root, args.samples), indent=2))
    elif not (args.table_only or args.memory_only):
        for model in args.models:
            print(json.dumps(bench_model(model, args.minutes, args.data_root, args.samples), indent=2))
    if args.builtin:
        print(json.dumps(evaluate_builtin(args.data_root, args.samples), indent=2))
        print("figure:", sample_figure(args.data_root))
    import tables

    tables.update()
    print(render_table())


if __name__ == "__main__":
    main()
