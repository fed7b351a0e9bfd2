"""Fixtures for the reliability suite: tiny checkpoints written directly (no training)."""

from __future__ import annotations

import sys
from pathlib import Path

import lightning.pytorch  # noqa: F401  (before any capsys test: its log handler keeps the stderr it sees first)
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # corpus.py, step_marker.py


def save_module_checkpoint(module, path: Path, task: str, **extra) -> Path:
    """A checkpoint as ``colorseg <task> fit`` writes it (weights, hyper-parameters, metadata)."""
    from colorseg.checkpoint import checkpoint_metadata

    ckpt = {"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
            "colorseg": checkpoint_metadata(task), **extra}
    torch.save(ckpt, path)
    return path


@pytest.fixture(scope="session")
def segment_ckpt(tmp_path_factory) -> Path:
    """An untrained 3-class RGB U-Net (depth 2, width 4)."""
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "a", "b"], in_channels=3, depth=2, base_width=4)
    return save_module_checkpoint(module, tmp_path_factory.mktemp("ckpt") / "segment.ckpt", "segment")


@pytest.fixture(scope="session")
def colorize_ckpt(tmp_path_factory) -> Path:
    """An untrained tiny colorization VAE (no perceptual network)."""
    from colorseg.training.colorizer_module import ColorizerModule

    torch.manual_seed(0)
    module = ColorizerModule(latent_dim=2, base_width=4, depth=2, posterior_width=4, image_size=16,
                             perceptual_weight=0.0)
    return save_module_checkpoint(module, tmp_path_factory.mktemp("ckpt") / "colorize.ckpt", "colorize")
