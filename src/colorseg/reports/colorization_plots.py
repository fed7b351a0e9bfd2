"""Colorization report plots: ab-distribution histograms and the uncertainty calibration plot.

Same conventions as :mod:`colorseg.reports.plots_common`: a new ``Figure`` per call (Agg), NaN / inf
dropped, never drawn as zeros.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from colorseg.reports.plots_common import new_figure, no_data

AB_RANGE = (-110.0, 110.0)  # Lab units; ab_norm × colorseg.data.lab.AB_SCALE


def ab_histograms(pred_ab: np.ndarray, gt_ab: np.ndarray, bins: int = 64) -> Figure:
    """Side-by-side log-density 2-D histograms (count / N, shared colour scale) of (N, 2) ab, a on x, b on y."""
    hists = []
    for arr in (pred_ab, gt_ab):
        a = np.asarray(arr, float).reshape(-1, 2)
        a = a[np.isfinite(a).all(axis=1)]
        h, xe, ye = np.histogram2d(a[:, 0], a[:, 1], bins=bins, range=[AB_RANGE, AB_RANGE])
        hists.append(np.ma.masked_equal(h / max(h.sum(), 1.0), 0.0))
    positive = np.concatenate([h.compressed() for h in hists])
    norm = LogNorm(positive.min(), positive.max()) if positive.size else None
    fig, axes = new_figure((9.0, 4.0), 1, 2, grid=True)
    for ax, h, name in zip(axes[0], hists, ("predicted", "ground truth")):
        ax.grid(False)
        mesh = ax.pcolormesh(xe, ye, h.T, norm=norm, cmap="magma")
        ax.set(xlabel="a*", ylabel="b*", title=f"{name} ab", aspect="equal")
        no_data(ax, when=not positive.size)
    fig.colorbar(mesh, ax=list(axes[0]), label="density (log scale)")
    return fig


def calibration_plot(spread: np.ndarray, error: np.ndarray, bins: int = 10) -> Figure:
    """Mean error vs mean predicted spread in quantile bins of spread, with a y = x reference.

    ``spread`` and ``error`` share a shape (e.g. (N,) per pixel or per image); pairs with a non-finite
    member are dropped. Tied quantile edges merge, giving fewer bins."""
    s, e = np.asarray(spread, float).ravel(), np.asarray(error, float).ravel()
    if s.shape != e.shape:
        raise ValueError(f"spread and error differ in size: {s.shape} vs {e.shape}")
    ok = np.isfinite(s) & np.isfinite(e)
    s, e = s[ok], e[ok]
    fig, ax = new_figure((5.0, 4.0))
    if s.size:
        edges = np.unique(np.quantile(s, np.linspace(0.0, 1.0, bins + 1)))
        idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, max(len(edges) - 2, 0))
        count = np.bincount(idx)
        used = count > 0
        ms, me = (np.bincount(idx, weights=w)[used] / count[used] for w in (s, e))
        hi = max(ms.max(), me.max())
        ax.plot([0, hi], [0, hi], "k--", lw=1, label="y = x (calibrated)")
        ax.plot(ms, me, "o-", color="C0", label=f"{used.sum()} quantile bins")
        ax.legend(fontsize=8)
    no_data(ax, when=not s.size)
    ax.set(xlabel="predicted spread (bin mean)", ylabel="error (bin mean)", title="Uncertainty calibration")
    return fig
