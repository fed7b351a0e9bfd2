"""``Colorizer``: apply a trained colorization checkpoint to numpy/PIL images.

Preprocessing (stored in the checkpoint): the image is scaled to [0, 1] by dtype (uint8 / 255,
uint16 / 65535), converted to gray lightness (colour inputs: CIE L of the RGB; gray inputs: the
gray level as sRGB), resized so its short side is the model's working resolution, colourised
there, and the predicted ab is upsampled and recombined with the full-resolution L, so outputs
keep the input's size and detail.

Hint models (trained with ``--model.hints=true``) also take colour hints: ``colorize(image,
hints=[(x, y, (r, g, b)), ...])`` in the input image's pixel coordinates (see
:mod:`colorseg.inference.hints`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from colorseg.checkpoint import ColorizationModel, colorization_model_from_checkpoint, load_checkpoint
from colorseg.checkpoint.release import DEFAULT_MODEL, builtin_checkpoint, download_checkpoint
from colorseg.data.color_datasets import resize_short_side
from colorseg.data.image_io import convert_channels, to_float
from colorseg.data.lab import lab_norm_to_rgb, recombine, rgb_to_lab_norm
from colorseg.errors import ConfigError
from colorseg.inference.hint_propagation import HintPropagation, propagate_hints
from colorseg.inference.hints import HINT_PATCH, check_hints, hints_to_tensor
from colorseg.models.cvae import NO_HINTS_MESSAGE

ROWS_PER_CHUNK = 512  # full-resolution colour conversions work in strips of this many rows


class Colorizer:
    """A loaded colorization model in eval mode."""

    def __init__(self, module: ColorizationModel, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.module = module.eval().to(self.device)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> Colorizer:
        return cls(colorization_model_from_checkpoint(load_checkpoint(path, task="colorize")), device)

    @classmethod
    def pretrained(cls, name: str = DEFAULT_MODEL, device: str | torch.device = "cpu") -> Colorizer:
        """The built-in model ``name`` shipped with colorseg (no training, no network; its file is
        checked against the SHA-256 in ``colorseg/weights/manifest.json``)."""
        return cls.from_checkpoint(builtin_checkpoint(name), device)

    @classmethod
    def from_url(cls, url: str, sha256: str, device: str | torch.device = "cpu",
                 cache_dir: str | Path | None = None) -> Colorizer:
        """A released checkpoint downloaded once from ``url`` into torch.hub's cache
        (``<torch.hub.get_dir()>/checkpoints/colorseg/``, or ``cache_dir``) and checked against
        ``sha256``; later calls use the cached file without network."""
        return cls.from_checkpoint(download_checkpoint(url, sha256, cache_dir), device)

    @property
    def image_size(self) -> int:
        return int(self.module.image_size)

    @property
    def takes_hints(self) -> bool:
        """Whether the model was trained with colour hints."""
        return bool(self.module.hints)

    def hint_map(self, hints, image_hw: tuple[int, int], work_hw: tuple[int, int],
                 patch: int = HINT_PATCH) -> torch.Tensor | None:
        """User hints ``[(x, y, (r, g, b)), ...]`` in the image's pixels → the model's hint map
        (1, 3, h, w) on this device (:func:`~colorseg.inference.hints.hints_to_tensor`); None for
        None or no hints. ConfigError for hints on a model trained without them."""
        if hints is None or len(hints) == 0:
            return None
        if not self.takes_hints:
            raise ConfigError(NO_HINTS_MESSAGE)
        return hints_to_tensor(hints, image_hw, work_hw, patch).to(self.device)

    def lightness(self, image) -> tuple[torch.Tensor, torch.Tensor]:
        """numpy/PIL image → (L_full (1, 1, H, W), L_work (1, 1, h, w)) normalised lightness.

        The full-size L is converted in strips of rows (bounded extra memory for large images).
        """
        rgb = convert_channels(to_float(np.asarray(image)), 3)
        rgb_chw = torch.from_numpy(rgb).permute(2, 0, 1)
        h, w = rgb.shape[:2]
        L_full = torch.empty(1, 1, h, w, device=self.device)
        for top in range(0, h, ROWS_PER_CHUNK):
            strip = rgb_chw[:, top: top + ROWS_PER_CHUNK].to(self.device)[None]
            L_full[..., top: top + ROWS_PER_CHUNK, :] = rgb_to_lab_norm(strip)[0]
        L_work = rgb_to_lab_norm(resize_short_side(rgb_chw.to(self.device), self.image_size)[None])[0]
        return L_full, L_work

    @torch.inference_mode()
    def predict_ab(self, L_work: torch.Tensor, n_samples: int = 1, temperature: float = 1.0,
                   generator: torch.Generator | None = None, deterministic: bool | None = None,
                   hints: torch.Tensor | None = None, hint_patch: int = HINT_PATCH,
                   propagation: HintPropagation | None = None) -> torch.Tensor:
        """Working-resolution L_norm (1, 1, h, w) [+ hint map (1, 3, h, w)] → ab_norm (n_samples, 2, h, w).

        ``deterministic`` (default: ``n_samples == 1``) uses the prior mean; otherwise draws
        ``n_samples`` samples at ``temperature``. With hints, what the network missed at them is
        then spread to similar neighbours (:func:`~colorseg.inference.hint_propagation.propagate_hints`
        with ``propagation``, default :class:`~colorseg.inference.hint_propagation.HintPropagation`;
        ``NO_PROPAGATION``: the network's output alone); ``hint_patch``: the map's patch side.
        """
        if deterministic is None:
            deterministic = n_samples == 1
        if deterministic:
            ab = self.module(L_work, hints=hints)["ab"].expand(n_samples, -1, -1, -1)
        else:
            ab = self.module.sample(L_work, n_samples, temperature, generator, hints=hints)[0]
        return propagate_hints(ab, L_work, hints, hint_patch, propagation or HintPropagation())

    def colorize_tensor(self, L_full: torch.Tensor, L_work: torch.Tensor, n_samples: int = 1,
                        temperature: float = 1.0, generator: torch.Generator | None = None,
                        deterministic: bool | None = None, hints: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised L → RGB (N, 3, H, W) in [0, 1] at full size (see :meth:`predict_ab`)."""
        ab = self.predict_ab(L_work, n_samples, temperature, generator, deterministic, hints)
        with torch.inference_mode():
            return recombine(L_full.expand(len(ab), -1, -1, -1), ab)

    def colorize(self, image, n_samples: int = 1, temperature: float = 1.0, seed: int | None = None,
                 hints=None, hint_patch: int = HINT_PATCH, propagation: HintPropagation | None = None):
        """RGB float32 (H, W, 3) in [0, 1] for one image; (n_samples, H, W, 3) when n_samples > 1.

        A list of images, or a numpy batch (N, H, W, C), gives a list of results. ``seed`` makes
        sampling reproducible.

        ``hints`` (models trained with hints): ``[(x, y, (r, g, b)), ...]``, x the column and y the
        row of a pixel of the input image (origin top-left), the colour as three ints in 0..255 or
        three floats in 0..1 (see :mod:`colorseg.inference.hints`); the same hints apply to every
        image of a list. ConfigError for hints on a model without them, or naming a hint that is
        malformed or outside the image. None or ``[]``: no hints. ``hint_patch``: each hint's
        square side at working resolution (odd; default :data:`~colorseg.inference.hints.HINT_PATCH`).
        ``propagation``: how what the network missed at the hints is spread to similar neighbours
        (default :class:`~colorseg.inference.hint_propagation.HintPropagation`;
        ``NO_PROPAGATION``: the network's output alone).
        """
        if hints is not None and len(hints) and not self.takes_hints:
            raise ConfigError(NO_HINTS_MESSAGE)
        if isinstance(image, np.ndarray) and image.ndim == 4:
            image = list(image)
        if isinstance(image, (list, tuple)):
            return [self.colorize(im, n_samples, temperature, seed, hints, hint_patch, propagation) for im in image]
        if hints is not None and len(hints):  # fail before any conversion work
            check_hints(hints, np.asarray(image).shape[:2])
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        L_full, L_work = self.lightness(image)
        hint_map = self.hint_map(hints, L_full.shape[-2:], L_work.shape[-2:], hint_patch)
        out = recombine_rows(L_full, self.predict_ab(L_work, n_samples, temperature, generator, hints=hint_map,
                                                     hint_patch=hint_patch, propagation=propagation))
        return out[0] if n_samples == 1 else out


@torch.inference_mode()
def recombine_rows(L_full: torch.Tensor, ab_low: torch.Tensor) -> np.ndarray:
    """:func:`~colorseg.data.lab.recombine` in strips of rows, straight into a numpy array.

    L_full (1, 1, H, W) + ab_low (N, 2, h, w) → RGB (N, H, W, 3) float32 in [0, 1]. The bilinear
    upsampling (``align_corners=False``, edge-clamped) is done per strip with ``grid_sample``, so
    neither the full-size ab nor Lab intermediates are ever held for the whole image.
    """
    n, (h, w) = len(ab_low), L_full.shape[-2:]
    out = np.empty((n, h, w, 3), dtype=np.float32)
    xs = (torch.arange(w, device=L_full.device, dtype=torch.float32) + 0.5) / w * 2 - 1
    for top in range(0, h, ROWS_PER_CHUNK):
        ys = (torch.arange(top, min(h, top + ROWS_PER_CHUNK), device=L_full.device, dtype=torch.float32)
              + 0.5) / h * 2 - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)[None].expand(n, -1, -1, -1)
        ab = F.grid_sample(ab_low.float(), grid, mode="bilinear", padding_mode="border", align_corners=False)
        L = L_full[..., top: top + len(ys), :].expand(n, -1, -1, -1)
        out[:, top: top + len(ys)] = lab_norm_to_rgb(L, ab).permute(0, 2, 3, 1).cpu().numpy()
    return out
