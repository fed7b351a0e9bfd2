"""SegmenterModule: overfit one batch; save → load → identical outputs; non-finite loss stops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorseg.data.synthetic import make_shapes_sample
from colorseg.errors import ConfigError
from colorseg.inference.segmenter import Segmenter
from colorseg.training.segmenter import SegmenterModule


def _batch(n: int = 4, size: int = 32):
    pairs = [make_shapes_sample(0, i, size) for i in range(n)]
    image = torch.from_numpy(np.stack([p[0] for p in pairs]).transpose(0, 3, 1, 2).copy())
    mask = torch.from_numpy(np.stack([p[1] for p in pairs]))
    return {"image": image, "mask": mask, "name": [str(i) for i in range(n)]}


def test_tiny_overfit() -> None:
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "c", "s", "t"], depth=2, base_width=8, loss="ce")
    batch = _batch()
    opt = torch.optim.Adam(module.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = module.criterion(module(batch["image"]), batch["mask"])["loss"]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_save_load_identical_outputs(tmp_path) -> None:
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["bg", "fg"], in_channels=1, depth=2, base_width=8,
                             class_colors=[(0, 0, 0), (255, 0, 0)])
    path = tmp_path / "m.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "colorseg": {"task": "segment"}}, path)
    loaded = Segmenter.from_checkpoint(path, channels_last=False)  # exact NCHW comparison below
    image = np.random.default_rng(0).integers(0, 256, (21, 30), dtype=np.uint8)
    mask, probs = loaded.predict(image, return_probs=True)
    module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(image / 255.0).float()[None, None]).softmax(1)[0]
    assert torch.equal(torch.from_numpy(probs), expected)
    assert np.array_equal(mask, expected.argmax(0).numpy())
    assert loaded.class_names == ["bg", "fg"] and loaded.class_colors[1] == (255, 0, 0)


def test_predict_accepts_uint16_rgba_and_batches(tmp_path) -> None:
    module = SegmenterModule(class_names=["bg", "fg"], in_channels=3, depth=1, base_width=4)
    seg = Segmenter(module)
    rgba16 = np.random.default_rng(0).integers(0, 65535, (9, 11, 4), dtype=np.uint16)
    rgb16 = rgba16[..., :3].copy()
    assert np.array_equal(seg.predict(rgba16), seg.predict(rgb16))
    out = seg.predict([rgb16, rgb16[:5]])
    assert [m.shape for m in out] == [(9, 11), (5, 11)]


def test_non_finite_loss_names_term() -> None:
    module = SegmenterModule(class_names=["bg", "fg"], in_channels=3, depth=1, base_width=4)
    batch = _batch(1, 16)
    batch["mask"] = (batch["mask"] > 0).long()
    batch["image"][0, 0, 0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match="loss term"):
        module._common_step(batch, "train")


def test_bad_scheduler_is_config_error() -> None:
    with pytest.raises(ConfigError, match="scheduler"):
        SegmenterModule(scheduler="warp")
