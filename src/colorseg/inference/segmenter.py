"""``Segmenter``: apply a trained U-Net checkpoint to numpy/PIL images of any size.

Preprocessing is stored in the checkpoint: images are scaled to [0, 1] by dtype (uint8 / 255,
uint16 / 65535), converted to the model's channel count (gray ↔ RGB by BT.601 luma, RGBA drops
alpha), normalised with the stored mean/std, and predicted at full size (the U-Net pads to a
multiple of 2**depth and crops back). Images larger than the tile in either side are predicted
tile by tile (:mod:`colorseg.inference.tiling`), in bounded memory.

Speed options: ``channels_last`` memory format, ``bf16`` autocast, ``compile`` (torch.compile);
all prediction runs under ``torch.inference_mode``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch

from colorseg.checkpoint import SegmentationModel, load_checkpoint, segmentation_model_from_checkpoint
from colorseg.data.image_io import convert_channels, to_float
from colorseg.inference.tiling import TileConfig, apply_tta, predict_tiled


class Segmenter:
    """A loaded segmentation model in eval mode.

    Args:
        module: the trained :class:`~colorseg.checkpoint.SegmentationModel` (or a
            :class:`~colorseg.inference.ensemble.ProbabilityEnsemble` of several).
        device: where to run (``"cpu"``, ``"cuda"``, ``"cuda:1"`` …).
        tiling: :class:`TileConfig` (tile size, overlap, blending, tiles per batch, TTA); images
            larger than ``tiling.tile`` are tiled, smaller ones predicted whole (TTA applies to both).
        channels_last, bf16, compile: speed options (see module docstring). Channels-last is on by
            default: 1.4–2.1× faster on CPU in ``benchmarks/inference.py``, same results within 1e-5.
    """

    def __init__(self, module: SegmentationModel, device: str | torch.device = "cpu",
                 tiling: TileConfig | None = None, channels_last: bool = True, bf16: bool = False,
                 compile: bool = False) -> None:
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)
        self.tiling = tiling or TileConfig()
        self.channels_last = channels_last
        self.bf16 = bf16
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        self._forward = torch.compile(self.module) if compile else self.module

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu", **options) -> Segmenter:
        """Load a ``segment`` checkpoint (safely: weights only); ``options`` as for the constructor."""
        return cls(segmentation_model_from_checkpoint(load_checkpoint(path, task="segment")), device, **options)

    @classmethod
    def from_checkpoints(cls, paths: list[str | Path], device: str | torch.device = "cpu", **options) -> Segmenter:
        """One checkpoint as :meth:`from_checkpoint`; several: their averaged class probabilities
        (:class:`~colorseg.inference.ensemble.ProbabilityEnsemble`, e.g. the folds of ``segment cv``)."""
        paths = list(paths)
        if len(paths) == 1:
            return cls.from_checkpoint(paths[0], device, **options)
        from colorseg.inference.ensemble import ProbabilityEnsemble

        members = [segmentation_model_from_checkpoint(load_checkpoint(p, task="segment")) for p in paths]
        return cls(ProbabilityEnsemble(members), device, **options)

    @property
    def class_names(self) -> list[str]:
        return list(self.module.class_names)

    @property
    def class_colors(self) -> list[tuple[int, int, int]]:
        from colorseg.data.sources import default_colors

        return list(self.module.class_colors or default_colors(len(self.class_names)))

    @property
    def in_channels(self) -> int:
        return int(self.module.in_channels)

    @property
    def size_multiple(self) -> int:
        return self.module.size_multiple

    def needs_tiling(self, height: int, width: int) -> bool:
        """Whether an image of this size is predicted tile by tile (a side larger than the tile)."""
        return max(height, width) > self.tiling.tile

    def to_tensor(self, image) -> torch.Tensor:
        """numpy (H, W[, C]) / PIL image → (1, C, H, W) float in [0, 1] on the model's device."""
        arr = convert_channels(to_float(np.asarray(image)), self.in_channels)
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())[None].to(self.device)

    def _autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _probs(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with self._autocast():
            return self._forward(x).float().softmax(1)

    @torch.inference_mode()
    def predict_tensor(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [0, 1] → class probabilities (B, K, H, W), whole image, with the TTA set."""
        return apply_tta(self._probs, image.to(self.device), self.tiling.tta)

    def predict(self, image, return_probs: bool = False, progress=None):
        """Class-index map (H, W) for one image: uint8 when there are ≤ 256 classes, else int32.

        ``image``: numpy (H, W[, C]) uint8/uint16/float or PIL; a list of images, or a numpy
        batch (N, H, W, C), gives a list of maps (same-size images share forward passes).
        With ``return_probs=True`` returns ``(mask, probs)`` with probs (K, H, W) float32.
        ``progress(done_tiles)`` is called while a large image is tiled.
        """
        if isinstance(image, np.ndarray) and image.ndim == 4:
            image = list(image)
        if isinstance(image, (list, tuple)):
            return self._predict_many(list(image), return_probs)
        arr = np.asarray(image)
        if self.needs_tiling(*arr.shape[:2]):
            return predict_tiled(self._probs, arr, lambda a: self.to_tensor(a)[0], len(self.class_names),
                                 self.tiling, self.size_multiple, return_probs, progress)
        probs = self.predict_tensor(self.to_tensor(arr))[0]
        return self._finish(probs, return_probs)

    def _predict_many(self, images: list, return_probs: bool) -> list:
        """Predict a list, batching consecutive same-size images that fit in one tile."""
        out: list = [None] * len(images)
        arrays = [np.asarray(im) for im in images]
        groups: dict[tuple, list[int]] = {}
        for i, a in enumerate(arrays):
            if self.needs_tiling(*a.shape[:2]):
                out[i] = self.predict(a, return_probs)
            else:
                groups.setdefault(a.shape, []).append(i)
        for idx in groups.values():
            for start in range(0, len(idx), self.tiling.batch_size):
                chunk = idx[start: start + self.tiling.batch_size]
                probs = self.predict_tensor(torch.cat([self.to_tensor(arrays[i]) for i in chunk]))
                for i, p in zip(chunk, probs):
                    out[i] = self._finish(p, return_probs)
        return out

    def _finish(self, probs: torch.Tensor, return_probs: bool):
        dtype = np.uint8 if probs.shape[0] <= 256 else np.int32
        mask = probs.argmax(0).cpu().numpy().astype(dtype)
        return (mask, probs.float().cpu().numpy()) if return_probs else mask


def colorize_mask(mask: np.ndarray, colors: list[tuple[int, int, int]]) -> np.ndarray:
    """(H, W) class indices → (H, W, 3) uint8 colours (indices beyond the palette are black)."""
    palette = np.zeros((max(len(colors), int(mask.max(initial=0)) + 1), 3), dtype=np.uint8)
    palette[: len(colors)] = np.asarray(colors, dtype=np.uint8)
    return palette[mask]


def overlay(image: np.ndarray, mask: np.ndarray, colors: list[tuple[int, int, int]],
            alpha: float = 0.5, rows_per_chunk: int = 1024) -> np.ndarray:
    """Blend class colours over an image: float (H, W, C) in [0, 1] → uint8 (H, W, 3).

    Computed in chunks of rows, so a large image needs little memory beyond its result.
    """
    out = np.empty((*mask.shape, 3), dtype=np.uint8)
    for top in range(0, mask.shape[0], rows_per_chunk):
        rows = slice(top, top + rows_per_chunk)
        rgb = convert_channels(np.asarray(image[rows], dtype=np.float32), 3)
        blended = (1 - alpha) * rgb + alpha * colorize_mask(mask[rows], colors).astype(np.float32) / 255
        out[rows] = (np.clip(blended, 0, 1) * 255 + 0.5).astype(np.uint8)
    return out
