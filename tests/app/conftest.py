"""Fixtures for the web app's tests: tiny colorization checkpoints with and without colour hints,
a tiny segmentation checkpoint and small photos, all made in tmp folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.checkpoint.helpers import tiny_checkpoint
from tests.conftest import perturb_weights, save_module_checkpoint


def hint_colorizer_checkpoint(path: Path) -> Path:
    """A small random VAE colorizer trained-with-hints in form (``hints=True``, 32 px working
    size): weights perturbed, and the hint input weights (zero in a fresh model) scaled up so that
    one hint visibly changes the colours around it."""
    import torch

    from colorseg.training.colorizer_module import ColorizerModule

    torch.manual_seed(0)
    module = ColorizerModule(kind="vae", hints=True, latent_dim=2, depth=2, base_width=4, posterior_width=4,
                             image_size=32, perceptual_weight=0)
    perturb_weights(module)
    with torch.no_grad():
        module.net.encoder.input_conv.weight[:, 1:] *= 20
    return save_module_checkpoint(module, "colorize", path)


def colour_photo(height: int = 45, width: int = 61) -> np.ndarray:
    """A smooth colour test photo: uint8 (height, width, 3)."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * xx), 0.2 + 0.7 * yy, 0.9 - 0.6 * xx], -1)
    return (rgb * 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def hint_ckpt(tmp_path_factory) -> Path:
    return hint_colorizer_checkpoint(tmp_path_factory.mktemp("hint") / "hint.ckpt")


@pytest.fixture(scope="session")
def plain_ckpt(tmp_path_factory) -> Path:
    """A colorizer trained without hints."""
    return tiny_checkpoint(tmp_path_factory.mktemp("plain") / "plain.ckpt", task="colorize")


@pytest.fixture(scope="session")
def seg_ckpt(tmp_path_factory) -> Path:
    """A 3-class U-Net (classes bg, a, b)."""
    return tiny_checkpoint(tmp_path_factory.mktemp("seg") / "seg.ckpt", task="segment")


@pytest.fixture
def photo_png(tmp_path: Path) -> Path:
    path = tmp_path / "holiday photo.png"
    Image.fromarray(colour_photo()).save(path)
    return path


@pytest.fixture
def gray_png(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    Image.fromarray(colour_photo()[..., 1]).save(path)
    return path


@pytest.fixture
def bad_uploads(tmp_path: Path) -> dict[str, Path]:
    """Files that are not usable images: text, a truncated PNG, an empty file."""
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "notes.txt").write_text("not an image")
    good = folder / "full.png"
    Image.fromarray(colour_photo()).save(good)
    (folder / "broken.png").write_bytes(good.read_bytes()[:60])
    (folder / "empty.jpg").write_bytes(b"")
    return {"text": folder / "notes.txt", "truncated": folder / "broken.png", "empty": folder / "empty.jpg"}
