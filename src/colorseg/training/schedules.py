"""Learning-rate schedules shared by the training modules."""

from __future__ import annotations

import math


def cosine_factor(step: int, total: int, warmup: int = 0, floor: float = 0.0) -> float:
    """Multiplier of the base learning rate at ``step`` of ``total``: linear warm-up over ``warmup``
    steps, then half a cosine from 1 down to ``floor`` at ``total`` (held there afterwards)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
