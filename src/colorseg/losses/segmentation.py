"""Segmentation losses: cross-entropy, soft Dice, Dice + CE, focal, Lovász-softmax (+ CE). All honour
``ignore_index``.

Shapes: ``logits`` (B, K, H, W) float, ``target`` (B, H, W) long with values in 0..K-1 or
``ignore_index``. Ignored pixels contribute nothing to any loss or its gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.errors import ConfigError

LOSSES = ("ce", "dice", "dice_ce", "focal", "lovasz", "lovasz_ce")


def _valid_onehot(logits: torch.Tensor, target: torch.Tensor, ignore_index: int):
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    onehot = F.one_hot(safe, logits.shape[1]).permute(0, 3, 1, 2).to(logits.dtype)
    return valid.unsqueeze(1).to(logits.dtype), onehot


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255,
                   smooth: float = 1.0) -> torch.Tensor:
    """1 − mean over classes of soft Dice, counted over the whole batch.

    With hard one-hot "probabilities" and ``smooth=0`` this equals 1 − (dataset) Dice score
    averaged over classes present in target or prediction.
    """
    return _soft_dice_from_probs(logits.softmax(1), target, ignore_index, smooth)


def _soft_dice_from_probs(probs: torch.Tensor, target: torch.Tensor, ignore_index: int,
                          smooth: float) -> torch.Tensor:
    valid, onehot = _valid_onehot(probs, target, ignore_index)
    probs, onehot = probs * valid, onehot * valid
    dims = (0, 2, 3)
    inter = (probs * onehot).sum(dims)
    denom = probs.sum(dims) + onehot.sum(dims)
    present = denom > 0
    dice = (2 * inter + smooth) / (denom + smooth)
    if smooth == 0:
        dice = dice[present]
    return 1 - dice.mean() if dice.numel() else probs.sum() * 0


def dice_from_probs(probs: torch.Tensor, target: torch.Tensor, ignore_index: int = 255,
                    smooth: float = 0.0) -> torch.Tensor:
    """Soft Dice loss taking probabilities (B, K, H, W) instead of logits (for tests/analysis)."""
    # Directly on probs: a log → softmax round trip would make every class "present"
    # (probabilities ≥ 1e-12), so smooth=0 would no longer skip classes absent from both.
    return _soft_dice_from_probs(probs, target, ignore_index, smooth)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               weight: torch.Tensor | None = None, ignore_index: int = 255) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): mean over valid pixels of −(1 − p_t)^γ · w_t · log p_t.

    ``gamma=0`` without weights equals cross-entropy; with weights the sum is divided by the
    number of valid pixels (not by the summed weights as in torch's weighted CE).
    """
    logp = F.log_softmax(logits, 1)
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    loss = -((1 - logp_t.exp()) ** gamma) * logp_t
    if weight is not None:
        loss = loss * weight.to(loss)[safe]
    loss = loss * valid
    return loss.sum() / valid.sum().clamp_min(1)


def _lovasz_jaccard_gradient(sorted_truth: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss at errors sorted in decreasing order.

    ``sorted_truth`` (N,) float 0/1: whether each pixel (in that order) belongs to the class.
    Entry i is J(first i+1 pixels wrong) − J(first i pixels wrong), J the Jaccard loss.
    """
    total = sorted_truth.sum()
    intersection = total - sorted_truth.cumsum(0)
    union = total + (1 - sorted_truth).cumsum(0)
    jaccard = 1 - intersection / union
    return torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])


def lovasz_softmax_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Lovász-softmax (Berman et al. 2018): a convex surrogate of 1 − IoU, per class over the batch.

    For each class present in ``target`` the pixel errors |[y = c] − p_c| are sorted in decreasing
    order and weighted by the Lovász extension's gradient of that class's Jaccard loss; the loss is
    the mean over those classes. With hard one-hot probabilities it equals 1 − mean IoU over the
    classes present in the target (batch IoU). ``logits`` (B, K, H, W), ``target`` (B, H, W).
    """
    probs = logits.float().softmax(1).permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
    flat = target.reshape(-1)
    valid = flat != ignore_index
    probs, flat = probs[valid], flat[valid]
    losses = []
    for c in flat.unique():
        truth = (flat == c).float()
        errors = (truth - probs[:, c]).abs()
        errors_sorted, order = errors.sort(descending=True)
        losses.append(errors_sorted @ _lovasz_jaccard_gradient(truth[order]))
    return torch.stack(losses).mean() if losses else logits.sum() * 0


class SegmentationLoss(nn.Module):
    """One of :data:`LOSSES`; returns a dict of named terms plus ``"loss"`` (their sum).

    ``logits`` (B, K, H, W), ``target`` (B, H, W) → ``{"loss": scalar, "ce": …, "dice": …}``.
    """

    def __init__(self, name: str = "dice_ce", ignore_index: int = 255,
                 class_weights: Sequence[float] | None = None, focal_gamma: float = 2.0,
                 dice_weight: float = 1.0) -> None:
        super().__init__()
        if name not in LOSSES:
            raise ConfigError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
        self.name, self.ignore_index = name, ignore_index
        self.focal_gamma, self.dice_weight = focal_gamma, dice_weight
        weights = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.register_buffer("class_weights", weights, persistent=False)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        terms: dict[str, torch.Tensor] = {}
        if self.class_weights is not None and self.class_weights.numel() != logits.shape[1]:
            raise ConfigError(f"class_weights has {self.class_weights.numel()} values for "
                              f"{logits.shape[1]} classes")
        if self.name in ("ce", "dice_ce", "lovasz_ce"):
            if (target != self.ignore_index).any():
                terms["ce"] = F.cross_entropy(logits, target, weight=self.class_weights,
                                              ignore_index=self.ignore_index)
            else:
                terms["ce"] = logits.sum() * 0
        if self.name in ("dice", "dice_ce"):
            terms["dice"] = self.dice_weight * soft_dice_loss(logits, target, self.ignore_index)
        if self.name == "focal":
            terms["focal"] = focal_loss(logits, target, self.focal_gamma, self.class_weights,
                                        self.ignore_index)
        if self.name in ("lovasz", "lovasz_ce"):
            terms["lovasz"] = lovasz_softmax_loss(logits, target, self.ignore_index)
        terms["loss"] = sum(terms.values())
        return terms
