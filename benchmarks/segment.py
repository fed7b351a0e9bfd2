"""Segmentation benchmark on real data: ISBI 2012 and CamVid, colorseg vs smp U-Net.

    python benchmarks/segment.py [--datasets isbi2012 camvid] [--isbi-minutes 10] [--camvid-minutes 30]
                                 [--data-root ../shared/data] [--smp-python /work/smp-venv/bin/python]

For each data set: trains colorseg's U-Net with ``configs/segment/<dataset>.yaml`` under a
wall-clock budget (``--trainer.max_time``), evaluates the best checkpoint with
``colorseg segment test``, measures inference seconds per image and peak memory, and writes
``benchmarks/results/colorseg_<dataset>.json``. With ``--smp-python`` it also runs the peer
baseline (``benchmarks/smp_baseline.py``, segmentation_models_pytorch in its own venv) under
the same budget. Finally it renders ``benchmarks/README.md``'s results table from all JSONs.
Splits: ISBI trains colorseg on slices 0-19, chooses its checkpoint on 20-23 and reports on
24-29 (the peer, which does no selection, trains on 0-23); CamVid trains on train (367),
validates on val (101) and reports on test (233), 240x180, void ignored. ``--tools cv`` runs
``colorseg segment cv`` on ISBI (5 folds over slices 0-23, ``--isbi-cv-minutes`` each, the same
test slices 24-29) and writes ``colorseg_isbi2012_cv.json``. ``--add-tta RESULT.json…`` re-tests
existing runs with the data set's TTA; ``--ensemble RESULT.json… --tag NAME`` tests the ensemble
of one-core runs of the same budget (``colorseg-NAME_<dataset>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from colorseg.metrics.registry import SEGMENTATION_PER_IMAGE

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"


def run(cmd: list[str], log: Path) -> float:
    """Run a command, output to ``log``; returns wall seconds. Raises on failure."""
    return run_measured(cmd, log)[0]


THREADS: int | None = None  # --threads: torch/OpenMP threads of every child process


def child_env() -> dict:
    env = dict(os.environ)
    if THREADS:
        env["OMP_NUM_THREADS"] = str(THREADS)
    return env


def run_measured(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run a command, output to ``log``; returns (wall seconds, that process's peak RSS in MiB)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO, env=child_env())
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"command failed ({code}), see {log}: {' '.join(cmd)}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def inference_seconds(ckpt: Path | list[Path], dataset: str, data_root: Path) -> float:
    """Mean seconds per test image for Segmenter.predict at full resolution (after warm-up); a
    list of checkpoints: their ensemble."""
    from colorseg.checkpoint import load_checkpoint
    from colorseg.evaluation.segmentation import split_data_from_checkpoint
    from colorseg.inference.segmenter import Segmenter

    ckpts = ckpt if isinstance(ckpt, list) else [ckpt]
    seg = Segmenter.from_checkpoints(ckpts)
    dm = split_data_from_checkpoint(load_checkpoint(ckpts[0], "segment"), {"root": str(data_root / dataset)})
    ds = dm.dataset("test")
    images = [ds[i]["image"][None] for i in range(min(len(ds), 20))]
    seg.predict_tensor(images[0])
    t0 = time.perf_counter()
    for im in images:
        seg.predict_tensor(im)
    return (time.perf_counter() - t0) / len(images)


def variant_name(encoder: str, precision: str, channels_last: bool, tag: str = "") -> str:
    """Result/run name suffix of a colorseg variant ("" for the from-scratch fp32 default);
    ``tag`` names extra fit options (``--fit-option``)."""
    parts = [] if encoder == "unet" else [encoder]
    if precision != "32":
        parts.append(precision.replace("-mixed", ""))
    if channels_last:
        parts.append("cl")
    if tag:
        parts.append(tag)
    return "-".join(parts)


def option_label(option: str) -> str:
    """A short name for a fit option in result labels (``--model.scheduler=cosine`` → ``cosine
    schedule``, ``--model.class_weights=[...]`` → ``class weights``, ``--seed_everything=1`` → ``seed 1``,
    ``--model.loss=lovasz_ce`` → ``lovasz_ce loss``, ``--data.scale_range=[1.0,1.0]`` → ``no rescaling``,
    ``--data.augment.elastic_p=0`` → ``no elastic``, ``--trainer.callbacks+=…EMAWeightAveraging`` → ``EMA
    weights``, ``--trainer.callbacks.decay=0.99`` → ``decay 0.99``)."""
    key, _, value = option.lstrip("-").partition("=")
    key = key.removeprefix("model.").removeprefix("trainer.").removeprefix("data.")
    if key == "scheduler":
        return f"{value} schedule"
    if key == "class_weights":
        return "class weights"
    if key == "seed_everything":
        return f"seed {value}"
    if key == "callbacks+":
        return {"EMAWeightAveraging": "EMA weights"}.get(value.rsplit(".", 1)[-1], value.rsplit(".", 1)[-1])
    if key == "callbacks.decay":
        return f"decay {value}"
    if key == "loss":
        return f"{value} loss"
    if key == "scale_range" and len(set(value.strip("[]").split(","))) == 1:
        return "no rescaling"
    if key.startswith("augment.") and key.endswith("_p") and float(value) == 0:
        return f"no {key.removeprefix('augment.').removesuffix('_p')}"
    return f"{key}={value}"


def test_split(ckpt: Path | list[Path], dataset: str, data_root: Path, split: str, output: Path, log: Path,
               tta: str = "none") -> dict:
    """``colorseg segment test`` of ``ckpt`` (a list: their ensemble) on ``split`` (with test-time
    augmentation ``tta``) into ``output``; its ``metrics.json``."""
    ckpts = [str(c) for c in (ckpt if isinstance(ckpt, list) else [ckpt])]
    run([sys.executable, "-m", "colorseg", "segment", "test", "--ckpt", *ckpts, "--output", str(output),
         "--split", split, "--tta", tta, f"--data.root={data_root / dataset}"], log)
    return json.loads((output / "metrics.json").read_text())


def test_figures(metrics: dict) -> dict:
    """The test-split figures a result JSON records from ``segment test``'s ``metrics.json``."""
    keys = ("mean_iou", "mean_dice", "pixel_accuracy", "per_class", "adapted_rand_error")
    return {key: metrics[key] for key in keys if key in metrics}


def bench_colorseg(dataset: str, minutes: float, data_root: Path, encoder: str = "unet", precision: str = "32",
                   channels_last: bool = False, config: str | None = None, fit_options: list[str] | None = None,
                   tag: str = "") -> dict:
    """Train colorseg on ``dataset`` for ``minutes``, test the best checkpoint (by validation mean
    IoU) on the test and validation splits, time inference; ``fit_options`` (e.g.
    ``--model.scheduler=cosine``) go to ``colorseg segment fit`` after the config, ``tag`` names them
    in the run and result names. Writes ``results/colorseg[-<variant>]_<dataset>.json``."""
    fit_options = list(fit_options or [])
    if fit_options and not tag:
        raise SystemExit("--fit-option needs --tag (it names the result file)")
    variant = variant_name(encoder, precision, channels_last, tag)
    name = f"{dataset}-{variant}" if variant else dataset
    run_dir = HERE / "runs" / name
    colorseg = [sys.executable, "-m", "colorseg", "segment"]
    budget = f"00:00:{int(minutes):02d}:{int(minutes * 60) % 60:02d}"
    options = [f"--model.encoder={encoder}", f"--model.encoder_weights={'none' if encoder == 'unet' else 'imagenet'}",
               f"--trainer.precision={precision}", f"--model.channels_last={str(channels_last).lower()}",
               *fit_options]
    fit_s, peak_mib = run_measured(colorseg + ["fit", "-c", config or f"configs/segment/{dataset}.yaml", "--run_dir",
                                               str(run_dir), "--overwrite=true", *options,
                                               f"--trainer.max_time={budget}", f"--data.root={data_root / dataset}",
                                               "--trainer.enable_progress_bar=false"], run_dir.parent / f"{name}_fit.log")
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    metrics = test_split(ckpt, dataset, data_root, "test", run_dir / "test", run_dir.parent / f"{name}_test.log")
    val_metrics = test_split(ckpt, dataset, data_root, "val", run_dir / "val", run_dir.parent / f"{name}_val.log")
    throughput = json.loads((run_dir / "throughput.json").read_text())
    import torch

    label = "from scratch" if encoder == "unet" else f"{encoder}, ImageNet"
    extras = [p for p, on in (("bf16 autocast", precision.startswith("bf16")), ("channels-last", channels_last)) if on]
    extras += [option_label(o) for o in fit_options]
    result = {
        "tool": f"colorseg U-Net ({', '.join([label, *extras])})", "dataset": dataset, "encoder": encoder,
        "precision": precision, "channels_last": channels_last, "fit_options": fit_options,
        "val_mean_iou": val_metrics["mean_iou"],
        "split": "train slices 0-19, val 20-23, test 24-29" if dataset == "isbi2012"
        else "train 367 / val 101 / test 233 at 240x180, void ignored",
        "selection": "best checkpoint by validation mean IoU; test split never used for selection",
        "budget_seconds": minutes * 60, "wall_seconds": fit_s,
        "train_images_per_s": throughput["images_per_s"], "steps": throughput["steps"],
        "inference_seconds_per_image": inference_seconds(ckpt, dataset, data_root),
        "peak_rss_mib": peak_mib, "torch_version": torch.__version__, "threads": THREADS or torch.get_num_threads(),
        **test_figures(metrics),
    }
    result["tta"] = evaluate_tta(ckpt, run_dir, dataset, data_root, name, TTA[dataset])
    write_json(RESULTS / (f"colorseg-{variant}_{dataset}.json" if variant else f"colorseg_{dataset}.json"), result)
    return result


# the test-time augmentation per data set follows its training augmentation (not a test-set choice):
# ISBI trains with flips and 90° rotations, CamVid (street scenes, an up direction) with left-right flips only
TTA = {"isbi2012": "flips", "camvid": "hflip"}


def evaluate_tta(ckpt: Path | list[Path], run_dir: Path, dataset: str, data_root: Path, name: str, tta: str) -> dict:
    """The same checkpoint tested with test-time augmentation ``tta`` on the validation and test
    splits (whether TTA is used is then chosen on validation, in ``tables.py``)."""
    out = {"mode": tta}
    for split in ("val", "test"):
        metrics = test_split(ckpt, dataset, data_root, split, run_dir / f"{split}-tta-{tta}",
                             run_dir.parent / f"{name}_{split}_tta.log", tta)
        prefix = "val_" if split == "val" else ""
        out[f"{prefix}mean_iou"] = metrics["mean_iou"]
        if split == "test":
            out["mean_dice"] = metrics["mean_dice"]
            out["per_class"] = metrics["per_class"]
            if "adapted_rand_error" in metrics:
                out["adapted_rand_error"] = metrics["adapted_rand_error"]
    return out


def run_of(result_path: Path) -> tuple[dict, str, Path]:
    """(result, run name, best checkpoint) of a ``results/colorseg[-<variant>]_<dataset>.json``."""
    if not result_path.is_file():
        raise SystemExit(f"result not found: {result_path}")
    result = json.loads(result_path.read_text())
    dataset = result["dataset"]
    variant = result_path.stem.removeprefix("colorseg-").removeprefix("colorseg").removesuffix(f"_{dataset}")
    name = f"{dataset}-{variant}" if variant else dataset
    ckpt = HERE / "runs" / name / "checkpoints" / "best.ckpt"
    if not ckpt.is_file():
        raise SystemExit(f"no checkpoint for {result_path.name}: {ckpt}")
    return result, name, ckpt


def add_tta(result_path: Path, data_root: Path) -> dict:
    """``--add-tta``: test an existing run's best checkpoint with the data set's TTA (:data:`TTA`)
    and add it to its result JSON."""
    result, name, ckpt = run_of(result_path)
    dataset, run_dir = result["dataset"], ckpt.parent.parent
    result.pop("tta_flips", None)  # the first TTA runs (flips on every data set)
    result["tta"] = evaluate_tta(ckpt, run_dir, dataset, data_root, name, TTA[dataset])
    write_json(result_path, result)
    return result


def ensemble_label(tools: list[str]) -> str:
    """The result label of an ensemble of runs labelled ``tools``: one recipe when they differ only
    in their seed (``colorseg U-Net (…, seed 1)``), else each member's."""
    n = len(tools)
    recipes = sorted({re.sub(r", seed \d+\)$", ")", t) for t in tools})
    members = f"{n} seeds of {recipes[0]}" if len(recipes) == 1 else f"{n} runs: {'; '.join(tools)}"
    return f"ensemble of {members}, one thread each (the budget of one run, on {n} cores)"


def bench_ensemble(result_paths: list[Path], tag: str, data_root: Path) -> dict:
    """``--ensemble``: the mean class probabilities of runs that each trained on one core for the
    same budget (side by side, they take that budget on as many cores), tested on the validation
    and test splits with and without the data set's TTA; writes
    ``results/colorseg-<tag>_<dataset>.json``. Its cost is the members' together: their threads,
    steps and samples/s add up, as does peak memory (as if they ran at the same time)."""
    if len(result_paths) < 2 or not tag:
        raise SystemExit("--ensemble needs two or more result JSONs and --tag")
    members = [run_of(p) for p in result_paths]
    results = [m[0] for m in members]
    ckpts = [m[2] for m in members]
    dataset = results[0]["dataset"]
    for key in ("dataset", "encoder", "precision", "channels_last", "budget_seconds"):
        if len({str(r[key]) for r in results}) != 1:
            raise SystemExit(f"--ensemble: the runs differ in {key}: {[r[key] for r in results]}")
    name = f"{dataset}-{tag}"
    run_dir = HERE / "runs" / name
    metrics = test_split(ckpts, dataset, data_root, "test", run_dir / "test", run_dir.parent / f"{name}_test.log")
    val_metrics = test_split(ckpts, dataset, data_root, "val", run_dir / "val", run_dir.parent / f"{name}_val.log")
    first = results[0]
    result = {
        "tool": ensemble_label([r["tool"] for r in results]),
        "dataset": dataset, "encoder": first["encoder"], "precision": first["precision"],
        "channels_last": first["channels_last"], "members": [p.name for p in result_paths],
        "val_mean_iou": val_metrics["mean_iou"], "split": first["split"],
        "selection": "each member: best checkpoint by validation mean IoU; test split never used for selection",
        "budget_seconds": first["budget_seconds"], "wall_seconds": max(r["wall_seconds"] for r in results),
        "train_images_per_s": sum(r["train_images_per_s"] for r in results),
        "steps": sum(r["steps"] for r in results), "threads": sum(r.get("threads") or 1 for r in results),
        "inference_seconds_per_image": inference_seconds(ckpts, dataset, data_root),
        "peak_rss_mib": sum(r["peak_rss_mib"] for r in results), "torch_version": first.get("torch_version"),
        **test_figures(metrics),
    }
    result["tta"] = evaluate_tta(ckpts, run_dir, dataset, data_root, name, TTA[dataset])
    write_json(RESULTS / f"colorseg-{tag}_{dataset}.json", result)
    return result


def bench_isbi_cv(minutes: float, data_root: Path, folds: int = 5) -> dict:
    """``colorseg segment cv`` on ISBI: ``folds`` fold models over slices 0-23 (``minutes`` each),
    tested on slices 24-29, and their ensemble; writes ``colorseg_isbi2012_cv.json``."""
    out = HERE / "runs" / "isbi2012_cv"
    budget = f"00:00:{int(minutes):02d}:{int(minutes * 60) % 60:02d}"
    wall, peak = run_measured([sys.executable, "-m", "colorseg", "segment", "cv", "--folds", str(folds),
                               "--output", str(out), "-c", "configs/segment/isbi2012.yaml",
                               f"--trainer.max_time={budget}",
                               f"--data.root={data_root / 'isbi2012'}", "--trainer.enable_progress_bar=false"],
                              HERE / "runs" / "isbi2012_cv.log")
    cv = json.loads((out / "cv.json").read_text())
    fold_steps = [json.loads((out / f"fold{f}" / "throughput.json").read_text()) for f in range(folds)]
    import torch

    result = {
        "tool": "colorseg U-Net", "dataset": "isbi2012", "folds": folds,
        "split": f"test slices 24-29 held out; {folds}-fold cross-validation over slices 0-23",
        "selection": "each fold's best checkpoint by its validation fold's mean IoU; test never used",
        "budget_seconds_per_fold": minutes * 60, "wall_seconds": wall, "peak_rss_mib": peak,
        "train_images_per_s": sum(t["images"] for t in fold_steps) / sum(t["seconds"] for t in fold_steps),
        "threads": THREADS or torch.get_num_threads(), "torch_version": torch.__version__,
        "test_summary": cv["test_summary"], "val_summary": cv["val_summary"],
        "ensemble_test": {k: cv["ensemble_test"][k] for k in
                          (*SEGMENTATION_PER_IMAGE, "per_class")},
    }
    write_json(RESULTS / "colorseg_isbi2012_cv.json", result)
    return result


def render_cv_table() -> str:
    """Markdown: ISBI 5-fold results on the test slices (mean ± std over fold models, ensemble)."""
    path = RESULTS / "colorseg_isbi2012_cv.json"
    if not path.is_file():
        raise FileNotFoundError(f"missing benchmark result {path}")
    r = json.loads(path.read_text())
    t, v, e = r["test_summary"], r["val_summary"], r["ensemble_test"]

    def pm(d: dict) -> str:
        return f"{d['mean']:.3f} ± {d['std']:.3f}"

    head = ("| evaluated on | model | mean IoU | mean Dice | adapted Rand error (scikit-image, 4-connected) | "
            "membrane IoU | cell IoU |")
    rows = [head, "|---|---|---|---|---|---|---|",
            (f"| test slices 24-29 | {r['folds']} fold models (mean ± std) | {pm(t['mean_iou'])} | "
            f"{pm(t['mean_dice'])} | {pm(t['adapted_rand_error'])} | {pm(t['per_class']['membrane']['iou'])} | "
            f"{pm(t['per_class']['cell']['iou'])} |"),
            (f"| test slices 24-29 | ensemble of the {r['folds']} | {e['mean_iou']:.3f} | {e['mean_dice']:.3f} | "
            f"{e['adapted_rand_error']:.3f} | {e['per_class']['membrane']['iou']:.3f} | "
            f"{e['per_class']['cell']['iou']:.3f} |"),
            (f"| own validation fold (chose the checkpoint: optimistic) | {r['folds']} fold models | "
            f"{pm(v['mean_iou'])} | {pm(v['mean_dice'])} | {pm(v['adapted_rand_error'])} | "
            f"{pm(v['per_class']['membrane']['iou'])} | {pm(v['per_class']['cell']['iou'])} |")]
    return (f"{r['split']}; {r['budget_seconds_per_fold'] / 60:.0f} min of training per fold, "
            f"{r['threads']} thread(s); ± is the sample standard deviation over folds.\n\n" + "\n".join(rows))


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def render_table() -> str:
    """Markdown tables (one per data set) from results/{colorseg,smp}_*.json, side by side."""
    out = []
    for dataset in ("isbi2012", "camvid"):
        results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob(f"*_{dataset}.json"))]
        if not results:
            continue
        results.sort(key=lambda r: not r["tool"].startswith("colorseg"))
        classes = list(results[0]["per_class"])
        per_class_head = " | ".join(f"{c} IoU / Dice" if dataset == "isbi2012" else f"{c}" for c in classes)
        extra = " adapted Rand error (scikit-image, 4-connected regions) |" if dataset == "isbi2012" else ""
        out.append(f"**{dataset}**\n")
        out.append(f"| tool | budget (min) | mean IoU | mean Dice |{extra} {per_class_head} | train img/s | "
                   "infer s/img | peak RSS (MiB) | wall (s) |")
        out.append("|" + "---|" * (8 + len(classes) + (1 if extra else 0)))
        for r in results:
            cells = []
            for c in classes:
                v = r["per_class"][c]
                cells.append(f"{v['iou']:.3f} / {v['dice']:.3f}" if dataset == "isbi2012" else f"{v['iou']:.3f}")
            are = f" {r['adapted_rand_error']:.3f} |" if extra else ""
            out.append(f"| {r['tool']} | {r['budget_seconds'] / 60:.0f} | {r['mean_iou']:.3f} | {r['mean_dice']:.3f} |"
                       f"{are} {' | '.join(cells)} | {r['train_images_per_s']:.1f} | "
                       f"{r['inference_seconds_per_image']:.3f} | {r['peak_rss_mib']:.0f} | {r['wall_seconds']:.0f} |")
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["isbi2012", "camvid"])
    ap.add_argument("--isbi-minutes", type=float, default=10)
    ap.add_argument("--camvid-minutes", type=float, default=30)
    ap.add_argument("--isbi-cv-minutes", type=float, default=5,
                    help="minutes of training per fold of the ISBI cross-validation (--tools cv)")
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--smp-python", default=None, help="python of a venv with segmentation_models_pytorch")
    ap.add_argument("--tools", nargs="+", default=["colorseg", "smp"], choices=["colorseg", "smp", "cv"],
                    help="which runs: colorseg, smp (needs --smp-python), cv (ISBI 5-fold cross-validation)")
    ap.add_argument("--threads", type=int, default=None,
                    help="threads per training process (default: torch's default, all cores)")
    ap.add_argument("--encoder", default="unet", help="colorseg runs: encoder (imagenet weights unless unet)")
    ap.add_argument("--precision", default="32", help="colorseg runs: Lightning precision, e.g. 32 or bf16-mixed")
    ap.add_argument("--channels-last", action="store_true", help="colorseg runs: channels-last training")
    ap.add_argument("--fit-option", action="append", default=[], metavar="--KEY=VALUE",
                    help="colorseg runs: extra fit option, e.g. --fit-option=--model.scheduler=cosine (repeatable; "
                         "needs --tag)")
    ap.add_argument("--tag", default="", help="colorseg runs: name of the --fit-option variant in result names")
    ap.add_argument("--add-tta", nargs="+", type=Path, default=None, metavar="RESULT.json",
                    help="only test these existing runs (their best checkpoints) with the data set's TTA as well")
    ap.add_argument("--ensemble", nargs="+", type=Path, default=None, metavar="RESULT.json",
                    help="only test the ensemble of these existing runs (one core each, the same budget); "
                         "needs --tag")
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    if args.ensemble:
        ens = bench_ensemble(args.ensemble, args.tag, args.data_root)
        print(f"{ens['tool']}: validation {ens['val_mean_iou']:.4f}, test {ens['mean_iou']:.4f}; "
              f"{ens['tta']['mode']} TTA: validation {ens['tta']['val_mean_iou']:.4f}, test {ens['tta']['mean_iou']:.4f}")
        args.table_only = True
    if args.add_tta:
        for path in args.add_tta:
            tta = add_tta(path, args.data_root)["tta"]
            print(f"{path.name}: {tta['mode']} TTA validation {tta['val_mean_iou']:.4f}, test {tta['mean_iou']:.4f}")
        args.table_only = True
    global THREADS
    THREADS = args.threads
    if THREADS:
        import torch

        torch.set_num_threads(THREADS)  # the inference timing in this process
    if not args.table_only:
        for dataset in args.datasets:
            if not (args.data_root / dataset).is_dir():
                raise SystemExit(f"data set not found: {args.data_root / dataset}")
            minutes = args.isbi_minutes if dataset == "isbi2012" else args.camvid_minutes
            if "colorseg" in args.tools:
                print(json.dumps(bench_colorseg(dataset, minutes, args.data_root, args.encoder, args.precision,
                                                args.channels_last, fit_options=args.fit_option, tag=args.tag),
                                 indent=2)[:2000])
            if "smp" in args.tools and args.smp_python:
                run([args.smp_python, str(HERE / "smp_baseline.py"), "--dataset", dataset,
                     *(["--threads", str(THREADS)] if THREADS else []),
                     "--budget-seconds", str(int(minutes * 60)), "--data-root", str(args.data_root),
                     "--output", str(RESULTS / f"smp_{dataset}.json")], HERE / "runs" / f"smp_{dataset}.log")
            if "cv" in args.tools and dataset == "isbi2012":
                print(json.dumps(bench_isbi_cv(args.isbi_cv_minutes, args.data_root), indent=2)[:2000])
    import tables

    tables.update()
    print(render_table())


if __name__ == "__main__":
    main()
