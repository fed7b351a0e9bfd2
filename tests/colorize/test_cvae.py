"""Conditional VAE: shapes, gradients, KL identities, determinism, sampling, annealing."""

from __future__ import annotations

import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.losses.ab_regression import AB_BINS, rarity_weights, recon_loss
from colorseg.losses.kl import kl_diag_gaussians, kl_weight, kl_with_free_bits
from colorseg.models.cvae import ConditionalVAE


@pytest.mark.parametrize("size", [(16, 16), (13, 21)])
@pytest.mark.parametrize("latent", [0, 3])
def test_shapes_any_size(size, latent) -> None:
    net = ConditionalVAE(latent_dim=latent, base_width=4, depth=2, posterior_width=4)
    L, ab = torch.rand(2, 1, *size) * 2 - 1, torch.rand(2, 2, *size) - 0.5
    out = net(L, ab)
    assert out["ab"].shape == (2, 2, *size) and out["ab"].abs().max() < 1
    assert net.sample(L, n_samples=3).shape == (2, 3, 2, *size)
    if latent:
        assert out["post_mu"].shape == (2, latent) and out["prior_logvar"].shape == (2, latent)


def test_every_parameter_gets_gradient() -> None:
    torch.manual_seed(0)
    net = ConditionalVAE(latent_dim=2, base_width=4, depth=2, posterior_width=4)
    L, ab = torch.rand(2, 1, 16, 16), torch.rand(2, 2, 16, 16) - 0.5
    out = net(L, ab)
    kl = kl_diag_gaussians(out["post_mu"], out["post_logvar"], out["prior_mu"], out["prior_logvar"]).sum()
    (recon_loss(out["ab"], ab) + kl + out["prior_mu"].pow(2).sum()).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_kl_zero_iff_equal_and_positive_otherwise() -> None:
    mu, logvar = torch.randn(4, 5), torch.randn(4, 5)
    assert torch.allclose(kl_diag_gaussians(mu, logvar, mu, logvar), torch.zeros(4, 5), atol=1e-6)
    kl = kl_diag_gaussians(mu + 1, logvar, mu, logvar)
    assert torch.allclose(kl, torch.full((4, 5), 0.5) / logvar.exp(), atol=1e-5)
    # against torch.distributions
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    ours = kl_diag_gaussians(mu, logvar, torch.zeros_like(mu), torch.zeros_like(mu))
    assert torch.allclose(ours, torch.distributions.kl_divergence(q, p), atol=1e-5)


def test_free_bits_and_annealing() -> None:
    kl = torch.tensor([[0.0, 2.0], [0.0, 2.0]])
    assert kl_with_free_bits(kl, 0.5).item() == pytest.approx(2.5)
    assert kl_with_free_bits(kl).item() == pytest.approx(2.0)
    assert kl_weight(0, 1.0, "linear", 100) == 0 and kl_weight(50, 1.0, "linear", 100) == 0.5
    assert kl_weight(500, 1.0, "linear", 100) == 1.0
    assert kl_weight(250, 1.0, "cyclical", cycle_steps=1000, ramp_fraction=0.5) == 0.5
    assert kl_weight(1000, 1.0, "cyclical", cycle_steps=1000) == 0.0
    assert kl_weight(7, 0.3, "constant") == 0.3
    with pytest.raises(ConfigError):
        kl_weight(0, 1.0, "wobbly")


def test_eval_is_deterministic_and_samples_differ() -> None:
    torch.manual_seed(0)
    net = ConditionalVAE(latent_dim=4, base_width=4, depth=2, posterior_width=4).eval()
    with torch.no_grad():  # make the prior broad so samples visibly differ
        net.prior.fc.bias[4:] = 2.0
    L = torch.rand(1, 1, 16, 16)
    a, b = net(L)["ab"], net(L)["ab"]
    assert torch.equal(a, b)
    samples = net.sample(L, n_samples=3)
    assert not torch.allclose(samples[:, 0], samples[:, 1])
    cold = net.sample(L, n_samples=2, temperature=0.0)
    assert torch.allclose(cold[:, 0], a, atol=1e-6) and torch.allclose(cold[:, 1], a, atol=1e-6)


def test_rarity_weights_upweight_rare_colours() -> None:
    hist = torch.zeros(AB_BINS * AB_BINS)
    common, rare = 11 * AB_BINS + 11, 3 * AB_BINS + 18
    hist[common], hist[rare] = 10_000, 10
    w = rarity_weights(hist)
    assert w[rare] > w[common] > 0
    p = hist / hist.sum()
    assert (p * w).sum().item() == pytest.approx(1.0, rel=0.05)


def test_recon_loss_identity_and_errors() -> None:
    ab = torch.rand(2, 2, 4, 4) - 0.5
    assert recon_loss(ab, ab).item() == 0 and recon_loss(ab, ab, "huber").item() == 0
    with pytest.raises(ConfigError):
        recon_loss(ab, ab, "l7")
    with pytest.raises(ConfigError):
        ConditionalVAE(latent_dim=-1)
