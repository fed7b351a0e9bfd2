"""Learning-rate schedules shared by the training modules.

:func:`cosine_factor` is the shape (warm-up, then half a cosine down to a floor).
:func:`budget_cosine` drives it by the training budget Lightning was given: the fraction of
``max_steps`` / ``max_epochs`` done or the fraction of ``max_time`` spent, whichever is further,
so a wall-clock budget (``--trainer.max_time``) ends its schedule when training ends, on any
machine and under any load.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from colorseg.errors import ConfigError


def cosine_factor(step: int, total: int, warmup: int = 0, floor: float = 0.0) -> float:
    """Multiplier of the base learning rate at ``step`` of ``total``: linear warm-up over ``warmup``
    steps, then half a cosine from 1 down to ``floor`` at ``total`` (held there afterwards)."""
    return progress_cosine_factor(step, (step - warmup) / max(1, total - warmup), warmup, floor)


def progress_cosine_factor(step: int, progress: float, warmup: int = 0, floor: float = 0.0) -> float:
    """:func:`cosine_factor` by a progress fraction instead of a step count: linear warm-up over the
    first ``warmup`` steps, then the cosine at ``progress`` (clipped to [0, 1]) of the budget."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, max(0.0, progress))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def budget_cosine(total_steps: float, seconds_elapsed: Callable[[], float] | None, max_seconds: float | None,
                  warmup: int = 0, floor: float = 0.0) -> Callable[[int], float]:
    """The learning-rate multiplier per step (for ``torch.optim.lr_scheduler.LambdaLR``) of a cosine
    over the training budget: progress is ``step / total_steps`` (``inf``: no step budget) or
    ``seconds_elapsed() / max_seconds`` (None: no time budget), whichever is larger.

    ConfigError when neither budget is finite. The returned function is a closure, so LambdaLR
    does not try to save it (or a trainer it refers to) in checkpoints.
    """
    has_steps = math.isfinite(total_steps) and total_steps > 0
    has_time = seconds_elapsed is not None and max_seconds is not None and max_seconds > 0
    if not (has_steps or has_time):
        raise ConfigError("scheduler 'cosine' needs a training budget: trainer.max_steps, trainer.max_epochs "
                          "or trainer.max_time")

    def factor(step: int) -> float:
        progress = 0.0
        if has_steps:
            progress = (step - warmup) / max(1.0, total_steps - warmup)
        if has_time:
            progress = max(progress, seconds_elapsed() / max_seconds)
        return progress_cosine_factor(step, progress, warmup, floor)

    return factor


def trainer_budget_cosine(trainer, warmup: int = 0, floor: float = 0.0) -> Callable[[int], float]:
    """:func:`budget_cosine` for a Lightning ``trainer``: its estimated optimizer steps and, when it
    has ``max_time``, its Timer callback's training time (restored on resume, so a resumed run
    continues the schedule where it stopped)."""
    from lightning.pytorch.callbacks import Timer

    timer = next((cb for cb in trainer.callbacks if isinstance(cb, Timer)), None)
    remaining = timer.time_remaining() if timer is not None else None
    if remaining is None:
        return budget_cosine(trainer.estimated_stepping_batches, None, None, warmup, floor)
    max_seconds = timer.time_elapsed() + remaining
    return budget_cosine(trainer.estimated_stepping_batches, timer.time_elapsed, max_seconds, warmup, floor)
