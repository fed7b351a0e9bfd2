"""Property tests (hypothesis) for the confusion-derived scores."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from colorseg.losses.segmentation import dice_from_probs
from colorseg.metrics.confusion import compute_confusion, nanmean, scores_from_confusion

SETTINGS = settings(max_examples=50, deadline=None)
IGNORE = 255


@st.composite
def label_maps(draw, with_ignore: bool = False):
    """(k, pred, target): (B, H, W) long maps with values in 0..k-1 (target maybe ignore)."""
    k = draw(st.integers(2, 4))
    b, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n = b * h * w
    pred = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    values = st.sampled_from([*range(k), IGNORE]) if with_ignore else st.integers(0, k - 1)
    target = draw(st.lists(values, min_size=n, max_size=n))
    return k, torch.tensor(pred).view(b, h, w), torch.tensor(target).view(b, h, w)


def scores(pred, target, k):
    return scores_from_confusion(compute_confusion(pred, target, k, IGNORE))


@SETTINGS
@given(label_maps(with_ignore=True))
def test_scores_in_unit_interval_or_nan(case) -> None:
    k, pred, target = case
    conf = compute_confusion(pred, target, k, IGNORE)
    assert int(conf.sum()) == int((target != IGNORE).sum())
    for s in (scores_from_confusion(conf), scores_from_confusion(conf.sum(0))):
        for name in ("iou", "dice", "pixel_accuracy"):
            v = np.asarray(s[name])
            finite = v[~np.isnan(v)]
            assert ((finite >= 0) & (finite <= 1)).all()
        # NaN exactly for classes absent from both ground truth and prediction
        c = np.asarray(conf.sum(0) if s["iou"].ndim == 1 else conf)
        absent = (c.sum(-1) == 0) & (c.sum(-2) == 0)
        np.testing.assert_array_equal(np.isnan(s["iou"]), absent)
        np.testing.assert_array_equal(np.isnan(s["dice"]), absent)


@SETTINGS
@given(label_maps())
def test_swapping_pred_and_target_is_symmetric(case) -> None:
    k, pred, target = case
    a, b = scores(pred, target, k), scores(target, pred, k)
    np.testing.assert_allclose(a["iou"], b["iou"], equal_nan=True)
    np.testing.assert_allclose(a["dice"], b["dice"], equal_nan=True)
    np.testing.assert_allclose(a["pixel_accuracy"], b["pixel_accuracy"], equal_nan=True)


@SETTINGS
@given(label_maps(with_ignore=True), st.randoms(use_true_random=False))
def test_permuting_class_labels_permutes_scores(case, rnd) -> None:
    k, pred, target = case
    perm = list(range(k))
    rnd.shuffle(perm)
    lut = torch.tensor(perm)
    pred_p = lut[pred]
    target_p = torch.where(target == IGNORE, target, lut[target.clamp(max=k - 1)])
    a, b = scores(pred, target, k), scores(pred_p, target_p, k)
    for name in ("iou", "dice"):
        # old class c is new class perm[c]
        np.testing.assert_allclose(b[name][..., perm], a[name], equal_nan=True)
        np.testing.assert_allclose(nanmean(b[name], axis=-1), nanmean(a[name], axis=-1),
                                   equal_nan=True)
    np.testing.assert_allclose(a["pixel_accuracy"], b["pixel_accuracy"], equal_nan=True)


@SETTINGS
@given(label_maps(with_ignore=True))
def test_dice_is_monotone_function_of_iou(case) -> None:
    k, pred, target = case
    s = scores(pred, target, k)
    iou, dice = s["iou"], s["dice"]
    np.testing.assert_allclose(dice, 2 * iou / (1 + iou), rtol=1e-12, atol=1e-12, equal_nan=True)


@SETTINGS
@given(label_maps(with_ignore=True))
def test_hard_dice_loss_equals_one_minus_dataset_dice(case) -> None:
    k, pred, target = case
    probs = F.one_hot(pred, k).permute(0, 3, 1, 2).double()
    loss = float(dice_from_probs(probs, target, IGNORE, smooth=0.0))
    conf = compute_confusion(pred, target, k, IGNORE).sum(0)
    mean_dice = float(nanmean(scores_from_confusion(conf)["dice"]))
    if np.isnan(mean_dice):  # everything ignored: the loss is a zero, not NaN
        assert loss == 0.0
    else:
        assert abs(loss - (1 - mean_dice)) < 1e-9
