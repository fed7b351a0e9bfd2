"""Fine-tuning controls: encoder learning-rate scale, frozen start, frozen BatchNorm statistics."""

from __future__ import annotations

import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.training.encoder_tuning import EncoderTuning
from colorseg.training.segmenter_module import SegmenterModule


def _module(**kwargs) -> SegmenterModule:
    torch.manual_seed(0)
    return SegmenterModule(class_names=["a", "b"], in_channels=1, encoder="efficientnet_lite0",
                           encoder_weights="none", decoder_channels=[16, 16, 8, 8, 8], **kwargs)


def _step(module: SegmenterModule, opt: torch.optim.Optimizer, epoch: int, step: int) -> None:
    module.train()
    module.tuning.update(epoch, step)
    x = torch.rand(2, 1, 64, 64)
    y = torch.randint(0, 2, (2, 64, 64))
    torch.nn.functional.cross_entropy(module(x), y).backward()
    opt.step()
    opt.zero_grad()


def test_encoder_param_group_gets_the_scaled_learning_rate() -> None:
    module = _module(encoder_lr_scale=0.1, lr=1e-3)
    groups = module.tuning.param_groups(module.net, 1e-3)
    by_name = {g["name"]: g for g in groups}
    assert by_name["encoder"]["lr"] == pytest.approx(1e-4) and by_name["decoder"]["lr"] == pytest.approx(1e-3)
    encoder_ids = {id(p) for p in module.net.encoder.parameters()}
    assert {id(p) for p in by_name["encoder"]["params"]} == encoder_ids
    assert not encoder_ids & {id(p) for p in by_name["decoder"]["params"]}
    n = sum(p.numel() for g in groups for p in g["params"])
    assert n == sum(p.numel() for p in module.net.parameters())


def test_frozen_encoder_keeps_weights_and_bn_statistics_then_trains() -> None:
    module = _module(freeze_encoder_steps=2)
    opt = torch.optim.AdamW(module.tuning.param_groups(module.net, 1e-2), lr=1e-2)
    enc0 = {k: v.clone() for k, v in module.net.encoder.state_dict().items()}
    dec0 = {k: v.clone() for k, v in module.net.decoder.state_dict().items()}
    for step in range(2):
        _step(module, opt, 0, step)
    for k, v in module.net.encoder.state_dict().items():
        assert torch.equal(v, enc0[k]), f"{k} changed while the encoder was frozen"
    assert any(not torch.equal(v, dec0[k]) for k, v in module.net.decoder.state_dict().items())
    _step(module, opt, 0, 2)  # unfrozen from step 2 on
    changed = [k for k, v in module.net.encoder.state_dict().items() if not torch.equal(v, enc0[k])]
    assert any("running_mean" in k for k in changed) and any(k.endswith("weight") for k in changed)


def test_freeze_bn_keeps_running_statistics_but_trains_weights() -> None:
    module = _module(freeze_encoder_bn=True)
    opt = torch.optim.AdamW(module.tuning.param_groups(module.net, 1e-2), lr=1e-2)
    stats0 = {k: v.clone() for k, v in module.net.encoder.state_dict().items() if "running" in k}
    _step(module, opt, 0, 0)
    for k, v in module.net.encoder.state_dict().items():
        if "running" in k:
            assert torch.equal(v, stats0[k]), k
    assert module.net.encoder._bn0.training is False and module.net.decoder.training is True
    assert not torch.equal(module.net.encoder._conv_stem.weight, _module().net.encoder._conv_stem.weight)


def test_freeze_epochs_counts_epochs() -> None:
    tuning = EncoderTuning(torch.nn.Linear(2, 2), freeze_epochs=2)
    assert tuning.should_freeze(1, 10_000) and not tuning.should_freeze(2, 0)


def test_bad_tuning_options_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="encoder_lr_scale must be positive"):
        EncoderTuning(torch.nn.Linear(2, 2), lr_scale=0)
    with pytest.raises(ConfigError, match="freeze_encoder_epochs/steps must be >= 0"):
        EncoderTuning(torch.nn.Linear(2, 2), freeze_steps=-1)
