"""Colorize CLI smoke tests and a tiny overfit: fit → test → predict on synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorseg.cli import main
from colorseg.data.lab import rgb_to_lab_norm
from colorseg.inference.colorizer import Colorizer
from colorseg.training.colorizer_module import ColorizerModule

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "colorize"
TINY = str(CONFIGS / "synthetic_tiny.yaml")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "ctiny"
    assert main(["colorize", "fit", "-c", TINY, "--run_dir", str(run_dir),
                 "--trainer.enable_progress_bar=false"]) == 0
    return run_dir


def test_fit_logs_each_loss_term(tiny_run: Path) -> None:
    header = (tiny_run / "logs" / "version_0" / "metrics.csv").read_text().splitlines()[0]
    for term in ("train/recon", "train/kl", "train/kl_weight", "train/perceptual", "train/loss",
                 "val/psnr", "val/colorfulness"):
        assert term in header
    assert (tiny_run / "checkpoints" / "last.ckpt").is_file()


def test_test_command_metrics(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    assert main(["colorize", "test", "--ckpt", str(tiny_run / "checkpoints" / "last.ckpt"),
                 "--output", str(out), "--samples", "3"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("psnr", "ssim", "colorfulness", "delta_colorfulness", "ab_auc", "mean_sample_psnr", "best_of_n_psnr",
                "diversity", "feature_distance", "sample_colorfulness", "sample_delta_colorfulness", "fd_lite2",
                "kid_lite2", "kid_lite2_std"):
        assert isinstance(metrics[key], float), key
    assert metrics["n_samples"] == 3 and metrics["num_images"] == metrics["feature_distribution_images"] == 2
    assert metrics["best_of_n_psnr"] >= metrics["mean_sample_psnr"]  # the oracle picks the best sample
    assert len((out / "per_image.csv").read_text().splitlines()) == 3
    assert metrics["selection_split_reused"] is False and metrics["split"] == "test"


def test_test_command_marks_the_validation_split(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval_val"
    assert main(["colorize", "test", "--ckpt", str(tiny_run / "checkpoints" / "last.ckpt"),
                 "--output", str(out), "--samples", "1", "--split", "val"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["selection_split_reused"] is True and "used for selection" in metrics["selection_note"]


def test_predict_writes_original_size_and_grid(tiny_run: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(np.full((37, 53), 120, np.uint8)).save(inputs / "gray.png")
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 3] = 255
    Image.fromarray(rgba).save(inputs / "rgba.png")
    out = tmp_path / "out"
    assert main(["colorize", "predict", "--ckpt", str(tiny_run / "checkpoints" / "last.ckpt"),
                 "--input", str(inputs), "--output", str(out), "--samples", "3"]) == 0
    assert np.asarray(Image.open(out / "gray.png")).shape == (37, 53, 3)
    assert np.asarray(Image.open(out / "gray_grid.png")).shape == (37, 4 * 53 + 3 * 4, 3)
    assert np.asarray(Image.open(out / "rgba.png")).shape == (20, 30, 3)


def test_wrong_task_checkpoint_is_refused(tiny_run: Path, tmp_path: Path, capsys) -> None:
    code = main(["segment", "predict", "--ckpt", str(tiny_run / "checkpoints" / "last.ckpt"),
                 "--input", str(tmp_path), "--output", str(tmp_path / "o")])
    assert code == 2 and "not 'segment'" in capsys.readouterr().err


def test_colorizer_api_keeps_luminance_and_size(tiny_run: Path) -> None:
    col = Colorizer.from_checkpoint(tiny_run / "checkpoints" / "last.ckpt")
    image = (np.random.default_rng(0).random((41, 29)) * 65535).astype(np.uint16)
    out = col.colorize(image)
    assert out.shape == (41, 29, 3) and out.dtype == np.float32
    L_in = rgb_to_lab_norm(torch.from_numpy(np.repeat((image / 65535.0)[None, None], 3, 1)).float())[0]
    L_out = rgb_to_lab_norm(torch.from_numpy(out.transpose(2, 0, 1))[None])[0]
    assert (L_in - L_out).abs().mean() < 0.03
    samples = col.colorize(image, n_samples=2, seed=0)
    assert samples.shape == (2, 41, 29, 3)
    assert np.array_equal(samples, col.colorize(image, n_samples=2, seed=0))


@pytest.mark.parametrize("config", ["synthetic.yaml", "synthetic_regression.yaml", "bsds500.yaml",
                                    "bsds500_regression.yaml", "bsds500_gray.yaml", "bsds500_no_perceptual.yaml",
                                    "default.yaml"])
def test_configs_parse(config: str, capsys) -> None:
    assert main(["colorize", "fit", "-c", str(CONFIGS / config), "--print_config"]) == 0
    assert "model:" in capsys.readouterr().out


def test_spatial_classification_vae_fits_tests_and_samples(tmp_path: Path) -> None:
    """The built-in recipe's options end to end: spatial latent + (here) the classification head."""
    run = tmp_path / "spatial"
    assert main(["colorize", "fit", "-c", TINY, "--run_dir", str(run), "--model.latent_layout=spatial",
                 "--model.head=classification", "--model.rarity_weighting=true", "--trainer.max_epochs=1",
                 "--trainer.enable_progress_bar=false"]) == 0
    header = (run / "logs" / "version_0" / "metrics.csv").read_text().splitlines()[0]
    assert "train/recon" in header and "train/kl" in header
    assert main(["colorize", "test", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--samples", "2",
                 "--output", str(tmp_path / "t")]) == 0
    latent = (tmp_path / "t" / "latent.csv").read_text().splitlines()[0]
    assert "kl_0" in latent and "mu_1" in latent
    col = Colorizer.from_checkpoint(run / "checkpoints" / "last.ckpt")
    assert col.module.net.config.latent_layout == "spatial" and col.module.net.config.head == "classification"
    samples = col.colorize(np.random.default_rng(0).random((40, 56, 3)).astype(np.float32), n_samples=2, seed=0)
    assert samples.shape == (2, 40, 56, 3)


def test_gray_baseline_trains_nothing(tmp_path: Path) -> None:
    run = tmp_path / "gray"
    assert main(["colorize", "fit", "-c", TINY, "--run_dir", str(run), "--model.kind=gray",
                 "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false"]) == 0
    col = Colorizer.from_checkpoint(run / "checkpoints" / "last.ckpt")
    rgb = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    out = col.colorize(rgb)
    assert np.abs(out - out[..., :1]).max() < 2 / 255  # ab = 0 → gray output


def test_tiny_overfit_regression() -> None:
    torch.manual_seed(0)
    from colorseg.data.color_sources import make_color_sample

    module = ColorizerModule(kind="regression", base_width=8, depth=2, perceptual_weight=0.0)
    rgb = torch.from_numpy(np.stack([make_color_sample(0, i, 32) for i in range(4)]).transpose(0, 3, 1, 2).copy())
    opt = torch.optim.Adam(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(80):
        L, ab = rgb_to_lab_norm(rgb)
        loss = (module(L)["ab"] - ab).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
