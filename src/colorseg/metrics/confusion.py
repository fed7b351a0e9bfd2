"""Confusion counts and the overlap metrics derived from them.

One pass counts a (K, K) confusion matrix per image (rows = ground truth, columns =
prediction) with ``ignore_index`` pixels dropped; IoU, Dice and pixel accuracy are derived
late, per image or over the data set (summed counts).

Empty-mask convention (as MONAI's ``DiceMetric`` with ``ignore_empty=True``): a class absent
from both ground truth and prediction of an image has IoU = Dice = NaN for that image and is
left out of that image's means; a class present in only one of them scores 0. At dataset level
the same rule applies to the summed counts. Means over classes skip NaN; a per-class mean over
images skips the images where that class is NaN.
"""

from __future__ import annotations

import numpy as np
import torch


def compute_confusion(pred: torch.Tensor, target: torch.Tensor, num_classes: int,
                      ignore_index: int = 255) -> torch.Tensor:
    """Per-image confusion matrices.

    Args:
        pred: (B, H, W) long predicted class indices.
        target: (B, H, W) long ground truth; ``ignore_index`` pixels are skipped.
    Returns:
        (B, K, K) long, ``[b, t, p]`` = pixels of class t predicted as p.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    b = pred.shape[0]
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= num_classes))
    if bad.any():
        raise ValueError(f"target holds labels {target[bad].unique().tolist()[:10]} outside 0..{num_classes - 1} "
                         f"(ignore_index {ignore_index})")
    idx = target.clamp(0, num_classes - 1) * num_classes + pred.clamp(0, num_classes - 1)
    idx = idx + (torch.arange(b, device=pred.device) * num_classes**2).view(b, 1, 1)
    counts = torch.bincount(idx[valid], minlength=b * num_classes**2)
    return counts.view(b, num_classes, num_classes)


def scores_from_confusion(conf: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
    """IoU, Dice per class and pixel accuracy from a (K, K) or (B, K, K) confusion.

    Returns ``iou`` and ``dice`` of shape (..., K) with NaN for classes absent in both
    ground truth and prediction, and ``pixel_accuracy`` of shape (...) (NaN if no pixels).
    """
    c = np.asarray(conf.cpu() if isinstance(conf, torch.Tensor) else conf, dtype=np.float64)
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    gt = c.sum(-1)
    pr = c.sum(-2)
    union = gt + pr - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(gt + pr > 0, 2 * tp / (gt + pr), np.nan)
        total = c.sum((-2, -1))
        acc = np.where(total > 0, tp.sum(-1) / total, np.nan)
    return {"iou": iou, "dice": dice, "pixel_accuracy": acc}


def nanmean(x: np.ndarray, axis=None):
    """Mean ignoring NaN; NaN (without warning) when everything is NaN."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        count = (~np.isnan(x)).sum(axis=axis)
        total = np.nansum(x, axis=axis)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


class ConfusionAccumulator:
    """update / compute / reset over batches; keeps per-image matrices for per-image metrics."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index
        self.reset()

    def reset(self) -> None:
        self.per_image: list[np.ndarray] = []
        self.names: list[str] = []

    def update(self, pred: torch.Tensor, target: torch.Tensor, names: list[str] | None = None) -> torch.Tensor:
        """Count a batch (see :func:`compute_confusion`); returns its (B, K, K) counts."""
        conf = compute_confusion(pred, target, self.num_classes, self.ignore_index)
        self.per_image.extend(conf.cpu().numpy())
        self.names.extend(names or [str(len(self.names) + i) for i in range(conf.shape[0])])
        return conf

    @property
    def total(self) -> np.ndarray:
        """(K, K) summed counts."""
        if not self.per_image:
            return np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        return np.sum(self.per_image, axis=0)

    def compute(self) -> dict:
        """Dataset-level scores: per-class ``iou``/``dice`` (K,), ``mean_iou``, ``mean_dice``,
        ``pixel_accuracy``, plus the per-image means of the per-image scores."""
        ds = scores_from_confusion(self.total)
        out = {"iou": ds["iou"], "dice": ds["dice"], "mean_iou": float(nanmean(ds["iou"])),
               "mean_dice": float(nanmean(ds["dice"])), "pixel_accuracy": float(ds["pixel_accuracy"])}
        if self.per_image:
            pi = scores_from_confusion(np.stack(self.per_image))
            out["per_image_mean_iou"] = float(nanmean(nanmean(pi["iou"], axis=1)))
            out["per_image_mean_dice"] = float(nanmean(nanmean(pi["dice"], axis=1)))
        return out
