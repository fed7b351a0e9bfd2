"""``colorseg segment cv``: k-fold cross-validation around a fixed test set, and the fold ensemble.

The test set is carved first (``data.test_names`` or ``data.test_fraction``) and is the same for
every fold; the folds split what is left. For each fold ``f`` of ``K``:

1. train with ``--data.num_folds=K --data.fold=f`` (a config's ``val_names`` are dropped; the best checkpoint and the plateau schedule
   are chosen on validation fold ``f``);
2. evaluate its best checkpoint on its validation fold (``test-val``: used for selection, so an
   optimistic estimate, reported as such) and on the test split (``test-test``: held out).

Then the K best checkpoints are ensembled (mean class probabilities, as nnU-Net does for small
data sets) and evaluated on the test split. Output::

    OUTPUT/fold{f}/                  the run directory of fold f (config, checkpoints, logs)
    OUTPUT/fold{f}/test-{val,test}/  metrics.json + per_image.csv
    OUTPUT/ensemble-test/            metrics.json + per_image.csv of the fold ensemble
    OUTPUT/cv.json                   per-fold metrics, mean ± sample std over folds, the ensemble's

An interrupted run resumes: folds with test metrics are kept, a fold with a ``last.ckpt`` resumes
from it (``--ckpt_path last``), the others start.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from colorseg.checkpoint import load_checkpoint
from colorseg.data.files import atomic_write, display_path
from colorseg.errors import ConfigError
from colorseg.evaluation.segmentation import (
    evaluate_segmenter,
    recorded_split_names,
    split_data_from_checkpoint,
    used_split_names,
)
from colorseg.inference.segmenter import Segmenter
from colorseg.metrics.registry import SEGMENTATION_SUMMARY
from colorseg.training.datamodule import SegmentationDataModule
from colorseg.training.fit import run_fit
from colorseg.training.segmenter_module import SegmenterModule

SUMMARY_KEYS = SEGMENTATION_SUMMARY
RESERVED = ("--run_dir", "--data.num_folds", "--data.fold", "--data.val_names", "--ckpt_path")


def summarize(per_fold: list[dict]) -> dict:
    """``{key: {"mean", "std", "values"}}`` over folds for the scalar metrics and per-class IoU/Dice
    (sample standard deviation, ddof=1; keys a fold lacks or has as null are skipped)."""
    def stats(values: list) -> dict | None:
        vals = [float(v) for v in values if v is not None]
        if not vals:
            return None
        return {"mean": float(np.mean(vals)), "std": float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0,
                "values": vals}

    out = {k: stats([m.get(k) for m in per_fold]) for k in SUMMARY_KEYS if any(k in m for m in per_fold)}
    out["per_class"] = {name: {metric: stats([m["per_class"][name][metric] for m in per_fold])
                               for metric in ("iou", "dice")}
                        for name in per_fold[0]["per_class"]}
    return out


def _evaluate_fold(run_dir: Path) -> None:
    ckpt_path = run_dir / "checkpoints" / "best.ckpt"
    if not ckpt_path.is_file():
        raise ConfigError(f"fold run {display_path(run_dir)} wrote no best.ckpt (did it validate at least once?)")
    ckpt = load_checkpoint(ckpt_path, "segment")
    segmenter = Segmenter.from_checkpoint(ckpt_path)
    for split in ("val", "test"):
        evaluate_segmenter(segmenter, split_data_from_checkpoint(ckpt), run_dir / f"test-{split}", split,
                           progress=False, checkpoint=str(ckpt_path), recorded_splits=recorded_split_names(ckpt))


def cross_validate(fit_args: list[str], folds: int, output: str | Path) -> dict:
    """Train and evaluate ``folds`` fold models with ``fit_args`` (LightningCLI arguments as for
    ``segment fit``), evaluate their ensemble, write ``cv.json``; returns its content."""
    if folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {folds}")
    clash = [a for a in fit_args if a.split("=")[0] in RESERVED]
    if clash:
        raise ConfigError(f"segment cv sets {', '.join(RESERVED)} itself; remove {clash[0]!r}")
    output = Path(output)
    for f in range(folds):
        run_dir = output / f"fold{f}"
        if (run_dir / "test-test" / "metrics.json").is_file():
            print(f"fold {f}: done, kept ({display_path(run_dir)})")
            continue
        resume = ["--ckpt_path", "last"] if (run_dir / "checkpoints" / "last.ckpt").is_file() else []
        print(f"fold {f}/{folds}: training{' (resumed)' if resume else ''} → {display_path(run_dir)}")
        run_fit(SegmenterModule, SegmentationDataModule,
                [*fit_args, "--data.val_names=null", f"--data.num_folds={folds}", f"--data.fold={f}",
                 "--run_dir", str(run_dir), *resume],
                task="segment")
        _evaluate_fold(run_dir)

    best = [output / f"fold{f}" / "checkpoints" / "best.ckpt" for f in range(folds)]
    ckpts = [load_checkpoint(p, "segment") for p in best]
    test_sets = {tuple(recorded_split_names(c).get("test", [])) for c in ckpts}
    if len(test_sets) != 1:
        raise ConfigError(f"the fold runs in {display_path(output)} have different test splits: "
                          "they cannot be compared or ensembled (were they trained with other data options?)")
    ensemble = evaluate_segmenter(Segmenter.from_checkpoints(best), split_data_from_checkpoint(ckpts[0]),
                                  output / "ensemble-test", "test", progress=False,
                                  checkpoint=", ".join(str(p) for p in best), recorded_splits=used_split_names(ckpts))
    read = lambda p: json.loads(p.read_text())
    val = [read(output / f"fold{f}" / "test-val" / "metrics.json") for f in range(folds)]
    test = [read(output / f"fold{f}" / "test-test" / "metrics.json") for f in range(folds)]
    result = {
        "folds": folds, "test_images": test[0]["num_images"],
        "test_split": "held out from every fold (never used for training or selection)",
        "val_note": "each fold's validation fold chose its checkpoint: an optimistic estimate",
        "per_fold": [{"fold": f, "val": val[f], "test": test[f]} for f in range(folds)],
        "val_summary": summarize(val), "test_summary": summarize(test), "ensemble_test": ensemble,
    }
    atomic_write(output / "cv.json", lambda p: p.write_text(json.dumps(result, indent=2)))
    return result


def describe(result: dict) -> str:
    """A few lines for the terminal: mean ± std over folds and the ensemble, on the test split."""
    t, e = result["test_summary"], result["ensemble_test"]
    lines = [f"{result['folds']}-fold cross-validation, test split of {result['test_images']} images:",
             (f"  fold models  mean IoU {t['mean_iou']['mean']:.4f} ± {t['mean_iou']['std']:.4f}, "
             f"mean Dice {t['mean_dice']['mean']:.4f} ± {t['mean_dice']['std']:.4f}"),
             f"  ensemble     mean IoU {e['mean_iou']:.4f}, mean Dice {e['mean_dice']:.4f}"]
    if "adapted_rand_error" in t:
        lines.append(f"  adapted Rand error (scikit-image, 4-connected regions): folds "
                     f"{t['adapted_rand_error']['mean']:.4f} ± {t['adapted_rand_error']['std']:.4f}, "
                     f"ensemble {e['adapted_rand_error']:.4f}")
    return "\n".join(lines)
