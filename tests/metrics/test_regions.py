"""Region metrics (scikit-image's adapted Rand error on 4-connected regions, variation of
information) on hand-built cell images, with the pair counts worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colorseg.metrics.regions import region_scores

KEYS = {"adapted_rand_error", "rand_precision", "rand_recall", "vi_split", "vi_merge", "vi"}


def two_cells() -> np.ndarray:
    """7×9 foreground (1) split into two equal 7×4 cells by a membrane column (0)."""
    target = np.ones((7, 9), dtype=np.int64)
    target[:, 4] = 0
    return target


def test_perfect_prediction_scores_zero() -> None:
    target = two_cells()
    s = region_scores(target.copy(), target)
    assert set(s) == KEYS
    assert s["adapted_rand_error"] == pytest.approx(0.0, abs=1e-12)
    assert s["rand_precision"] == pytest.approx(1.0) and s["rand_recall"] == pytest.approx(1.0)
    assert s["vi"] == pytest.approx(0.0, abs=1e-12)
    assert s["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert s["vi_merge"] == pytest.approx(0.0, abs=1e-12)


def test_relabelled_regions_still_perfect() -> None:
    # Only the foreground class matters, not the class id of other classes.
    target = two_cells()
    pred = np.where(target == 1, 1, 2)
    s = region_scores(pred, target)
    assert s["adapted_rand_error"] == pytest.approx(0.0, abs=1e-12)
    assert s["vi"] == pytest.approx(0.0, abs=1e-12)


def test_merging_two_cells_is_a_merge_error() -> None:
    target = two_cells()
    pred = np.ones_like(target)  # membrane erased → one region covering both cells
    s = region_scores(pred, target)
    # scikit-image's pair counts over the 56 ground-truth cell pixels (membrane ignored), each
    # Σn² − n: both maps Σ p_ij² = 2·28² − 56 = 1512, ground truth 1512, prediction 56² − 56 = 3080
    assert s["rand_precision"] == pytest.approx(1512 / 1512)
    assert s["rand_recall"] == pytest.approx(1512 / 3080)  # = 27/55: the merge lowers recall
    assert s["adapted_rand_error"] == pytest.approx(1 - 2 * 1512 / (1512 + 3080))  # = 14/41 ≈ 0.341
    assert s["vi_merge"] == pytest.approx(1.0)  # two equal cells in one region: 1 bit
    assert s["vi_split"] == pytest.approx(0.0, abs=1e-12)
    assert s["vi"] == pytest.approx(s["vi_split"] + s["vi_merge"])


def test_splitting_a_cell_is_a_split_error() -> None:
    target = np.ones((7, 9), dtype=np.int64)  # one cell
    pred = target.copy()
    pred[:, 4] = 0  # a false membrane cuts it into two 7×4 regions (+ 7 membrane pixels)
    s = region_scores(pred, target)
    # over all 63 pixels: both maps Σ p_ij² − n = 7² + 2·28² − 63 = 1554, ground truth 63² − 63 =
    # 3906, prediction (regions 7, 28, 28; its background counts as a region) 1554
    assert s["rand_precision"] == pytest.approx(1554 / 3906)  # = 37/93: the split lowers precision
    assert s["rand_recall"] == pytest.approx(1554 / 1554)
    assert s["adapted_rand_error"] == pytest.approx(1 - 2 * 1554 / (3906 + 1554))  # = 28/65 ≈ 0.431
    assert s["vi_merge"] == pytest.approx(0.0, abs=1e-12)
    # H(pred | gt) with region sizes 28, 28, 7 of 63
    expected = -sum(p * math.log2(p) for p in (4 / 9, 4 / 9, 1 / 9))
    assert s["vi_split"] == pytest.approx(expected)
    assert s["vi"] == pytest.approx(expected)


def test_split_is_worse_the_more_pieces() -> None:
    target = np.ones((7, 9), dtype=np.int64)
    two = target.copy()
    two[:, 4] = 0
    four = two.copy()
    four[3, :] = 0
    assert region_scores(four, target)["vi_split"] > region_scores(two, target)["vi_split"]


def test_no_foreground_in_ground_truth_gives_nan() -> None:
    target = np.zeros((5, 5), dtype=np.int64)
    pred = np.ones((5, 5), dtype=np.int64)
    s = region_scores(pred, target)
    assert set(s) == KEYS
    assert all(math.isnan(v) for v in s.values())


def test_ignored_pixels_excluded() -> None:
    target = two_cells()
    target[0, :] = 255
    pred = two_cells()
    pred[0, :] = 1  # would merge the cells through row 0, but that row is ignored
    s = region_scores(pred, target, ignore_index=255)
    assert s["adapted_rand_error"] == pytest.approx(0.0, abs=1e-12)
    assert s["vi"] == pytest.approx(0.0, abs=1e-12)
    assert region_scores(pred, target)["vi_merge"] > 0  # without ignoring, it is a merge


def test_all_foreground_ignored_gives_nan() -> None:
    target = np.full((4, 4), 255)
    assert math.isnan(region_scores(np.ones((4, 4), int), target, ignore_index=255)["vi"])
