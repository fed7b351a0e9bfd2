"""Planned configs (``colorseg segment plan``) against the hand-tuned ones, on CamVid and ISBI 2012.

    python benchmarks/plan.py [--datasets camvid isbi2012 isbi2012_folder] [--plan-only] [--threads 1]
                              [--data-root ../shared/data]
    python benchmarks/plan.py --update-evidence    # refresh the planner's evidence file from results/
    python benchmarks/plan.py --recompare --datasets camvid  # after rerunning the hand-tuned benchmark

For each data set:

1. plans a config with :func:`colorseg.planning.plan_segmentation` for the budget of the published
   figure (CamVid 30 min, ISBI 10 min) and ``--threads`` (1: the published runs' threads), and saves
   it as ``results/plan_<dataset>.yaml``; ``isbi2012_folder`` plans ISBI through the generic
   ``folder`` source (``benchmarks/runs/isbi2012_folder/{images,masks}`` are links to its
   ``train/image`` and ``train/label``), whose 0/255 labels the plan must map itself;
2. prints how the planned settings differ from the hand-tuned config (``configs/segment/<dataset>.yaml``)
   and the planner's memory estimate next to the peak memory of the published run;
3. unless ``--plan-only``: trains ``colorseg segment fit -c plan_<dataset>.yaml`` under the protocol
   of ``benchmarks/segment.py`` (its ``run_measured`` / ``run``: a child process per step with
   ``--threads`` OpenMP threads, ``OMP_WAIT_POLICY=PASSIVE`` as ``run_all.sh``, progress bar off),
   tests the best checkpoint (by validation mean IoU) on the test and validation splits, and
   writes ``results/plan_<dataset>.json``: the planned figures next to the hand-tuned figure read
   from the published JSON of the hand-tuned config's run (:data:`HAND_TUNED_RUN`: CamVid →
   ``colorseg-efficientnet_lite0-bf16-cl-cosine-cw_camvid.json``, ISBI →
   ``colorseg-bf16-cl-noscale-nowarp_isbi2012.json``), and the difference. Finally it regenerates
   the README tables (``benchmarks/tables.py``), where ``plan_camvid.json`` and
   ``plan_isbi2012.json`` appear as rows of the segmentation tables.

Run conditions of the published figures (``benchmarks/README.md``): one thread per run; both
hand-tuned runs trained at the same time as another one-thread run. Compare ``steps`` in the
JSON to see whether a run met different machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import segment
from segment import REPO, RESULTS, inference_seconds, run, run_measured, write_json

MINUTES = {"camvid": 30.0, "isbi2012": 10.0, "isbi2012_folder": 10.0}
SOURCES = {"camvid": "camvid", "isbi2012": "isbi2012", "isbi2012_folder": "folder"}
HAND_TUNED = {"camvid": "camvid", "isbi2012": "isbi2012", "isbi2012_folder": "isbi2012"}  # config to compare with
FOLDER_VIEW = HERE / "runs" / "isbi2012_folder"
SPLITS = {"camvid": "train 367 / val 101 / test 233 at 240x180, void ignored",
          "isbi2012": "train slices 0-19, val 20-23, test 24-29"}


def folder_view(data_root: Path) -> Path:
    """``benchmarks/runs/isbi2012_folder`` with ``images`` and ``masks`` linked to ISBI's
    ``train/image`` and ``train/label`` (nothing is copied)."""
    FOLDER_VIEW.mkdir(parents=True, exist_ok=True)
    for name, target in (("images", data_root / "isbi2012" / "train" / "image"),
                         ("masks", data_root / "isbi2012" / "train" / "label")):
        link = FOLDER_VIEW / name
        if link.is_symlink() and Path(os.readlink(link)) != target.resolve():
            link.unlink()
        if not link.exists():
            link.symlink_to(target.resolve(), target_is_directory=True)
    return FOLDER_VIEW


def data_folder(dataset: str, data_root: Path) -> Path:
    """The folder the planner reads for ``dataset``."""
    return folder_view(data_root) if dataset == "isbi2012_folder" else data_root / dataset


def relative(path: Path) -> str:
    """``path`` relative to the repository (fit runs there), as the hand-tuned configs spell roots."""
    return os.path.relpath(path, REPO)


#: The published run of each hand-tuned config: its encoder, precision and channels-last, and the
#: ``--fit-option`` values it trained with, are what the config now says (:func:`config_mismatches`).
HAND_TUNED_RUN = {"camvid": "efficientnet_lite0-bf16-cl-cosine-cw", "isbi2012": "bf16-cl-noscale-nowarp"}


def hand_tuned(dataset: str) -> dict:
    """The hand-tuned config of ``dataset`` and its published result (:data:`HAND_TUNED_RUN`)."""
    name = HAND_TUNED[dataset]
    config_path = REPO / "configs" / "segment" / f"{name}.yaml"
    config = yaml.safe_load(config_path.read_text())
    result_path = RESULTS / f"colorseg-{HAND_TUNED_RUN[name]}_{name}.json"
    result = json.loads(result_path.read_text())
    return {"config_path": config_path, "config": config, "result_path": result_path, "result": result}


def config_mismatches(config: dict, result: dict) -> list[str]:
    """Where ``config`` differs from the recipe of the run ``result`` (its encoder, precision,
    channels-last and each ``--fit-option``); empty when the config is that run's recipe."""
    recorded = {"model.encoder": result["encoder"], "trainer.precision": str(result["precision"]),
                "model.channels_last": bool(result["channels_last"])}
    for option in result.get("fit_options", []):
        key, _, value = option.lstrip("-").partition("=")
        recorded[key] = yaml.safe_load(value)
    flat = _effective(config)  # left-out keys at their defaults, as compare_settings reads configs
    flat["trainer.precision"] = str(config.get("trainer", {}).get("precision", "32"))  # Lightning's default
    return [f"{key}: config {flat.get(key)!r}, run {value!r}" for key, value in recorded.items()
            if flat.get(key) != value]


def _flatten(node: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in node.items():
        if isinstance(value, dict) and key != "mask_value_map":
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _defaults() -> dict:
    """LightningCLI defaults of the keys the configs set (model, data, augment; trainer: Lightning's)."""
    import inspect

    from colorseg.data.transforms import AugmentConfig
    from colorseg.training.datamodule import SegmentationDataModule
    from colorseg.training.segmenter_module import SegmenterModule

    out = {}
    for prefix, cls in (("model.", SegmenterModule), ("data.", SegmentationDataModule)):
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if p.default is not inspect.Parameter.empty and name != "augment":
                out[prefix + name] = list(p.default) if isinstance(p.default, tuple) else p.default
    for name, value in vars(AugmentConfig()).items():
        out[f"data.augment.{name}"] = value
    return out


UNET_ONLY = ("model.depth", "model.base_width", "model.norm", "model.dropout")


def _effective(config: dict) -> dict:
    """Flattened config with every left-out key at its default, and the source's own defaults
    (class names, channels, ignore index, value map) in place of ``None``."""
    from colorseg.data.sources import build_source

    flat = {**_defaults(), **_flatten(config)}
    data = {k[len("data."):]: v for k, v in flat.items() if k.startswith("data.") and "." not in k[len("data."):]}
    src = build_source(data["source"], data.get("root") or ".", data.get("class_names"), None,
                       data.get("in_channels"), data.get("ignore_index"), data.get("mask_value_map"))
    flat.update({"data.class_names": list(src.class_names), "data.in_channels": src.in_channels,
                 "data.ignore_index": src.ignore_index, "data.mask_value_map": src.mask_value_map})
    if flat.get("model.encoder", "unet") != "unet":
        for key in UNET_ONLY:
            flat.pop(key, None)
    return flat


def compare_settings(planned: dict, tuned: dict) -> list[dict]:
    """Keys whose effective value differs between the planned and the hand-tuned config (left-out
    keys at their defaults; ``data.root`` and the trainer's logging are skipped; class weights
    within :data:`WEIGHT_TOLERANCE` count as equal)."""
    a, b = _effective(planned), _effective(tuned)
    skip = {"data.root", "trainer.log_every_n_steps", "trainer.accelerator", "trainer.devices"}
    rows = []
    for key in sorted(set(a) | set(b)):
        if key in skip:
            continue
        pa, pb = a.get(key, "(default)"), b.get(key, "(default)")
        if key == "model.class_weights" and _close_weights(pa, pb):
            continue
        if _norm(pa) != _norm(pb):
            rows.append({"key": key, "planned": pa, "hand_tuned": pb})
    return rows


WEIGHT_TOLERANCE = 0.15  # relative: the planner estimates class frequencies from a sample of the masks


def _close_weights(a, b) -> bool:
    """Class-weight lists of the same length within :data:`WEIGHT_TOLERANCE` of each other."""
    if not (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)):
        return False
    return all(abs(x - y) <= WEIGHT_TOLERANCE * max(abs(x), abs(y)) for x, y in zip(a, b))


def _norm(value):
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


def plan_dataset(dataset: str, data_root: Path, threads: int) -> dict:
    """Plan ``dataset``; save ``results/plan_<dataset>.yaml``; returns what the comparison needs."""
    from colorseg.planning import plan_segmentation

    folder = data_folder(dataset, data_root)
    if not folder.is_dir():
        raise SystemExit(f"data set not found: {folder}")
    out = RESULTS / f"plan_{dataset}.yaml"
    result = plan_segmentation(relative(folder), MINUTES[dataset], source=SOURCES[dataset],
                               output=relative(out), threads=threads, progress=False)
    tuned = hand_tuned(dataset)
    planned = yaml.safe_load(out.read_text())
    differences = compare_settings(planned, tuned["config"])
    memory = {"planner_estimate_mib": round(result.plan.estimates["peak_mib"]),
              "hand_tuned_run_peak_rss_mib": round(tuned["result"]["peak_rss_mib"])}
    print(f"\n== {dataset}: {relative(out)}\n{result.summary}")
    print(f"-- settings that differ from {relative(tuned['config_path'])} (planned | hand-tuned):")
    for row in differences or [{"key": "(none)", "planned": "", "hand_tuned": ""}]:
        print(f"   {row['key']}: {row['planned']} | {row['hand_tuned']}")
    print(f"-- memory: planner's estimate {memory['planner_estimate_mib']} MiB; the published hand-tuned run peaked "
          f"at {memory['hand_tuned_run_peak_rss_mib']} MiB ({tuned['result_path'].name})")
    return {"yaml": out, "planned": planned, "tuned": tuned, "differences": differences, "memory": memory,
            "estimates": result.plan.estimates}


def hand_tuned_summary(tuned: dict) -> dict:
    """The fields of the hand-tuned run that ``results/plan_<dataset>.json`` records."""
    result = tuned["result"]
    return {"config": relative(tuned["config_path"]), "result": relative(tuned["result_path"]),
            "mean_iou": result["mean_iou"], "val_mean_iou": result.get("val_mean_iou"),
            "steps": result.get("steps"), "threads": result.get("threads"),
            **({"adapted_rand_error": result["adapted_rand_error"]} if "adapted_rand_error" in result else {})}


def recompare(dataset: str) -> dict:
    """Compare an existing ``results/plan_<dataset>.json`` again with the hand-tuned config's
    result as it is now (after that benchmark was rerun, e.g. under the same machine load as the
    plan's run); nothing is trained."""
    path = RESULTS / f"plan_{dataset}.json"
    result = json.loads(path.read_text())
    result["hand_tuned"] = hand_tuned_summary(hand_tuned(dataset))
    diff = result["mean_iou"] - result["hand_tuned"]["mean_iou"]
    result.update(mean_iou_difference=diff, within_0_02=abs(diff) <= 0.02)
    write_json(path, result)
    print(f"{dataset}: planned mean IoU {result['mean_iou']:.3f} vs hand-tuned {result['hand_tuned']['mean_iou']:.3f} "
          f"({diff:+.3f}; {'within' if abs(diff) <= 0.02 else 'NOT within'} 0.02)")
    return result


def train_and_test(dataset: str, info: dict, data_root: Path) -> dict:
    """Train the planned config under segment.py's protocol, test it, write ``results/plan_<dataset>.json``."""
    import torch

    run_dir = HERE / "runs" / f"plan_{dataset}"
    colorseg = [sys.executable, "-m", "colorseg", "segment"]
    fit_s, peak_mib = run_measured(colorseg + ["fit", "-c", str(info["yaml"]), "--run_dir", str(run_dir),
                                               "--overwrite=true", "--trainer.enable_progress_bar=false"],
                                   run_dir.parent / f"plan_{dataset}_fit.log")
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    for split in ("test", "val"):
        run(colorseg + ["test", "--ckpt", str(ckpt), "--output", str(run_dir / split), "--split", split],
            run_dir.parent / f"plan_{dataset}_{split}.log")
    metrics = json.loads((run_dir / "test" / "metrics.json").read_text())
    val_metrics = json.loads((run_dir / "val" / "metrics.json").read_text())
    throughput = json.loads((run_dir / "throughput.json").read_text())
    planned, tuned = info["planned"], info["tuned"]["result"]
    model, trainer = planned["model"], planned["trainer"]
    precision = str(trainer["precision"])
    extras = [p for p, on in (("bf16 autocast", precision.startswith("bf16")),
                              ("channels-last", model["channels_last"])) if on]
    label = "from scratch" if model["encoder"] == "unet" else f"{model['encoder']}, ImageNet"
    diff = metrics["mean_iou"] - tuned["mean_iou"]
    result = {
        "tool": f"colorseg U-Net planned by `segment plan` ({', '.join([label, *extras])})",
        "dataset": HAND_TUNED[dataset], "source": SOURCES[dataset],
        "planned_config": relative(info["yaml"]), "encoder": model["encoder"], "precision": precision,
        "channels_last": model["channels_last"], "val_mean_iou": val_metrics["mean_iou"],
        "split": SPLITS[HAND_TUNED[dataset]],
        "selection": "best checkpoint by validation mean IoU; test split never used for selection",
        "budget_seconds": MINUTES[dataset] * 60, "wall_seconds": fit_s,
        "train_images_per_s": throughput["images_per_s"], "steps": throughput["steps"],
        "inference_seconds_per_image": inference_seconds(ckpt, dataset, data_root if dataset != "isbi2012_folder"
                                                         else FOLDER_VIEW.parent),
        "peak_rss_mib": peak_mib, "torch_version": torch.__version__,
        "threads": segment.THREADS or torch.get_num_threads(),
        "mean_iou": metrics["mean_iou"], "mean_dice": metrics["mean_dice"],
        "pixel_accuracy": metrics["pixel_accuracy"], "per_class": metrics["per_class"],
        "hand_tuned": hand_tuned_summary(info["tuned"]),
        "mean_iou_difference": diff, "within_0_02": abs(diff) <= 0.02,
        "settings_different_from_hand_tuned": info["differences"], "memory": info["memory"],
        "plan_estimates": info["estimates"],
    }
    if "adapted_rand_error" in metrics:
        result["adapted_rand_error"] = metrics["adapted_rand_error"]
    write_json(RESULTS / f"plan_{dataset}.json", result)
    print(f"{dataset}: planned mean IoU {metrics['mean_iou']:.3f} vs hand-tuned {tuned['mean_iou']:.3f} "
          f"({diff:+.3f}; {'within' if abs(diff) <= 0.02 else 'NOT within'} 0.02)")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(MINUTES), choices=list(MINUTES))
    ap.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads per training process and for the plan's estimates (published runs: 1)")
    ap.add_argument("--plan-only", action="store_true", help="plan and compare settings; no training")
    ap.add_argument("--update-evidence", action="store_true",
                    help="rewrite src/colorseg/planning/evidence.json from benchmarks/results and exit")
    ap.add_argument("--recompare", action="store_true",
                    help="compare the existing plan_<dataset>.json results again with the hand-tuned results as "
                         "they are now (after rerunning that benchmark); no planning or training")
    args = ap.parse_args()
    if args.recompare:
        for dataset in args.datasets:
            recompare(dataset)
        import tables

        tables.update()
        return
    if args.update_evidence:
        from colorseg.planning.evidence import write_evidence

        print(f"wrote {write_evidence(REPO)}")
        return
    os.chdir(REPO)  # planned roots are relative to the repository, where fit runs
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as run_all.sh; inherited by every child
    segment.THREADS = args.threads
    import torch

    torch.set_num_threads(args.threads)  # the inference timing in this process
    data_root = args.data_root.resolve()
    planned = {d: plan_dataset(d, data_root, args.threads) for d in args.datasets}
    if args.plan_only:
        return
    for dataset, info in planned.items():
        train_and_test(dataset, info, data_root)
    import tables

    tables.update()


if __name__ == "__main__":
    main()
