"""Perceptual hash, pixel digests and duplicate grouping (multi-index search vs brute force)."""

from __future__ import annotations

import numpy as np
import pytest

from colorseg.data.doctor.duplicates import (
    NEAR_THRESHOLD,
    duplicate_groups,
    hamming,
    near_pairs,
    phash,
    pixel_digest,
)
from tests.doctor.builders import jpeg_roundtrip, photo


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32).mean(-1) / 255


def test_phash_survives_reencoding_brightness_and_resizing_but_separates_photos() -> None:
    a = photo(1, 96, 128)
    base = phash(_gray(a))
    assert hamming(base, phash(_gray(jpeg_roundtrip(a, 60)))) <= NEAR_THRESHOLD
    assert hamming(base, phash(np.clip(_gray(a) * 1.1 + 0.03, 0, 1))) <= NEAR_THRESHOLD
    assert hamming(base, phash(_gray(a)[::2, ::2])) <= NEAR_THRESHOLD
    others = [hamming(base, phash(_gray(photo(s, 96, 128)))) for s in range(2, 12)]
    assert min(others) > NEAR_THRESHOLD, others
    with pytest.raises(ValueError, match="non-empty"):
        phash(np.zeros((0, 3)))


def test_pixel_digest_is_equal_for_equal_pixels_only() -> None:
    a = photo(1)
    assert pixel_digest(a) == pixel_digest(a.copy())
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert pixel_digest(a) != pixel_digest(b)
    assert pixel_digest(a) != pixel_digest(a.astype(np.uint16))  # dtype is part of it


@pytest.mark.parametrize("threshold", [0, 2, 4, 7])
def test_near_pairs_equals_brute_force(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    base = [int(x) for x in rng.integers(0, 2**63, 40, dtype=np.int64)]
    hashes = list(base)
    for h in base[:20]:  # near copies at distances 0..8
        flips = rng.choice(64, int(rng.integers(0, 9)), replace=False)
        hashes.append(h ^ sum(1 << int(f) for f in flips))
    brute = sorted((i, j, hamming(hashes[i], hashes[j])) for i in range(len(hashes)) for j in range(i + 1, len(hashes))
                   if hamming(hashes[i], hashes[j]) <= threshold)
    assert near_pairs(hashes, threshold) == brute
    assert brute  # the case is not empty


def test_duplicate_groups_join_transitively_and_mark_identical() -> None:
    h0 = 0x0F0F0F0F0F0F0F0F
    hashes = [h0, h0 ^ 0b11, h0 ^ 0b1111, 0xFFFF000000000000, 0x1234567890ABCDEF, 0x1234567890ABCDEF]
    digests = ["a", "b", "c", "d", "e", "e"]
    groups = duplicate_groups(hashes, digests, threshold=2)
    assert [g.members for g in groups] == [(0, 1, 2), (4, 5)]  # 0-1 and 1-2 are 2 apart, 0-2 is 4
    assert not groups[0].identical and groups[0].max_distance == 2
    assert groups[1].identical and groups[1].max_distance == 0
    assert duplicate_groups(hashes[:1]) == [] and duplicate_groups([1, 2**40], threshold=0) == []
    # identical pixels are copies even if their hashes were far apart
    assert [g.members for g in duplicate_groups([0, 2**64 - 1], ["x", "x"], threshold=0)] == [(0, 1)]
    with pytest.raises(ValueError, match="digests"):
        duplicate_groups([1, 2], ["a"])
