"""Built-in generated data: deterministic per (seed, index), sensible values and labels."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from colorseg.data.synthetic import EM_CLASSES, SHAPES_CLASSES, make_em_sample, make_shapes_sample


def test_shapes_deterministic() -> None:
    a_img, a_mask = make_shapes_sample(1, 3, 48)
    b_img, b_mask = make_shapes_sample(1, 3, 48)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    c_img, _ = make_shapes_sample(1, 4, 48)
    d_img, _ = make_shapes_sample(2, 3, 48)
    assert not np.array_equal(a_img, c_img)
    assert not np.array_equal(a_img, d_img)


def test_shapes_values_and_classes() -> None:
    seen: set[int] = set()
    for i in range(6):
        img, mask = make_shapes_sample(0, i, 40)
        assert img.shape == (40, 40, 3) and img.dtype == np.float32
        assert mask.shape == (40, 40) and mask.dtype == np.int64
        assert 0.0 <= img.min() and img.max() <= 1.0 and img.std() > 0.02
        assert set(np.unique(mask).tolist()) <= {0, 1, 2, 3}
        assert (mask == 0).any() and (mask > 0).any()
        seen |= set(np.unique(mask).tolist())
    assert len(seen - {0}) >= 3
    assert len(SHAPES_CLASSES) == 4


def test_em_deterministic() -> None:
    a_img, a_mask = make_em_sample(0, 5, 64)
    b_img, b_mask = make_em_sample(0, 5, 64)
    np.testing.assert_array_equal(a_img, b_img)
    np.testing.assert_array_equal(a_mask, b_mask)
    c_img, c_mask = make_em_sample(0, 6, 64)
    assert not np.array_equal(a_img, c_img) and not np.array_equal(a_mask, c_mask)


def test_em_binary_thin_membranes() -> None:
    for i in range(3):
        img, mask = make_em_sample(0, i, 96)
        assert img.shape == (96, 96, 1) and img.dtype == np.float32
        assert mask.shape == (96, 96) and mask.dtype == np.int64
        assert 0.0 <= img.min() and img.max() <= 1.0
        assert set(np.unique(mask).tolist()) == {0, 1}
        membrane = mask == 0
        assert 0.05 < membrane.mean() < 0.5
        # thin: membrane pixels lie close to a cell (junctions of tiny cells may be a bit wider)
        dist = ndimage.distance_transform_edt(membrane)[membrane]
        assert np.percentile(dist, 90) <= 3 and dist.max() <= 8
        # membranes are drawn dark
        assert img[membrane, 0].mean() < img[~membrane, 0].mean() - 0.2
    assert EM_CLASSES == ["membrane", "cell"]
