"""UNet: shapes for odd sizes, gradients, dropout, config validation, save/load, determinism."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from colorseg.errors import ConfigError
from colorseg.models.blocks import NORMS, UPSAMPLES, Up
from colorseg.models.unet import UNet, UNetConfig

ALL_ARCHS = list(itertools.product(NORMS, UPSAMPLES, (1, 2, 3, 4)))


def tiny(**kw) -> UNet:
    kw.setdefault("base_width", 4)
    return UNet(**kw)


@pytest.mark.parametrize(("norm", "upsample", "depth"), ALL_ARCHS)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_output_shape_odd_sizes(norm, upsample, depth, in_channels) -> None:
    torch.manual_seed(0)
    net = tiny(in_channels=in_channels, num_classes=3, depth=depth, norm=norm, upsample=upsample)
    for h, w in [(13, 17), (37, 53), (16, 16)]:
        y = net(torch.randn(2, in_channels, h, w))
        assert y.shape == (2, 3, h, w)
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (5, 3)])
def test_tiny_inputs_smaller_than_size_multiple(size) -> None:
    # Padding must switch from reflect (needs pad < size) to replicate here.
    net = tiny(in_channels=1, num_classes=2, depth=4).eval()
    y = net(torch.randn(1, 1, *size))
    assert y.shape == (1, 2, *size) and torch.isfinite(y).all()


def test_output_depends_on_input_values() -> None:
    torch.manual_seed(0)
    net = tiny(in_channels=3, num_classes=2, depth=2).eval()
    x = torch.randn(1, 3, 13, 17)
    x2 = x.clone()
    x2[..., 6, 8] += 5.0
    assert not torch.equal(net(x), net(x2))


@pytest.mark.parametrize(("norm", "upsample", "depth"), ALL_ARCHS)
def test_every_parameter_gets_finite_nonzero_gradient(norm, upsample, depth) -> None:
    torch.manual_seed(0)
    net = tiny(in_channels=3, num_classes=3, depth=depth, norm=norm, upsample=upsample)
    net.train()
    y = net(torch.randn(2, 3, 13, 17))
    y.square().mean().backward()
    params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    assert params
    for name, p in params:
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_norm_choice_builds_the_right_layers() -> None:
    kinds = {
        "batch": nn.BatchNorm2d,
        "group": nn.GroupNorm,
    }
    for norm, cls in kinds.items():
        assert any(isinstance(m, cls) for m in tiny(norm=norm, depth=2).modules())
    plain = tiny(norm="none", depth=2)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in plain.modules())
    # Without a norm layer the convolutions need their bias.
    convs = [m for m in plain.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs)


@pytest.mark.parametrize("upsample", UPSAMPLES)
def test_upsample_choice(upsample) -> None:
    net = tiny(depth=2, upsample=upsample)
    ups = [m for m in net.modules() if isinstance(m, Up)]
    assert len(ups) == 2
    has_transpose = any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())
    has_bilinear = any(isinstance(m, nn.Upsample) and m.mode == "bilinear" for m in net.modules())
    assert has_transpose == (upsample == "transpose")
    assert has_bilinear == (upsample == "bilinear")


def test_dropout_config() -> None:
    assert not any(isinstance(m, nn.Dropout2d) for m in tiny(depth=3, dropout=0.0).modules())
    net = tiny(in_channels=1, depth=3, dropout=0.5)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout2d)]
    assert len(drops) == 1 and drops[0].p == 0.5
    # Dropout sits at the bottleneck (the deepest Down block).
    assert any(isinstance(m, nn.Dropout2d) for m in net.encoder.downs[-1].modules())

    x = torch.randn(2, 1, 16, 16)
    net.train()
    torch.manual_seed(1)
    a = net(x)
    torch.manual_seed(2)
    b = net(x)
    assert not torch.equal(a, b)  # stochastic in training
    net.eval()
    assert torch.equal(net(x), net(x))  # dropout off in eval


@pytest.mark.parametrize(("key", "value"), [
    ("in_channels", 2),
    ("in_channels", 4),
    ("num_classes", 1),
    ("num_classes", 0),
    ("depth", 0),
    ("depth", 7),
    ("base_width", 0),
    ("norm", "layer"),
    ("upsample", "nearest"),
    ("dropout", 1.0),
    ("dropout", -0.1),
])
def test_invalid_config_raises_config_error_naming_key(key, value) -> None:
    with pytest.raises(ConfigError, match=key) as info:
        UNetConfig(**{key: value})
    assert str(value) in str(info.value)
    with pytest.raises(ConfigError, match=key):
        UNet(**{key: value})


def test_config_round_trip() -> None:
    cfg = UNetConfig(in_channels=1, num_classes=4, depth=2, base_width=8, norm="group",
                     upsample="bilinear", dropout=0.25)
    assert UNetConfig(**cfg.to_dict()) == cfg
    assert UNet(cfg).config is cfg


@pytest.mark.parametrize("norm", NORMS)
def test_save_load_identical_outputs(tmp_path, norm) -> None:
    torch.manual_seed(0)
    cfg = UNetConfig(in_channels=3, num_classes=3, depth=2, base_width=4, norm=norm,
                     upsample="bilinear", dropout=0.2)
    net = UNet(cfg)
    # A few training-mode passes so BatchNorm running statistics leave their defaults.
    net.train()
    for _ in range(3):
        net(torch.randn(2, 3, 13, 17))
    path = tmp_path / "unet.pt"
    torch.save({"config": cfg.to_dict(), "state_dict": net.state_dict()}, path)

    torch.manual_seed(123)  # a different init: loading must overwrite everything
    ckpt = torch.load(path, weights_only=True)
    net2 = UNet(UNetConfig(**ckpt["config"]))
    x = torch.randn(2, 3, 13, 17)
    assert not torch.equal(net.eval()(x), net2.eval()(x))
    net2.load_state_dict(ckpt["state_dict"])
    net2.eval()
    with torch.no_grad():
        assert torch.equal(net(x), net2(x))


def test_eval_output_deterministic() -> None:
    torch.manual_seed(0)
    net = tiny(in_channels=3, num_classes=2, depth=3, dropout=0.3).eval()
    x = torch.randn(2, 3, 21, 19)
    with torch.no_grad():
        a = net(x)
        torch.manual_seed(99)
        b = net(x)
    assert torch.equal(a, b)
    # Batch composition must not matter in eval (BatchNorm uses running stats).
    with torch.no_grad():
        assert torch.allclose(net(x[:1]), a[:1], atol=1e-6)
