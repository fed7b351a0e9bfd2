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


def train_synthetic_colorizer(kind: str, steps: int, seed: int = 0, size: int = 24, test_fraction: float = 0.01,
                              **module_options):
    """A small ``kind`` colorizer trained for ``steps`` optimizer steps through the real path
    (``ColorizerModule`` under a Lightning ``Trainer``) on 3,000 ambiguous synthetic images, on one
    thread: CPU kernels with several threads sum in another order, and the VAE's latent takes over
    late enough (steps 1,400–1,600) that such differences moved the figures (2 threads: 54 % of
    images with both colours instead of 89 %). ``module_options`` extend the module's arguments.
    Returns (module in eval mode, data module)."""
    import warnings

    import lightning.pytorch as pl
    import torch

    from colorseg.training.color_datamodule import ColorizationDataModule
    from colorseg.training.colorizer_module import ColorizerModule

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        pl.seed_everything(seed, workers=True, verbose=False)
        dm = ColorizationDataModule(source="synthetic", num_images=3000, synthetic_size=size, image_size=size,
                                    max_zoom=1.0, batch_size=16, val_fraction=0.0, test_fraction=test_fraction,
                                    seed=seed)
        module = ColorizerModule(kind=kind, latent_dim=4, base_width=8, depth=2, posterior_width=8, image_size=size,
                                 perceptual_weight=0.0, lr=1e-2, scheduler="none", kl_warmup_steps=100,
                                 **module_options)
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=steps, logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                             num_sanity_val_steps=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(module, datamodule=dm)
    finally:
        torch.set_num_threads(threads)
    return module.eval(), dm
