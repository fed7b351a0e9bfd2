"""Colour reconstruction losses on ab, with optional rarity weighting (Zhang et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from scipy import ndimage

from colorseg.errors import ConfigError

RECON_LOSSES = ("l1", "huber")
AB_BINS = 22  # 22×22 bins of 10 ab units over [-110, 110]


def ab_bin_index(ab_norm: torch.Tensor, bins: int = AB_BINS) -> torch.Tensor:
    """(B, 2, H, W) ab_norm in [-1, 1] → (B, H, W) long index into a bins×bins grid."""
    idx = ((ab_norm.clamp(-1, 1 - 1e-6) + 1) / 2 * bins).long()
    return idx[:, 0] * bins + idx[:, 1]


def ab_bin_centers(bins: int = AB_BINS) -> torch.Tensor:
    """(bins², 2) ab_norm centres of the grid bins, in :func:`ab_bin_index` order."""
    c = (torch.arange(bins, dtype=torch.float32) + 0.5) / bins * 2 - 1
    a, b = torch.meshgrid(c, c, indexing="ij")
    return torch.stack([a.flatten(), b.flatten()], 1)


def bin_classification_loss(logits: torch.Tensor, target_ab: torch.Tensor,
                            weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of logits (B, AB_BINS², h, w) against the target's ab bin, optionally weighted
    per pixel by the target bin's rarity weight (Zhang et al. 2016). target_ab (B, 2, H, W) is
    area-averaged to (h, w) first when the logits are coarser (the classification head's stride)."""
    if target_ab.shape[-2:] != logits.shape[-2:]:
        target_ab = F.interpolate(target_ab, size=logits.shape[-2:], mode="area")
    target = ab_bin_index(target_ab)
    per_pixel = F.cross_entropy(logits.float(), target, reduction="none")
    if weights is None:
        return per_pixel.mean()
    w = weights.to(per_pixel)[target]
    return (w * per_pixel).sum() / w.sum().clamp_min(1e-8)


def rarity_weights(histogram: torch.Tensor, lam: float = 0.5, sigma_bins: float = 0.5) -> torch.Tensor:
    """Zhang et al.'s class-rebalancing weights from an ab histogram (bins*bins,) of counts.

    w ∝ 1 / ((1 − λ) p̃ + λ / Q), p̃ the Gaussian-smoothed empirical distribution over the Q
    bins that occur, normalised so that E_p̃[w] = 1. Bins never seen get weight 0 (unused).
    """
    hist = histogram.double().reshape(AB_BINS, AB_BINS)
    if hist.sum() <= 0:
        raise ConfigError("rarity weighting needs a non-empty ab histogram")
    p = torch.from_numpy(ndimage.gaussian_filter(hist.numpy() / hist.sum().item(), sigma_bins))
    seen = hist > 0
    q = int(seen.sum())
    p = torch.where(seen, p, torch.zeros_like(p))
    p = p / p.sum()
    w = torch.where(seen, 1.0 / ((1 - lam) * p + lam / q), torch.zeros_like(p))
    w = w / (p * w).sum()
    return w.flatten().float()


def recon_loss(pred_ab: torch.Tensor, target_ab: torch.Tensor, kind: str = "l1",
               weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pixel L1 or Huber on ab_norm (B, 2, H, W), optionally weighted by the target's rarity."""
    if kind not in RECON_LOSSES:
        raise ConfigError(f"unknown reconstruction loss {kind!r}; choose one of {', '.join(RECON_LOSSES)}")
    if kind == "l1":
        per_pixel = (pred_ab - target_ab).abs().sum(1)
    else:
        per_pixel = F.huber_loss(pred_ab, target_ab, reduction="none", delta=0.1).sum(1)
    if weights is None:
        return per_pixel.mean()
    w = weights.to(per_pixel)[ab_bin_index(target_ab)]
    return (w * per_pixel).sum() / w.sum().clamp_min(1e-8)
