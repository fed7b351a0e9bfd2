"""A test-only Lightning callback: what each DDP process validated, and what it summed.

Used by ``tests/training/test_ddp.py`` through ``--trainer.callbacks+=val_probe.ValidationProbe``
(the test puts this folder on ``PYTHONPATH`` of the training processes).
"""

from __future__ import annotations

import json
from pathlib import Path

import lightning.pytorch as pl
import numpy as np


class ValidationProbe(pl.Callback):
    """After each real (not sanity-check) validation pass, writes ``<out>/rank<R>.json`` with the
    sample names this process validated and, when the module has one, its summed validation
    confusion over all processes (``val_confusion``)."""

    def __init__(self, out: str) -> None:
        self.out = Path(out)
        self.names: list[str] = []

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self.names = []

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self.names.extend(batch["name"])

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        payload: dict = {"names": self.names}
        confusion = getattr(pl_module, "val_confusion", None)
        if confusion is not None:
            payload["confusion"] = np.asarray(confusion).tolist()
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(payload))
