"""Augmentation: random scale + crop on the CPU, then GPU-friendly kornia transforms on batches.

Geometric transforms (flips, 90° rotations, small rotations, elastic deformation as in the
U-Net paper) are applied identically to image and mask; masks are resampled with nearest
neighbour and pixels that come from outside the image (padding) become ``ignore_index``.
Intensity transforms (brightness, contrast, gamma, Gaussian noise and blur) touch the image only.
Every transform has its own probability; ``enabled=False`` switches augmentation off.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn

# kornia's elastic transform calls affine_grid without align_corners; the default is what we want
warnings.filterwarnings("ignore", message=".*align_corners.*", category=UserWarning)


@dataclass
class AugmentConfig:
    """Which transforms run, with their probability ``*_p`` and strength."""

    enabled: bool = True
    hflip_p: float = 0.5
    vflip_p: float = 0.5
    rot90_p: float = 0.5
    rotate_p: float = 0.3
    rotate_degrees: float = 15.0
    elastic_p: float = 0.3
    elastic_alpha: float = 1.0
    elastic_sigma: float = 8.0
    brightness_p: float = 0.3
    brightness: float = 0.15
    contrast_p: float = 0.3
    contrast: float = 0.2
    gamma_p: float = 0.3
    gamma: float = 0.25
    noise_p: float = 0.2
    noise_std: float = 0.03
    blur_p: float = 0.1
    blur_sigma: float = 1.0


class SegmentationAugment(nn.Module):
    """Batch augmentation on any device.

    Call with image ``(B, C, H, W)`` float in [0, 1] and mask ``(B, H, W)`` long; returns both
    with the same shapes. Padded mask pixels become ``ignore_index``.
    """

    def __init__(self, cfg: AugmentConfig, ignore_index: int = 255) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.rot90_p = cfg.rot90_p  # exact quarter turns: see random_rot90 (not kornia's resampling one)
        ks = max(3, int(4 * cfg.elastic_sigma) | 1)
        geometric = [
            K.RandomHorizontalFlip(p=cfg.hflip_p),
            K.RandomVerticalFlip(p=cfg.vflip_p),
            K.RandomRotation(degrees=cfg.rotate_degrees, p=cfg.rotate_p),
            K.RandomElasticTransform(kernel_size=(ks, ks), sigma=(cfg.elastic_sigma,) * 2,
                                     alpha=(cfg.elastic_alpha,) * 2, p=cfg.elastic_p),
        ]
        intensity = [
            K.RandomBrightness(brightness=(1 - cfg.brightness, 1 + cfg.brightness), p=cfg.brightness_p),
            K.RandomContrast(contrast=(1 - cfg.contrast, 1 + cfg.contrast), p=cfg.contrast_p),
            K.RandomGamma(gamma=(1 - cfg.gamma, 1 + cfg.gamma), p=cfg.gamma_p),
            K.RandomGaussianBlur(kernel_size=(5, 5), sigma=(0.1, cfg.blur_sigma), p=cfg.blur_p),
            K.RandomGaussianNoise(std=cfg.noise_std, p=cfg.noise_p),
        ]
        self.geometric = K.AugmentationSequential(*[t for t in geometric if t.p > 0],
                                                  data_keys=["input", "mask"])
        self.intensity = K.AugmentationSequential(*[t for t in intensity if t.p > 0],
                                                  data_keys=["input"])

    @torch.no_grad()
    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shifted = (mask + 1).unsqueeze(1).float()  # 0 now marks "came from outside"
        if self.rot90_p > 0:
            image, shifted = random_rot90(image, shifted, self.rot90_p)
        if len(self.geometric):
            image, shifted = self.geometric(image, shifted)
        if len(self.intensity):
            image = self.intensity(image)
        out_mask = shifted.squeeze(1).round().long() - 1
        out_mask[out_mask < 0] = self.ignore_index
        return image.clamp(0, 1), out_mask


def _fit_frame(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(C, h', w') → (C, h, w): centre crop or zero-pad with whole-pixel offsets."""
    out = x.new_zeros(x.shape[0], h, w)
    hh, ww = x.shape[-2:]
    dy, dx = (h - hh) // 2, (w - ww) // 2  # where x's top-left lands in the output
    ys, xs = max(0, dy), max(0, dx)
    ye, xe = min(h, dy + hh), min(w, dx + ww)
    out[:, ys:ye, xs:xe] = x[:, ys - dy: ye - dy, xs - dx: xe - dx]
    return out


def random_rot90(image: torch.Tensor, mask: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn each sample by 90°, 180° or 270° with probability ``p``, exactly (no resampling).

    ``image`` (B, C, H, W), ``mask`` (B, 1, H, W) float. A quarter turn of a non-square frame is
    centre-cropped / zero-padded back to H×W by whole pixels, so image and mask pixels stay
    exact copies (kornia's RandomRotation90 rotates about the centre and, when H − W is odd,
    resamples between pixels: blurred image, mask half a pixel off).
    """
    b = image.shape[0]
    turn = torch.rand(b, device=image.device) < p
    times = torch.randint(1, 4, (b,), device=image.device)
    if not bool(turn.any()):
        return image, mask
    h, w = image.shape[-2:]
    image, mask = image.clone(), mask.clone()
    for i in turn.nonzero().flatten().tolist():
        k = int(times[i])
        image[i] = _fit_frame(torch.rot90(image[i], k, (-2, -1)), h, w)
        mask[i] = _fit_frame(torch.rot90(mask[i], k, (-2, -1)), h, w)
    return image, mask


def build_augment(cfg: AugmentConfig | None, ignore_index: int) -> SegmentationAugment | None:
    """The batch augmentation for ``cfg``, or None when disabled."""
    if cfg is None or not cfg.enabled:
        return None
    return SegmentationAugment(cfg, ignore_index)


def random_scale_crop(image: torch.Tensor, mask: torch.Tensor, crop: int, scale_range: tuple[float, float],
                      ignore_index: int, generator: torch.Generator | None = None):
    """Rescale by a random factor, then take a random ``crop``×``crop`` window.

    Args:
        image: (C, H, W) float. mask: (H, W) long.
    Returns:
        image (C, crop, crop), mask (crop, crop); areas outside the source are 0 / ignore_index.
    """
    lo, hi = scale_range
    s = float(torch.empty(1).uniform_(lo, hi, generator=generator)) if hi > lo else lo
    if abs(s - 1.0) > 1e-6:
        h, w = image.shape[-2:]
        size = (max(1, round(h * s)), max(1, round(w * s)))
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
        # "nearest-exact" samples at pixel centres as bilinear does; plain "nearest" (floor) shifts
        # the mask by up to half a source pixel against the image
        mask = F.interpolate(mask[None, None].float(), size=size, mode="nearest-exact")[0, 0].long()
    h, w = image.shape[-2:]
    ph, pw = max(0, crop - h), max(0, crop - w)
    if ph or pw:
        image = F.pad(image, (0, pw, 0, ph), value=0.0)
        mask = F.pad(mask, (0, pw, 0, ph), value=ignore_index)
        h, w = image.shape[-2:]
    top = int(torch.randint(0, h - crop + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - crop + 1, (1,), generator=generator))
    return image[:, top:top + crop, left:left + crop], mask[top:top + crop, left:left + crop]
