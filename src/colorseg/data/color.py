"""CIE Lab handling for colorization: the one place that holds the normalisation constants.

Conventions (kornia, D65, sRGB in [0, 1]): ``L`` in [0, 100], ``a``/``b`` roughly in
[-128, 127]. Models see ``L_norm = L / 50 - 1`` in [-1, 1] and predict ``ab_norm = ab / 110``
(|ab| ≤ 110 holds for almost all sRGB colours; the model output is tanh-bounded).
"""

from __future__ import annotations

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
