"""Boundary F1 per class: perfect, shifted with/without tolerance, empty-class conventions."""

from __future__ import annotations

import numpy as np
import pytest

from colorseg.metrics.boundary import boundary_f1


def square(shift: int = 0, size: int = 12) -> np.ndarray:
    m = np.zeros((size, size), dtype=np.int64)
    m[4:8, 4 + shift:8 + shift] = 1
    return m


def test_perfect_prediction_is_one() -> None:
    target = square()
    np.testing.assert_array_equal(boundary_f1(target.copy(), target, 2), [1.0, 1.0])


@pytest.mark.parametrize("tolerance", [1.0, 2.0])
def test_one_pixel_shift_within_tolerance_is_one(tolerance) -> None:
    s = boundary_f1(square(1), square(), 2, tolerance=tolerance)
    np.testing.assert_array_equal(s, [1.0, 1.0])


def test_one_pixel_shift_without_tolerance_is_below_one() -> None:
    s = boundary_f1(square(1), square(), 2, tolerance=0)
    assert (s < 1).all() and (s > 0).all()
    # 4×4 square ring of 12 pixels; shifted by one column, 6 of 12 coincide on each side
    assert s[1] == pytest.approx(0.5)


def test_far_shift_scores_zero() -> None:
    target = np.zeros((20, 20), dtype=np.int64)
    target[2:5, 2:5] = 1
    pred = np.zeros_like(target)
    pred[14:17, 14:17] = 1
    assert boundary_f1(pred, target, 2, tolerance=2)[1] == 0.0


def test_class_absent_from_both_is_nan() -> None:
    target = square()
    s = boundary_f1(target.copy(), target, 3)
    assert s[:2].tolist() == [1.0, 1.0] and np.isnan(s[2])


def test_class_in_only_one_map_is_zero() -> None:
    target = square()
    empty = np.zeros_like(target)
    assert boundary_f1(empty, target, 2)[1] == 0.0  # missed entirely
    assert boundary_f1(target, empty, 2)[1] == 0.0  # hallucinated


def test_class_filling_the_whole_image() -> None:
    # A whole-image mask has no boundary pixel (borders are not boundaries) but is present.
    ones, zeros = np.ones((6, 6), dtype=np.int64), np.zeros((6, 6), dtype=np.int64)
    s = boundary_f1(zeros, ones, 2)
    np.testing.assert_array_equal(s, [0.0, 0.0])  # each class present in only one map
    s = boundary_f1(ones, ones, 2)
    assert np.isnan(s[0]) and s[1] == 1.0


def test_ignored_pixels_do_not_count() -> None:
    target = square()
    target[:, 10:] = 255
    pred = square()
    pred[:, 10:] = 1  # garbage under the ignored columns
    np.testing.assert_array_equal(boundary_f1(pred, target, 2, ignore_index=255), [1.0, 1.0])
    assert boundary_f1(pred, target, 2)[1] < 1.0  # without ignore_index it counts


def test_scores_in_unit_interval() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        pred, target = rng.integers(0, 3, (9, 9)), rng.integers(0, 3, (9, 9))
        s = boundary_f1(pred, target, 3, tolerance=1)
        assert ((s >= 0) & (s <= 1)).all()
