"""The hint-curve benchmark's protocol (benchmarks/colorize_hints.py): seeded, nested hint
positions inside the photo, colours from the ground truth around each position."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import colorize_hints


def photo(h: int = 60, w: int = 90) -> np.ndarray:
    rgb = np.zeros((h, w, 3), np.float32)
    rgb[:, : w // 2] = (0.9, 0.1, 0.1)  # red left half
    rgb[:, w // 2:] = (0.1, 0.2, 0.9)  # blue right half
    return rgb


def test_hints_are_nested_seeded_and_inside_the_photo() -> None:
    rgb = photo()
    seed = colorize_hints.photo_seed("101085.jpg")
    assert seed == colorize_hints.photo_seed("101085.jpg") != colorize_hints.photo_seed("101087.jpg")
    five = colorize_hints.gt_hints(rgb, 5, seed, 128, 3)
    ten = colorize_hints.gt_hints(rgb, 10, seed, 128, 3)
    assert len(five) == 5 and len(ten) == 10 and ten[:5] == five
    assert colorize_hints.gt_hints(rgb, 0, seed, 128, 3) == []
    assert all(0 <= x < 90 and 0 <= y < 60 for x, y, _ in ten)
    assert len({(x, y) for x, y, _ in colorize_hints.gt_hints(rgb, 20, seed, 128, 3)}) == 20


def test_hint_colour_is_the_ground_truth_around_the_position() -> None:
    rgb = photo()
    for x, y, colour in colorize_hints.gt_hints(rgb, 20, 7, 128, 3):
        if x < 44:  # window entirely in the red half
            np.testing.assert_allclose(colour, (0.9, 0.1, 0.1), atol=1e-6)
        elif x > 46:
            np.testing.assert_allclose(colour, (0.1, 0.2, 0.9), atol=1e-6)
        assert all(isinstance(v, float) and 0 <= v <= 1 for v in colour)


def test_table_names_gain_and_targets() -> None:
    curve = {"0": {"psnr": 23.0, "sem": 0.2, "gain_db": 0.0}, "10": {"psnr": 26.5, "sem": 0.2, "gain_db": 3.5}}
    result = {"counts": [0, 10], "models": {"hints": {"curve": curve},
                                            "nohints": {"curve": {"0": {"psnr": 23.1, "sem": 0.2, "gain_db": 0.0}}}},
              "targets": {"gain_at_10_db": 3.5, "no_hint_cost_db": -0.1}}
    table = colorize_hints.render_table(result)
    assert "26.50 (+3.50)" in table and "23.00 ± 0.20" in table and "| — |" in table
    assert "+3.50 dB" in table and "-0.10 dB" in table
