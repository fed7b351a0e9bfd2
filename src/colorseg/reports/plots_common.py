"""Report plots shared by both tasks: figure creation, learning curves, image grids, generic
bar / histogram / scatter / distribution plots and run comparisons.

Task-specific plots live in :mod:`colorseg.reports.segmentation_plots` (per-class bars, confusion)
and :mod:`colorseg.reports.colorization_plots` (ab histograms, calibration). All are pure functions
from pandas / numpy data to a new matplotlib ``Figure`` (Agg backend).

Seaborn "whitegrid" style per figure, never global. Nothing is shown or closed: the caller owns the figure
(``html.figure_to_data_uri`` closes it). NaN / inf / ``None`` are dropped, never drawn as zeros.
"""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

_STAGE_STYLE = {"train": ("C0", "-"), "val": ("C1", "--"), "test": ("C2", ":")}
# "train/loss_epoch" → ("train", "loss", "epoch"); "lr-AdamW" → (None, "lr-AdamW", None)
_METRIC_NAME = re.compile(r"(?:(train|val|test)/)?(.+?)(?:_(epoch|step))?")


def new_figure(figsize: tuple[float, float] = (6.0, 3.5), nrows: int = 1, ncols: int = 1, grid: bool = False):
    """New figure, seaborn "whitegrid", constrained layout → (fig, ax), or (fig, (nrows, ncols) axes) if grid."""
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained")
    return fig, axes if grid else axes[0, 0]


def no_data(ax, message: str = "no data", when: bool = True) -> None:
    """Write ``message`` in the middle of ``ax`` when ``when`` (an empty panel says why it is empty)."""
    if when:
        ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="gray")


def tick_labels(ax, names: list[str]) -> None:
    """One x tick per name; tilted when there are many or long names."""
    tilt = len(names) > 6 or any(len(s) > 10 for s in names)
    ax.set_xticks(np.arange(len(names)), names, rotation=30 if tilt else 0, ha="right" if tilt else "center")


def learning_curves(df: pd.DataFrame, max_panels: int = 12, ncols: int = 3) -> Figure:
    """One panel per base metric of a Lightning CSVLogger table, train / val / test overlaid.

    ``df``: ``epoch``, ``step`` and sparse metric columns (``train/loss_epoch``, ``val/loss``, ``lr-AdamW`` …). The
    base strips ``train/`` etc. and ``_epoch`` / ``_step``; ``_step`` is skipped when the stage has ``_epoch``. x is
    epoch (mean per epoch) when all rows of all series in a panel have one, else step. "loss" panels first."""
    cols = [c for c in df.columns if c not in ("epoch", "step") and pd.api.types.is_numeric_dtype(df[c])
            and df[c].notna().any()]
    parsed = {c: _METRIC_NAME.fullmatch(str(c)).groups() for c in cols}
    has_epoch = {(s, b) for s, b, k in parsed.values() if k == "epoch"}
    panels: dict[str, list[tuple[str, str, str]]] = {}
    for c in cols:
        stage, base, kind = parsed[c]
        if not (kind == "step" and (stage, base) in has_epoch):
            panels.setdefault(base, []).append((c, stage, kind))
    bases = sorted(panels, key=lambda b: "loss" not in b)[:max_panels]
    ncols = max(1, min(ncols, len(bases)))
    nrows = max(1, math.ceil(len(bases) / ncols))
    fig, axes = new_figure((4.0 * ncols, 3.0 * nrows), nrows, ncols, grid=True)
    no_data(axes[0, 0], "no metrics logged", when=not bases)
    for ax in axes.flat[max(len(bases), 1):]:
        fig.delaxes(ax)
    for ax, base in zip(axes.flat, bases):
        use_epoch = "epoch" in df and all(kind != "step" and bool(df.loc[df[c].notna(), "epoch"].notna().all())
                                          for c, _, kind in panels[base])
        xname = "epoch" if use_epoch else ("step" if "step" in df else None)
        for c, stage, kind in sorted(panels[base], key=lambda p: list(_STAGE_STYLE).index(p[1]) if p[1] else 3):
            rows = df.loc[df[c].notna()]
            x = rows[xname].to_numpy() if xname else rows.index.to_numpy()
            series = rows[c].groupby(x).mean() if use_epoch else pd.Series(rows[c].to_numpy(), x)
            color, style = _STAGE_STYLE.get(stage or "", ("C3", "-"))
            label = (stage or str(c)) + (" (step)" if kind == "step" else "")
            ax.plot(series.index, series.to_numpy(), ls=style, color=color, marker="o", ms=3, label=label)
        ax.set(title=base, xlabel=xname or "row", ylabel=base)
        ax.legend(fontsize=8)
    return fig


def metric_distributions(table: pd.DataFrame, columns: list[str], title: str = "") -> Figure:
    """Violin + narrow box per column of a per-image table (one row per image; NaN dropped)."""
    long = table[list(columns)].apply(pd.to_numeric, errors="coerce").melt(var_name="metric", value_name="value")
    long = long[np.isfinite(long["value"])]
    order = [c for c in columns if (long["metric"] == c).any()]
    fig, ax = new_figure((max(6.0, 1.2 * len(columns) + 2.0), 3.5))
    if order:
        kw = {"data": long, "x": "metric", "y": "value", "order": order, "ax": ax}
        sns.violinplot(**kw, inner=None, cut=0, color="C0", alpha=0.4)
        sns.boxplot(**kw, width=0.15, color="white", fliersize=2)
    no_data(ax, when=not order)
    ax.set(title=title or "Per-image distributions", xlabel="", ylabel="value")
    return fig


def _displayable(img: np.ndarray) -> tuple[np.ndarray, dict]:
    """By dtype: uint8 → 0..255; bool → 0/1; float → clipped to [0, 1]; other 2-D ints → label colours."""
    a = np.asarray(img)
    a = a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a
    gray: dict = {"cmap": "gray"} if a.ndim == 2 else {}
    if a.dtype == np.uint8:
        return a, gray | ({"vmin": 0, "vmax": 255} if gray else {})
    if np.issubdtype(a.dtype, np.integer) and a.ndim == 2:
        return a, {"cmap": "tab20", "interpolation": "nearest"}
    return np.clip(a.astype(float), 0.0, 1.0), gray | ({"vmin": 0, "vmax": 1} if gray else {})


def image_grid(rows: list[list[np.ndarray]], column_titles: list[str], row_labels: list[str] | None = None,
               cell_inches: float = 2.0) -> Figure:
    """Grid of images, ``rows[r][c]`` (H, W, 3) float in [0, 1] or uint8, or (H, W) gray; ticks off."""
    if not rows:
        raise ValueError("image_grid needs at least one row")
    nrows, ncols = len(rows), max(len(r) for r in rows)
    fig, axes = new_figure((cell_inches * ncols, cell_inches * nrows), nrows, ncols, grid=True)
    for (r, c), ax in np.ndenumerate(axes):
        if c >= len(rows[r]):
            ax.axis("off")
            continue
        data, kw = _displayable(rows[r][c])
        ax.imshow(data, **kw)
        ax.grid(False)
        ax.set(xticks=[], yticks=[], frame_on=False)
        if r == 0 and c < len(column_titles):
            ax.set_title(column_titles[c], fontsize=9)
        if c == 0 and row_labels is not None and r < len(row_labels):
            ax.set_ylabel(row_labels[r], fontsize=9)  # visible: only ticks and frame are off
    return fig


def scatter(x, y, xlabel: str, ylabel: str, title: str = "", diagonal: bool = False,
            labels: list[str] | None = None) -> Figure:
    """Scatter of (N,) ``x`` against (N,) ``y``; optional y = x line and per-point text labels."""
    xs, ys = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if xs.shape != ys.shape or (labels is not None and len(labels) != len(xs)):
        raise ValueError(f"x, y and labels must have equal length, got {len(xs)}, {len(ys)}")
    fig, ax = new_figure()
    ax.scatter(xs, ys, s=18, alpha=0.8)
    ok = np.isfinite(xs) & np.isfinite(ys)
    if diagonal and ok.any():
        lo, hi = min(xs[ok].min(), ys[ok].min()), max(xs[ok].max(), ys[ok].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
        ax.legend(fontsize=8)
    for text, xi, yi, good in zip(labels or [], xs, ys, ok):
        if good:
            ax.annotate(str(text), (xi, yi), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return fig


def histogram(values, xlabel: str, title: str = "", bins: int | str = "auto") -> Figure:
    """Histogram of the finite entries of ``values`` (any shape, flattened), dashed line at the mean."""
    v = np.asarray(values, float).ravel()  # None → NaN
    v = v[np.isfinite(v)]
    fig, ax = new_figure()
    if v.size:
        ax.hist(v, bins=bins, color="C0", alpha=0.8)
        ax.axvline(v.mean(), color="k", ls="--", lw=1, label=f"mean = {v.mean():.3g}")
        ax.legend(fontsize=8)
    no_data(ax, when=not v.size)
    ax.set(xlabel=xlabel, ylabel="count", title=title)
    return fig


def embedding_scatter(points: np.ndarray, color: np.ndarray, title: str, color_label: str) -> Figure:
    """(N, 2) ``points`` coloured by the (N,) scalar ``color``, with a colourbar."""
    p = np.asarray(points, float).reshape(-1, 2)
    fig, ax = new_figure((6.0, 4.5))
    sc = ax.scatter(p[:, 0], p[:, 1], c=np.asarray(color, float).ravel(), cmap="viridis", s=12)
    fig.colorbar(sc, ax=ax, label=color_label)
    ax.set(title=title, xlabel="dim 1", ylabel="dim 2")
    return fig


def bar(values, labels, ylabel: str, title: str = "") -> Figure:
    """One bar per (value, label), each annotated with its value (NaN → empty bar labelled "nan")."""
    vals, names = np.asarray(values, float).ravel(), [str(s) for s in labels]
    if len(vals) != len(names):
        raise ValueError(f"{len(vals)} values for {len(names)} labels")
    fig, ax = new_figure((max(6.0, 0.6 * len(names) + 2.0), 3.5))
    bars = ax.bar(np.arange(len(vals)), np.nan_to_num(vals), color=[f"C{i % 10}" for i in range(len(vals))])
    ax.bar_label(bars, labels=[f"{v:.3g}" for v in vals], fontsize=8)
    tick_labels(ax, names)
    ax.set(ylabel=ylabel, title=title)
    return fig


def overlaid_curves(curves: dict[str, pd.DataFrame], metric: str) -> Figure:
    """One line per run: ``curves[run]`` is a metrics table; x = epoch, y = ``metric`` (or ``metric_epoch``)."""
    fig, ax = new_figure()
    for run, df in curves.items():
        col = metric if metric in df else f"{metric}_epoch"
        if col in df and "epoch" in df and df[col].notna().any():
            series = df[["epoch", col]].apply(pd.to_numeric, errors="coerce").dropna().groupby("epoch")[col].mean()
            ax.plot(series.index, series.to_numpy(), marker="o", ms=3, label=str(run))
    if ax.lines:
        ax.legend(fontsize=8)
    no_data(ax, f"no run logged {metric}", when=not ax.lines)
    ax.set(xlabel="epoch", ylabel=metric, title=metric)
    return fig


def paired_differences(rows: pd.DataFrame, xlabel: str = "mean difference") -> Figure:
    """Forest plot, one row per ``metric`` (first on top): ``mean_diff`` and [``ci_low``, ``ci_high``], red if ∌ 0."""
    n = len(rows)
    fig, ax = new_figure((6.0, max(2.5, 0.45 * n + 1.2)))
    mean, lo, hi = (rows[c].to_numpy(float) for c in ("mean_diff", "ci_low", "ci_high"))
    y = np.arange(n)[::-1]
    err = np.clip(np.nan_to_num(np.vstack([mean - lo, hi - mean])), 0.0, None)
    for i in range(n):
        color = "C3" if lo[i] > 0 or hi[i] < 0 else "C0"
        ax.errorbar(mean[i], y[i], xerr=err[:, i:i + 1], fmt="o", color=color, capsize=3)
    ax.axvline(0.0, color="k", ls="--", lw=1)
    ax.set_yticks(y, [str(m) for m in rows["metric"]])
    ax.set(xlabel=xlabel, title="Paired differences (mean and CI)", ylim=(-0.7, n - 0.3))
    no_data(ax, when=not n)
    return fig
