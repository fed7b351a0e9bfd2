"""Load: batch prediction keeps nothing per image (slow; the mixed-size figures, where per-shape
caches and the allocator raise the resident size to a plateau first, come from
``benchmarks/batch_memory.py``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_batch_prediction_peak_memory_is_flat(tmp_path: Path) -> None:
    """Same-size images (varied content and formats): ten times the images, same peak memory.
    Anything kept per image (results, decoded arrays, tiles) would add ~0.5 MiB each here."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import batch_memory
    finally:
        sys.path.remove(str(BENCHMARKS))
    paths = batch_memory.make_images(tmp_path / "all", 300, 192, 192)
    ckpt = batch_memory.make_checkpoint(tmp_path / "tiny.ckpt")
    runs = {}
    for n in (30, 300):
        subset = tmp_path / f"in_{n}"
        subset.mkdir()
        for p in paths[:n]:
            os.link(p, subset / p.name)
        runs[n] = batch_memory.run_predict(ckpt, subset, tmp_path / f"out_{n}", 2, tmp_path / f"log_{n}.txt",
                                           sample_s=0.2)
        assert runs[n]["images"] == n and runs[n]["failed"] == 0
        assert len(list((tmp_path / f"out_{n}").glob("*_overlay.png"))) == n
    assert runs[300]["peak_rss_mib"] - runs[30]["peak_rss_mib"] < 30, runs
    _, half, _, end = runs[300]["rss_at_25_50_75_100_percent_mib"]
    assert end - half < 20, runs[300]  # level over the second half (after warm-up), not rising per image
