"""Batch colorization over a file or folder: colour PNGs at original size (+ sample grids).

Outputs keep the input's relative structure: ``OUT/<rel>/<stem>.png`` (the deterministic
colourisation) and, with ``n_samples > 1``, ``OUT/<rel>/<stem>_grid.png`` (gray input followed
by the samples, side by side). ``hints`` (hint models; see :mod:`colorseg.inference.hints`) apply to
every image, in each image's pixel coordinates: meant for one input image. Loading runs in parallel with compute, writes are atomic,
``skip_existing`` resumes, bad files are reported and skipped (see :mod:`colorseg.inference.batch`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorseg.data.color_datasets import to_uint8
from colorseg.data.image_io import convert_channels, read_image, save_png
from colorseg.inference.batch import BatchSummary, run_batch
from colorseg.inference.colorizer import Colorizer


def sample_grid(gray: np.ndarray, samples: np.ndarray, gap: int = 4) -> np.ndarray:
    """Gray (H, W) + samples (N, H, W, 3) float → one uint8 row image (H, (N+1)·W + N·gap, 3)."""
    h, w = gray.shape
    tiles = [np.repeat(gray[..., None], 3, axis=2)] + list(samples)
    row = np.ones((h, len(tiles) * w + (len(tiles) - 1) * gap, 3), dtype=np.float32)
    for i, tile in enumerate(tiles):
        row[:, i * (w + gap): i * (w + gap) + w] = tile
    return to_uint8(row)


def colorize_folder(colorizer: Colorizer, input_path: str | Path, output_dir: str | Path,
                    n_samples: int = 1, temperature: float = 1.0, seed: int = 0,
                    skip_existing: bool = False, progress: bool = True, workers: int = 2,
                    hints=None, propagation=None) -> BatchSummary:
    """Colourise every image under ``input_path`` (see module docstring); ``propagation``: the
    hint propagation (:meth:`Colorizer.colorize`; default on)."""

    def outputs(rel: Path) -> list[Path]:
        names = [rel.parent / f"{rel.name}.png"]
        if n_samples > 1:
            names.append(rel.parent / f"{rel.name}_grid.png")
        return names

    def process(image: np.ndarray, targets: list[Path]) -> None:
        save_png(targets[0], to_uint8(colorizer.colorize(image, hints=hints, propagation=propagation)))
        if n_samples > 1:
            samples = colorizer.colorize(image, n_samples, temperature, seed=seed, hints=hints, propagation=propagation)
            gray = convert_channels(image, 1)[..., 0]
            save_png(targets[1], sample_grid(gray, samples))

    return run_batch(input_path, output_dir, outputs, read_image, process, skip_existing, "colorize", progress,
                     workers)
