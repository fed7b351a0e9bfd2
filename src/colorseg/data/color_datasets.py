"""Torch datasets for colorization: RGB at working resolution (training crops / whole images)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """float (H, W, 3) in [0, 1] → uint8 (memory-light cache)."""
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def resize_short_side(rgb: torch.Tensor, short: int) -> torch.Tensor:
    """(C, H, W) → (C, h, w) with min(h, w) == short, aspect kept (antialiased bilinear)."""
    h, w = rgb.shape[-2:]
    scale = short / min(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return rgb
    return F.interpolate(rgb[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0].clamp(0, 1)


class ColorDataset(Dataset):
    """Items ``{"rgb": (3, H, W) float [0, 1], "name": str}`` (plus ``"rgb_full"`` when evaluating).

    Training (``train=True``): resize so the short side is a random value in
    [image_size, image_size * max_zoom], random ``image_size``² crop, random horizontal flip.
    Evaluation: whole image resized so its short side is ``image_size``, and the original
    full-resolution image as ``rgb_full`` (outputs are recombined at full size).
    """

    def __init__(self, images: list[np.ndarray], names: list[str], image_size: int = 128,
                 train: bool = True, max_zoom: float = 1.25, repeats: int = 1) -> None:
        self.images = [to_uint8(im) if im.dtype != np.uint8 else im for im in images]
        self.names = list(names)
        self.image_size, self.train, self.max_zoom = image_size, train, max_zoom
        self.repeats = max(1, int(repeats)) if train else 1

    def __len__(self) -> int:
        return len(self.images) * self.repeats

    def __getitem__(self, index: int) -> dict:
        i = index % len(self.images)
        full = torch.from_numpy(self.images[i].transpose(2, 0, 1).copy()).float() / 255.0
        if not self.train:
            return {"rgb": resize_short_side(full, self.image_size), "rgb_full": full, "name": self.names[i]}
        short = int(torch.randint(self.image_size, int(self.image_size * self.max_zoom) + 1, (1,)))
        rgb = resize_short_side(full, short)
        h, w = rgb.shape[-2:]
        top = int(torch.randint(0, h - self.image_size + 1, (1,)))
        left = int(torch.randint(0, w - self.image_size + 1, (1,)))
        rgb = rgb[:, top:top + self.image_size, left:left + self.image_size]
        if torch.rand(1) < 0.5:
            rgb = rgb.flip(-1)
        return {"rgb": rgb.contiguous(), "name": self.names[i]}
