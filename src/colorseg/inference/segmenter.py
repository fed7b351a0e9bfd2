"""``Segmenter``: apply a trained U-Net checkpoint to numpy/PIL images.

Preprocessing is stored in the checkpoint: images are scaled to [0, 1] by dtype (uint8 / 255,
uint16 / 65535), converted to the model's channel count (gray ↔ RGB by BT.601 luma, RGBA drops
alpha), normalised with the stored mean/std, and predicted at full size (the U-Net pads to a
multiple of 2**depth and crops back).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from colorseg.data.io import convert_channels, to_float
from colorseg.training.checkpoint import load_checkpoint, module_from_checkpoint
from colorseg.training.segmenter import SegmenterModule


class Segmenter:
    """A loaded segmentation model in eval mode."""

    def __init__(self, module: SegmenterModule, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> Segmenter:
        return cls(module_from_checkpoint(load_checkpoint(path, task="segment"), SegmenterModule), device)

    @property
    def class_names(self) -> list[str]:
        return list(self.module.hparams.class_names)

    @property
    def class_colors(self) -> list[tuple[int, int, int]]:
        from colorseg.data.sources import default_colors

        return list(self.module.hparams.class_colors or default_colors(len(self.class_names)))

    @property
    def in_channels(self) -> int:
        return int(self.module.hparams.in_channels)

    def to_tensor(self, image) -> torch.Tensor:
        """numpy (H, W[, C]) / PIL image → (1, C, H, W) float in [0, 1] on the model's device."""
        arr = np.asarray(image)
        arr = convert_channels(to_float(arr), self.in_channels)
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())[None].to(self.device)

    @torch.inference_mode()
    def predict_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] → class probabilities (B, K, H, W)."""
        return self.module(image.to(self.device)).softmax(1)

    def predict(self, image, return_probs: bool = False):
        """Class-index map (H, W) int64 for one image (or a list of images → list of maps).

        With ``return_probs=True`` returns ``(mask, probs)`` with probs (K, H, W) float32.
        """
        if isinstance(image, (list, tuple)):
            return [self.predict(im, return_probs) for im in image]
        probs = self.predict_tensor(self.to_tensor(image))[0]
        mask = probs.argmax(0).cpu().numpy().astype(np.int64)
        return (mask, probs.float().cpu().numpy()) if return_probs else mask


def colorize_mask(mask: np.ndarray, colors: list[tuple[int, int, int]]) -> np.ndarray:
    """(H, W) class indices → (H, W, 3) uint8 colours (indices beyond the palette are black)."""
    palette = np.zeros((max(len(colors), int(mask.max(initial=0)) + 1), 3), dtype=np.uint8)
    palette[: len(colors)] = np.asarray(colors, dtype=np.uint8)
    return palette[mask]


def overlay(image: np.ndarray, mask: np.ndarray, colors: list[tuple[int, int, int]],
            alpha: float = 0.5) -> np.ndarray:
    """Blend class colours over an image: float (H, W, C) in [0, 1] → uint8 (H, W, 3)."""
    rgb = convert_channels(image, 3)
    blended = (1 - alpha) * rgb + alpha * colorize_mask(mask, colors).astype(np.float32) / 255
    return (np.clip(blended, 0, 1) * 255 + 0.5).astype(np.uint8)
