"""Every registered encoder: build, odd sizes, 1-channel adaptation, save → load, export parity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorseg.checkpoint import (
    checkpoint_metadata,
    colorization_model_from_checkpoint,
    load_checkpoint,
    segmentation_model_from_checkpoint,
)
from colorseg.errors import ConfigError
from colorseg.inference.export import export_model, run_exported
from colorseg.inference.segmenter import Segmenter
from colorseg.inference.tiling import TileConfig
from colorseg.models.backbones.efficientnet_lite import default_weights_path
from colorseg.models.encoders import ENCODERS, EncoderOptions, build_encoder
from colorseg.models.unet import UNet, UNetConfig
from colorseg.training.colorizer_module import ColorizerModule
from colorseg.training.segmenter_module import SegmenterModule
from tests.conftest import save_module_checkpoint

ALL = list(ENCODERS)
PRETRAINED_OFFLINE = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]


_save = save_module_checkpoint


def _perturb_bn(module) -> None:
    """Non-trivial BatchNorm statistics, so eval-mode outputs depend on them."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if "running_mean" in name:
                t.add_(torch.randn(t.shape, generator=gen) * 0.1)
            elif "running_var" in name:
                t.mul_(1 + torch.rand(t.shape, generator=gen))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("in_channels", [1, 3])
def test_encoder_features_match_declared_channels_and_strides(name: str, in_channels: int) -> None:
    encoder = build_encoder(name, options=EncoderOptions(in_channels=in_channels)).eval()
    m = encoder.output_stride
    x = torch.rand(1, in_channels, 2 * m, 3 * m)
    with torch.no_grad():
        feats = encoder(x)
    assert len(feats) == len(encoder.out_channels) == len(encoder.strides)
    for f, c, s in zip(feats, encoder.out_channels, encoder.strides):
        assert tuple(f.shape) == (1, c, 2 * m // s, 3 * m // s)
    assert len(encoder.mean) == len(encoder.std) == in_channels


@pytest.mark.parametrize("name", ALL)
def test_unet_with_every_encoder_odd_size_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    net = UNet(UNetConfig(in_channels=1, num_classes=3, encoder=name, depth=2, base_width=4))
    x = torch.rand(2, 1, 37, 53)
    y = net(x)
    assert y.shape == (2, 3, 37, 53) and torch.isfinite(y).all()
    y.square().mean().backward()
    no_grad = [n for n, p in net.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum())]
    assert not no_grad, f"{name}: parameters without gradient: {no_grad[:5]}"


@pytest.mark.parametrize("name", PRETRAINED_OFFLINE)
def test_pretrained_weights_are_the_packaged_imagenet_weights(name: str) -> None:
    encoder = build_encoder(name, "imagenet")
    packaged = torch.load(default_weights_path(name), map_location="cpu", weights_only=True)
    assert torch.equal(encoder._conv_stem.weight, packaged["_conv_stem.weight"])
    last = len(encoder._blocks) - 1
    key = f"_blocks.{last}._project_conv.weight"
    assert torch.equal(encoder.state_dict()[key], packaged[key])


def test_one_channel_stem_equals_the_rgb_network_on_gray_rgb() -> None:
    """Summed RGB stem weights: a gray image gives exactly what the ImageNet network gives to (x, x, x)."""
    rgb = build_encoder("efficientnet_lite0", "imagenet").eval()
    gray = build_encoder("efficientnet_lite0", "imagenet", EncoderOptions(in_channels=1)).eval()
    x = torch.rand(1, 1, 64, 96)
    with torch.no_grad():
        a = rgb((x.expand(-1, 3, -1, -1) - 0.5) / 0.5)
        b = gray((x - 0.5) / 0.5)
    for fa, fb in zip(a, b):
        torch.testing.assert_close(fa, fb, rtol=1e-4, atol=1e-4)


def test_vgg16_pretrained_offline_fails_with_a_clear_message(tmp_path, monkeypatch) -> None:
    from colorseg.errors import CheckpointError
    from colorseg.models.backbones import vgg

    monkeypatch.setattr(vgg, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(vgg, "VGG16_URL", "http://127.0.0.1:9/vgg16-397923af.pth")  # nothing listens on port 9
    with pytest.raises(CheckpointError, match="not cached at .*vgg16"):
        build_encoder("vgg16", "imagenet")


def test_unknown_encoder_and_bad_weights_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown encoder 'resnet18'.*efficientnet_lite0"):
        UNetConfig(encoder="resnet18")
    with pytest.raises(ConfigError, match="'unet' has no pretrained weights"):
        UNetConfig(encoder="unet", encoder_weights="imagenet")
    with pytest.raises(ConfigError, match="unknown encoder_weights 'coco'"):
        UNetConfig(encoder="efficientnet_lite0", encoder_weights="coco")
    with pytest.raises(ConfigError, match="mean must be one number or one per input channel"):
        UNetConfig(in_channels=3, mean=[0.1, 0.2])


@pytest.mark.parametrize("name", ALL)
def test_segment_checkpoint_save_load_identical_outputs_and_tiled_inference(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "a", "b"], in_channels=3, encoder=name, depth=2, base_width=4,
                             decoder_channels=None)
    _perturb_bn(module)
    module.eval()
    path = _save(module, "segment", tmp_path / f"{name}.ckpt")
    model = segmentation_model_from_checkpoint(load_checkpoint(path, "segment"))
    assert model.config.encoder == name and model.config.encoder_weights == "none"  # never re-downloads
    x = torch.rand(2, 3, 45, 61)
    with torch.no_grad():
        assert torch.equal(module(x), model(x))
    # tiled prediction with the encoder's size multiple agrees with the whole image
    image = (np.random.default_rng(0).random((150, 170, 3)) * 255).astype(np.uint8)
    whole = Segmenter(model, tiling=TileConfig(tile=1024), channels_last=False).predict(image, return_probs=True)[1]
    tiled = Segmenter(model, tiling=TileConfig(tile=128, overlap=64), channels_last=False).predict(
        image, return_probs=True)[1]
    assert np.abs(whole - tiled).mean() < 0.05
    assert Segmenter(model).size_multiple == model.net.encoder.output_stride


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_export_parity_for_every_encoder(name: str, fmt: str, tmp_path) -> None:
    """export_model refuses graphs that differ from PyTorch by > 1e-4 at another batch and odd size;
    here also checked at a third size."""
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "a"], in_channels=1, encoder=name, depth=2, base_width=4)
    _perturb_bn(module)
    path = _save(module.eval(), "segment", tmp_path / "m.ckpt")
    out = export_model(path, fmt, tmp_path / f"m.{'onnx' if fmt == 'onnx' else 'pt'}")
    x = torch.rand(1, 1, 70, 41)
    with torch.no_grad():
        expected = module(x).softmax(1)
    assert float((run_exported(out, fmt, (x,)) - expected).abs().max()) < 1e-4


def test_old_format1_checkpoint_keeps_loading(tmp_path) -> None:
    """Format-1 keys (net.inc / net.downs / net.ups) are renamed on load; outputs identical."""
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "a"], in_channels=1, depth=2, base_width=4).eval()
    _perturb_bn(module)
    old = {}
    for k, v in module.state_dict().items():
        old[k.replace("net.encoder.inc.", "net.inc.").replace("net.encoder.downs.", "net.downs.")
           .replace("net.decoder.ups.", "net.ups.")] = v
    hp = {k: v for k, v in module.hparams.items() if k not in ("encoder", "encoder_weights", "decoder_channels")}
    hp["mean"], hp["std"] = 0.5, 0.25  # format 1 stored scalars
    meta = {**checkpoint_metadata("segment"), "format": 1, "version": "0.2.0"}
    torch.save({"state_dict": old, "hyper_parameters": hp, "colorseg": meta}, tmp_path / "old.ckpt")
    model = segmentation_model_from_checkpoint(load_checkpoint(tmp_path / "old.ckpt", "segment"))
    x = torch.rand(1, 1, 33, 20)
    with torch.no_grad():
        assert torch.equal(module(x), model(x))
    # resuming training from it: the module renames the keys before Lightning loads them
    ckpt = {"state_dict": dict(old), "colorseg": meta}
    fresh = SegmenterModule(class_names=["bg", "a"], in_channels=1, depth=2, base_width=4)
    fresh.on_load_checkpoint(ckpt)
    fresh.load_state_dict(ckpt["state_dict"])


@pytest.mark.parametrize("name", ["unet", "efficientnet_lite0", "efficientnet_lite1"])
def test_colorizer_encoders_save_load_identical(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    module = ColorizerModule(kind="vae", latent_dim=3, depth=2, base_width=4, posterior_width=4, image_size=32,
                             encoder=name, perceptual_weight=0).eval()
    _perturb_bn(module)
    path = _save(module, "colorize", tmp_path / "c.ckpt")
    model = colorization_model_from_checkpoint(load_checkpoint(path, "colorize"))
    L = torch.rand(2, 1, 35, 50) * 2 - 1
    with torch.no_grad():
        assert torch.equal(module(L)["ab"], model(L)["ab"])
        g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
        assert torch.equal(module.sample(L, 2, 1.0, g1), model.sample(L, 2, 1.0, g2))


def test_lite2_is_refused_as_colorization_encoder() -> None:
    with pytest.raises(ConfigError, match="feature-distribution metric"):
        ColorizerModule(kind="vae", encoder="efficientnet_lite2", perceptual_weight=0)


@pytest.mark.parametrize("name", PRETRAINED_OFFLINE)
def test_encoder_features_equal_the_imagenet_network_features(name: str) -> None:
    """The encoder's fixed TF-"same" pads give exactly the classifier network's feature maps."""
    from colorseg.models.backbones.efficientnet_lite import efficientnet_lite0, efficientnet_lite1, efficientnet_lite2

    net = {"efficientnet_lite0": efficientnet_lite0, "efficientnet_lite1": efficientnet_lite1,
           "efficientnet_lite2": efficientnet_lite2}[name](pretrained=True)
    encoder = build_encoder(name, "imagenet").eval()
    x = torch.rand(1, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        ref = net.features(x, ["s2", "s4", "s8", "s16", "s32"])
        ours = encoder(x)
    for a, b in zip(ref.values(), ours):
        assert torch.equal(a, b)
