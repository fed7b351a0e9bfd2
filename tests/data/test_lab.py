"""The one Lab implementation: numpy and torch entry points agree with each other and with
scikit-image, and ``to_gray`` is the lightness the colorizer sees."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from colorseg.data.lab import (
    AB_SCALE,
    L_SCALE,
    L_SHIFT,
    lab_norm_to_rgb,
    lab_to_rgb_array,
    rgb_to_lab_array,
    rgb_to_lab_norm,
    to_gray,
)

SKIMAGE_ATOL = 1e-6  # Lab units / sRGB; measured ~1e-13 (same D65 / 2° / sRGB formulas, float64)


def _random_rgb(shape=(9, 13, 3), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape)


def test_rgb_to_lab_array_matches_skimage_and_known_values() -> None:
    rgb = _random_rgb()
    lab = rgb_to_lab_array(rgb)
    assert lab.shape == rgb.shape and lab.dtype == np.float64
    np.testing.assert_allclose(lab, rgb2lab(rgb), atol=SKIMAGE_ATOL)
    white, black = rgb_to_lab_array(np.ones((1, 1, 3))), rgb_to_lab_array(np.zeros((1, 1, 3)))
    np.testing.assert_allclose(white[0, 0], [100.0, 0.0, 0.0], atol=0.01)  # ab ~5e-3: matrix rounding, as in skimage
    np.testing.assert_allclose(black[0, 0], [0.0, 0.0, 0.0], atol=1e-4)
    red = rgb_to_lab_array(np.array([[[1.0, 0.0, 0.0]]]))[0, 0]  # sRGB red, D65: (53.24, 80.09, 67.20)
    np.testing.assert_allclose(red, [53.24, 80.09, 67.20], atol=0.01)


def test_lab_to_rgb_array_matches_skimage_including_out_of_gamut() -> None:
    rng = np.random.default_rng(1)
    lab = np.stack([rng.uniform(0, 100, (16, 16)), rng.uniform(-128, 127, (16, 16)),
                    rng.uniform(-128, 127, (16, 16))], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about negative Z it clips
        expected = np.clip(lab2rgb(lab), 0, 1)
    rgb = lab_to_rgb_array(lab)
    assert rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_allclose(rgb, expected, atol=SKIMAGE_ATOL)


def test_numpy_and_torch_paths_agree() -> None:
    rgb = _random_rgb((2, 8, 10, 3), seed=2)  # a batch goes through as well
    lab = rgb_to_lab_array(rgb)
    L_norm, ab_norm = rgb_to_lab_norm(torch.from_numpy(rgb).permute(0, 3, 1, 2))
    np.testing.assert_allclose(lab[..., 0], ((L_norm[:, 0] + L_SHIFT) * L_SCALE).numpy(), atol=1e-9)
    np.testing.assert_allclose(lab[..., 1:], (ab_norm * AB_SCALE).permute(0, 2, 3, 1).numpy(), atol=1e-9)
    back = lab_norm_to_rgb(L_norm, ab_norm).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(lab_to_rgb_array(lab), back, atol=1e-9)
    np.testing.assert_allclose(lab_to_rgb_array(lab), rgb, atol=1e-6)  # float64 round trip


def test_array_wrappers_clip_inputs_and_reject_bad_shapes() -> None:
    np.testing.assert_allclose(rgb_to_lab_array(np.full((1, 1, 3), 1.5)), rgb_to_lab_array(np.ones((1, 1, 3))))
    with pytest.raises(ValueError, match="H, W, 3"):
        rgb_to_lab_array(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="H, W, 3"):
        lab_to_rgb_array(np.zeros((4, 4, 2)))


def test_to_gray_keeps_lightness_and_removes_colour() -> None:
    rgb = _random_rgb(seed=3).astype(np.float32)
    gray = to_gray(rgb)
    assert gray.shape == rgb.shape and gray.dtype == np.float32
    np.testing.assert_array_equal(gray[..., 0], gray[..., 1])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
    lab_gray, lab_rgb = rgb_to_lab_array(gray), rgb_to_lab_array(rgb)
    np.testing.assert_allclose(lab_gray[..., 0], lab_rgb[..., 0], atol=1e-3)  # same L (float32 output)
    assert np.abs(lab_gray[..., 1:]).max() < 0.01  # equal sRGB channels: |ab| < 5e-3 (white-point rounding)
    # the colorizer's input for the gray equals its input for the colour photo
    L_gray = rgb_to_lab_norm(torch.from_numpy(gray).permute(2, 0, 1)[None])[0]
    L_rgb = rgb_to_lab_norm(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0]
    assert torch.allclose(L_gray, L_rgb, atol=1e-4)


def test_to_gray_is_not_bt601_luma_nor_the_channel_mean() -> None:
    """Pure sRGB red has L* 53.24 → gray level 0.4985 (BT.601 luma: 0.299, channel mean: 0.333)."""
    gray = to_gray(np.array([[[1.0, 0.0, 0.0]]], dtype=np.float32))
    np.testing.assert_allclose(gray[0, 0], [0.4985] * 3, atol=5e-4)
    # a gray input stays itself
    level = np.full((2, 2, 3), 0.25, dtype=np.float32)
    np.testing.assert_allclose(to_gray(level), level, atol=1e-5)
