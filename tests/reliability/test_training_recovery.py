"""Interrupted and resumed training, non-finite losses.

* SIGKILL mid-epoch, then the same command plus ``--ckpt_path last``: the run continues from the
  last checkpoint (epoch, step, optimiser and scheduler state) and, in deterministic mode, ends
  with exactly the weights and metrics of an uninterrupted run.
* A non-finite loss stops the run (exit 1) with a message naming the term, the step and the
  last good checkpoint, which is kept and loadable.
(Atomic checkpoint writes: tests/training/test_checkpoint.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from colorseg.checkpoint import load_checkpoint
from colorseg.cli import main

HERE = Path(__file__).resolve().parent
TINY = str(HERE.parents[1] / "configs" / "segment" / "synthetic_tiny.yaml")
# 25 synthetic images → 5 test, 5 validation, 15 training (4 steps of ≤ 4 per epoch); cosine schedule
RUN = ["-c", TINY, "--seed_everything=3", "--trainer.deterministic=true", "--trainer.enable_progress_bar=false",
       "--trainer.max_epochs=3", "--data.num_images=25", "--model.scheduler=cosine"]
STEPS_PER_EPOCH = 4


def _fit(run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "colorseg", "segment", "fit", *RUN, "--run_dir", str(run_dir), *extra]


def _metrics(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv).drop(columns=["train/images_per_s"])  # wall-clock throughput differs


def _wait_for_position(proc: subprocess.Popen, marker: Path, epoch: int, batch: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"training ended (status {proc.returncode}) before epoch {epoch}, batch {batch}")
        try:
            e, b, _ = (int(v) for v in marker.read_text().split())
            if (e, b) >= (epoch, batch):
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("timed out waiting for training to reach the kill point")


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted_run(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    marker = tmp_path / "position.txt"
    run = tmp_path / "killed"
    command = _fit(run, "--trainer.callbacks+=step_marker.StepMarker", f"--trainer.callbacks.path={marker}",
                   "--trainer.callbacks.delay=0.2")
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_position(proc, marker, epoch=1, batch=2)  # epoch 0 checkpointed, epoch 1 half done
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    last = run / "checkpoints" / "last.ckpt"
    killed = load_checkpoint(last, task="segment")
    assert (killed["epoch"], killed["global_step"]) == (0, STEPS_PER_EPOCH)

    # the same command plus resume
    resumed_proc = subprocess.run(command + ["--ckpt_path", "last"], env=env, capture_output=True, text=True,
                                  timeout=600, check=False)
    assert resumed_proc.returncode == 0, resumed_proc.stderr[-3000:]
    resumed = torch.load(last, weights_only=True)
    total = 3 * STEPS_PER_EPOCH
    assert (resumed["epoch"], resumed["global_step"]) == (2, total)
    # optimiser and scheduler continued (a fresh optimiser would count only the resumed steps)
    assert all(int(s["step"]) == total for s in resumed["optimizer_states"][0]["state"].values())
    assert resumed["lr_schedulers"][0]["last_epoch"] == total
    resumed_log = _metrics(run / "logs" / "version_1" / "metrics.csv")
    assert resumed_log["epoch"].min() == 1  # continued at epoch 1: epoch 0 was not trained again

    # an uninterrupted run with the same seed in deterministic mode
    full_proc = subprocess.run(_fit(tmp_path / "full"), capture_output=True, text=True, timeout=600, check=False)
    assert full_proc.returncode == 0, full_proc.stderr[-3000:]
    full = torch.load(tmp_path / "full" / "checkpoints" / "last.ckpt", weights_only=True)
    for key, value in full["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    full_log = _metrics(tmp_path / "full" / "logs" / "version_0" / "metrics.csv")
    full_log = full_log[full_log["step"] >= STEPS_PER_EPOCH].reset_index(drop=True)  # from the resume point
    pd.testing.assert_frame_equal(resumed_log[full_log.columns], full_log)
    assert full_log["val/mean_iou"].notna().sum() == 2  # final metrics included in the comparison


def test_non_finite_loss_stops_and_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch, capsys) -> None:
    from colorseg.losses.segmentation import SegmentationLoss

    real_forward = SegmentationLoss.forward
    training_calls = []

    def forward(self, logits, target):  # the dice term goes NaN at the 5th training step (step 4)
        terms = real_forward(self, logits, target)
        if torch.is_grad_enabled():
            training_calls.append(1)
            if len(training_calls) >= 5:
                terms["dice"] = terms["dice"] * float("nan")
                terms["loss"] = terms["ce"] + terms["dice"]
        return terms

    monkeypatch.setattr(SegmentationLoss, "forward", forward)
    run = tmp_path / "run"
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(run), "--trainer.max_epochs=4",
                 "--data.num_images=10", "--trainer.enable_progress_bar=false"])
    err = capsys.readouterr().err
    assert code == 1
    assert "train loss term 'dice' is nan at step 4 (epoch 2)" in err
    assert f"last good checkpoint kept: {run / 'checkpoints' / 'last.ckpt'} (epoch 1, step 4)" in err
    assert "Traceback" not in err
    for name in ("last.ckpt", "best.ckpt"):
        ckpt = load_checkpoint(run / "checkpoints" / name, task="segment")
        assert ckpt["epoch"] <= 1
        assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values() if v.is_floating_point())
    assert not [p for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("when", ["first_step", "validation"])
def test_non_finite_before_any_checkpoint_or_in_validation(tmp_path: Path, monkeypatch, capsys, when) -> None:
    from colorseg.losses.segmentation import SegmentationLoss

    real_forward = SegmentationLoss.forward

    def forward(self, logits, target):
        terms = real_forward(self, logits, target)
        if torch.is_grad_enabled() == (when == "first_step"):
            terms["ce"] = terms["ce"] + float("inf")
        return terms

    monkeypatch.setattr(SegmentationLoss, "forward", forward)
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(tmp_path / "run"),
                 "--trainer.enable_progress_bar=false", "--trainer.num_sanity_val_steps=0"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    stage = "train" if when == "first_step" else "val"
    assert f"{stage} loss term 'ce' is inf at step" in err
    assert "no checkpoint had been written" in err


def test_resume_from_unusable_checkpoint_is_refused_clearly(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    base = ["segment", "fit", "-c", TINY, "--run_dir", str(run), "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false"]
    assert main(base) == 0
    last = run / "checkpoints" / "last.ckpt"
    capsys.readouterr()
    # another architecture than the checkpoint's
    assert main(base + ["--ckpt_path", "last", "--trainer.max_epochs=2", "--model.base_width=16"]) == 2
    err = capsys.readouterr().err
    assert "last.ckpt: weights do not fit" in err and "Traceback" not in err
    # a damaged file (e.g. copied while being written by a tool without atomic saves)
    last.write_bytes(last.read_bytes()[:1000])
    assert main(base + ["--ckpt_path", "last", "--trainer.max_epochs=2"]) == 2
    err = capsys.readouterr().err
    assert "cannot read checkpoint" in err and "last.ckpt" in err and "Traceback" not in err
    assert (run / "config.yaml").is_file()  # an existing run directory is never removed
