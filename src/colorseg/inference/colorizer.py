"""``Colorizer``: apply a trained colorization checkpoint to numpy/PIL images.

Preprocessing (stored in the checkpoint): the image is scaled to [0, 1] by dtype (uint8 / 255,
uint16 / 65535), converted to gray lightness (colour inputs: CIE L of the RGB; gray inputs: the
gray level as sRGB), resized so its short side is the model's working resolution, colourised
there, and the predicted ab is upsampled and recombined with the full-resolution L, so outputs
keep the input's size and detail.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from colorseg.data.color import recombine, rgb_to_lab_norm
from colorseg.data.color_datasets import resize_short_side
from colorseg.data.io import convert_channels, to_float
from colorseg.training.checkpoint import load_checkpoint, module_from_checkpoint
from colorseg.training.colorizer import ColorizerModule


class Colorizer:
    """A loaded colorization model in eval mode."""

    def __init__(self, module: ColorizerModule, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> Colorizer:
        return cls(module_from_checkpoint(load_checkpoint(path, task="colorize"), ColorizerModule), device)

    @property
    def image_size(self) -> int:
        return int(self.module.hparams.image_size)

    def lightness(self, image) -> tuple[torch.Tensor, torch.Tensor]:
        """numpy/PIL image → (L_full (1, 1, H, W), L_work (1, 1, h, w)) normalised lightness."""
        rgb = convert_channels(to_float(np.asarray(image)), 3)
        rgb_t = torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None].to(self.device)
        L_full = rgb_to_lab_norm(rgb_t)[0]
        L_work = rgb_to_lab_norm(resize_short_side(rgb_t[0], self.image_size)[None])[0]
        return L_full, L_work

    @torch.inference_mode()
    def colorize_tensor(self, L_full: torch.Tensor, L_work: torch.Tensor, n_samples: int = 1,
                        temperature: float = 1.0, generator: torch.Generator | None = None,
                        deterministic: bool | None = None) -> torch.Tensor:
        """Normalised L → RGB (N, 3, H, W) in [0, 1] at full size.

        ``deterministic`` (default: ``n_samples == 1``) uses the prior mean; otherwise draws
        ``n_samples`` samples at ``temperature``.
        """
        if deterministic is None:
            deterministic = n_samples == 1
        if deterministic:
            ab = self.module(L_work)["ab"].expand(n_samples, -1, -1, -1)
        else:
            ab = self.module.sample(L_work, n_samples, temperature, generator)[0]
        return recombine(L_full.expand(len(ab), -1, -1, -1), ab)

    def colorize(self, image, n_samples: int = 1, temperature: float = 1.0, seed: int | None = None):
        """RGB float32 (H, W, 3) in [0, 1] for one image; (n_samples, H, W, 3) when n_samples > 1.

        A list of images, or a numpy batch (N, H, W, C), gives a list of results. ``seed`` makes
        sampling reproducible.
        """
        if isinstance(image, np.ndarray) and image.ndim == 4:
            image = list(image)
        if isinstance(image, (list, tuple)):
            return [self.colorize(im, n_samples, temperature, seed) for im in image]
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        rgb = self.colorize_tensor(*self.lightness(image), n_samples, temperature, generator)
        out = rgb.permute(0, 2, 3, 1).float().cpu().numpy()
        return out[0] if n_samples == 1 else out
