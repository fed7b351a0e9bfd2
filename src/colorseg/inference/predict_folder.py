"""Batch prediction over a file or folder: label PNGs and colour overlays at original size.

Outputs keep the input's relative folder structure: ``OUT/<rel>/<stem>.png`` (class indices,
8-bit, or 16-bit when there are more than 256 classes) and ``OUT/<rel>/<stem>_overlay.png``.
Files are written atomically; one bad input is reported and skipped, never stopping the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from colorseg.data.io import atomic_write, is_image_file, read_image, save_png
from colorseg.errors import DataError
from colorseg.inference.segmenter import Segmenter, overlay


@dataclass
class BatchSummary:
    """What a batch run did: counts and (file, reason) for failures."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"done {self.done}, skipped {self.skipped}, failed {len(self.failed)}"]
        lines += [f"  failed: {f}: {why}" for f, why in self.failed]
        return "\n".join(lines)


def collect_inputs(input_path: str | Path) -> tuple[Path, list[Path]]:
    """(base folder, image files): a single file, or all images under a folder (recursive)."""
    p = Path(input_path)
    if p.is_file():
        return p.parent, [p]
    if not p.is_dir():
        raise DataError(f"input not found: {p}")
    files = sorted(f for f in p.rglob("*") if f.is_file() and is_image_file(f))
    if not files:
        raise DataError(f"no image files in folder: {p}")
    return p, files


def save_label_png(path: Path, mask: np.ndarray) -> None:
    """Class indices as 8-bit (K ≤ 256) or 16-bit PNG, atomically."""
    if mask.max(initial=0) < 256:
        save_png(path, mask.astype(np.uint8))
    else:
        atomic_write(path, lambda tmp: Image.fromarray(mask.astype(np.uint16)).save(tmp, format="PNG"))


def run_batch(input_path: str | Path, output_dir: str | Path, outputs: Callable[[Path], list[Path]],
              process: Callable[[Path, list[Path]], None], skip_existing: bool = False,
              desc: str = "predict", progress: bool = True) -> BatchSummary:
    """Apply ``process(file, output_paths)`` to every image; ``outputs(rel_stem)`` names its files.

    ``rel_stem`` is the file's path relative to the input folder without suffix; returned paths
    are relative to ``output_dir``. Failures are collected, never raised.
    """
    base, files = collect_inputs(input_path)
    out_root = Path(output_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary()
    for f in tqdm(files, desc=desc, unit="img", disable=not progress):
        targets = [out_root / t for t in outputs(f.relative_to(base).with_suffix(""))]
        if skip_existing and all(t.exists() for t in targets):
            summary.skipped += 1
            continue
        try:
            process(f, targets)
            summary.done += 1
        except (DataError, OSError, RuntimeError, ValueError) as exc:
            summary.failed.append((str(f), str(exc)))
    return summary


def predict_folder(segmenter: Segmenter, input_path: str | Path, output_dir: str | Path,
                   skip_existing: bool = False, progress: bool = True) -> BatchSummary:
    """Segment every image under ``input_path`` into ``output_dir`` (see module docstring)."""

    def process(f: Path, targets: list[Path]) -> None:
        image = read_image(f, channels=segmenter.in_channels)
        mask = segmenter.predict(image)
        save_label_png(targets[0], mask)
        save_png(targets[1], overlay(image, mask, segmenter.class_colors))

    return run_batch(input_path, output_dir,
                     lambda rel: [rel.parent / f"{rel.name}.png", rel.parent / f"{rel.name}_overlay.png"],
                     process, skip_existing, "segment", progress)
