"""Training callbacks: throughput measurement (images/s over training steps only)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning.pytorch as pl

from colorseg.data.io import atomic_write


class ThroughputMonitor(pl.Callback):
    """Counts training images and the wall time spent in training batches (no validation).

    Logs ``train/images_per_s`` each epoch and writes ``throughput.json`` into ``run_dir``
    at the end of fitting (rank 0): images, seconds, images_per_s, steps.
    """

    def __init__(self, run_dir: str | Path | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir else None
        self.images = 0
        self.seconds = 0.0
        self._t0 = 0.0
        self._epoch_images = 0
        self._epoch_seconds = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_images, self._epoch_seconds = 0, 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        dt = time.perf_counter() - self._t0
        first = next(v for v in batch.values() if hasattr(v, "shape"))  # "image" or "rgb"
        n = int(first.shape[0]) * trainer.world_size
        self.images += n
        self.seconds += dt
        self._epoch_images += n
        self._epoch_seconds += dt

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._epoch_seconds > 0:
            pl_module.log("train/images_per_s", self._epoch_images / self._epoch_seconds)

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.run_dir is None or not trainer.is_global_zero or self.seconds == 0:
            return
        result = {"images": self.images, "seconds": self.seconds,
                  "images_per_s": self.images / self.seconds, "steps": trainer.global_step}
        atomic_write(self.run_dir / "throughput.json", lambda p: p.write_text(json.dumps(result, indent=2)))
