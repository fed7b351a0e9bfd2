"""Region metrics for binary (EM-like) segmentation: scikit-image's adapted Rand error and
variation of information on 4-connected cell regions.

The foreground class (cell interior) is split into connected regions (4-connectivity) in both
ground truth and prediction, and the two labelings are compared with scikit-image's
``adapted_rand_error`` and ``variation_of_information``. Ground-truth background (membrane)
pixels are left out (``ignore_labels=(0,)``); the prediction's background counts as one more
region. This is *not* the ISBI 2012 leaderboard's "Rand score": the challenge thins the membranes
and scores with its own script (and reports a score, higher = better), so these numbers are not
comparable with the leaderboard. Report them as "adapted Rand error (scikit-image, 4-connected
regions)".
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label
from skimage.metrics import adapted_rand_error, variation_of_information


def region_scores(pred: np.ndarray, target: np.ndarray, foreground: int = 1,
                  ignore_index: int | None = None) -> dict[str, float]:
    """scikit-image's adapted Rand error / precision / recall and VI (split, merge, total) on the
    4-connected foreground regions of one image (see the module docstring).

    Args:
        pred, target: (H, W) integer class maps. ``foreground`` is the cell class.
    Returns:
        ``adapted_rand_error`` in [0, 1] (0 = perfect) = 1 − 2·S / (T + P), where S, T and P count
        the pairs of ground-truth cell pixels that lie in one region in both maps, in the ground
        truth, and in the prediction;
        ``rand_precision`` = S / T (scikit-image's naming: lowered by splits), ``rand_recall`` =
        S / P (lowered by merges); ``vi_split``, ``vi_merge``, ``vi`` (sum; 0 = perfect). NaN
        values when the ground truth has no foreground region.
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
