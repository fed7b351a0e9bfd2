"""Two-process DDP on CPU (gloo): the same command line scales to GPUs and nodes, and the
validation metrics reduced over the processes equal those of one process on the same data,
also when the validation images do not divide evenly (DistributedSampler pads one in)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest

from colorseg.checkpoint import datamodule_from_checkpoint, load_checkpoint, module_from_checkpoint

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "configs"
VAL_IMAGES = 5  # on 2 processes: 3 + 3 validation slots, one image validated twice


def _fit_ddp(tmp_path: Path, task: str, *args: str) -> tuple[Path, list[dict]]:
    """``colorseg <task> fit`` on 2 CPU processes; returns the run directory and, per rank, what
    :class:`val_probe.ValidationProbe` saw in the last validation pass."""
    run_dir, probe = tmp_path / "ddp", tmp_path / "probe"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    env.pop("COLORSEG_RUN_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "colorseg", task, "fit", "-c", str(CONFIGS / task / "synthetic_tiny.yaml"),
         "--run_dir", str(run_dir), "--trainer.strategy=ddp", "--trainer.devices=2",
         "--trainer.accelerator=cpu", "--trainer.enable_progress_bar=false",
         "--trainer.callbacks+=val_probe.ValidationProbe", f"--trainer.callbacks.out={probe}", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world_size: 2" in proc.stderr + proc.stdout or "MEMBER: 2/2" in proc.stderr + proc.stdout
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "runs").exists()  # both ranks used the parent's run directory
    seen = [json.loads((probe / f"rank{r}.json").read_text()) for r in (0, 1)]
    # the case under test happened: 2 × 3 validation slots for 5 images, one image seen twice
    names = [s["names"] for s in seen]
    assert [len(n) for n in names] == [3, 3] and len(set(names[0] + names[1])) == VAL_IMAGES
    return run_dir, seen


def _validate_in_one_process(ckpt_path: Path, task: str, module_class, datamodule_class):
    """Validation metrics of the checkpoint on one process, the module, and the number of images."""
    ckpt = load_checkpoint(ckpt_path, task)
    module = module_from_checkpoint(ckpt, module_class)
    dm = datamodule_from_checkpoint(ckpt, datamodule_class)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False)
    (metrics,) = trainer.validate(module, datamodule=dm, verbose=False)
    return metrics, module, len(dm.dataset("val"))


def _assert_logged_like(run_dir: Path, single: dict[str, float], required: set[str],
                        skip: tuple[str, ...] = ()) -> pd.Series:
    """Every validation metric of the DDP run's last epoch (metrics.csv) but ``skip`` equals the
    one-process value: a double-counted image moves them far beyond float32 rounding (by 8e-4
    relative and more, when the old code counted it twice). Returns the DDP run's row."""
    log = pd.read_csv(next((run_dir / "logs").glob("version_*/metrics.csv")))
    ddp = log.dropna(subset=[min(required)]).iloc[-1]
    keys = sorted(k for k in single if k.startswith("val/") and k not in skip)
    assert required <= set(keys)
    differ = {k: (float(ddp[k]), single[k]) for k in keys
              if ddp[k] != pytest.approx(single[k], rel=1e-6, nan_ok=True)}
    assert not differ, f"2 processes vs 1 process: {differ}"
    assert not any(math.isnan(single[k]) for k in required)
    return ddp


@pytest.mark.parametrize("encoder", [[], ["--model.encoder=efficientnet_lite0", "--model.encoder_weights=imagenet"]],
                         ids=["unet", "efficientnet_lite0"])
def test_segment_ddp_two_processes_match_one_process(tmp_path: Path, encoder: list[str]) -> None:
    from colorseg.training.datamodule import SegmentationDataModule
    from colorseg.training.segmenter_module import SegmenterModule

    run_dir, seen = _fit_ddp(tmp_path, "segment", "--trainer.max_epochs=6", "--data.num_images=10",
                             "--data.val_fraction=0.5", *encoder)
    # one process, same weights (the last validation ran on the weights last.ckpt holds), same images
    single, module, n_val = _validate_in_one_process(run_dir / "checkpoints" / "last.ckpt", "segment",
                                                     SegmenterModule, SegmentationDataModule)
    assert n_val == VAL_IMAGES
    _assert_logged_like(run_dir, single, {"val/loss", "val/mean_iou", "val/pixel_accuracy", "val/iou_background"})
    # the summed confusion counts are identical, pixel for pixel, on both processes
    expected = np.asarray(module.val_confusion)
    assert expected.sum() == VAL_IMAGES * 48 * 48
    assert (expected.sum(0) > 0).sum() >= 2  # 6 epochs: not a constant prediction (3 classes seen)
    for rank in seen:
        np.testing.assert_array_equal(np.asarray(rank["confusion"]), expected)


def test_colorize_ddp_two_processes_match_one_process(tmp_path: Path) -> None:
    from colorseg.training.color_datamodule import ColorizationDataModule
    from colorseg.training.colorizer_module import ColorizerModule

    run_dir, _ = _fit_ddp(tmp_path, "colorize", "--trainer.max_epochs=1", "--data.val_fraction=0.25")
    single, module, n_val = _validate_in_one_process(run_dir / "checkpoints" / "last.ckpt", "colorize",
                                                     ColorizerModule, ColorizationDataModule)
    assert n_val == VAL_IMAGES
    # the KL weight follows the training step, which trainer.validate does not restore (it is 0
    # there), so the loss is checked from its terms with the DDP run's weight
    ddp = _assert_logged_like(run_dir, single, {"val/psnr", "val/colorfulness", "val/recon", "val/kl",
                                                "val/perceptual"}, skip=("val/kl_weight", "val/loss"))
    assert ddp["val/kl_weight"] > 0
    expected_loss = (single["val/recon"] + ddp["val/kl_weight"] * single["val/kl"]
                     + module.hparams.perceptual_weight * single["val/perceptual"])
    assert ddp["val/loss"] == pytest.approx(expected_loss, rel=1e-6)
