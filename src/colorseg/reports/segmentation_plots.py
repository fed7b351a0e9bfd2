"""Segmentation report plots: per-class score bars and the row-normalised confusion heatmap.

Same conventions as :mod:`colorseg.reports.plots_common`: a new ``Figure`` per call (Agg), NaN / ``None``
never drawn as zeros.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from colorseg.reports.plots_common import new_figure, tick_labels


def per_class_bars(per_class: dict[str, dict[str, float | None]],
                   metrics: Sequence[str] = ("iou", "dice")) -> Figure:
    """Grouped bars per class of ``per_class[name][metric]``; ``None`` / NaN → no bar, an "n/a" mark."""
    names = list(per_class)
    fig, ax = new_figure((max(6.0, 0.6 * len(names) + 2.0), 3.5))
    x, width = np.arange(len(names)), 0.8 / max(len(metrics), 1)
    for j, m in enumerate(metrics):
        vals = np.array([np.nan if per_class[n].get(m) is None else float(per_class[n][m]) for n in names])
        ok, pos = np.isfinite(vals), x + (j - (len(metrics) - 1) / 2) * width
        ax.bar(pos[ok], vals[ok], width, label="IoU" if m == "iou" else m.replace("_", " ").title(), color=f"C{j}")
        for p in pos[~ok]:
            ax.text(p, 0.02, "n/a", ha="center", va="bottom", rotation=90, fontsize=7, color="gray")
    tick_labels(ax, names)
    ax.set(ylim=(0, 1.05), ylabel="score", title="Per-class scores")
    ax.legend(fontsize=8)
    return fig


def confusion_heatmap(confusion: np.ndarray, class_names: list[str], annotate_max: int = 12) -> Figure:
    """Row-normalised (K, K) counts, rows = truth: non-empty rows sum to 1, empty rows 0; annotated if K small."""
    cm, k = np.asarray(confusion, dtype=float), len(class_names)
    if cm.shape != (k, k):
        raise ValueError(f"confusion must be ({k}, {k}) for {k} class names, got {cm.shape}")
    totals = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    side = max(4.5, 0.45 * k + 2.5)
    fig, ax = new_figure((side + 1.0, side))
    sns.heatmap(norm, ax=ax, vmin=0.0, vmax=1.0, cmap="Blues", annot=k <= annotate_max, fmt=".2f",
                annot_kws={"fontsize": 8}, xticklabels=class_names, yticklabels=class_names, square=True,
                cbar_kws={"label": "fraction of ground-truth row"})
    ax.set(xlabel="predicted", ylabel="ground truth", title="Confusion (row-normalised)")
    return fig
