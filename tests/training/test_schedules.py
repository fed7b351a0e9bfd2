"""The shared cosine learning-rate schedule."""

from __future__ import annotations

import pytest

from colorseg.training.schedules import cosine_factor


def test_cosine_warms_up_linearly_then_decays_to_the_floor() -> None:
    assert [cosine_factor(s, 100, warmup=4) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert cosine_factor(4, 100, warmup=4) == pytest.approx(1.0)
    assert cosine_factor(52, 100, warmup=4, floor=0.1) == pytest.approx(0.55)  # half way: mid of [floor, 1]
    assert cosine_factor(100, 100, floor=0.05) == pytest.approx(0.05)
    assert cosine_factor(500, 100, floor=0.05) == pytest.approx(0.05)  # held after the end
