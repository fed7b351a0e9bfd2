"""Colorizer losses are computed in float32 under bf16 autocast (bf16 rounding made small KLs negative)."""

from __future__ import annotations

import torch

from colorseg.training.colorizer_module import ColorizerModule


def test_loss_terms_are_float32_and_kl_nonnegative_under_bf16() -> None:
    torch.manual_seed(0)
    module = ColorizerModule(kind="vae", latent_dim=4, depth=2, base_width=4, posterior_width=4, image_size=32,
                             perceptual_weight=0, latent_layout="spatial")
    rgb = torch.rand(4, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module.net(torch.rand(4, 1, 32, 32) * 2 - 1, torch.rand(4, 2, 32, 32) - 0.5)
        assert out["post_mu"].dtype == torch.bfloat16  # the network itself runs in bf16
        terms, _ = module._common_step({"rgb": rgb}, "val")
    for name in ("recon", "kl", "loss"):
        assert terms[name].dtype == torch.float32, name
    assert terms["kl"] >= 0
