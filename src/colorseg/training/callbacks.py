"""Training callbacks: throughput measurement (training samples per wall-clock second, data
loading included) and random states kept in checkpoints (a resumed run draws the same crops,
augmentations and batch order as an uninterrupted one)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from colorseg.data.files import atomic_write


class ThroughputMonitor(pl.Callback):
    """Training samples per wall-clock second, data loading and augmentation included.

    Each training batch is charged the wall time since the previous batch ended (or since the
    epoch started or the last validation pass ended): that covers fetching and collating the batch,
    moving it to the device, the on-device augmentation (``on_after_batch_transfer``) and the
    optimisation step. Validation passes are not charged. This is the clock the peer benchmark
    uses too (its loop times batch sampling + step).

    Logs ``train/images_per_s`` each epoch and writes ``throughput.json`` into ``run_dir``
    at the end of fitting (rank 0): images, seconds, images_per_s, steps, ``clock``.
    """

    def __init__(self, run_dir: str | Path | None = None) -> None:
        self.run_dir = Path(run_dir) if run_dir else None
        self.images = 0
        self.seconds = 0.0
        self._mark = 0.0
        self._epoch_images = 0
        self._epoch_seconds = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_images, self._epoch_seconds = 0, 0.0
        self._mark = time.perf_counter()

    def on_validation_end(self, trainer, pl_module) -> None:
        self._mark = time.perf_counter()  # the next batch is not charged for validation

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        dt, self._mark = now - self._mark, now
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
                  "images_per_s": self.images / self.seconds, "steps": trainer.global_step,
                  "clock": "wall time per training batch incl. data loading and augmentation, "
                           "validation excluded"}
        atomic_write(self.run_dir / "throughput.json", lambda p: p.write_text(json.dumps(result, indent=2)))


class RandomStateCheckpoint(pl.Callback):
    """Saves the Python, NumPy and torch (CPU and CUDA) random generator states in every
    checkpoint and restores them when training resumes from it.

    Lightning restores weights, optimiser, scheduler and loop counters, but the generators restart
    from the seed, so a resumed run would shuffle, crop and augment differently from an
    uninterrupted one. With this callback (and ``trainer.deterministic``), resuming from an
    end-of-epoch checkpoint reproduces the uninterrupted run exactly. States are stored as
    tensors and lists of ints, so ``torch.load(weights_only=True)`` reads them.
    """

    def state_dict(self) -> dict:
        np_state = np.random.get_state()
        py_state = random.getstate()
        state = {"torch": torch.get_rng_state(),
                 "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                           "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
                 "python": {"version": py_state[0], "state": list(py_state[1]), "gauss": py_state[2]}}
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        torch.set_rng_state(state["torch"])
        np_state = state["numpy"]
        np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                             np_state["has_gauss"], np_state["cached_gaussian"]))
        py = state["python"]
        random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
        cuda = state.get("cuda")
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
