"""Checkpoint safety: pickled code refused, wrong task and corrupt files named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorseg.errors import CheckpointError
from colorseg.training.checkpoint import load_checkpoint


class Payload:
    def __reduce__(self):  # would run code on unpickling
        return (print, ("pwned",))


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="pickled objects"):
        load_checkpoint(path, task="segment")


def test_wrong_task_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "colorseg": {"task": "colorize"}}, path)
    with pytest.raises(CheckpointError, match="'colorize', not 'segment'"):
        load_checkpoint(path, task="segment")


def test_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.ckpt", task="segment")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        load_checkpoint(bad, task="segment")


def test_not_a_colorseg_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a colorseg checkpoint"):
        load_checkpoint(path, task="segment")
