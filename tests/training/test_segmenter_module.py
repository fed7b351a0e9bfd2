"""SegmenterModule: overfit one batch; save → load → identical outputs; non-finite loss stops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorseg.data.synthetic import make_shapes_sample
from colorseg.errors import ConfigError
from colorseg.inference.segmenter import Segmenter
from colorseg.training.segmenter_module import SegmenterModule


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
    seg = Segmenter(module.to_model())
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


def test_validation_logs_every_class_also_when_absent(tmp_path) -> None:
    """A declared class in neither ground truth nor prediction keeps its ``val/iou_<name>`` column
    (NaN, written as "nan" by the CSV logger) and is left out of val/mean_iou; fitting, checkpoint
    monitoring and the CSV log work with it."""
    import csv
    from functools import partial

    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger
    from torch.utils.data import DataLoader

    from colorseg.data.datasets import pad_collate

    def items(batch: dict, drop_triangles: bool) -> list[dict]:
        masks = torch.where(batch["mask"] == 3, 0, batch["mask"]) if drop_triangles else batch["mask"]
        return [{"image": im, "mask": m, "name": n, "size": tuple(m.shape)}
                for im, m, n in zip(batch["image"], masks, batch["name"])]

    classes = ["bg", "circle", "square", "triangle"]
    train, val = items(_batch(4, 32), False), items(_batch(6, 32), True)  # validation: no triangle pixels
    loader = partial(DataLoader, collate_fn=partial(pad_collate, ignore_index=255))
    torch.manual_seed(0)
    module = SegmenterModule(class_names=classes, in_channels=3, depth=1, base_width=4, scheduler="none")
    with torch.no_grad():
        module.net.outc.bias[3] = -1e4  # and the model never predicts one
    trainer = pl.Trainer(accelerator="cpu", max_epochs=2, logger=CSVLogger(tmp_path), log_every_n_steps=1,
                         callbacks=[ModelCheckpoint(tmp_path / "ckpt", monitor="val/mean_iou", mode="max")],
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(module, loader(train, batch_size=2, shuffle=True), loader(val, batch_size=2))
    assert module.val_confusion[3].sum() == 0 and module.val_confusion[:, 3].sum() == 0
    assert module.val_confusion.sum() == 6 * 32 * 32
    with open(next(tmp_path.glob("lightning_logs/version_*/metrics.csv")), newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["val/mean_iou"]]
    assert len(rows) == 2  # one per epoch
    for row in rows:
        assert row["val/iou_triangle"] == "nan"  # logged as NaN, not missing
        ious = [float(row[f"val/iou_{c}"]) for c in classes[:3]]
        assert all(np.isfinite(ious))
        assert float(row["val/mean_iou"]) == pytest.approx(np.mean(ious), rel=1e-6)
    assert trainer.checkpoint_callback.best_model_path  # monitoring val/mean_iou still works
