"""HTML report of a segmentation run: curves, per-class scores, confusion, best/worst images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from colorseg.checkpoint import load_checkpoint, segmentation_model_from_checkpoint
from colorseg.data.files import atomic_write
from colorseg.evaluation.segmentation import recorded_split_names, split_data_from_checkpoint
from colorseg.inference.segmenter import Segmenter, overlay
from colorseg.metrics.registry import SEGMENTATION_PER_IMAGE, SEGMENTATION_SUMMARY, labels
from colorseg.reports import plots_common as plots
from colorseg.reports import segmentation_plots
from colorseg.reports.html import HtmlReport
from colorseg.reports.run_data import RunData, flatten, hardware, report_title, selection_warning

LABELS = labels("segment")  # metric key → label (colorseg.metrics.registry)


def error_map(pred: np.ndarray, target: np.ndarray, ignore_index: int) -> np.ndarray:
    """(H, W) maps → (H, W, 3) float: white correct, red wrong, gray ignored."""
    out = np.ones((*target.shape, 3), dtype=np.float32)
    out[pred != target] = (0.85, 0.1, 0.1)
    out[target == ignore_index] = (0.6, 0.6, 0.6)
    return out


def example_rows(segmenter: Segmenter, dataset, names: list[str], ignore_index: int) -> list[list[np.ndarray]]:
    """For each named image of ``dataset`` (the evaluated split): image, ground-truth overlay,
    prediction overlay, error map."""
    index = {s.name: i for i, s in enumerate(dataset.samples)}
    rows = []
    for name in names:
        image, mask = dataset.load_pair(index[name])
        pred = segmenter.predict(image)
        shown_gt = np.where(mask == ignore_index, 0, mask)
        rows.append([np.clip(image if image.shape[2] == 3 else image[..., 0], 0, 1),
                     overlay(image, shown_gt, segmenter.class_colors) / 255.0,
                     overlay(image, pred, segmenter.class_colors) / 255.0,
                     error_map(pred, mask, ignore_index)])
    return rows


def split_sizes(run: RunData, ckpt: dict) -> dict[str, int]:
    """Images per split: as the evaluation wrote them (``split_sizes``), else as the checkpoint
    recorded them; {} for results and checkpoints older than both."""
    sizes = run.test_metrics.get("split_sizes")
    if sizes:
        return {s: sizes[s] for s in ("train", "val", "test") if s in sizes}
    return {s: len(v) for s, v in recorded_split_names(ckpt).items()}


def class_table(run: RunData) -> pd.DataFrame:
    """Per class: IoU, Dice, boundary F1 and ground-truth pixel frequency on the test set."""
    per_class = run.test_metrics["per_class"]
    conf = np.asarray(run.test_metrics["confusion"], dtype=np.float64)
    freq = conf.sum(1) / max(conf.sum(), 1)
    return pd.DataFrame([{"class": name, **{k: v for k, v in scores.items()}, "pixel_frequency": freq[i]}
                         for i, (name, scores) in enumerate(per_class.items())])


def render_segment_report(run: RunData, output: Path, n_examples: int = 3) -> Path:
    """Write ``output`` (HTML) and the CSV tables behind it into ``<output stem>_tables/``."""
    tables_dir = output.parent / f"{output.stem}_tables"
    m = run.test_metrics
    ckpt = load_checkpoint(run.checkpoint, "segment")  # once: data sizes, example images
    classes = class_table(run)
    report = HtmlReport(report_title(f"Segmentation report: {run.name}", m))

    report.section("Summary")
    if selection_warning(m):
        report.text(selection_warning(m))
    if m.get("absent_classes"):
        report.text(f"No ground-truth pixels of {', '.join(m['absent_classes'])} in the {m.get('split')} split: "
                    "their rows below are marked absent and the means average over the classes present.")
    headline = {LABELS.get(k, k): m.get(k) for k in SEGMENTATION_SUMMARY
                if m.get(k) is not None}
    model_cfg = run.config.get("model", {})
    report.key_values({"run directory": str(run.run_dir), "checkpoint": str(run.checkpoint),
                       "encoder": f"{model_cfg.get('encoder', 'unet')} ({model_cfg.get('encoder_weights', 'none')} weights)",
                       "evaluated split": m.get("split"), "images": m.get("num_images"),
                       "split used for selection": bool(m.get("selection_split_reused")), **headline})
    report.section("Timing and hardware")
    timing = dict(run.throughput or {})
    report.key_values({**{f"training {k}": v for k, v in timing.items()}, **hardware()})

    report.section("Data set")
    data_cfg = run.config.get("data", {})
    counts = split_sizes(run, ckpt)
    report.key_values({"source": data_cfg.get("source"), "root": data_cfg.get("root"),
                       **{f"{k} images": v for k, v in counts.items()}})
    report.table(classes[["class", "pixel_frequency"]], caption="Ground-truth pixel frequency per class (test set)")

    report.section("Learning curves")
    if len(run.log):
        report.figure(plots.learning_curves(run.log), "Training and validation curves per logged metric")
    else:
        report.text("No training log found.")

    report.section("Per-class scores")
    report.figure(segmentation_plots.per_class_bars(m["per_class"]), "IoU and Dice per class over the test set")
    report.table(classes, caption="Per-class scores (dataset level); empty = class absent from both maps")
    report.figure(segmentation_plots.confusion_heatmap(np.asarray(m["confusion"]), list(m["per_class"])),
                  "Confusion matrix normalised per ground-truth row")
    report.figure(plots.scatter(classes["pixel_frequency"], classes["iou"], "pixel frequency", "IoU",
                                "Class frequency vs IoU", labels=list(classes["class"])),
                  "Rare classes are usually the hard ones")

    report.section("Per-image scores")
    ticks = {k: v.replace(" (", "\n(") for k, v in LABELS.items()}  # two-line tick labels
    cols = [ticks.get(c, c) for c in SEGMENTATION_PER_IMAGE if c in run.per_image]
    report.figure(plots.metric_distributions(run.per_image.rename(columns=ticks), cols, "Per-image metrics"),
                  "Distribution over test images")
    ranked = run.per_image.dropna(subset=["mean_iou"]).sort_values("mean_iou")
    k = min(n_examples, len(ranked) // 2 or len(ranked))
    picks = list(ranked["name"].iloc[-k:][::-1]) + list(ranked["name"].iloc[:k])
    labels = [f"best: {n}" for n in picks[:k]] + [f"worst: {n}" for n in picks[k:]]
    if picks:
        report.section("Best and worst images")
        data = split_data_from_checkpoint(ckpt)
        rows = example_rows(Segmenter(segmentation_model_from_checkpoint(ckpt)), data.dataset(m.get("split", "test")),
                            [str(p) for p in picks], data.ignore_index)
        report.figure(plots.image_grid(rows,
                                       ["image", "ground truth", "prediction", "errors (red)"], labels),
                      f"The {k} best and {k} worst test images by mean IoU")
    report.section("Configuration")
    report.key_values(flatten(run.config))

    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, df in {"per_class.csv": classes, "per_image.csv": run.per_image, "learning_curves.csv": run.log,
                     "confusion.csv": pd.DataFrame(m["confusion"], index=list(m["per_class"]),
                                                   columns=list(m["per_class"]))}.items():
        atomic_write(tables_dir / name, lambda p, df=df, name=name: df.to_csv(p, index=name == "confusion.csv"))
    return report.save(output)

