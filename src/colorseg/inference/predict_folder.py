"""Batch segmentation over a file or folder: label PNGs and colour overlays at original size.

Outputs keep the input's relative folder structure: ``OUT/<rel>/<stem>.png`` (class indices,
8-bit, or 16-bit when there are more than 256 classes) and ``OUT/<rel>/<stem>_overlay.png``.
Loading runs in parallel with compute, writes are atomic, ``skip_existing`` resumes, and one bad
input is reported and skipped, never stopping the batch (see :func:`~colorseg.inference.batch.run_batch`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from colorseg.data.files import atomic_write
from colorseg.data.image_io import read_image, save_png
from colorseg.inference.batch import BatchSummary, run_batch
from colorseg.inference.segmenter import Segmenter, overlay


def save_label_png(path: Path, mask: np.ndarray) -> None:
    """Class indices as 8-bit (K ≤ 256) or 16-bit PNG, atomically."""
    if mask.max(initial=0) < 256:
        save_png(path, mask.astype(np.uint8))
    else:
        atomic_write(path, lambda tmp: Image.fromarray(mask.astype(np.uint16)).save(tmp, format="PNG"))


def predict_folder(segmenter: Segmenter, input_path: str | Path, output_dir: str | Path,
                   skip_existing: bool = False, progress: bool = True, workers: int = 2,
                   overlays: bool = True) -> BatchSummary:
    """Segment every image under ``input_path`` into ``output_dir`` (see module docstring)."""

    def outputs(rel: Path) -> list[Path]:
        names = [rel.parent / f"{rel.name}.png"]
        return names + [rel.parent / f"{rel.name}_overlay.png"] if overlays else names

    def process(image: np.ndarray, targets: list[Path]) -> None:
        mask = segmenter.predict(image)
        save_label_png(targets[0], mask)
        if overlays:
            save_png(targets[1], overlay(image, mask, segmenter.class_colors))

    return run_batch(input_path, output_dir, outputs, lambda f: read_image(f, channels=segmenter.in_channels),
                     process, skip_existing, "segment", progress, workers)
