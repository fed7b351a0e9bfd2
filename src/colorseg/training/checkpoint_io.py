"""Writing checkpoints during training: the atomic writer and the finite-weights guard (Lightning)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from colorseg.data.files import TEMP_SUFFIX, atomic_write


def check_finite_weights(state_dict: dict, step: int) -> None:
    """Raise FloatingPointError when a weight is NaN/inf: such a checkpoint must not replace a good one."""
    bad = [k for k, v in state_dict.items()
           if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise FloatingPointError(f"weights {bad[:3]} became non-finite by step {step}; checkpoint not written")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint writer that never leaves a partial file under the checkpoint's name.

    Lightning's default writes through an fsspec transaction whose temporary file lives in the
    system temp folder; when that is another file system, "commit" copies over the old
    checkpoint in place, and a crash mid-copy leaves it truncated. Here the checkpoint is written
    to a hidden temporary file next to the target, flushed to disk, and renamed over it (atomic
    on POSIX and Windows): a kill at any moment leaves the previous checkpoint or the new one.
    Remote URLs (``s3://`` …) keep Lightning's behaviour.
    """

    def save_checkpoint(self, checkpoint: dict, path, storage_options: Any | None = None) -> None:
        if "://" in str(path) or storage_options is not None:
            return super().save_checkpoint(checkpoint, path, storage_options)
        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp), durable=True)

    @staticmethod
    def remove_stale_temporaries(folder: str | Path) -> list[Path]:
        """Delete temporary files left in ``folder`` by a process killed while saving."""
        folder = Path(folder)
        if not folder.is_dir():
            return []
        stale = [p for p in folder.glob(f".*{TEMP_SUFFIX}.ckpt") if p.is_file()]
        for p in stale:
            try:
                os.remove(p)
            except OSError:
                pass
        return stale
