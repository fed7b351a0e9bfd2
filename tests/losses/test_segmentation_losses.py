"""Segmentation losses: ignore_index, Dice = 1 − Dice score, Lovász = 1 − IoU on hard masks, focal(γ=0) = CE,
class weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colorseg.errors import ConfigError
from colorseg.losses.segmentation import (
    LOSSES,
    SegmentationLoss,
    dice_from_probs,
    focal_loss,
    lovasz_softmax_loss,
    soft_dice_loss,
)
from colorseg.metrics.confusion import compute_confusion, nanmean, scores_from_confusion

IGNORE = 255


def batch(seed: int = 0, b: int = 2, k: int = 3, h: int = 5, w: int = 6, ignore_frac: float = 0.3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, k, h, w, generator=g)
    target = torch.randint(0, k, (b, h, w), generator=g)
    ignored = torch.rand(b, h, w, generator=g) < ignore_frac
    target[ignored] = IGNORE
    assert ignored.any() and (~ignored).any()
    return logits, target, ignored


def onehot_logits(labels: torch.Tensor, k: int, margin: float = 30.0) -> torch.Tensor:
    return F.one_hot(labels, k).permute(0, 3, 1, 2).float() * margin


@pytest.mark.parametrize("name", LOSSES)
def test_ignored_pixels_do_not_change_loss_or_get_gradient(name) -> None:
    logits, target, ignored = batch()
    loss_fn = SegmentationLoss(name, ignore_index=IGNORE)

    x = logits.clone().requires_grad_(True)
    out = loss_fn(x, target)
    out["loss"].backward()
    grad = x.grad
    assert torch.isfinite(grad).all()
    mask = ignored.unsqueeze(1).expand_as(grad)
    assert torch.count_nonzero(grad[mask]) == 0
    assert torch.count_nonzero(grad[~mask]) > 0  # valid pixels do drive the loss

    changed = logits.clone()
    changed[mask] = torch.randn(int(mask.sum())) * 10
    assert not torch.equal(changed, logits)
    out2 = loss_fn(changed, target)
    for key in out:
        assert torch.allclose(out[key], out2[key], rtol=1e-6, atol=1e-7), key
    # ...whereas changing a valid pixel's logits does change it.
    changed_valid = logits.clone()
    changed_valid[~mask] += torch.randn(int((~mask).sum()))
    assert not torch.allclose(loss_fn(changed_valid, target)["loss"], out["loss"])


@pytest.mark.parametrize("name", LOSSES)
def test_all_ignored_target_gives_finite_zero_loss(name) -> None:
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.full((2, 4, 4), IGNORE)
    out = SegmentationLoss(name, ignore_index=IGNORE)(logits, target)
    for key, value in out.items():
        assert torch.isfinite(value), key
        assert abs(value.item()) < 1e-7, key
    out["loss"].backward()
    assert torch.isfinite(logits.grad).all() and torch.count_nonzero(logits.grad) == 0


def test_all_ignored_dice_with_zero_smooth_is_zero_not_nan() -> None:
    logits = torch.randn(1, 2, 3, 3)
    target = torch.full((1, 3, 3), IGNORE)
    assert soft_dice_loss(logits, target, IGNORE, smooth=0).item() == 0.0


@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_soft_dice_perfect_logits_near_zero(smooth) -> None:
    _, target, _ = batch(seed=1)
    safe = torch.where(target == IGNORE, torch.zeros_like(target), target)
    loss = soft_dice_loss(onehot_logits(safe, 3), target, IGNORE, smooth=smooth)
    assert 0 <= loss.item() < 1e-6
    # and a confidently wrong prediction is far from 0
    wrong = onehot_logits((safe + 1) % 3, 3)
    assert soft_dice_loss(wrong, target, IGNORE, smooth=smooth).item() > 0.9


def test_ce_perfect_logits_near_zero() -> None:
    _, target, _ = batch(seed=2)
    safe = torch.where(target == IGNORE, torch.zeros_like(target), target)
    for name in ("ce", "focal", "dice_ce", "lovasz", "lovasz_ce"):
        assert SegmentationLoss(name)(onehot_logits(safe, 3), target)["loss"].item() < 1e-6


def _metric_one_minus_dice(pred: torch.Tensor, target: torch.Tensor, k: int) -> float:
    conf = compute_confusion(pred, target, k, IGNORE).sum(0)
    return 1.0 - float(nanmean(scores_from_confusion(conf)["dice"]))


@pytest.mark.parametrize("seed", range(5))
def test_dice_loss_on_hard_masks_equals_one_minus_dice_score(seed) -> None:
    g = torch.Generator().manual_seed(seed)
    k = 4
    target = torch.randint(0, 3, (2, 6, 5), generator=g)  # class 3 never in target
    pred = torch.randint(0, 3, (2, 6, 5), generator=g)  # ...nor in prediction → excluded
    pred[0, 0, 0] = 0
    target[torch.rand(target.shape, generator=g) < 0.2] = IGNORE
    probs = F.one_hot(pred, k).permute(0, 3, 1, 2).float()
    loss = dice_from_probs(probs, target, IGNORE, smooth=0.0).item()
    expected = _metric_one_minus_dice(pred, target, k)
    assert 0 < expected < 1
    assert loss == pytest.approx(expected, abs=1e-6)


def test_dice_loss_hand_example() -> None:
    # target [[0,0],[1,1]], pred [[0,1],[1,1]], 3 classes (class 2 absent from both).
    # Dice_0 = 2·1/(2+1) = 2/3, Dice_1 = 2·2/(2+3) = 4/5 → loss = 1 − (2/3 + 4/5)/2 = 4/15.
    target = torch.tensor([[[0, 0], [1, 1]]])
    pred = torch.tensor([[[0, 1], [1, 1]]])
    probs = F.one_hot(pred, 3).permute(0, 3, 1, 2).float()
    assert dice_from_probs(probs, target, smooth=0).item() == pytest.approx(4 / 15, abs=1e-6)
    assert _metric_one_minus_dice(pred, target, 3) == pytest.approx(4 / 15)


def test_focal_gamma_zero_equals_cross_entropy() -> None:
    logits, target, _ = batch(seed=3)
    ce = F.cross_entropy(logits, target, ignore_index=IGNORE)
    assert torch.allclose(focal_loss(logits, target, gamma=0.0, ignore_index=IGNORE), ce, atol=1e-6)
    focal_module = SegmentationLoss("focal", focal_gamma=0.0)(logits, target)
    ce_module = SegmentationLoss("ce")(logits, target)
    assert torch.allclose(focal_module["loss"], ce_module["loss"], atol=1e-6)
    # gamma > 0 down-weights easy pixels: strictly smaller than CE
    assert focal_loss(logits, target, gamma=2.0, ignore_index=IGNORE) < ce


def test_focal_single_pixel_value() -> None:
    logits = torch.tensor([[[[math.log(3.0)]], [[0.0]]]])  # p = (3/4, 1/4)
    target = torch.tensor([[[0]]])
    expected = -((1 - 0.75) ** 2) * math.log(0.75)
    assert focal_loss(logits, target, gamma=2.0).item() == pytest.approx(expected, rel=1e-5)
    target1 = torch.tensor([[[1]]])
    expected1 = -((1 - 0.25) ** 2) * math.log(0.25)
    assert focal_loss(logits, target1, gamma=2.0).item() == pytest.approx(expected1, rel=1e-5)


def test_class_weights_change_ce_like_torch_weighted_ce() -> None:
    logits, target, ignored = batch(seed=4)
    weights = [1.0, 3.0, 0.5]
    out = SegmentationLoss("ce", class_weights=weights)(logits, target)["loss"]
    w = torch.tensor(weights)
    torch_ce = F.cross_entropy(logits, target, weight=w, ignore_index=IGNORE)
    assert torch.allclose(out, torch_ce, atol=1e-6)
    # by hand: Σ w_t · ce_t / Σ w_t over valid pixels
    per_pixel = F.cross_entropy(logits, target, ignore_index=IGNORE, reduction="none")
    valid = ~ignored
    wt = w[target[valid]]
    by_hand = (wt * per_pixel[valid]).sum() / wt.sum()
    assert torch.allclose(out, by_hand, atol=1e-6)
    unweighted = SegmentationLoss("ce")(logits, target)["loss"]
    assert not torch.allclose(out, unweighted)


def test_focal_class_weights_follow_documented_formula() -> None:
    # Documented: mean over valid pixels of −(1 − p_t)^γ · w_t · log p_t.
    logits, target, ignored = batch(seed=5)
    w = torch.tensor([2.0, 0.5, 1.0])
    loss_fn = SegmentationLoss("focal", class_weights=w.tolist(), focal_gamma=2.0)
    out = loss_fn(logits, target)["loss"]
    logp = F.log_softmax(logits, 1)
    valid = ~ignored
    safe = torch.where(valid, target, torch.zeros_like(target))
    logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)[valid]
    expected = (-(1 - logp_t.exp()) ** 2 * w[target[valid]] * logp_t).mean()
    assert torch.allclose(out, expected, atol=1e-6)


def test_dice_ce_is_sum_of_terms() -> None:
    logits, target, _ = batch(seed=6)
    out = SegmentationLoss("dice_ce", dice_weight=0.5)(logits, target)
    ce = F.cross_entropy(logits, target, ignore_index=IGNORE)
    dice = soft_dice_loss(logits, target, IGNORE)
    assert torch.allclose(out["ce"], ce, atol=1e-6)
    assert torch.allclose(out["dice"], 0.5 * dice, atol=1e-6)
    assert torch.allclose(out["loss"], ce + 0.5 * dice, atol=1e-6)
    assert set(SegmentationLoss("dice")(logits, target)) == {"dice", "loss"}
    assert set(SegmentationLoss("focal")(logits, target)) == {"focal", "loss"}


@pytest.mark.parametrize("seed", range(5))
def test_lovasz_on_hard_masks_equals_one_minus_iou_of_target_classes(seed) -> None:
    g = torch.Generator().manual_seed(seed)
    k = 4
    target = torch.randint(0, 3, (2, 6, 5), generator=g)  # class 3 never in target: not averaged
    pred = torch.randint(0, 4, (2, 6, 5), generator=g)
    target[torch.rand(target.shape, generator=g) < 0.2] = IGNORE
    loss = lovasz_softmax_loss(onehot_logits(pred, k, margin=200.0), target, IGNORE).item()
    valid = target != IGNORE
    ious = [((pred == c) & (target == c) & valid).sum().item() / (((pred == c) | (target == c)) & valid).sum().item()
            for c in target[valid].unique().tolist()]
    assert 0 < 1 - np.mean(ious) < 1
    assert loss == pytest.approx(1 - np.mean(ious), abs=1e-6)


def test_lovasz_hand_example_and_ranks_better_overlap_lower() -> None:
    # target [[0,0],[1,1]], pred [[0,1],[1,1]]: IoU_0 = 1/2, IoU_1 = 2/3 → loss = 1 − 7/12 = 5/12
    target = torch.tensor([[[0, 0], [1, 1]]])
    pred = torch.tensor([[[0, 1], [1, 1]]])
    assert lovasz_softmax_loss(onehot_logits(pred, 2, 200.0), target).item() == pytest.approx(5 / 12, abs=1e-6)
    # soft probabilities: moving probability towards the truth lowers the loss
    far = torch.zeros(1, 2, 2, 2)
    near = far.clone()
    near[0, 1, 1] = 2.0  # bottom row leans to class 1 (its truth)
    near[0, 0, 0] = 2.0  # top row leans to class 0
    assert lovasz_softmax_loss(near, target) < lovasz_softmax_loss(far, target)


def test_lovasz_ce_is_sum_of_terms() -> None:
    logits, target, _ = batch(seed=9)
    out = SegmentationLoss("lovasz_ce")(logits, target)
    assert set(out) == {"ce", "lovasz", "loss"}
    assert torch.allclose(out["ce"], F.cross_entropy(logits, target, ignore_index=IGNORE), atol=1e-6)
    assert torch.allclose(out["lovasz"], lovasz_softmax_loss(logits, target, IGNORE), atol=1e-6)
    assert torch.allclose(out["loss"], out["ce"] + out["lovasz"], atol=1e-6)
    assert set(SegmentationLoss("lovasz")(logits, target)) == {"lovasz", "loss"}


def test_unknown_loss_name_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="tversky"):
        SegmentationLoss("tversky")


@pytest.mark.parametrize("name", ["ce", "dice_ce", "focal", "lovasz_ce"])
@pytest.mark.parametrize("weights", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
def test_class_weights_length_mismatch_raises_config_error(name, weights) -> None:
    logits, target, _ = batch(seed=7)
    with pytest.raises(ConfigError, match="class_weights"):
        SegmentationLoss(name, class_weights=weights)(logits, target)


def test_losses_are_finite_with_extreme_logits() -> None:
    _, target, _ = batch(seed=8)
    logits = torch.randn(2, 3, 5, 6) * 1e3
    for name in LOSSES:
        x = logits.clone().requires_grad_(True)
        out = SegmentationLoss(name)(x, target)["loss"]
        out.backward()
        assert np.isfinite(out.item()) and torch.isfinite(x.grad).all(), name
