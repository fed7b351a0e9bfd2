"""PerceptualLoss: zero on identical inputs, frozen backbone, caller's tensors untouched."""

from __future__ import annotations

import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.losses.perceptual import PerceptualLoss


@pytest.fixture(scope="module")
def loss() -> PerceptualLoss:
    return PerceptualLoss()  # efficientnet_lite0, real weights, default layers


def images(seed: int, b: int = 2, h: int = 37, w: int = 45) -> torch.Tensor:
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_identical_zero_different_positive(loss: PerceptualLoss) -> None:
    a, b = images(0), images(1)
    assert loss(a, a.clone()).item() == 0.0
    assert loss(a, b).item() > 0
    assert loss(a, b).ndim == 0


def test_gradients_reach_pred_not_backbone(loss: PerceptualLoss) -> None:
    pred = images(0).requires_grad_(True)
    target = images(1)
    loss(pred, target).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    params = list(loss.backbone.parameters())
    assert params and all(not p.requires_grad and p.grad is None for p in params)


def test_inputs_unchanged(loss: PerceptualLoss) -> None:
    pred, target = images(2), images(3)
    pred_copy, target_copy = pred.clone(), target.clone()
    loss(pred, target)
    loss.feature_distance(pred, target)
    assert torch.equal(pred, pred_copy) and torch.equal(target, target_copy)


def test_backbone_stays_eval_and_out_of_state_dict(loss: PerceptualLoss) -> None:
    loss.train()
    assert loss.training and not loss.backbone.training
    assert all(not m.training for m in loss.backbone.modules())
    # eval BatchNorm: the running statistics must not move during a "training" forward
    before = {k: v.clone() for k, v in loss.backbone.state_dict().items()}
    loss(images(4), images(5))
    after = loss.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert len(loss.state_dict()) == 0 and len(list(loss.parameters())) == 0
    loss.eval()


def test_feature_distance_is_per_image_metric(loss: PerceptualLoss) -> None:
    a, b = images(6, b=3), images(7, b=3)
    d = loss.feature_distance(a, torch.cat([a[:1], b[1:]]))
    assert d.shape == (3,) and not d.requires_grad
    assert d[0].item() == 0.0 and (d[1:] > 0).all()
    assert torch.allclose(d.mean(), loss(a, torch.cat([a[:1], b[1:]])))


def test_layer_weights_and_dtype_move() -> None:
    only_s2 = PerceptualLoss(layers=["s2"], pretrained=False)
    weighted = PerceptualLoss(layers=["s2", "s4"], layer_weights=[1.0, 0.0], pretrained=False)
    weighted.backbone.load_state_dict(only_s2.backbone.state_dict())
    a, b = images(8), images(9)
    assert torch.allclose(only_s2(a, b), weighted(a, b))
    only_s2.double()
    assert next(only_s2.backbone.parameters()).dtype == torch.float64
    assert only_s2(a.double(), b.double()).dtype == torch.float64


def test_vgg16_random_weights_shapes() -> None:
    loss = PerceptualLoss("vgg16", pretrained=False)
    assert loss.layers == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    pred = images(10, b=1, h=33, w=41).requires_grad_(True)
    value = loss(pred, images(11, b=1, h=33, w=41))
    value.backward()
    assert value.ndim == 0 and value.item() > 0 and pred.grad is not None
    assert all(p.grad is None for p in loss.backbone.parameters())


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="relu9.*efficientnet_lite0"):
        PerceptualLoss(layers=["relu9"], pretrained=False)
    with pytest.raises(ConfigError, match="layer_weights"):
        PerceptualLoss(layers=["s2", "s4"], layer_weights=[1.0], pretrained=False)
    with pytest.raises(ConfigError, match="unknown backbone"):
        PerceptualLoss("alexnet", pretrained=False)
    with pytest.raises(ValueError, match="same shape"):
        PerceptualLoss(pretrained=False)(images(0), images(0, h=20))
