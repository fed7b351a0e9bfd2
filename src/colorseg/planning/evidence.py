"""The measured evidence the planning rules follow, copied from ``benchmarks/results``.

The package cannot read ``benchmarks/`` at run time (an installed colorseg has no such folder),
so the figures the rules need are kept in ``evidence.json`` next to this module, written by
:func:`build_evidence` from the repository (``python benchmarks/plan.py --update-evidence``);
``tests/planning/test_evidence.py`` checks that the file equals what the results say now.

What is taken, and from where:

* ``encoders``: per encoder, the size multiple (output stride) and the training samples/s and
  inference ms per 512² image of ``benchmarks/results/encoders.json`` (2 threads, batch 8 of
  160² crops, 11 classes; the ``unet`` row at width 24).
* ``benchmarks``: per benchmark data set (CamVid: RGB street scenes; ISBI 2012: gray EM), every
  colorseg run with a validation score (``results/colorseg*_<dataset>.json``: encoder, precision,
  channels-last, validation and test mean IoU, adapted Rand error; ensembles of several runs are
  left out, as a plan trains one model) and the optimiser and U-Net settings of its config
  (``configs/segment/<dataset>.yaml``).
* ``memory``: per encoder and precision, training MiB per megapixel of batch and the fixed part,
  and validation MiB per megapixel (``results/train_memory.json``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import yaml

from colorseg.errors import ConfigError

EVIDENCE_FILE = Path(__file__).with_name("evidence.json")

#: The benchmark data sets and what kind of data each stands for (channels 3: colour photos).
BENCHMARKS = {
    "camvid": {"channels": 3, "what": "CamVid (RGB street scenes, 240x180)"},
    "isbi2012": {"channels": 1, "what": "ISBI 2012 (gray EM slices, 512x512)"},
}
#: How benchmarks/encoders.py measured training speed (its ``build`` and ``training_samples_per_s``).
ENCODER_BENCH_SETUP = {"batch": 8, "crop": 160, "unet_base_width": 24, "unet_depth": 4}


def _load_json(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"benchmark result missing: {path} (run the benchmark that writes it)")
    return json.loads(path.read_text())


def _variant(path: Path, repo: Path) -> dict | None:
    r = json.loads(path.read_text())
    if r.get("val_mean_iou") is None:  # runs before validation scores were recorded: no evidence for a choice
        return None
    if "members" in r:  # an ensemble of several runs: the plan trains one model
        return None
    out = {"file": str(path.relative_to(repo)), "encoder": r["encoder"], "precision": str(r["precision"]),
           "channels_last": bool(r["channels_last"]), "val_mean_iou": r["val_mean_iou"], "mean_iou": r["mean_iou"],
           "train_images_per_s": r["train_images_per_s"], "threads": r.get("threads"),
           "budget_seconds": r["budget_seconds"], "peak_rss_mib": r["peak_rss_mib"]}
    if "adapted_rand_error" in r:
        out["adapted_rand_error"] = r["adapted_rand_error"]
    return out


def _config_settings(path: Path, repo: Path) -> dict:
    cfg = yaml.safe_load(path.read_text())
    model, data = cfg.get("model", {}), cfg.get("data", {})
    return {"file": str(path.relative_to(repo)), "lr": model.get("lr"), "depth": model.get("depth"),
            "base_width": model.get("base_width"), "scheduler": model.get("scheduler"),
            "crop_size": data.get("crop_size"), "batch_size": data.get("batch_size")}


def build_evidence(repo: str | Path) -> dict:
    """The evidence document from ``repo``'s ``benchmarks/results`` and ``configs/segment``."""
    repo = Path(repo)
    results = repo / "benchmarks" / "results"
    speed = _load_json(results / "encoders.json")
    encoders = {}
    for row in speed["rows"]:
        encoders[row["encoder"]] = {
            "size_multiple": row["size_multiple"],
            "train_samples_per_s": {"32": row["train_samples_per_s_fp32"],
                                    "32-channels_last": row["train_samples_per_s_channels_last"],
                                    "bf16-mixed": row["train_samples_per_s_bf16"]},
            "infer_ms_512": {"eager": row["infer_ms_512_eager"], "channels_last": row["infer_ms_512_channels_last"]},
        }
    benchmarks = {}
    for dataset, info in BENCHMARKS.items():
        variants = [v for p in sorted(results.glob(f"colorseg*_{dataset}.json")) if (v := _variant(p, repo))]
        if not variants:
            raise ConfigError(f"no colorseg result with a validation score for {dataset} in {results}")
        benchmarks[dataset] = {**info, "variants": variants,
                               "config": _config_settings(repo / "configs" / "segment" / f"{dataset}.yaml", repo)}
    memory = _load_json(results / "train_memory.json")
    mem_rows = {f"{r['encoder']}|{r['precision']}": {
        "train_mib_per_mpx": r["train_mib_per_mpx"], "train_intercept_mib": r["train_intercept_mib"],
        "eval_mib_per_mpx": r["eval_mib_per_mpx"]} for r in memory["rows"]}
    return {"source": "benchmarks/results (python benchmarks/plan.py --update-evidence)",
            "encoder_speed": {"file": "benchmarks/results/encoders.json", "threads": speed["threads"],
                              **ENCODER_BENCH_SETUP, "encoders": encoders},
            "benchmarks": benchmarks,
            "memory": {"file": "benchmarks/results/train_memory.json", "threads": memory["threads"],
                       "unet_base_width": memory["unet_base_width"], "rows": mem_rows}}


def write_evidence(repo: str | Path, path: Path = EVIDENCE_FILE) -> Path:
    """Rebuild ``evidence.json`` from ``repo`` (after a benchmark changed its results)."""
    path.write_text(json.dumps(build_evidence(repo), indent=1, sort_keys=True) + "\n")
    load_evidence.cache_clear()
    return path


@lru_cache(maxsize=1)
def load_evidence() -> dict:
    """The evidence shipped with the package (see the module docstring)."""
    return json.loads(EVIDENCE_FILE.read_text())
