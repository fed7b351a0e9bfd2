"""Edge-aware propagation of the residual at colour hints (colorseg.inference.hint_propagation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.inference.colorizer import Colorizer
from colorseg.inference.hint_propagation import NO_PROPAGATION, HintPropagation, propagate_hints
from colorseg.inference.hints import hints_to_tensor
from tests.app.conftest import colour_photo, hint_colorizer_checkpoint


def _hint_map(h: int, w: int, spots: list[tuple[int, int, float, float]], patch: int = 3) -> torch.Tensor:
    """(1, 3, h, w) map with a ``patch`` square of ab (a, b) centred on each (row, col)."""
    out = torch.zeros(1, 3, h, w)
    r = patch // 2
    for y, x, a, b in spots:
        out[0, 0, y - r: y + r + 1, x - r: x + r + 1] = a
        out[0, 1, y - r: y + r + 1, x - r: x + r + 1] = b
        out[0, 2, y - r: y + r + 1, x - r: x + r + 1] = 1
    return out


def test_no_hints_or_zero_strength_leave_the_prediction_alone() -> None:
    ab = torch.randn(2, 2, 16, 20)
    L = torch.zeros(1, 1, 16, 20)
    assert propagate_hints(ab, L, None, 3) is ab
    assert propagate_hints(ab, L, torch.zeros(1, 3, 16, 20), 3) is ab
    assert propagate_hints(ab, L, _hint_map(16, 20, [(8, 10, 0.5, 0.5)]), 3, NO_PROPAGATION) is ab


def test_a_lone_hint_sets_its_own_patch_and_fades_with_distance() -> None:
    ab = torch.zeros(1, 2, 40, 40)
    L = torch.zeros(1, 1, 40, 40)  # flat lightness: only distance matters
    out = propagate_hints(ab, L, _hint_map(40, 40, [(20, 20, 0.4, -0.2)]), 3,
                          HintPropagation(sigma_space=2.0, sigma_light=10.0))  # reach ≫ the patch
    assert out[0, :, 20, 20].tolist() == pytest.approx([0.4, -0.2], abs=1e-3)
    near = HintPropagation(sigma_space=0.1, sigma_light=10.0)  # 4 px
    out = propagate_hints(ab, L, _hint_map(40, 40, [(20, 20, 0.4, -0.2)]), 3, near)
    a = out[0, 0]
    assert a[20, 20] > a[20, 26] > a[20, 32] > 0
    assert float(a[20, 39]) < 0.05 * float(a[20, 20])


def test_a_lightness_edge_stops_the_hint() -> None:
    ab = torch.zeros(1, 2, 30, 40)
    L = torch.full((1, 1, 30, 40), -0.5)
    L[..., 20:] = 0.5  # right part 50 L units brighter
    out = propagate_hints(ab, L, _hint_map(30, 40, [(15, 10, 0.3, 0.3)]), 3,
                          HintPropagation(sigma_space=1.0, sigma_light=5.0))
    left, right = float(out[0, 0, 15, 18]), float(out[0, 0, 15, 22])
    assert left > 0.25 and right < 1e-3


def test_overlapping_hints_average_their_residuals_and_samples_get_their_own() -> None:
    ab = torch.stack([torch.zeros(2, 20, 20), torch.full((2, 20, 20), 0.2)])  # two samples (N=2)
    L = torch.zeros(1, 1, 20, 20)
    hints = _hint_map(20, 20, [(10, 5, 0.4, 0.0), (10, 14, -0.4, 0.0)])
    out = propagate_hints(ab, L, hints, 3, HintPropagation(sigma_space=5.0, sigma_light=10.0))
    assert float(out[0, 0, 10, 10]) == pytest.approx(0.0, abs=0.02)  # +0.4 and -0.4 residuals cancel
    assert float(out[1, 1, 10, 10]) == pytest.approx(0.0, abs=0.02)  # b: residual -0.2 from both → 0
    local = propagate_hints(ab, L, hints, 3, HintPropagation(sigma_space=0.05, sigma_light=10.0))  # 1 px reach
    assert float(local[0, 0, 10, 5]) > 0.15 and float(local[0, 0, 10, 14]) < -0.15  # each hint its own sign
    assert float(local[0, 0, 10, 10]) == pytest.approx(0.0, abs=0.01)  # and nothing half way between


@pytest.mark.parametrize("kw,match", [({"sigma_space": 0}, "sigma_space"), ({"sigma_light": -1}, "sigma_light"),
                                      ({"strength": 1.5}, "strength"), ({"sigma_space": "wide"}, "sigma_space")])
def test_bad_settings_name_the_value(kw: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        HintPropagation(**kw)


def test_colorizer_propagates_by_default_and_not_without_hints(tmp_path: Path) -> None:
    colorizer = Colorizer.from_checkpoint(hint_colorizer_checkpoint(tmp_path / "hint.ckpt"))
    photo = colour_photo()
    hints = [(30, 20, (230, 20, 20))]
    plain = colorizer.colorize(photo, hints=hints, propagation=NO_PROPAGATION)
    spread = colorizer.colorize(photo, hints=hints)
    assert not np.allclose(plain, spread, atol=1e-3)
    np.testing.assert_array_equal(colorizer.colorize(photo), colorizer.colorize(photo, propagation=NO_PROPAGATION))
    # at the hint the propagated output is at least as close to the hinted red as the network's own
    red = np.array([230, 20, 20]) / 255
    assert np.abs(spread[20, 30] - red).sum() <= np.abs(plain[20, 30] - red).sum() + 1e-6
    # the map the colorizer builds is the map the propagation reads
    assert hints_to_tensor(hints, photo.shape[:2], (32, 43)).shape == (1, 3, 32, 43)
