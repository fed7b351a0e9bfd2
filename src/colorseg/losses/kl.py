"""KL divergence between diagonal Gaussians, free bits, and β annealing schedules."""

from __future__ import annotations

import math

import torch

from colorseg.errors import ConfigError

ANNEALING = ("constant", "linear", "cyclical")


def kl_diag_gaussians(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor,
                      logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(q ‖ p) per latent dimension: (B, D) inputs → (B, D), ≥ 0, = 0 iff q == p."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p) ** 2) / logvar_p.exp() - 1)


def kl_with_free_bits(kl_per_dim: torch.Tensor, free_bits: float = 0.0) -> torch.Tensor:
    """Sum over dims of max(batch-mean KL_d, free_bits) (Kingma et al. 2016): (B, D) → scalar."""
    per_dim = kl_per_dim.mean(0)
    if free_bits > 0:
        per_dim = per_dim.clamp_min(free_bits)
    return per_dim.sum()


def kl_weight(step: int, beta: float, schedule: str = "linear", warmup_steps: int = 1000,
              cycle_steps: int = 2000, ramp_fraction: float = 0.5) -> float:
    """β at ``step``: constant; linear ramp 0 → β over ``warmup_steps``; or cyclical
    (Fu et al. 2019): each cycle of ``cycle_steps`` ramps over ``ramp_fraction`` of it, then holds β."""
    if schedule not in ANNEALING:
        raise ConfigError(f"unknown KL annealing {schedule!r}; choose one of {', '.join(ANNEALING)}")
    if schedule == "constant":
        return beta
    if schedule == "linear":
        return beta * min(1.0, step / max(1, warmup_steps))
    pos = (step % max(1, cycle_steps)) / max(1, cycle_steps)
    return beta * min(1.0, pos / max(ramp_fraction, 1e-8))


def gaussian_entropy(logvar: torch.Tensor) -> torch.Tensor:
    """Entropy of a diagonal Gaussian per sample: (B, D) → (B,)."""
    return 0.5 * (logvar + math.log(2 * math.pi * math.e)).sum(-1)
