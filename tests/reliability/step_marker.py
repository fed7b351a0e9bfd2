"""A test-only Lightning callback: reports the training position to a file, optionally slowly.

Used by the SIGKILL test (``--trainer.callbacks+=step_marker.StepMarker``) to kill training at a
known point: after a checkpoint exists and while a later step is running.
"""

from __future__ import annotations

import time
from pathlib import Path

import lightning.pytorch as pl


class StepMarker(pl.Callback):
    """Writes "epoch batch_idx global_step" to ``path`` at every training batch start, then
    sleeps ``delay`` seconds (widens the window in which the test kills the process)."""

    def __init__(self, path: str, delay: float = 0.0) -> None:
        self.path = Path(path)
        self.delay = delay

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{trainer.current_epoch} {batch_idx} {trainer.global_step}")
        tmp.replace(self.path)
        time.sleep(self.delay)
