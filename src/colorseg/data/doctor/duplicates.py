"""Duplicate and near-duplicate images: a perceptual hash (pHash, 64 bits) per image, exact
matches by pixel digest, near matches by Hamming distance between hashes.

pHash: the image's gray levels resized to 32×32 (Lanczos), 2-D DCT (``scipy.fft.dctn``), the 8×8
lowest frequencies compared with their median → 64 bits. It survives re-encoding, small
brightness changes and resizing; different photos are typically 20–40 bits apart.

Near pairs are found without comparing all pairs: a 64-bit hash is cut into ``threshold + 1``
pieces, and two hashes within ``threshold`` bits agree exactly on at least one piece
(pigeonhole), so only hashes sharing a piece are compared.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy.fft import dctn
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

HASH_SIZE = 8
NEAR_THRESHOLD = 4  # bits of 64: re-saved / slightly edited copies are 0–4 apart


def phash(gray: np.ndarray) -> int:
    """64-bit perceptual hash of an (H, W) gray image (any float or integer range)."""
    a = np.asarray(gray, dtype=np.float32)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"phash expects a non-empty (H, W) array, got shape {a.shape}")
    side = HASH_SIZE * 4
    small = np.asarray(Image.fromarray(a, mode="F").resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    low = dctn(small, type=2, norm="ortho")[:HASH_SIZE, :HASH_SIZE]
    bits = (low > np.median(low)).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def pixel_digest(array: np.ndarray) -> str:
    """Digest of decoded pixels (shape, dtype and values): equal digests = identical images."""
    a = np.ascontiguousarray(array)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{a.shape}{a.dtype}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two hashes."""
    return (int(a) ^ int(b)).bit_count()


def _popcount64(x: np.ndarray) -> np.ndarray:
    return np.unpackbits(x.astype(">u8").view(np.uint8).reshape(-1, 8), axis=1).sum(1)


def near_pairs(hashes: Sequence[int], threshold: int = NEAR_THRESHOLD) -> list[tuple[int, int, int]]:
    """All index pairs ``(i, j, distance)``, ``i < j``, whose 64-bit hashes differ in at most
    ``threshold`` bits (multi-index search, see the module docstring)."""
    h = np.asarray([int(x) for x in hashes], dtype=np.uint64)
    if len(h) < 2:
        return []
    pieces = threshold + 1
    bounds = np.linspace(0, 64, pieces + 1).astype(int)
    found: dict[tuple[int, int], int] = {}
    for lo, hi in itertools.pairwise(bounds):
        if hi == lo:
            continue
        key = (h >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for s, e in zip(starts, ends):
            if e - s < 2:
                continue
            members = np.sort(order[s:e])
            ii, jj = np.triu_indices(len(members), k=1)
            dist = _popcount64(h[members[ii]] ^ h[members[jj]])
            for a, b, d in zip(members[ii][dist <= threshold], members[jj][dist <= threshold], dist[dist <= threshold]):
                found[(int(a), int(b))] = int(d)
    return sorted((a, b, d) for (a, b), d in found.items())


@dataclass(frozen=True)
class DuplicateGroup:
    """Images that are copies of each other: indices into the hashed list, ``identical`` when all
    decoded pixels are equal, else the largest hash distance seen inside the group."""

    members: tuple[int, ...]
    identical: bool
    max_distance: int


def duplicate_groups(hashes: Sequence[int], digests: Sequence[str] | None = None,
                     threshold: int = NEAR_THRESHOLD) -> list[DuplicateGroup]:
    """Groups (connected components) of images linked by equal pixel digests or by hashes at most
    ``threshold`` bits apart; singletons are left out. Sorted by first member."""
    n = len(hashes)
    if digests is not None and len(digests) != n:
        raise ValueError(f"{len(digests)} digests for {n} hashes")
    edges = {(a, b): d for a, b, d in near_pairs(hashes, threshold)}
    if digests is not None:
        first: dict[str, int] = {}
        for i, dg in enumerate(digests):
            if dg in first:
                edges[(first[dg], i)] = 0
            else:
                first[dg] = i
    if not edges:
        return []
    rows, cols = zip(*edges)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    widest: dict[int, int] = {}
    for (a, _), d in edges.items():
        widest[labels[a]] = max(widest.get(labels[a], 0), d)
    groups = []
    for lab, dist in widest.items():
        members = tuple(int(i) for i in np.flatnonzero(labels == lab))
        identical = digests is not None and len({digests[i] for i in members}) == 1
        groups.append(DuplicateGroup(members, identical, dist))
    return sorted(groups, key=lambda g: g.members)
