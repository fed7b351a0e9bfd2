"""Safe checkpoint loading: ``torch.load(weights_only=True)`` plus metadata checks."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from colorseg.errors import CheckpointError


def load_checkpoint(path: str | Path, task: str) -> dict:
    """Load a colorseg checkpoint without executing pickled code, and check its task.

    Raises CheckpointError when the file is missing or corrupt, carries pickled objects (code),
    or was written for another task.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"refusing to load {path}: it contains pickled objects that could run "
                              f"code (only plain tensors and containers are accepted): {exc}") from exc
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "hyper_parameters" not in ckpt:
        raise CheckpointError(f"{path} is not a colorseg checkpoint (no state_dict/hyper_parameters)")
    meta = ckpt.get("colorseg") or {}
    if meta.get("task") != task:
        raise CheckpointError(f"{path} is a checkpoint for task {meta.get('task')!r}, not {task!r}")
    return ckpt


def constructor_kwargs(hparams: dict, cls) -> dict:
    """The saved hyper-parameters that ``cls.__init__`` accepts (drops LightningCLI's private keys)."""
    import inspect

    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in dict(hparams).items() if k in params}


def module_from_checkpoint(ckpt: dict, module_class):
    """Rebuild a LightningModule from a loaded checkpoint: constructor from the saved
    hyper-parameters, then the weights (strict)."""
    module = module_class(**constructor_kwargs(ckpt["hyper_parameters"], module_class))
    module.load_state_dict(ckpt["state_dict"])
    return module


def datamodule_from_checkpoint(ckpt: dict, datamodule_class, overrides: dict | None = None):
    """Rebuild the training run's data module from a checkpoint, with ``overrides`` applied."""
    hp = constructor_kwargs(ckpt.get("datamodule_hyper_parameters") or {}, datamodule_class)
    hp.update(overrides or {})
    return datamodule_class(**hp)


def read_task(path: str | Path) -> str:
    """The task ("segment" or "colorize") a checkpoint was written for (safe load)."""
    path = Path(path)
    for task in ("segment", "colorize"):
        try:
            load_checkpoint(path, task)
            return task
        except CheckpointError as exc:
            if "is a checkpoint for task" not in str(exc):
                raise
    raise CheckpointError(f"{path} names no known task")
