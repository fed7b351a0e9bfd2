"""The demo's real-photo step: scikit-image's bundled photos coloured by the built-in model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.checkpoint import release
from colorseg.demo import PHOTOS, colorize_photos
from colorseg.errors import CheckpointError


def _tiles(path: Path, n_tiles: int, gap: int = 4) -> list[np.ndarray]:
    row = np.asarray(Image.open(path)).astype(np.float32) / 255
    w = (row.shape[1] - (n_tiles - 1) * gap) // n_tiles
    return [row[:, i * (w + gap): i * (w + gap) + w] for i in range(n_tiles)]


def test_photos_are_coloured_by_the_builtin_model(tmp_path: Path) -> None:
    if not release.builtin_models():
        pytest.skip("this install has no built-in weights (colorseg/weights/manifest.json is empty)")
    paths = colorize_photos(tmp_path, n_samples=2)
    assert sorted(p.stem for p in paths) == sorted(PHOTOS)
    for path in paths:
        gray, _truth, prediction, *samples = _tiles(path, 5)  # gray | truth | prediction | 2 samples
        assert np.abs(gray - gray[..., :1]).max() < 2 / 255  # the input really is gray
        chroma = np.abs(prediction - prediction.mean(-1, keepdims=True)).mean()
        assert chroma > 0.01, f"{path.name}: the prediction is (nearly) gray"
        assert np.abs(samples[0] - samples[1]).max() > 0.02  # the samples differ


def test_without_builtin_weights_the_error_is_a_checkpoint_error(tmp_path: Path, monkeypatch) -> None:
    """run_demo catches CheckpointError to skip the photos with the reason in the page."""
    (tmp_path / "manifest.json").write_text("{}")
    monkeypatch.setattr(release, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(CheckpointError, match="colorize-default"):
        colorize_photos(tmp_path / "out")
