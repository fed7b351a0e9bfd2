"""Backbones: real EfficientNet-Lite0 predictions, feature shapes, registry and weight loading."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from skimage import data

from colorseg.errors import CheckpointError, ConfigError
from colorseg.models.backbones import (
    BACKBONES,
    FeatureBackbone,
    build_backbone,
    efficientnet_lite,
    load_weights_from_url,
    vgg,
)

UNREACHABLE = "http://127.0.0.1:9/vgg16-397923af.pth"  # discard port: connection refused


@pytest.fixture(scope="module")
def lite0() -> torch.nn.Module:
    return build_backbone("efficientnet_lite0", pretrained=True)


def to_input(image, size: int = 224) -> torch.Tensor:
    """uint8 (H, W, 3) → float (1, 3, size, size) in [0, 1], plain antialiased resize."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


@pytest.mark.parametrize("image, label", [(data.chelsea, 285), (data.coffee, 967)],
                         ids=["chelsea-egyptian_cat", "coffee-espresso"])
def test_lite0_classifies_imagenet_images(lite0, image, label: int) -> None:
    with torch.no_grad():
        probs = lite0(lite0.normalize(to_input(image()))).softmax(dim=-1)[0]
    assert int(probs.argmax()) == label
    assert float(probs[label]) > 0.6  # observed 0.79 (cat) and 0.88 (espresso)


@pytest.mark.parametrize("image, label, floor", [(data.chelsea, 285, 0.7), (data.coffee, 967, 0.8)],
                         ids=["chelsea-egyptian_cat", "coffee-espresso"])
def test_lite2_classifies_imagenet_images(image, label: int, floor: float) -> None:
    """At its 260 px resolution with mean/std 0.5: observed 0.75 (cat) and 0.87 (espresso)."""
    lite2 = efficientnet_lite.efficientnet_lite2()
    image = image()
    with torch.no_grad():
        probs = lite2(lite2.normalize(to_input(image, lite2.resolution))).softmax(dim=-1)[0]
    assert int(probs.argmax()) == label and float(probs[label]) > floor


def test_lite2_architecture_matches_its_weights() -> None:
    lite2 = efficientnet_lite.efficientnet_lite2()
    state = torch.load(efficientnet_lite.default_weights_path("efficientnet_lite2"), weights_only=True)
    assert set(state) == set(lite2.state_dict()) and len(lite2._blocks) == 21
    assert lite2.feature_channels == {"s2": 16, "s4": 24, "s8": 48, "s16": 120, "s32": 352, "head": 1280}
    with torch.no_grad():
        x = lite2.normalize(torch.rand(1, 3, 65, 47))
        assert lite2.pooled(x).shape == (1, 1280)
        assert torch.allclose(lite2._fc(lite2.pooled(x)), lite2(x))


def test_lite0_weights_load_strict_and_match_file(lite0) -> None:
    state = torch.load(efficientnet_lite.default_weights_path(), weights_only=True)
    assert set(state) == set(lite0.state_dict())
    assert torch.equal(lite0.state_dict()["_blocks.15._project_conv.weight"],
                       state["_blocks.15._project_conv.weight"])


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("size", [(64, 64), (67, 93)])
def test_feature_channels_and_strides(name: str, size: tuple[int, int]) -> None:
    net = build_backbone(name, pretrained=False)
    assert isinstance(net, FeatureBackbone) and not net.training
    h, w = size
    layers = list(net.feature_channels)
    with torch.no_grad():
        feats = net.features(net.normalize(torch.rand(2, 3, h, w)), layers)
    assert list(feats) == layers
    # EfficientNet pads "same" (ceil), VGG max-pools (floor).
    rnd = (lambda a, b: -(-a // b)) if name == "efficientnet_lite0" else (lambda a, b: a // b)
    for n, f in feats.items():
        s = net.feature_strides[n]
        assert f.shape == (2, net.feature_channels[n], rnd(h, s), rnd(w, s)), n
        assert torch.isfinite(f).all()


def test_features_partial_layers_match_full_run(lite0) -> None:
    x = lite0.normalize(torch.rand(1, 3, 45, 51))
    with torch.no_grad():
        full = lite0.features(x, list(lite0.feature_channels))
        part = lite0.features(x, ["s8", "s2"])
    assert list(part) == ["s8", "s2"]
    assert torch.equal(part["s8"], full["s8"]) and torch.equal(part["s2"], full["s2"])


def test_normalize_is_out_of_place(lite0) -> None:
    x = torch.rand(1, 3, 8, 8)
    y = lite0.normalize(x)
    assert y.data_ptr() != x.data_ptr()
    assert torch.allclose(y, x * 2 - 1)


def test_unknown_backbone_and_layer_raise_config_error(lite0) -> None:
    with pytest.raises(ConfigError, match="resnet18.*efficientnet_lite0.*vgg16"):
        build_backbone("resnet18")
    with pytest.raises(ConfigError, match="efficientnet_lite0.*relu1_2"):
        lite0.features(torch.rand(1, 3, 32, 32), ["relu1_2"])
    with pytest.raises(ConfigError, match="vgg16.*s4"):
        build_backbone("vgg16", pretrained=False).features(torch.rand(1, 3, 32, 32), ["s4"])


def test_lite0_missing_or_corrupt_weights(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="efficientnet_lite0.*missing.pth"):
        efficientnet_lite.efficientnet_lite0(weights_path=tmp_path / "missing.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pth"):
        efficientnet_lite.efficientnet_lite0(weights_path=bad)


def test_vgg16_offline_uncached_names_lite0(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(vgg, "VGG16_URL", UNREACHABLE)
    monkeypatch.setattr(vgg, "CACHE_DIR", tmp_path / "hub")
    with pytest.raises(CheckpointError) as info:
        build_backbone("vgg16")
    msg = str(info.value)
    assert "efficientnet_lite0" in msg and UNREACHABLE in msg
    assert str(tmp_path / "hub" / "vgg16-397923af.pth") in msg


def test_vgg16_corrupt_cached_file(tmp_path: Path) -> None:
    cached = tmp_path / "vgg16-397923af.pth"
    cached.write_bytes(b"\x00truncated")
    with pytest.raises(CheckpointError, match="vgg16-397923af.pth"):
        vgg.vgg16(url=UNREACHABLE, cache_dir=tmp_path)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str, http.server.HTTPServer]]:
    """A folder served over HTTP on 127.0.0.1 (random port) from a thread."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_port}", server
    server.shutdown()
    server.server_close()


def test_load_weights_from_url_downloads_then_uses_cache(tmp_path: Path, http_root) -> None:
    root, base, server = http_root
    state = {"features.0.weight": torch.randn(4, 3, 3, 3), "features.0.bias": torch.randn(4)}
    torch.save(state, root / "tmp.pth")
    digest = hashlib.sha256((root / "tmp.pth").read_bytes()).hexdigest()
    name = f"small-{digest[:8]}.pth"
    (root / "tmp.pth").rename(root / name)
    cache = tmp_path / "cache"

    got = load_weights_from_url(f"{base}/{name}", cache, check_hash=True, progress=False)
    assert (cache / name).is_file()
    assert all(torch.equal(got[k], v) for k, v in state.items())

    server.shutdown()  # the second load must not need the network
    again = load_weights_from_url(f"{base}/{name}", cache, check_hash=True, progress=False)
    assert all(torch.equal(again[k], v) for k, v in state.items())


def test_load_weights_from_url_hash_mismatch_and_corrupt_cache(tmp_path: Path, http_root) -> None:
    root, base, _ = http_root
    torch.save({"w": torch.zeros(2)}, root / "small-deadbeef.pth")
    cache = tmp_path / "cache"
    with pytest.raises(CheckpointError, match="small-deadbeef.pth"):
        load_weights_from_url(f"{base}/small-deadbeef.pth", cache, progress=False)
    assert not (cache / "small-deadbeef.pth").exists()

    (cache / "junk.pth").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="junk.pth.*corrupt"):
        load_weights_from_url(f"{base}/junk.pth", cache, progress=False)
