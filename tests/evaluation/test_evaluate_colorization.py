"""`colorize test` / evaluate_colorizer on cases with a known answer: the gray baseline against a
hand computation, and a perfect prediction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from skimage.color import lab2rgb, rgb2lab

from colorseg.cli import main
from colorseg.data.lab import rgb_to_lab_norm
from colorseg.data.split_datasets import ColorSplits
from colorseg.evaluation.colorization import evaluate_colorizer
from colorseg.inference.colorizer import Colorizer
from colorseg.metrics.colorization import PSNR_CAP
from colorseg.metrics.registry import COLORIZATION_METRICS

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "colorize" / "synthetic_tiny.yaml")


def hand_psnr(pred: np.ndarray, target: np.ndarray) -> float:
    mse = np.mean((pred * 255.0 - target * 255.0) ** 2)
    return 10 * np.log10(255.0**2 / mse)


def hand_colorfulness(rgb: np.ndarray) -> float:
    r, g, b = np.moveaxis(rgb * 255.0, -1, 0)
    rg, yb = r - g, (r + g) / 2 - b
    return float(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """Six 30 × 40 colour images: smooth hue gradients plus noise, uint8 PNG."""
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:30, 0:40] / 40.0
    for i in range(6):
        rgb = np.stack([np.sin(xx * (i + 1)) * 0.4 + 0.5, yy * 0.8 + 0.1, 0.9 - 0.7 * xx], -1)
        rgb = np.clip(rgb + rng.normal(0, 0.05, rgb.shape), 0, 1)
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(root / f"img_{i}.png")
    return root


def test_gray_baseline_psnr_matches_hand_computation(photo_folder: Path, tmp_path: Path) -> None:
    run = tmp_path / "gray"
    data = ["--data.source=folder", f"--data.root={photo_folder}", "--data.test_fraction=0.5",
            "--data.val_fraction=0.2"]
    assert main(["colorize", "fit", "-c", TINY, "--run_dir", str(run), "--model.kind=gray",
                 "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", *data]) == 0
    assert main(["colorize", "test", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--samples", "2"]) == 0
    out = run / "test-test"  # the default output, which `report` reuses
    metrics = json.loads((out / "metrics.json").read_text())
    table = pd.read_csv(out / "per_image.csv")
    assert metrics["num_images"] == len(table) == 3
    for row in table.itertuples():
        rgb = np.asarray(Image.open(photo_folder / f"{row.name}.png"), dtype=np.float64) / 255.0
        lab = rgb2lab(rgb)
        lab[..., 1:] = 0  # the gray baseline: the photo's own L, ab = 0
        gray = lab2rgb(lab)
        assert row.psnr == pytest.approx(hand_psnr(gray, rgb), abs=1e-3)  # measured within 2e-6 dB
        assert row.gt_colorfulness == pytest.approx(hand_colorfulness(rgb), rel=1e-4)
        assert row.colorfulness < 0.05 and row.diversity < 1e-3
    assert metrics["psnr"] == pytest.approx(table["psnr"].mean())
    # deterministic model: every sample is the output, so single-sample and oracle PSNR equal the PSNR
    assert metrics["mean_sample_psnr"] == pytest.approx(metrics["psnr"], abs=1e-6)
    assert metrics["best_of_n_psnr"] == pytest.approx(metrics["psnr"], abs=1e-6)
    assert metrics["delta_colorfulness"] == pytest.approx(metrics["gt_colorfulness"], abs=0.05)
    assert metrics["fd_lite2"] > 0 and metrics["feature_distribution_images"] == 3
    assert "fewer than the 1280" in metrics["feature_distribution_note"]
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    for key in ("best_of_n_psnr", "mean_sample_psnr", "feature_distance", "fd_lite2", "kid_lite2"):
        assert COLORIZATION_METRICS[key].label in html, key


class OracleColorizer(Colorizer):
    """Test double that "predicts" the true ab of the evaluated image (looked up by its L)."""

    def __init__(self, dataset) -> None:
        self.device = torch.device("cpu")
        self.truth = {}
        for i in range(len(dataset)):
            L, ab = rgb_to_lab_norm(dataset[i]["rgb"][None])
            self.truth[L.numpy().tobytes()] = ab

    def predict_ab(self, L_work, n_samples=1, temperature=1.0, generator=None, deterministic=None):
        return self.truth[L_work.numpy().tobytes()].expand(n_samples, -1, -1, -1)


def test_perfect_prediction_scores_perfectly(tmp_path: Path) -> None:
    # working size = full size, so the true ab at working resolution is the true ab
    dm = ColorSplits(source="synthetic", num_images=20, synthetic_size=32, image_size=32, test_fraction=0.15)
    with pytest.warns(UserWarning, match="fewer than the 1280"):
        m = evaluate_colorizer(OracleColorizer(dm.dataset("test")), dm, tmp_path, n_samples=2, progress=False)
    assert m["num_images"] == 3
    assert m["psnr"] == m["mean_sample_psnr"] == m["best_of_n_psnr"] == PSNR_CAP
    assert m["ssim"] > 0.9999 and m["ab_auc"] > 0.99 and m["diversity"] == 0
    assert m["delta_colorfulness"] < 1e-3 and m["sample_delta_colorfulness"] < 1e-3
    assert abs(m["fd_lite2"]) < 1e-3 and m["feature_distance"] < 1e-3


def test_vae_results_hold_what_the_report_reads(tmp_path: Path) -> None:
    """Evaluation writes the ab pixels and latent statistics the report plots (no re-run there)."""
    run = tmp_path / "vae"
    assert main(["colorize", "fit", "-c", TINY, "--run_dir", str(run), "--model.kind=vae", "--model.latent_dim=3",
                 "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false"]) == 0
    assert main(["colorize", "test", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--samples", "3"]) == 0
    out = run / "test-test"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tables"] == ["ab_pixels.csv", "latent.csv"] and metrics["latent_dim"] == 3
    pixels, latent = pd.read_csv(out / "ab_pixels.csv"), pd.read_csv(out / "latent.csv")
    assert list(pixels.columns) == ["pred_a", "pred_b", "gt_a", "gt_b", "spread", "error"]
    assert (pixels["spread"] >= 0).all() and (pixels["error"] >= 0).all() and pixels["spread"].max() > 0
    assert metrics["gt_ab_magnitude"] == pytest.approx(np.hypot(pixels["gt_a"], pixels["gt_b"]).mean(), rel=1e-4)
    assert len(latent) == metrics["num_images"]
    assert [c for c in latent.columns if c.startswith("kl_")] == ["kl_0", "kl_1", "kl_2"]
    assert (latent.filter(like="kl_") >= -1e-6).all().all()
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "Active units" in html and "Calibration" in html and "re-run" not in html
