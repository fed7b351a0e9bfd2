"""Hold-out splits: by name list, by seeded fraction, or k-fold (scikit-learn).

The data module uses them twice: first to carve the test set out of the pool, then to draw
validation from what is left, so train, validation and test are always disjoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
from sklearn.model_selection import KFold

from colorseg.errors import ConfigError

T = TypeVar("T")


def split_by_names(items: Sequence[T], names: Sequence[str], held_out: Sequence[str],
                   what: str = "val_names") -> tuple[list[T], list[T]]:
    """Hold out the items whose name is in ``held_out``; unknown names raise ConfigError naming ``what``."""
    held = {str(n) for n in held_out}
    unknown = held - set(names)
    if unknown:
        raise ConfigError(f"{what} not found in the data: {sorted(unknown)[:10]}")
    train = [it for it, n in zip(items, names) if n not in held]
    val = [it for it, n in zip(items, names) if n in held]
    return train, val


def split_by_fraction(items: Sequence[T], fraction: float, seed: int = 0, what: str = "val_fraction",
                      total: int | None = None) -> tuple[list[T], list[T]]:
    """Seeded random hold-out of ``round(fraction * total)`` items (at least 1, at most len - 1).

    ``total`` (default ``len(items)``) is the size the fraction refers to, e.g. the whole pool
    when validation is drawn after the test set was carved out of it.
    """
    if not 0 < fraction < 1:
        raise ConfigError(f"{what} must be in (0, 1), got {fraction}")
    if len(items) < 2:
        raise ConfigError(f"need at least 2 samples to split by {what}, got {len(items)}")
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = min(max(1, round(fraction * (total or len(items)))), len(items) - 1)
    val_idx = set(order[:n_val].tolist())
    return ([it for i, it in enumerate(items) if i not in val_idx],
            [it for i, it in enumerate(items) if i in val_idx])


def kfold_split(items: Sequence[T], num_folds: int, fold: int, seed: int = 0) -> tuple[list[T], list[T]]:
    """Fold ``fold`` (0-based) of a shuffled, seeded ``num_folds``-fold split."""
    if num_folds < 2 or not 0 <= fold < num_folds:
        raise ConfigError(f"need num_folds >= 2 and 0 <= fold < num_folds, got {num_folds=}, {fold=}")
    if len(items) < num_folds:
        raise ConfigError(f"{len(items)} samples are too few for {num_folds} folds")
    splitter = KFold(n_splits=num_folds, shuffle=True, random_state=seed)
    train_idx, val_idx = list(splitter.split(np.arange(len(items))))[fold]
    return [items[i] for i in train_idx], [items[i] for i in val_idx]
