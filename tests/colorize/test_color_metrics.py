"""Colorization metrics on hand-built cases."""

from __future__ import annotations

import numpy as np
import pytest

from colorseg.metrics import colorization as cm


def test_psnr_identical_is_capped_and_known_value() -> None:
    a = np.random.default_rng(0).random((8, 8, 3))
    assert cm.psnr(a, a) == cm.PSNR_CAP
    b = np.zeros((4, 4, 3))
    c = np.full((4, 4, 3), 1 / 255)  # MSE = 1 in 8-bit units
    assert cm.psnr(b, c) == pytest.approx(20 * np.log10(255), abs=1e-6)


def test_ssim_identical_is_one() -> None:
    a = np.random.default_rng(0).random((16, 16, 3))
    assert cm.ssim(a, a) == pytest.approx(1.0)
    assert cm.ssim(a, 1 - a) < 0.5


def test_colorfulness_of_gray_is_zero_and_of_red_known() -> None:
    gray = np.repeat(np.random.default_rng(0).random((8, 8, 1)), 3, axis=2)
    assert cm.colorfulness(gray) == pytest.approx(0.0, abs=1e-9)
    red = np.zeros((4, 4, 3))
    red[..., 0] = 1.0  # rg = 255, yb = 127.5, no spread
    assert cm.colorfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_ab_auc_perfect_and_gray_prediction() -> None:
    a = np.random.default_rng(0).random((8, 8, 3))
    assert cm.ab_auc(a, a) == pytest.approx(1.0)
    gray = np.repeat(a.mean(-1, keepdims=True), 3, axis=2)
    assert 0 < cm.ab_auc(gray, a) < 1


def test_diversity_and_best_of_n() -> None:
    a = np.random.default_rng(0).random((8, 8, 3))
    same = np.stack([a, a, a])
    assert cm.diversity(same) == 0 and cm.diversity(same[:1]) == 0
    b = a.copy()
    b[..., 0] = 1 - b[..., 0]
    assert cm.diversity(np.stack([a, b])) > 0
    assert cm.best_of_n_psnr(np.stack([b, a]), a) == cm.PSNR_CAP


def test_mean_sample_psnr_averages_single_samples_and_oracle_takes_the_best() -> None:
    target = np.zeros((4, 4, 3))
    exact, off_by_one = target.copy(), np.full((4, 4, 3), 1 / 255)  # PSNR cap and 20·log10(255)
    samples = np.stack([exact, off_by_one])
    assert cm.mean_sample_psnr(samples, target) == pytest.approx((cm.PSNR_CAP + 20 * np.log10(255)) / 2)
    assert cm.best_of_n_psnr(samples, target) == cm.PSNR_CAP
    assert cm.mean_sample_psnr(samples[1:], target) == pytest.approx(20 * np.log10(255))


def test_every_evaluated_key_has_a_label() -> None:
    from colorseg.evaluation.colorization import DISTRIBUTION_KEYS, METRIC_KEYS
    from colorseg.metrics.registry import labels

    colorize_labels = labels("colorize")
    labelled = set(METRIC_KEYS) | set(DISTRIBUTION_KEYS) - {"feature_distribution_note"}
    assert labelled <= set(colorize_labels)
    assert "training objective" in colorize_labels["feature_distance"]
    assert colorize_labels["best_of_n_psnr"].startswith("oracle")
    assert not any("FID" in label for label in colorize_labels.values())
