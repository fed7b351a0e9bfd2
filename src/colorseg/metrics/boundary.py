"""Boundary F1 score per class (Csurka et al. 2013), with a pixel distance tolerance.

A class's boundary is its mask minus its erosion. A predicted boundary pixel is a hit when a
ground-truth boundary pixel lies within ``tolerance`` pixels (Euclidean), and vice versa;
BF = 2PR / (P + R). Convention: NaN when the class is absent from both maps, 0 when it is
absent from exactly one.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, border_value=1)


def boundary_f1(pred: np.ndarray, target: np.ndarray, num_classes: int, tolerance: float = 2.0,
                ignore_index: int | None = None) -> np.ndarray:
    """Per-class boundary F1 for one image: (H, W) int maps → (K,) float in [0, 1] or NaN."""
    valid = np.ones_like(target, dtype=bool) if ignore_index is None else target != ignore_index
    scores = np.full(num_classes, np.nan)
    for k in range(num_classes):
        gt_m, pr_m = (target == k) & valid, (pred == k) & valid
        # Presence is decided on the masks: a class filling the whole (valid) image has an
        # empty boundary (image borders are not boundaries) but is still present.
        if not gt_m.any() and not pr_m.any():
            continue
        if not gt_m.any() or not pr_m.any():
            scores[k] = 0.0
            continue
        gt_b, pr_b = _boundary(gt_m), _boundary(pr_m)
        n_gt, n_pr = gt_b.sum(), pr_b.sum()
        if n_gt == 0 or n_pr == 0:  # a whole-image mask: perfect only if both are
            scores[k] = float(n_gt == n_pr)
            continue
        dist_to_gt = ndimage.distance_transform_edt(~gt_b)
        dist_to_pr = ndimage.distance_transform_edt(~pr_b)
        precision = (dist_to_gt[pr_b] <= tolerance).mean()
        recall = (dist_to_pr[gt_b] <= tolerance).mean()
        scores[k] = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return scores
