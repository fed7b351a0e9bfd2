"""Compare runs of one task on one test set: summary table, paired statistics, curves, images.

Paired differences are per image (run − reference run, the first one given): the mean, a
seeded percentile-bootstrap 95 % confidence interval, and a two-sided Wilcoxon signed-rank
p-value, so users can tell a real difference from noise. Runs of different tasks, or evaluated
on different test sets (other image names or data source), are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from colorseg.data.files import atomic_write
from colorseg.errors import ConfigError
from colorseg.metrics.registry import PAIRED, SUMMARY, labels
from colorseg.reports import plots_common as plots
from colorseg.reports.html import HtmlReport
from colorseg.reports.run_data import RunData

SUMMARY_KEYS = SUMMARY  # task → metric keys of the summary table (colorseg.metrics.registry)
PAIRED_KEYS = {task: list(keys) for task, keys in PAIRED.items()}  # task → per-image keys compared in pairs
LABELS = {task: labels(task) for task in SUMMARY}  # metric key → label shown in the HTML
CURVE_KEYS = {"segment": "val/mean_iou", "colorize": "val/psnr"}


def bootstrap_ci(diffs: np.ndarray, n_boot: int = 10_000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``diffs`` (seeded)."""
    diffs = np.asarray(diffs, dtype=np.float64)
    if len(diffs) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), size=(n_boot, len(diffs)))].mean(1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def wilcoxon_p(diffs: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; 1.0 when all differences are zero, NaN if < 2 pairs."""
    diffs = np.asarray(diffs, dtype=np.float64)
    if len(diffs) < 2:
        return float("nan")
    if np.allclose(diffs, 0):
        return 1.0
    return float(stats.wilcoxon(diffs).pvalue)


def paired_table(reference: pd.DataFrame, other: pd.DataFrame, metrics: list[str], name: str) -> pd.DataFrame:
    """Per-metric paired statistics of ``other − reference`` over images matched by name."""
    merged = reference.merge(other, on="name", suffixes=("_ref", "_run"))
    rows = []
    for metric in metrics:
        if f"{metric}_ref" not in merged:
            continue
        pair = merged[[f"{metric}_ref", f"{metric}_run"]].dropna()
        diffs = (pair[f"{metric}_run"] - pair[f"{metric}_ref"]).to_numpy()
        low, high = bootstrap_ci(diffs)
        rows.append({"run": name, "metric": metric, "n_images": len(diffs),
                     "mean_diff": float(diffs.mean()) if len(diffs) else float("nan"),
                     "ci_low": low, "ci_high": high, "wilcoxon_p": wilcoxon_p(diffs),
                     "significant": bool(len(diffs) and (low > 0 or high < 0))})
    return pd.DataFrame(rows)


def check_comparable(runs: list[RunData]) -> None:
    """Refuse runs of different tasks or test sets (ConfigError naming the runs)."""
    if len(runs) < 2:
        raise ConfigError("compare needs at least two run directories")
    ref = runs[0]
    for run in runs[1:]:
        if run.task != ref.task:
            raise ConfigError(f"cannot compare a {ref.task} run ({ref.run_dir}) with a {run.task} run ({run.run_dir})")
        if sorted(map(str, run.per_image["name"])) != sorted(map(str, ref.per_image["name"])):
            raise ConfigError(f"runs {ref.run_dir} and {run.run_dir} were tested on different images; "
                              "compare needs the same test set")
        a, b = ref.config.get("data", {}), run.config.get("data", {})
        for key in ("source", "root"):
            if a.get(key) != b.get(key):
                raise ConfigError(f"runs {ref.run_dir} and {run.run_dir} use different data.{key} "
                                  f"({a.get(key)!r} vs {b.get(key)!r})")


def unique_names(runs: list[RunData]) -> list[str]:
    """Run names for tables: the folder name, made unique with its parent when needed."""
    names = [r.name for r in runs]
    return [f"{r.run_dir.parent.name}/{r.name}" if names.count(r.name) > 1 else r.name for r in runs]


def render_comparison(runs: list[RunData], output: Path, example_images=None) -> Path:
    """Write the comparison HTML and ``<stem>_tables/{summary,paired}.csv``.

    ``example_images(runs) -> (rows, column_titles, row_labels)`` may add the same images side by
    side across runs (see :mod:`colorseg.reports.examples`).
    """
    check_comparable(runs)
    task = runs[0].task
    names = unique_names(runs)
    summary = pd.DataFrame([{"run": n, "encoder": r.config.get("model", {}).get("encoder", "unet"),
                             "held out": not r.test_metrics.get("selection_split_reused"),
                             **{k: r.test_metrics.get(k) for k in SUMMARY_KEYS[task]}}
                            for n, r in zip(names, runs)])
    paired = pd.concat([paired_table(runs[0].per_image, r.per_image, PAIRED_KEYS[task], n)
                        for n, r in zip(names[1:], runs[1:])], ignore_index=True)
    labels = LABELS[task]
    report = HtmlReport(f"Comparison of {len(runs)} {task} runs")
    report.section("Summary metrics")
    report.table(summary.rename(columns=labels), caption="Test-set metrics of each run ('held out' false: the "
                 "scores are on a split that trained or selected that run)")
    report.section("Paired per-image differences")
    report.text(f"Differences are run − {names[0]} per test image ({len(runs[0].per_image)} images): mean, "
                "95 % bootstrap confidence interval (10,000 resamples) and Wilcoxon signed-rank p-value. "
                "A difference is called significant when its interval excludes 0.")
    report.table(paired.replace({"metric": labels}), caption="Paired differences against the reference run")
    for metric in PAIRED_KEYS[task]:
        rows = paired[paired["metric"] == metric]
        label = labels.get(metric, metric)
        if len(rows):
            report.figure(plots.paired_differences(rows.assign(metric=rows["run"] + ": " + label)),
                          f"{label}: mean difference with 95 % CI")
    report.section("Learning curves")
    curve = CURVE_KEYS[task]
    curves = {n: r.log for n, r in zip(names, runs) if curve in r.log}
    if curves:
        report.figure(plots.overlaid_curves(curves, curve), f"{curve} per epoch")
    if example_images is not None:
        report.section("Same images across runs")
        rows, titles, labels = example_images(runs, names)
        report.figure(plots.image_grid(rows, titles, labels), "Each column is one run")
    tables = output.parent / f"{output.stem}_tables"
    tables.mkdir(parents=True, exist_ok=True)
    atomic_write(tables / "summary.csv", lambda p: summary.to_csv(p, index=False))
    atomic_write(tables / "paired.csv", lambda p: paired.to_csv(p, index=False))
    return report.save(output)
