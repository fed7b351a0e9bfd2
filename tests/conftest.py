"""Shared fixtures: tiny data generated in tmp_path (no shared data, no network)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def write_pair(root: Path, stem: str, image: np.ndarray, mask: np.ndarray,
               image_dir: str = "images", mask_dir: str = "masks") -> None:
    """Save a uint8 image and mask as PNGs under root/image_dir and root/mask_dir."""
    (root / image_dir).mkdir(parents=True, exist_ok=True)
    (root / mask_dir).mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(root / image_dir / f"{stem}.png")
    Image.fromarray(mask.astype(np.uint8)).save(root / mask_dir / f"{stem}.png")


@pytest.fixture
def folder_dataset(tmp_path: Path) -> Path:
    """A generic images/ + masks/ folder: 6 RGB 40x36 images, 3 classes, plus a Thumbs.db."""
    rng = np.random.default_rng(0)
    root = tmp_path / "folder_data"
    for i in range(6):
        mask = np.zeros((36, 40), dtype=np.uint8)
        mask[5:20, 5:20] = 1
        mask[22:30, 10 + i:30 + i] = 2
        image = (rng.random((36, 40, 3)) * 60).astype(np.uint8) + (mask[..., None] * 80).astype(np.uint8)
        write_pair(root, f"img_{i}", image, mask)
    (root / "images" / "Thumbs.db").write_bytes(b"\x00junk")
    return root


def perturb_weights(module, seed: int = 1) -> None:
    """Random non-zero weights and BatchNorm statistics (the prior head starts at zero), in place."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point() and "ab_weights" not in name:
                t.add_(torch.randn(t.shape, generator=gen) * 0.2)
                if "running_var" in name:
                    t.abs_()


def save_module_checkpoint(module, task: str, path: Path) -> Path:
    """A colorseg checkpoint of a training module's weights and hyper-parameters, as Lightning writes it."""
    import torch

    from colorseg.checkpoint import checkpoint_metadata

    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "colorseg": checkpoint_metadata(task)}, path)
    return path
