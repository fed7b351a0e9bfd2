"""Region metrics for binary (EM-like) segmentation, as in the ISBI 2012 challenge.

The foreground class (cell interior) is split into connected regions (4-connectivity) in both
ground truth and prediction; the adapted Rand error and the variation of information compare
those two labelings (scikit-image). Background (membrane) pixels of the ground truth are
ignored by the Rand error, as in the challenge.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label
from skimage.metrics import adapted_rand_error, variation_of_information


def region_scores(pred: np.ndarray, target: np.ndarray, foreground: int = 1,
                  ignore_index: int | None = None) -> dict[str, float]:
    """Adapted Rand error / precision / recall and VI (split, merge, total) for one image.

    Args:
        pred, target: (H, W) integer class maps. ``foreground`` is the cell class.
    Returns:
        ``adapted_rand_error`` in [0, 1] (0 = perfect), ``rand_precision``, ``rand_recall``,
        ``vi_split``, ``vi_merge``, ``vi`` (sum; 0 = perfect). NaN values when the ground truth
        has no foreground region.
    """
    valid = np.ones_like(target, dtype=bool) if ignore_index is None else target != ignore_index
    gt = label((target == foreground) & valid, connectivity=1)
    pr = label((pred == foreground) & valid, connectivity=1)
    if gt.max() == 0:
        nan = float("nan")
        return {"adapted_rand_error": nan, "rand_precision": nan, "rand_recall": nan,
                "vi_split": nan, "vi_merge": nan, "vi": nan}
    are, prec, rec = adapted_rand_error(gt, pr)
    split, merge = variation_of_information(gt, pr, ignore_labels=(0,))
    return {"adapted_rand_error": float(are), "rand_precision": float(prec), "rand_recall": float(rec),
            "vi_split": float(split), "vi_merge": float(merge), "vi": float(split + merge)}
