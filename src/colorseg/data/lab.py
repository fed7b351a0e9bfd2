"""CIE Lab conversion: the one implementation (torch and numpy), the normalisation constants, and
the gray a colorizer sees.

Conventions (kornia, D65 white, 2° observer, sRGB in [0, 1]): ``L`` in [0, 100], ``a``/``b``
roughly in [-128, 127]. Models see ``L_norm = L / 50 - 1`` in [-1, 1] and predict
``ab_norm = ab / 110`` (|ab| ≤ 110 holds for almost all sRGB colours; the model output is
tanh-bounded).

numpy callers use :func:`rgb_to_lab_array` / :func:`lab_to_rgb_array`, which run the same
kornia code in float64; they agree with scikit-image's ``rgb2lab`` / ``lab2rgb`` (same
conventions) to about 1e-10 Lab units (tests/data/test_lab.py checks 1e-6).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import lab_to_rgb, rgb_to_lab

L_SCALE = 50.0
L_SHIFT = 1.0
AB_SCALE = 110.0


def rgb_to_lab_norm(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, H, W) sRGB in [0, 1] → (L_norm (B, 1, H, W), ab_norm (B, 2, H, W))."""
    lab = rgb_to_lab(rgb.clamp(0, 1))
    return lab[:, :1] / L_SCALE - L_SHIFT, lab[:, 1:] / AB_SCALE


def lab_norm_to_rgb(L_norm: torch.Tensor, ab_norm: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) L_norm + (B, 2, H, W) ab_norm → (B, 3, H, W) sRGB clipped to [0, 1]."""
    lab = torch.cat([(L_norm + L_SHIFT) * L_SCALE, ab_norm * AB_SCALE], dim=1)
    return lab_to_rgb(lab, clip=True)


def gray_to_L_norm(gray: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) gray in [0, 1] (treated as an sRGB gray level) → L_norm (B, 1, H, W)."""
    return rgb_to_lab_norm(gray.expand(-1, 3, -1, -1))[0]


def recombine(L_full: torch.Tensor, ab_low: torch.Tensor) -> torch.Tensor:
    """Colour from low resolution, detail from full resolution.

    Upsamples ``ab_low`` (B, 2, h, w) bilinearly to the size of ``L_full`` (B, 1, H, W) and
    returns the RGB image (B, 3, H, W) in [0, 1].
    """
    if ab_low.shape[-2:] != L_full.shape[-2:]:
        ab_low = F.interpolate(ab_low, size=L_full.shape[-2:], mode="bilinear", align_corners=False)
    return lab_norm_to_rgb(L_full, ab_low)


def rgb_to_lab_array(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) sRGB float in [0, 1] → float64 Lab of the same shape.

    Values outside [0, 1] are clipped first. Same kornia code as :func:`rgb_to_lab_norm`, in float64.
    """
    arr = np.asarray(rgb, dtype=np.float64)
    if arr.shape[-1] != 3 or arr.ndim not in (3, 4):
        raise ValueError(f"rgb_to_lab_array expects (H, W, 3) or (N, H, W, 3), got {arr.shape}")
    batch = torch.from_numpy(np.clip(arr, 0, 1).reshape(-1, *arr.shape[-3:])).permute(0, 3, 1, 2)
    return rgb_to_lab(batch).permute(0, 2, 3, 1).numpy().reshape(arr.shape)


def lab_to_rgb_array(lab: np.ndarray) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) Lab → float64 sRGB of the same shape, clipped to [0, 1].

    Out-of-gamut colours are clipped per channel, as scikit-image's ``lab2rgb`` does.
    """
    arr = np.asarray(lab, dtype=np.float64)
    if arr.shape[-1] != 3 or arr.ndim not in (3, 4):
        raise ValueError(f"lab_to_rgb_array expects (H, W, 3) or (N, H, W, 3), got {arr.shape}")
    batch = torch.from_numpy(arr.reshape(-1, *arr.shape[-3:]).copy()).permute(0, 3, 1, 2)
    return lab_to_rgb(batch, clip=True).permute(0, 2, 3, 1).numpy().reshape(arr.shape)


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """The gray a colorizer sees: (H, W, 3) sRGB float in [0, 1] → (H, W, 3) float32 gray.

    The colorizer's input is the CIE L of the photo (:func:`rgb_to_lab_norm`); this renders that L
    with ab = 0, i.e. the sRGB gray level of the same lightness (three equal channels). Feeding
    this gray to the colorizer gives it exactly the L of ``rgb``. It is not BT.601 luma (which
    weights gamma-encoded channels and gives a different lightness for saturated colours).
    """
    lab = rgb_to_lab_array(rgb)
    lab[..., 1:] = 0.0
    gray = lab_to_rgb_array(lab).mean(-1, keepdims=True)
    return np.repeat(gray, 3, axis=-1).astype(np.float32)
