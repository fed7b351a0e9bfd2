"""Spatial latent, ab-bin classification head, annealed mean, and the pooled training data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorseg.data.image_io import save_png
from colorseg.data.split_datasets import ColorSplits
from colorseg.errors import ConfigError, DataError
from colorseg.losses.ab_regression import AB_BINS, ab_bin_centers, ab_bin_index, bin_classification_loss
from colorseg.losses.kl import kl_diag_gaussians, kl_with_free_bits
from colorseg.models.cvae import CLASSIFICATION_STRIDE, ConditionalVAE, CVAEConfig, annealed_mean


def _net(**kw) -> ConditionalVAE:
    torch.manual_seed(0)
    base = {"latent_dim": 3, "base_width": 4, "depth": 3, "posterior_width": 4, "latent_layout": "spatial"}
    return ConditionalVAE(CVAEConfig(**{**base, **kw}))


def _perturb(net: torch.nn.Module) -> None:
    """Non-zero prior heads (they start at zero) and varied weights."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)


@pytest.mark.parametrize("head", ["regression", "classification"])
@pytest.mark.parametrize("size", [(32, 32), (29, 45)])
def test_spatial_latent_shapes(head: str, size: tuple[int, int]) -> None:
    net = _net(head=head)
    L, ab = torch.rand(2, 1, *size) * 2 - 1, torch.rand(2, 2, *size) - 0.5
    out = net.train()(L, ab)
    grid = (-(-size[0] // 8), -(-size[1] // 8))  # depth 3 → stride 8
    assert net.latent_shape(L) == (2, 3, *grid)
    assert out["post_mu"].shape == out["prior_mu"].shape == (2, 3, *grid)
    assert out["ab"].shape == (2, 2, *size) and out["ab"].abs().max() <= 1
    if head == "classification":
        s = CLASSIFICATION_STRIDE
        assert out["ab_logits"].shape == (2, AB_BINS**2, -(-size[0] // s), -(-size[1] // s))
    else:
        assert "ab_logits" not in out
    assert net.eval().sample(L, 3).shape == (2, 3, 2, *size)


def test_spatial_latent_gradients_reach_every_parameter() -> None:
    net = _net(head="classification")
    L, ab = torch.rand(2, 1, 32, 32) * 2 - 1, torch.rand(2, 2, 32, 32) - 0.5
    out = net.train()(L, ab)
    kl = kl_with_free_bits(kl_diag_gaussians(out["post_mu"], out["post_logvar"], out["prior_mu"],
                                             out["prior_logvar"]))
    (bin_classification_loss(out["ab_logits"], ab) + kl + out["ab"].sum() + out["prior_mu"].pow(2).sum()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_spatial_samples_differ_region_by_region() -> None:
    """Changing the noise of one latent cell changes the colours near that cell far more than far
    away: samples vary per region, not by one global cast (the global latent changes everything)."""
    net = _net()
    _perturb(net)
    net.eval()
    L = torch.rand(1, 1, 64, 64) * 2 - 1
    skips = net.encode(L)
    noise = torch.zeros(net.latent_shape(L))
    base = net.decode(skips, net.prior_latent(skips, noise), (64, 64))
    noise[0, :, 0, 0] = 3.0  # top-left latent cell (8×8 pixels at stride 8)
    changed = (net.decode(skips, net.prior_latent(skips, noise), (64, 64)) - base).abs().sum(1)[0]
    near, far = changed[:8, :8].mean(), changed[32:, 32:].mean()
    assert near > 10 * far and near > 1e-3
    glob = _net(latent_layout="global")
    _perturb(glob)
    glob.eval()
    skips = glob.encode(L)
    z0 = torch.zeros(glob.latent_shape(L))
    delta = (glob.decode(skips, glob.prior_latent(skips, z0 + 3), (64, 64))
             - glob.decode(skips, glob.prior_latent(skips, z0), (64, 64))).abs().sum(1)[0]
    assert delta[32:, 32:].mean() > 0.3 * delta[:8, :8].mean()  # a global latent acts everywhere


def test_prior_latent_resizes_other_noise_grids() -> None:
    net = _net()
    _perturb(net)
    L = torch.rand(1, 1, 32, 32) * 2 - 1
    skips = net.encode(L)
    z = net.prior_latent(skips, torch.ones(1, 3, 1, 1))
    assert z.shape == net.latent_shape(L)
    assert torch.allclose(z, net.prior_latent(skips, torch.ones(net.latent_shape(L))))


def test_eval_prediction_is_deterministic() -> None:
    net = _net(head="classification").eval()
    _perturb(net)
    L = torch.rand(1, 1, 40, 24) * 2 - 1
    assert torch.equal(net(L)["ab"], net(L)["ab"])
    s = net.sample(L, 2, generator=torch.Generator().manual_seed(0))
    assert (s[:, 0] - s[:, 1]).abs().max() > 1e-4


def test_bin_centers_match_bin_index() -> None:
    centers = ab_bin_centers()
    assert centers.shape == (AB_BINS**2, 2)
    idx = ab_bin_index(centers.T[None, :, :, None])[0, :, 0]
    assert torch.equal(idx, torch.arange(AB_BINS**2))


def test_annealed_mean_between_mode_and_mean() -> None:
    centers = ab_bin_centers()
    logits = torch.full((1, AB_BINS**2, 1, 1), -20.0)
    logits[0, 10, 0, 0], logits[0, 300, 0, 0] = 2.0, 1.0
    mode = annealed_mean(logits, centers, 0.01)[0, :, 0, 0]
    mean = annealed_mean(logits, centers, 1.0)[0, :, 0, 0]
    p = torch.tensor([np.e**2, np.e]) / (np.e**2 + np.e)
    assert torch.allclose(mode, centers[10], atol=1e-4)
    assert torch.allclose(mean, p[0] * centers[10] + p[1] * centers[300], atol=1e-4)
    mid = annealed_mean(logits, centers, 0.38)[0, :, 0, 0]
    assert (mid - centers[10]).norm() < (mean - centers[10]).norm()


def test_bin_classification_loss() -> None:
    ab = (torch.rand(2, 2, 8, 8) - 0.5) * 1.2
    target = ab_bin_index(ab)
    logits = torch.full((2, AB_BINS**2, 8, 8), -10.0).scatter(1, target[:, None], 10.0)
    assert bin_classification_loss(logits, ab) < 1e-3
    assert bin_classification_loss(torch.zeros_like(logits), ab) == pytest.approx(np.log(AB_BINS**2), rel=1e-4)
    coarse = bin_classification_loss(torch.zeros(2, AB_BINS**2, 2, 2), ab)  # target area-averaged to 2×2
    assert torch.isfinite(coarse)
    w = torch.zeros(AB_BINS**2)
    w[target[0, 0, 0]] = 1.0  # only one pixel's bin counts
    wrong = torch.zeros_like(logits)
    assert bin_classification_loss(wrong, ab, w) == pytest.approx(np.log(AB_BINS**2), rel=1e-4)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="latent_layout"):
        CVAEConfig(latent_layout="local")
    with pytest.raises(ConfigError, match="head"):
        CVAEConfig(head="gan")
    with pytest.raises(ConfigError, match="annealed_mean_temperature"):
        CVAEConfig(annealed_mean_temperature=0)


def _photos(folder: Path, n: int, seed: int, prefix: str = "p") -> None:
    rng = np.random.default_rng(seed)
    for i in range(n):
        save_png(folder / f"{prefix}{i}.png", (rng.random((20, 24, 3)) * 255).astype(np.uint8))


def test_extra_train_roots_join_the_training_pool(tmp_path: Path) -> None:
    main, extra = tmp_path / "main", tmp_path / "extra"
    _photos(main, 10, 0)
    _photos(extra / "sub", 6, 1)
    plain = ColorSplits(source="folder", root=str(main), val_fraction=0.2, test_fraction=0.2)
    pooled = ColorSplits(source="folder", root=str(main), val_fraction=0.2, test_fraction=0.2,
                         extra_train_roots=[str(extra)])
    a, b = plain.split_samples(), pooled.split_samples()
    assert [s.name for s in a["test"]] == [s.name for s in b["test"]]  # test stays the source's
    assert [s.name for s in a["val"]] == [s.name for s in b["val"]]
    added = sorted(s.name for s in b["train"] if s.name.startswith("extra/"))
    assert added == [f"extra/sub/p{i}" for i in range(6)]
    assert len(b["train"]) == len(a["train"]) + 6


def test_extra_train_roots_held_out_validation_comes_from_the_pool(tmp_path: Path) -> None:
    bsds = tmp_path / "bsds"
    for seed, split in enumerate(("train", "val", "test")):
        _photos(bsds / "images" / split, 3, seed, prefix=split)
    extra = tmp_path / "inet"
    _photos(extra, 20, 5)
    splits = ColorSplits(source="bsds500", root=str(bsds), val_from_train=10, extra_train_roots=[str(extra)])
    s = splits.split_samples()
    names = {k: {x.name for x in v} for k, v in s.items()}
    assert len(names["val"]) == 10 and len(names["train"]) == 6 + 20 - 10
    assert not names["val"] & names["train"] and not names["test"] & (names["train"] | names["val"])
    assert names["test"] == {"test0", "test1", "test2"}


def test_extra_train_roots_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere"):
        ColorSplits(source="synthetic", extra_train_roots=[str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    splits = ColorSplits(source="synthetic", num_images=8, extra_train_roots=[str(tmp_path / "empty")])
    with pytest.raises(DataError, match="empty"):
        splits.split_samples()
