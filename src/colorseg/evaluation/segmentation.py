"""`colorseg segment test`: evaluate a checkpoint on a data split → metrics.json + per_image.csv.

``metrics.json`` keys: ``mean_iou``, ``mean_dice``, ``pixel_accuracy`` (dataset level, from
summed confusion counts), ``per_image_mean_iou``, ``per_image_mean_dice``, ``per_class``
{name: {iou, dice, boundary_f1}}, ``mean_boundary_f1``, ``confusion`` (K×K counts, rows =
ground truth), ``num_images``, ``split``, ``checkpoint``; for binary data also
``adapted_rand_error`` and ``vi``: scikit-image's adapted Rand error and variation of information
on 4-connected cell regions, means over images (see :mod:`colorseg.metrics.regions`).
``per_class`` entries also carry ``gt_pixels`` and ``present`` (false: the class has no
ground-truth pixel in the split; its IoU/Dice are then ``null`` or 0 and it is listed in
``absent_classes``, never dropped). ``selection_split_reused`` is true when the evaluated
samples were used for training or for choosing checkpoints/schedules (``--split val|train``, a
run without a test split, or samples the checkpoint records in its train/val splits);
``selection_note`` then says which.
``per_image.csv``: one row per image with its IoU/Dice per class, mean IoU/Dice, pixel accuracy,
boundary F1 and (binary) region scores. Empty-mask convention: see :mod:`colorseg.metrics.confusion`.
``split_sizes``: the number of samples in each split of the evaluated data (what reports show).

The evaluated split is rebuilt from the checkpoint's data options with data code only
(:class:`~colorseg.data.split_datasets.SegmentationSplits`), the model through
:mod:`colorseg.checkpoint`: no Lightning, no training code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from colorseg.checkpoint import load_checkpoint
from colorseg.data.files import atomic_write
from colorseg.data.split_datasets import SegmentationSplits, option_names
from colorseg.errors import ConfigError
from colorseg.inference.segmenter import Segmenter
from colorseg.metrics.boundary import boundary_f1
from colorseg.metrics.confusion import ConfusionAccumulator, nanmean, scores_from_confusion
from colorseg.metrics.regions import region_scores

#: ``--data.KEY`` overrides ``segment test`` accepts: the options that decide the evaluated data.
DATA_OPTIONS = frozenset(option_names(SegmentationSplits))
#: Where a checkpoint keeps the training data module's state (Lightning stores a data module's
#: ``state_dict`` under its class's qualified name: ``SegmentationDataModule``).
DATAMODULE_STATE_KEY = "SegmentationDataModule"


def _clean(value):
    """JSON-safe: NaN → None, numpy → python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_clean(v) for v in list(value)]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def predict_labels(segmenter: Segmenter, image: torch.Tensor) -> torch.Tensor:
    """(C, H, W) in [0, 1] → (1, H, W) int64 labels; tiled like ``predict`` when larger than a tile."""
    if segmenter.needs_tiling(*image.shape[-2:]):
        return torch.from_numpy(segmenter.predict(image.permute(1, 2, 0).numpy()).astype(np.int64))[None]
    return segmenter.predict_tensor(image[None]).argmax(1).cpu()


def selection_overlap(data: SegmentationSplits, split: str,
                      recorded: dict[str, list[str]] | None = None) -> tuple[bool, str]:
    """Whether ``split`` was used for training or selection, and a note that says how.

    ``recorded``: the checkpoint's own split names (:func:`recorded_split_names`), so
    evaluating another root or changed split options cannot hide an overlap.
    """
    reasons = []
    if split in ("train", "val"):
        reasons.append(f"the {split} split was used for {'training' if split == 'train' else 'selection'}")
    elif data.selection_split_reused(split):
        reasons.append("this run has no test split: 'test' is the validation split used for selection")
    names = {s.name for s in data.dataset(split).samples}
    for used in ("train", "val"):
        shared = names & set((recorded or {}).get(used, [])) if split != used else set()
        if shared:
            reasons.append(f"{len(shared)} of the {len(names)} samples were in the checkpoint's {used} split")
    return bool(reasons), "; ".join(reasons)


def evaluate_segmenter(segmenter: Segmenter, data: SegmentationSplits, output_dir: str | Path,
                       split: str = "test", boundary_tolerance: float = 2.0, progress: bool = True,
                       checkpoint: str = "", recorded_splits: dict[str, list[str]] | None = None) -> dict:
    """Evaluate on ``split`` at full resolution and write ``metrics.json`` and ``per_image.csv``.

    ``data``: the splits (:func:`split_data_from_checkpoint`; a training data module works too).
    """
    names = segmenter.class_names
    k = len(names)
    if data.class_names != names:
        raise ConfigError(f"data classes {data.class_names} differ from the model's {names}")
    ignore = data.ignore_index
    dataset = data.dataset(split)
    acc = ConfusionAccumulator(k, ignore)
    rows = []
    for i in tqdm(range(len(dataset)), desc=f"test ({split})", unit="img", disable=not progress):
        item = dataset[i]
        pred = predict_labels(segmenter, item["image"])
        conf = acc.update(pred, item["mask"][None], [item["name"]])[0].numpy()
        pred_np, gt_np = pred[0].numpy(), item["mask"].numpy()
        s = scores_from_confusion(conf)
        row = {"name": item["name"], "mean_iou": nanmean(s["iou"]), "mean_dice": nanmean(s["dice"]),
               "pixel_accuracy": s["pixel_accuracy"]}
        bf = boundary_f1(pred_np, gt_np, k, boundary_tolerance, ignore)
        for c, cname in enumerate(names):
            row[f"iou_{cname}"], row[f"dice_{cname}"], row[f"bf1_{cname}"] = s["iou"][c], s["dice"][c], bf[c]
        if k == 2:
            row.update(region_scores(pred_np, gt_np, foreground=1, ignore_index=ignore))
        rows.append(row)
    table = pd.DataFrame(rows)
    result = acc.compute()
    gt_pixels = acc.total.sum(1)
    reused, note = selection_overlap(data, split, recorded_splits)
    metrics = {
        "mean_iou": result["mean_iou"], "mean_dice": result["mean_dice"],
        "pixel_accuracy": result["pixel_accuracy"],
        "per_image_mean_iou": result.get("per_image_mean_iou"),
        "per_image_mean_dice": result.get("per_image_mean_dice"),
        "per_class": {n: {"iou": result["iou"][c], "dice": result["dice"][c],
                          "boundary_f1": float(nanmean(table[f"bf1_{n}"].to_numpy(float))),
                          "gt_pixels": int(gt_pixels[c]), "present": bool(gt_pixels[c] > 0)}
                      for c, n in enumerate(names)},
        "absent_classes": [n for c, n in enumerate(names) if gt_pixels[c] == 0],
        "mean_boundary_f1": float(nanmean(table[[f"bf1_{n}" for n in names]].to_numpy(float))),
        "confusion": acc.total.tolist(),
        "num_images": len(table), "split": split, "checkpoint": checkpoint, "tta": segmenter.tiling.tta,
        "selection_split_reused": reused, "selection_note": note,
        "boundary_tolerance_px": boundary_tolerance,
        "split_sizes": {s: len(v) for s, v in data.split_names().items()},
    }
    if k == 2:
        metrics["adapted_rand_error"] = float(nanmean(table["adapted_rand_error"].to_numpy(float)))
        metrics["vi"] = float(nanmean(table["vi"].to_numpy(float)))
    return write_results(output_dir, table, metrics)


def write_results(output_dir: str | Path, table: pd.DataFrame, metrics: dict,
                  tables: dict[str, pd.DataFrame] | None = None) -> dict:
    """Atomically write ``per_image.csv``, the extra ``tables`` ({file name: table}, listed in
    ``metrics["tables"]``) and ``metrics.json`` last (NaN → null); returns the clean dict."""
    out = Path(output_dir)
    tables = dict(tables or {})
    clean = _clean({**metrics, "tables": sorted(tables)} if tables else metrics)
    # names from non-UTF-8 file names keep their undecodable bytes as \xNN escapes
    atomic_write(out / "per_image.csv", lambda p: table.to_csv(p, index=False, errors="backslashreplace"))
    for name, extra in tables.items():
        atomic_write(out / name, lambda p, df=extra: df.to_csv(p, index=False, errors="backslashreplace",
                                                               float_format="%.6g"))
    atomic_write(out / "metrics.json", lambda p: p.write_text(json.dumps(clean, indent=2)))
    return clean


def split_data_from_checkpoint(ckpt: dict, overrides: dict | None = None) -> SegmentationSplits:
    """The training run's data splits, rebuilt from a checkpoint's data options with ``overrides``
    applied (data code only: no data module, no Lightning).

    Checkpoints written before test splits were carved (no ``test_fraction`` in their data
    hyper-parameters) get ``test_fraction=0``: their 'test' split is their validation split, as
    it was when they were trained, and evaluation marks it ``selection_split_reused`` instead of
    carving a new test set that could overlap their training data.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - DATA_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown data option {unknown[0]!r}; known: {', '.join(sorted(DATA_OPTIONS))}")
    if "test_fraction" not in (ckpt.get("datamodule_hyper_parameters") or {}):
        overrides.setdefault("test_fraction", 0.0)
    return SegmentationSplits.from_options(ckpt.get("datamodule_hyper_parameters"), overrides)


def recorded_split_names(ckpt: dict) -> dict[str, list[str]]:
    """The sample names per split that the checkpoint's training run used ({} for old checkpoints)."""
    state = ckpt.get(DATAMODULE_STATE_KEY) or {}
    return state.get("split_names") or {}


def used_split_names(ckpts: list[dict]) -> dict[str, list[str]]:
    """The train and validation sample names of one or several checkpoints (an ensemble's
    members), merged per split: the samples that trained or selected any of them."""
    used: dict[str, list[str]] = {}
    for ckpt in ckpts:
        for split, names in recorded_split_names(ckpt).items():
            if split != "test":
                used.setdefault(split, []).extend(names)
    return used


def evaluate_checkpoints(paths: list[str | Path], output_dir: str | Path, split: str = "test",
                         overrides: dict | None = None, device: str = "cpu", progress: bool = True,
                         tta: str = "none") -> dict:
    """``segment test``: evaluate one checkpoint, or the ensemble of several (mean probabilities),
    on ``split`` of the first one's data (with ``overrides``) → ``metrics.json``, ``per_image.csv``.
    ``tta``: test-time augmentation (``none`` | ``flips`` | ``d4``, see
    :class:`~colorseg.inference.tiling.TileConfig`; recorded in ``metrics.json``; choose it on the
    validation split). Overlaps with any member's recorded train / validation samples are flagged."""
    from colorseg.inference.tiling import TileConfig

    paths = list(paths)
    tiling = TileConfig(tta=tta)  # checks the name before any loading
    members = [load_checkpoint(p, task="segment") for p in paths]
    return evaluate_segmenter(Segmenter.from_checkpoints(paths, device=device, tiling=tiling),
                              split_data_from_checkpoint(members[0], overrides), output_dir, split=split,
                              progress=progress, checkpoint=", ".join(map(str, paths)),
                              recorded_splits=used_split_names(members))
