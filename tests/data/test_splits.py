"""Train/validation splits: by names, seeded fraction, k-fold; bad parameters are ConfigErrors."""

from __future__ import annotations

import pytest

from colorseg.data.splits import kfold_split, split_by_fraction, split_by_names
from colorseg.errors import ConfigError

ITEMS = [f"item{i:02d}" for i in range(20)]


def test_split_by_names() -> None:
    items = [{"id": n} for n in ("a", "b", "c", "d")]
    train, val = split_by_names(items, ["a", "b", "c", "d"], ["d", "b"])
    assert [it["id"] for it in train] == ["a", "c"]
    assert [it["id"] for it in val] == ["b", "d"]  # original order kept


def test_split_by_names_unknown() -> None:
    with pytest.raises(ConfigError, match="zz"):
        split_by_names(ITEMS, ITEMS, ["item01", "zz"])


def test_split_by_fraction_reproducible_disjoint_covering() -> None:
    train, val = split_by_fraction(ITEMS, 0.25, seed=7)
    assert len(val) == 5 and len(train) == 15
    assert not set(train) & set(val)
    assert sorted(train + val) == ITEMS
    assert split_by_fraction(ITEMS, 0.25, seed=7) == (train, val)
    others = [split_by_fraction(ITEMS, 0.25, seed=s)[1] for s in range(8, 12)]
    assert any(o != val for o in others)  # the seed matters


@pytest.mark.parametrize("n, fraction, n_val",
                         [(2, 0.01, 1), (2, 0.99, 1), (10, 0.5, 5), (3, 0.9, 2)])
def test_split_by_fraction_clamps(n: int, fraction: float, n_val: int) -> None:
    train, val = split_by_fraction(list(range(n)), fraction, seed=0)
    assert len(val) == n_val and len(train) == n - n_val


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.2, 1.5])
def test_split_by_fraction_bad_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match="val_fraction"):
        split_by_fraction(ITEMS, fraction)


def test_split_by_fraction_too_few() -> None:
    with pytest.raises(ConfigError, match="at least 2"):
        split_by_fraction(["only"], 0.5)


def test_kfold_folds_disjoint_and_cover_all() -> None:
    k = 4
    vals = []
    for fold in range(k):
        train, val = kfold_split(ITEMS, k, fold, seed=3)
        assert not set(train) & set(val)
        assert sorted(train + val) == ITEMS
        assert len(val) == 5
        vals.append(val)
    flat = [x for v in vals for x in v]
    assert sorted(flat) == ITEMS  # every item validated exactly once
    assert kfold_split(ITEMS, k, 2, seed=3) == kfold_split(ITEMS, k, 2, seed=3)
    assert vals[0] != ITEMS[:5]  # shuffled, not contiguous blocks
    assert kfold_split(ITEMS, k, 0, seed=4)[1] != vals[0]  # the seed matters


@pytest.mark.parametrize("num_folds, fold", [(1, 0), (5, 5), (5, -1), (0, 0)])
def test_kfold_bad_parameters(num_folds: int, fold: int) -> None:
    with pytest.raises(ConfigError, match="num_folds"):
        kfold_split(ITEMS, num_folds, fold)


def test_kfold_too_few_items() -> None:
    with pytest.raises(ConfigError, match="too few"):
        kfold_split(ITEMS[:3], 5, 0)
