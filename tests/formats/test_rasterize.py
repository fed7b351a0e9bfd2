"""One rasterisation rule for every format: pixel (r, c) is the square [c, c+1) x [r, r+1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colorseg.errors import DataError
from colorseg.formats.rasterize import box_polygon, check_points, ellipse_polygon, polygons_to_mask


def test_box_covers_the_pixels_inside_its_edges() -> None:
    m = polygons_to_mask([box_polygon(1, 1, 4, 3)], 6, 6)
    expected = np.zeros((6, 6), dtype=bool)
    expected[1:3, 1:4] = True
    np.testing.assert_array_equal(m, expected)
    np.testing.assert_array_equal(polygons_to_mask([box_polygon(4, 3, 1, 1)], 6, 6), expected)  # corner order


def test_polygons_are_a_union_and_clipped_to_the_image() -> None:
    m = polygons_to_mask([box_polygon(0, 0, 2, 2), box_polygon(3, 3, 50, 50)], 5, 5)
    assert m[:2, :2].all() and m[3:, 3:].all() and m.sum() == 4 + 4
    assert not polygons_to_mask([], 4, 4).any()


def test_rotating_a_box_a_quarter_turn_swaps_its_sides() -> None:
    turned = polygons_to_mask([box_polygon(2, 4, 8, 6, rotation=90)], 10, 10)
    upright = polygons_to_mask([box_polygon(4, 2, 6, 8)], 10, 10)
    np.testing.assert_array_equal(turned, upright)


def test_circle_area_is_close_to_pi_r_squared() -> None:
    m = polygons_to_mask([ellipse_polygon(20, 20, 10, 10)], 40, 40)
    assert abs(m.sum() - math.pi * 100) < 0.03 * math.pi * 100
    assert m[20, 20] and not m[0, 0]


def test_ellipse_radii_and_rotation() -> None:
    wide = polygons_to_mask([ellipse_polygon(20, 20, 12, 4)], 40, 40)
    tall = polygons_to_mask([ellipse_polygon(20, 20, 12, 4, rotation=90)], 40, 40)
    assert wide.any(axis=0).sum() > 20 and wide.any(axis=1).sum() < 10
    assert abs(int(tall.sum()) - int(wide.sum())) <= 4 and tall.any(axis=1).sum() > 20


@pytest.mark.parametrize("values, message", [
    ([1, 1, 5, 1], "polygon with 2 point(s)"),
    ([1, 1, 5, 1, 5], "not a whole number"),
    ([1, 1, 5, "x", 5, 5], "must be numbers"),
    ([1, 1, 5, True, 5, 5], "must be numbers"),
    ([1, 1, 5, float("nan"), 5, 5], "finite"),
    ([1, 1, 5, 1e9, 5, 5], "finite and within"),
    ("1,1,5,1,5,5", "must be a list"),
])
def test_bad_points_are_refused(values, message: str) -> None:
    with pytest.raises(DataError, match="shape 3") as err:
        check_points(values, "shape 3")
    assert message in str(err.value)
