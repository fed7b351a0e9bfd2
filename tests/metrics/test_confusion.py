"""Confusion counts, IoU / Dice / accuracy on hand-built cases, the empty-mask convention."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from colorseg.metrics.confusion import (
    ConfusionAccumulator,
    compute_confusion,
    nanmean,
    scores_from_confusion,
)

NAN = np.nan
I = 255

# 4×4, 3 classes, two ignored pixels (bottom right).
TARGET_4 = torch.tensor([[0, 0, 1, 1],
                         [0, 0, 1, 1],
                         [2, 2, 1, 1],
                         [2, 2, I, I]])
PRED_4 = torch.tensor([[0, 1, 1, 1],
                       [0, 0, 1, 2],
                       [2, 0, 1, 1],
                       [2, 2, 0, 1]])
CONF_4 = np.array([[3, 1, 0],
                   [0, 5, 1],
                   [1, 0, 3]])


def t(rows) -> torch.Tensor:
    return torch.tensor(rows).unsqueeze(0)


def test_exact_confusion_counts_4x4() -> None:
    conf = compute_confusion(PRED_4[None], TARGET_4[None], 3, ignore_index=I)
    assert conf.shape == (1, 3, 3) and conf.dtype == torch.long
    np.testing.assert_array_equal(conf[0].numpy(), CONF_4)
    assert conf.sum() == 14  # 16 pixels − 2 ignored


def test_confusion_rows_are_ground_truth() -> None:
    # one gt-0 pixel predicted as 1 → [t=0, p=1]
    conf = compute_confusion(t([[1, 0]]), t([[0, 0]]), 2)[0]
    np.testing.assert_array_equal(conf.numpy(), [[1, 1], [0, 0]])


def test_confusion_is_per_image() -> None:
    pred = torch.stack([PRED_4, torch.zeros(4, 4, dtype=torch.long)])
    target = torch.stack([TARGET_4, torch.zeros(4, 4, dtype=torch.long)])
    conf = compute_confusion(pred, target, 3, ignore_index=I)
    np.testing.assert_array_equal(conf[0].numpy(), CONF_4)
    np.testing.assert_array_equal(conf[1].numpy(), [[16, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_ignored_pixels_dropped_whatever_the_prediction() -> None:
    base = compute_confusion(PRED_4[None], TARGET_4[None], 3, ignore_index=I)
    pred2 = PRED_4.clone()
    pred2[3, 2:] = torch.tensor([2, 2])
    assert torch.equal(compute_confusion(pred2[None], TARGET_4[None], 3, ignore_index=I), base)
    # other ignore values work too
    target_neg = torch.where(TARGET_4 == I, torch.tensor(-1), TARGET_4)
    assert torch.equal(compute_confusion(PRED_4[None], target_neg[None], 3, ignore_index=-1), base)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="shape"):
        compute_confusion(torch.zeros(1, 2, 2, dtype=torch.long),
                          torch.zeros(1, 2, 3, dtype=torch.long), 2)


def test_iou_dice_accuracy_4x4() -> None:
    s = scores_from_confusion(CONF_4)
    np.testing.assert_allclose(s["iou"], [3 / 5, 5 / 7, 3 / 5])
    np.testing.assert_allclose(s["dice"], [3 / 4, 5 / 6, 3 / 4])
    assert s["pixel_accuracy"] == pytest.approx(11 / 14)
    # torch input gives the same
    s2 = scores_from_confusion(torch.from_numpy(CONF_4))
    np.testing.assert_allclose(s2["iou"], s["iou"])


def test_iou_dice_2x2() -> None:
    # target [[0,0],[1,1]], pred [[0,1],[1,1]]
    conf = compute_confusion(t([[0, 1], [1, 1]]), t([[0, 0], [1, 1]]), 2)[0]
    np.testing.assert_array_equal(conf.numpy(), [[1, 1], [0, 2]])
    s = scores_from_confusion(conf)
    np.testing.assert_allclose(s["iou"], [1 / 2, 2 / 3])
    np.testing.assert_allclose(s["dice"], [2 / 3, 4 / 5])
    assert s["pixel_accuracy"] == pytest.approx(3 / 4)


def test_class_absent_from_both_is_nan_and_excluded_from_mean() -> None:
    conf = compute_confusion(t([[0, 0], [0, 1]]), t([[0, 0], [0, 1]]), 3)[0]
    s = scores_from_confusion(conf)
    np.testing.assert_array_equal(s["iou"], [1.0, 1.0, NAN])
    np.testing.assert_array_equal(s["dice"], [1.0, 1.0, NAN])
    assert float(nanmean(s["iou"])) == 1.0
    assert float(nanmean(s["dice"])) == 1.0


def test_empty_ground_truth_class_predicted_scores_zero() -> None:
    # class 1 absent from ground truth, present in prediction → 0 (not NaN)
    s = scores_from_confusion(compute_confusion(t([[0, 1], [0, 0]]), t([[0, 0], [0, 0]]), 2)[0])
    np.testing.assert_allclose(s["iou"], [3 / 4, 0.0])
    np.testing.assert_allclose(s["dice"], [6 / 7, 0.0])
    assert float(nanmean(s["iou"])) == pytest.approx(3 / 8)


def test_empty_prediction_class_in_ground_truth_scores_zero() -> None:
    s = scores_from_confusion(compute_confusion(t([[0, 0], [0, 0]]), t([[0, 1], [0, 0]]), 2)[0])
    np.testing.assert_allclose(s["iou"], [3 / 4, 0.0])
    np.testing.assert_allclose(s["dice"], [6 / 7, 0.0])


def test_fully_ignored_image_is_all_nan() -> None:
    conf = compute_confusion(t([[0, 1], [1, 0]]), t([[I, I], [I, I]]), 2, ignore_index=I)[0]
    assert conf.sum() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = scores_from_confusion(conf)
    assert np.isnan(s["iou"]).all() and np.isnan(s["dice"]).all()
    assert np.isnan(s["pixel_accuracy"])


def test_batched_scores_shape() -> None:
    conf = np.stack([CONF_4, np.zeros((3, 3), dtype=int)])
    s = scores_from_confusion(conf)
    assert s["iou"].shape == (2, 3) and s["pixel_accuracy"].shape == (2,)
    np.testing.assert_allclose(s["iou"][0], [3 / 5, 5 / 7, 3 / 5])
    assert np.isnan(s["iou"][1]).all() and np.isnan(s["pixel_accuracy"][1])


def test_nanmean_all_nan_is_nan_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(float(nanmean(np.array([NAN, NAN]))))
        assert np.isnan(float(nanmean(np.array([]))))
        rows = np.array([[NAN, NAN], [1.0, 3.0], [NAN, 4.0]])
        np.testing.assert_array_equal(nanmean(rows, axis=1), [NAN, 2.0, 4.0])
    assert float(nanmean([1.0, NAN, 2.0])) == 1.5


# Per-image vs dataset reduction, 2 classes, 2×2 images.
# A: target all 0, pred all 0  → conf [[4,0],[0,0]]: IoU (1, NaN), Dice (1, NaN) → means 1, 1
# B: target [[0,1],[1,1]], pred all 0 → conf [[1,0],[3,0]]:
#    IoU (1/4, 0), Dice (2/5, 0) → means 1/8, 1/5
# per-image means: IoU (1 + 1/8)/2 = 9/16, Dice (1 + 1/5)/2 = 3/5
# dataset: conf [[5,0],[3,0]] → IoU (5/8, 0) → 5/16; Dice (10/13, 0) → 5/13; accuracy 5/8
PRED_A, TARGET_A = t([[0, 0], [0, 0]]), t([[0, 0], [0, 0]])
PRED_B, TARGET_B = t([[0, 0], [0, 0]]), t([[0, 1], [1, 1]])


def test_per_image_vs_dataset_reduction_by_hand() -> None:
    acc = ConfusionAccumulator(num_classes=2)
    conf_a = acc.update(PRED_A, TARGET_A, names=["a"])
    conf_b = acc.update(PRED_B, TARGET_B, names=["b"])
    np.testing.assert_array_equal(conf_a[0].numpy(), [[4, 0], [0, 0]])
    np.testing.assert_array_equal(conf_b[0].numpy(), [[1, 0], [3, 0]])
    np.testing.assert_array_equal(acc.total, [[5, 0], [3, 0]])
    assert acc.names == ["a", "b"]

    out = acc.compute()
    np.testing.assert_allclose(out["iou"], [5 / 8, 0.0])
    np.testing.assert_allclose(out["dice"], [10 / 13, 0.0])
    assert out["mean_iou"] == pytest.approx(5 / 16)
    assert out["mean_dice"] == pytest.approx(5 / 13)
    assert out["pixel_accuracy"] == pytest.approx(5 / 8)
    assert out["per_image_mean_iou"] == pytest.approx(9 / 16)
    assert out["per_image_mean_dice"] == pytest.approx(3 / 5)
    assert out["per_image_mean_iou"] != pytest.approx(out["mean_iou"])


def test_accumulator_batching_does_not_matter() -> None:
    one = ConfusionAccumulator(2)
    one.update(torch.cat([PRED_A, PRED_B]), torch.cat([TARGET_A, TARGET_B]))
    two = ConfusionAccumulator(2)
    two.update(PRED_A, TARGET_A)
    two.update(PRED_B, TARGET_B)
    a, b = one.compute(), two.compute()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k])
    assert one.names == two.names == ["0", "1"]


def test_accumulator_reset() -> None:
    acc = ConfusionAccumulator(3, ignore_index=I)
    acc.update(PRED_4[None], TARGET_4[None])
    assert acc.compute()["pixel_accuracy"] == pytest.approx(11 / 14)
    acc.reset()
    assert acc.per_image == [] and acc.names == []
    np.testing.assert_array_equal(acc.total, np.zeros((3, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = acc.compute()
    assert np.isnan(out["mean_iou"]) and np.isnan(out["pixel_accuracy"])
    assert "per_image_mean_iou" not in out
    # counts again from scratch after reset
    acc.update(PRED_4[None], TARGET_4[None])
    np.testing.assert_array_equal(acc.total, CONF_4)
    assert acc.compute()["mean_iou"] == pytest.approx((3 / 5 + 5 / 7 + 3 / 5) / 3)


def test_accumulator_per_image_skips_nan_images() -> None:
    # A fully ignored image is NaN on every class and must not drag the per-image mean.
    acc = ConfusionAccumulator(2, ignore_index=I)
    acc.update(PRED_A, TARGET_A)
    acc.update(t([[0, 1], [1, 0]]), t([[I, I], [I, I]]))
    out = acc.compute()
    assert out["per_image_mean_iou"] == 1.0 and out["mean_iou"] == 1.0
