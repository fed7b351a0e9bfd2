"""Colorization metrics on RGB images (their names and labels: :mod:`colorseg.metrics.registry`).

Convention: images are float RGB in [0, 1], compared in the 8-bit range (×255). PSNR uses
MAX = 255 over all pixels and channels and is capped at :data:`PSNR_CAP` dB for identical
images (JSON has no infinity). SSIM is scikit-image's ``structural_similarity`` with its
defaults: a uniform (box) 7 × 7 window (images under 7 px: the largest odd window that fits, at
least 3), *not* the Gaussian window of Wang et al. (2004); sample covariances; K1 = 0.01,
K2 = 0.03; ``data_range=255``. Per channel, the SSIM map is averaged after cropping
(window − 1) / 2 pixels at each border; the three channel means are then averaged. Colourfulness is Hasler &
Süsstrunk (2003) on 8-bit RGB; a gray image scores 0. The ab error curve follows Zhang et al.
(2016): the fraction of pixels whose ab error (Euclidean, Lab units of
:func:`colorseg.data.lab.rgb_to_lab_array`) is within a threshold, for
thresholds 0..150; its area is normalised to [0, 1].

Sampled outputs: :func:`best_of_n_psnr` is an *oracle* (it uses the ground truth to pick the
sample), so it is only meaningful next to :func:`mean_sample_psnr`, the PSNR a user who takes
one sample gets on average.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from colorseg.data.lab import rgb_to_lab_array

PSNR_CAP = 100.0
AUC_THRESHOLDS = np.arange(0, 151)


def psnr(pred: np.ndarray, target: np.ndarray) -> float:
    """PSNR in dB of (H, W, 3) float RGB in [0, 1], 8-bit range; capped at PSNR_CAP."""
    mse = np.mean((np.clip(pred, 0, 1) * 255.0 - np.clip(target, 0, 1) * 255.0) ** 2)
    if mse == 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10 * np.log10(255.0**2 / mse)))


def ssim(pred: np.ndarray, target: np.ndarray) -> float:
    """SSIM of (H, W, 3) float RGB in [0, 1], in the 8-bit range (uniform window, see module docstring)."""
    a, b = np.clip(pred, 0, 1) * 255.0, np.clip(target, 0, 1) * 255.0
    win = min(7, *[(s if s % 2 else s - 1) for s in a.shape[:2]])
    return float(structural_similarity(a, b, data_range=255.0, channel_axis=-1, win_size=max(win, 3)))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler–Süsstrunk colourfulness of (H, W, 3) float RGB in [0, 1] (8-bit scale)."""
    r, g, b = (np.clip(rgb, 0, 1) * 255.0).transpose(2, 0, 1)
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ab_error(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-pixel Euclidean ab distance (Lab units) between two (H, W, 3) RGB images → (H, W)."""
    return np.linalg.norm(rgb_to_lab_array(pred)[..., 1:] - rgb_to_lab_array(target)[..., 1:], axis=-1)


def ab_auc(pred: np.ndarray, target: np.ndarray) -> float:
    """Area under the cumulative ab-error curve for thresholds 0..150, in [0, 1] (1 = perfect)."""
    err = ab_error(pred, target).ravel()
    curve = np.array([(err <= t).mean() for t in AUC_THRESHOLDS])
    return float(np.trapezoid(curve, AUC_THRESHOLDS) / (AUC_THRESHOLDS[-1] - AUC_THRESHOLDS[0]))


def diversity(samples: np.ndarray) -> float:
    """Mean pairwise per-pixel ab distance (Lab units) between N samples (N, H, W, 3); 0 if N < 2."""
    n = len(samples)
    if n < 2:
        return 0.0
    abs_ = rgb_to_lab_array(np.asarray(samples))[..., 1:]
    dists = [np.linalg.norm(abs_[i] - abs_[j], axis=-1).mean() for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(dists))


def best_of_n_psnr(samples: np.ndarray, target: np.ndarray) -> float:
    """Oracle: the highest PSNR among N samples (N, H, W, 3), chosen with the target (H, W, 3)."""
    return max(psnr(s, target) for s in samples)


def mean_sample_psnr(samples: np.ndarray, target: np.ndarray) -> float:
    """Mean PSNR of single samples: N samples (N, H, W, 3) each against the target (H, W, 3)."""
    return float(np.mean([psnr(s, target) for s in samples]))
