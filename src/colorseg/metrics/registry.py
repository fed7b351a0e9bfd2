"""The one table of metric names per task: key → label, direction and number format.

Every report, comparison, benchmark table and evaluation that names metrics reads these tables,
so a metric is added or relabelled in one place. Keys are the keys of ``metrics.json`` and the
columns of ``per_image.csv``; order is display order.

* :data:`SEGMENTATION_METRICS`, :data:`COLORIZATION_METRICS`: key → :class:`Metric`.
* Named selections (tuples of keys, each a subset of its table, in table order):
  ``*_SUMMARY`` (a run's summary table), ``*_PAIRED`` (per-image metrics compared run against run),
  ``*_HEADLINE`` (the few shown in the demo's index), and for colorization the per-image
  (:data:`COLORIZATION_IMAGE_METRICS`) and feature-distribution (:data:`COLORIZATION_DISTRIBUTION`)
  groups the evaluation writes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One metric: its ``metrics.json`` key, the label reports show, whether higher is better
    (None: not a score, e.g. a count or a spread) and a format spec for its value."""

    key: str
    label: str
    higher_is_better: bool | None
    fmt: str = ".4f"

    def format(self, value: float | None) -> str:
        """``value`` with :attr:`fmt`; "-" for a missing value."""
        return "-" if value is None else format(value, self.fmt)


def _table(*metrics: Metric) -> dict[str, Metric]:
    return {m.key: m for m in metrics}


SEGMENTATION_METRICS: dict[str, Metric] = _table(
    Metric("mean_iou", "mean IoU", True),
    Metric("mean_dice", "mean Dice", True),
    Metric("pixel_accuracy", "pixel accuracy", True),
    Metric("per_image_mean_iou", "per-image mean IoU", True),
    Metric("mean_boundary_f1", "mean boundary F1", True),
    # scikit-image's region metrics, not the ISBI leaderboard's (see colorseg.metrics.regions)
    Metric("adapted_rand_error", "adapted Rand error (scikit-image, 4-connected regions)", False),
    Metric("vi", "variation of information (4-connected regions)", False),
)

COLORIZATION_METRICS: dict[str, Metric] = _table(
    Metric("psnr", "PSNR (dB)", True, ".2f"),
    Metric("ssim", "SSIM", True, ".3f"),
    Metric("colorfulness", "colourfulness", None, ".1f"),
    Metric("gt_colorfulness", "GT colourfulness", None, ".1f"),
    Metric("delta_colorfulness", "|ΔCF|", False, ".1f"),
    Metric("ab_auc", "ab AuC", True, ".3f"),
    Metric("mean_sample_psnr", "mean single-sample PSNR (dB)", True, ".2f"),
    Metric("best_of_n_psnr", "oracle best-of-N PSNR (dB)", True, ".2f"),
    Metric("diversity", "diversity", None, ".2f"),
    Metric("sample_colorfulness", "sampled colourfulness", None, ".1f"),
    Metric("sample_delta_colorfulness", "sampled |ΔCF|", False, ".1f"),
    Metric("feature_distance", "perceptual-loss distance (Lite0, training objective)", False, ".4f"),
    Metric("fd_lite2", "Fréchet distance (Lite2 features)", False, ".2f"),
    Metric("kid_lite2", "KID (Lite2 features)", False, ".5f"),
    Metric("kid_lite2_std", "KID std over subsets", None, ".5f"),
    Metric("feature_distribution_images", "images in FD / KID", None, "d"),
)

METRICS: dict[str, dict[str, Metric]] = {"segment": SEGMENTATION_METRICS, "colorize": COLORIZATION_METRICS}

SEGMENTATION_SUMMARY = ("mean_iou", "mean_dice", "pixel_accuracy", "per_image_mean_iou", "mean_boundary_f1",
                        "adapted_rand_error", "vi")
SEGMENTATION_PAIRED = ("mean_iou", "mean_dice", "pixel_accuracy")
SEGMENTATION_HEADLINE = SEGMENTATION_PAIRED
SEGMENTATION_PER_IMAGE = ("mean_iou", "mean_dice", "pixel_accuracy", "adapted_rand_error")

COLORIZATION_IMAGE_METRICS = ("psnr", "ssim", "colorfulness", "gt_colorfulness", "delta_colorfulness", "ab_auc",
                              "mean_sample_psnr", "best_of_n_psnr", "diversity", "sample_colorfulness",
                              "sample_delta_colorfulness", "feature_distance")
COLORIZATION_DISTRIBUTION = ("fd_lite2", "kid_lite2", "kid_lite2_std", "feature_distribution_images")
COLORIZATION_SUMMARY = ("psnr", "ssim", "colorfulness", "gt_colorfulness", "delta_colorfulness", "ab_auc",
                        "mean_sample_psnr", "best_of_n_psnr", "diversity", "feature_distance", "fd_lite2",
                        "kid_lite2", "kid_lite2_std", "feature_distribution_images")
COLORIZATION_PAIRED = ("psnr", "ssim", "delta_colorfulness", "mean_sample_psnr", "best_of_n_psnr",
                       "feature_distance")
COLORIZATION_HEADLINE = ("psnr", "colorfulness", "gt_colorfulness", "mean_sample_psnr", "best_of_n_psnr",
                         "diversity")

SUMMARY = {"segment": SEGMENTATION_SUMMARY, "colorize": COLORIZATION_SUMMARY}
PAIRED = {"segment": SEGMENTATION_PAIRED, "colorize": COLORIZATION_PAIRED}
HEADLINE = {"segment": SEGMENTATION_HEADLINE, "colorize": COLORIZATION_HEADLINE}


def labels(task: str) -> dict[str, str]:
    """key → label for ``task`` ("segment" or "colorize"), for ``DataFrame.rename(columns=...)``."""
    return {k: m.label for k, m in METRICS[task].items()}


def all_labels() -> dict[str, str]:
    """key → label over both tasks (the keys do not overlap)."""
    return {**labels("segment"), **labels("colorize")}
