"""Every plot returns a Figure with axes under Agg on tiny hand-made data, NaN-heavy included."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from colorseg.reports import colorization_plots, segmentation_plots
from colorseg.reports import plots_common as plots

NAN = np.nan


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def lightning_log() -> pd.DataFrame:
    """A CSVLogger-like table: step rows, epoch rows, val rows and lr rows, mostly empty cells."""
    rows = []
    for epoch in range(3):
        for step in range(epoch * 2, epoch * 2 + 2):
            rows.append({"epoch": epoch, "step": step, "train/loss_step": 1.0 / (step + 1),
                         "train/recon_step": 0.5 / (step + 1)})
            rows.append({"step": step, "lr-AdamW": 1e-3 * 0.9 ** step})  # LearningRateMonitor: no epoch
        rows.append({"epoch": epoch, "step": epoch * 2 + 1, "val/loss": 0.9 / (epoch + 1),
                     "val/mean_iou": 0.3 + 0.1 * epoch, "val/psnr": 20.0 + epoch})
        rows.append({"epoch": epoch, "step": epoch * 2 + 1, "train/loss_epoch": 0.8 / (epoch + 1),
                     "train/recon_epoch": 0.4 / (epoch + 1)})
    return pd.DataFrame(rows)


def check(fig) -> Figure:
    assert isinstance(fig, Figure)
    assert len(fig.axes) >= 1
    fig.canvas.draw()  # the whole figure renders under Agg
    return fig


def test_learning_curves_one_panel_per_base_metric_with_train_and_val():
    df = lightning_log()
    assert df.isna().to_numpy().mean() > 0.5  # NaN-heavy, as Lightning writes it
    fig = check(plots.learning_curves(df))
    titles = [ax.get_title() for ax in fig.axes]
    assert sorted(titles) == ["loss", "lr-AdamW", "mean_iou", "psnr", "recon"]
    assert titles[0] == "loss"
    loss_ax = fig.axes[0]
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels == ["train", "val"]  # train/loss_step skipped since train/loss_epoch exists
    assert loss_ax.get_xlabel() == "epoch"
    train = loss_ax.get_lines()[0]
    np.testing.assert_allclose(train.get_xdata(), [0, 1, 2])
    np.testing.assert_allclose(train.get_ydata(), [0.8, 0.4, 0.8 / 3])
    lr_ax = fig.axes[titles.index("lr-AdamW")]
    assert lr_ax.get_xlabel() == "step" and len(lr_ax.get_lines()[0].get_xdata()) == 6


def test_learning_curves_step_only_and_empty_tables():
    df = pd.DataFrame({"epoch": [0, 0, 1], "step": [0, 1, 2], "train/loss_step": [1.0, NAN, 0.5]})
    fig = check(plots.learning_curves(df))
    assert [ax.get_title() for ax in fig.axes] == ["loss"]
    assert fig.axes[0].get_lines()[0].get_label() == "train (step)"
    check(plots.learning_curves(pd.DataFrame({"epoch": [0], "step": [0], "val/loss": [NAN]})))


def test_learning_curves_caps_panels():
    df = pd.DataFrame({"epoch": [0, 1], "step": [0, 1], **{f"val/m{i}": [0.1, 0.2] for i in range(20)}})
    assert len(check(plots.learning_curves(df)).axes) == 12


def test_per_class_bars_skips_missing_values():
    fig = check(segmentation_plots.per_class_bars({"background": {"iou": 0.9, "dice": 0.95},
                                      "cell": {"iou": None, "dice": NAN}, "edge": {"iou": 0.5, "dice": 0.6}}))
    heights = sorted(round(p.get_height(), 3) for p in fig.axes[0].patches)
    assert heights == [0.5, 0.6, 0.9, 0.95]


def test_confusion_heatmap_rows_sum_to_one_and_zero_rows_stay_zero():
    cm = np.array([[8, 2, 0], [0, 0, 0], [1, 1, 2]])
    fig = check(segmentation_plots.confusion_heatmap(cm, ["a", "b", "c"]))
    plotted = np.asarray(fig.axes[0].collections[0].get_array()).reshape(3, 3)
    np.testing.assert_allclose(plotted.sum(axis=1), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(plotted[0], [0.8, 0.2, 0.0])
    assert len(fig.axes[0].texts) == 9  # annotated for K ≤ 12
    with pytest.raises(ValueError):
        segmentation_plots.confusion_heatmap(cm, ["a", "b"])


def test_metric_distributions_drops_nan():
    table = pd.DataFrame({"mean_iou": [0.5, NAN, 0.7, 0.6], "mean_dice": [NAN, NAN, NAN, NAN],
                          "pixel_accuracy": [0.9, 0.8, NAN, 0.95]})
    fig = check(plots.metric_distributions(table, ["mean_iou", "mean_dice", "pixel_accuracy"], "per image"))
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["mean_iou", "pixel_accuracy"]
    check(plots.metric_distributions(table, ["mean_dice"]))


def test_image_grid_mixed_dtypes_and_ragged_rows():
    rgb_float = np.linspace(0, 1, 4 * 5 * 3).reshape(4, 5, 3)
    rgb_u8 = (rgb_float * 255).astype(np.uint8)
    gray = np.random.default_rng(0).random((4, 5))
    mask = np.array([[0, 1, 2, 1, 0]] * 4)
    fig = check(plots.image_grid([[rgb_float, rgb_u8, gray], [mask, gray > 0.5]], ["a", "b", "c"], ["r1", "r2"]))
    assert len(fig.axes) == 6
    assert fig.axes[0].get_title() == "a" and fig.axes[0].get_ylabel() == "r1"
    assert not fig.axes[5].axison  # the missing cell of the short row
    with pytest.raises(ValueError):
        plots.image_grid([], [])


def test_scatter_with_diagonal_and_labels():
    fig = check(plots.scatter([0.1, 0.5, NAN], [0.2, 0.4, 0.3], "x", "y", "t", diagonal=True,
                              labels=["p", "q", "r"]))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "x" and ax.get_title() == "t"
    assert [t.get_text() for t in ax.texts] == ["p", "q"]  # no label on the NaN point
    assert any(line.get_label() == "y = x" for line in ax.get_lines())
    with pytest.raises(ValueError):
        plots.scatter([1, 2], [1], "x", "y")


def test_ab_histograms_density_and_empty():
    rng = np.random.default_rng(0)
    pred, gt = rng.normal(0, 20, (200, 2)), rng.normal(5, 30, (150, 2))
    gt[:10] = NAN
    fig = check(colorization_plots.ab_histograms(pred, gt, bins=16))
    assert len(fig.axes) == 3  # two panels + a shared colourbar
    density = fig.axes[0].collections[0].get_array()
    assert np.isclose(density.sum(), 1.0)
    assert fig.axes[0].get_xlim() == (-110.0, 110.0)
    check(colorization_plots.ab_histograms(np.zeros((0, 2)), np.full((3, 2), NAN)))


def test_histogram_and_bar():
    fig = check(plots.histogram(np.array([1.0, 2.0, 2.5, NAN, np.inf]), "PSNR (dB)", "t"))
    assert sum(p.get_height() for p in fig.axes[0].patches) == 3
    check(plots.histogram([NAN, None], "x"))
    fig = check(plots.bar([0.1, 0.3, NAN], ["z0", "z1", "z2"], "KL", "per dim"))
    assert [round(p.get_height(), 2) for p in fig.axes[0].patches] == [0.1, 0.3, 0.0]
    with pytest.raises(ValueError):
        plots.bar([1.0], ["a", "b"], "y")


def test_embedding_scatter_has_colourbar():
    rng = np.random.default_rng(1)
    fig = check(plots.embedding_scatter(rng.normal(size=(20, 2)), rng.random(20), "PCA", "colourfulness"))
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "colourfulness"


def test_calibration_plot_bins_by_spread_quantiles():
    spread = np.arange(1.0, 101.0)
    fig = check(colorization_plots.calibration_plot(spread, 2 * spread, bins=4))
    binned = next(line for line in fig.axes[0].get_lines() if "bins" in line.get_label())
    np.testing.assert_allclose(binned.get_xdata(), [13.0, 38.0, 63.0, 88.0], atol=0.5)
    np.testing.assert_allclose(binned.get_ydata(), 2 * binned.get_xdata())
    check(colorization_plots.calibration_plot(np.ones(5), np.arange(5.0)))  # tied edges → one bin
    check(colorization_plots.calibration_plot(np.array([NAN]), np.array([1.0])))


def test_overlaid_curves_one_line_per_run():
    a = pd.DataFrame({"epoch": [0, 0, 1, 1], "val/loss": [1.0, NAN, 0.5, NAN]})
    b = pd.DataFrame({"epoch": [0, 1], "val/loss_epoch": [0.9, 0.7]})
    c = pd.DataFrame({"epoch": [0], "other": [1.0]})
    fig = check(plots.overlaid_curves({"a": a, "b": b, "c": c}, "val/loss"))
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["a", "b"]
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), [1.0, 0.5])
    check(plots.overlaid_curves({"c": c}, "val/loss"))


def test_paired_differences_forest_plot():
    rows = pd.DataFrame({"metric": ["iou", "dice", "psnr"], "mean_diff": [0.05, -0.01, 0.2],
                         "ci_low": [0.01, -0.03, NAN], "ci_high": [0.09, 0.01, NAN]})
    fig = check(plots.paired_differences(rows))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["iou", "dice", "psnr"]
    assert ax.get_yticks()[0] == 2  # first row on top
    assert any(np.allclose(line.get_xdata(), 0.0) for line in ax.get_lines())  # the zero line
    check(plots.paired_differences(rows.iloc[:0]))
