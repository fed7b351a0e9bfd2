"""Everything a report needs from a run directory, as plain Python / pandas objects."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from colorseg.checkpoint import read_task
from colorseg.errors import DataError


@dataclass
class RunData:
    """A run directory loaded for reporting (test results are computed when missing)."""

    run_dir: Path
    task: str
    checkpoint: Path
    config: dict
    log: pd.DataFrame
    test_metrics: dict
    per_image: pd.DataFrame
    throughput: dict | None
    results_dir: Path | None = None  # the evaluation's folder (metrics.json, per_image.csv, tables)

    @property
    def name(self) -> str:
        return self.run_dir.name


def find_checkpoint(run_dir: Path) -> Path:
    """best.ckpt if present (what a user would deploy), else last.ckpt."""
    for name in ("best.ckpt", "last.ckpt"):
        path = run_dir / "checkpoints" / name
        if path.is_file():
            return path
    raise DataError(f"no checkpoint in {run_dir / 'checkpoints'} (is this a colorseg run directory?)")


def read_log(run_dir: Path) -> pd.DataFrame:
    """All ``logs/version_*/metrics.csv`` concatenated in order (resumed runs keep their history)."""
    files = sorted((run_dir / "logs").glob("version_*/metrics.csv"),
                   key=lambda p: int(p.parent.name.split("_")[-1]))
    frames = [pd.read_csv(f) for f in files if f.stat().st_size > 0]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["epoch", "step"])


def ensure_test_results(run_dir: Path, checkpoint: Path, task: str) -> Path:
    """The run's ``test-test`` results folder, evaluating the checkpoint first if needed."""
    out = run_dir / "test-test"
    if (out / "metrics.json").is_file() and (out / "per_image.csv").is_file():
        return out
    if task == "segment":
        from colorseg.evaluation.segmentation import evaluate_checkpoints

        evaluate_checkpoints([checkpoint], out)
    else:
        from colorseg.evaluation.colorization import evaluate_checkpoint

        evaluate_checkpoint(checkpoint, out)
    return out


def load_run(run_dir: str | Path) -> RunData:
    """Load config, logs, checkpoint and test results of a run directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run directory not found: {run_dir}")
    checkpoint = find_checkpoint(run_dir)
    task = read_task(checkpoint)
    config_path = run_dir / "config.yaml"
    config = yaml.safe_load(config_path.read_text()) if config_path.is_file() else {}
    test_dir = ensure_test_results(run_dir, checkpoint, task)
    throughput_path = run_dir / "throughput.json"
    return RunData(run_dir=run_dir, task=task, checkpoint=checkpoint, config=config or {},
                   log=read_log(run_dir), test_metrics=json.loads((test_dir / "metrics.json").read_text()),
                   per_image=pd.read_csv(test_dir / "per_image.csv"),
                   throughput=json.loads(throughput_path.read_text()) if throughput_path.is_file() else None,
                   results_dir=test_dir)


def read_results_table(run: RunData, name: str) -> pd.DataFrame | None:
    """An extra table the evaluation wrote (listed in ``metrics.json["tables"]``, e.g. ``latent.csv``),
    or None when it did not write it (no such analysis, or results from an older colorseg)."""
    if run.results_dir is None or name not in run.test_metrics.get("tables", []):
        return None
    path = run.results_dir / name
    return pd.read_csv(path) if path.is_file() else None


def selection_warning(metrics: dict) -> str | None:
    """The sentence a report shows when its scores are not held out (``selection_split_reused``
    in ``metrics.json``), else None."""
    if not metrics.get("selection_split_reused"):
        return None
    return f"Not a held-out score: {metrics.get('selection_note') or 'the evaluated split chose the checkpoint'}."


def report_title(title: str, metrics: dict) -> str:
    """``title``, marked when the scores are on a split used for selection."""
    return f"{title} (scores on a split used for selection, not held out)" if selection_warning(metrics) else title


def flatten(d: dict, prefix: str = "") -> dict:
    """Nested config → ``{"model.lr": 0.001, …}`` (lists shown as text)."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v if not isinstance(v, list) else json.dumps(v)
    return out


def hardware() -> dict:
    """Where the report was made: platform, CPU count, torch version and devices."""
    import os

    import torch

    return {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "cuda": torch.cuda.is_available(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"}
