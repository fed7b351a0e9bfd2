"""Checkpoints: safe loading (``torch.load(weights_only=True)`` plus metadata checks) and atomic saving.

Every colorseg checkpoint carries ``checkpoint["colorseg"] = {"task", "version", "format"}``
(:func:`checkpoint_metadata`). Loading refuses, with a :class:`~colorseg.errors.CheckpointError`
naming the file: pickled objects (code), another task, a newer checkpoint ``format`` than this
colorseg reads, hyper-parameters that do not describe a valid model (classes, channels,
preprocessing), and weights whose names or shapes do not match that model — all checked before
any weight is applied.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from colorseg import __version__
from colorseg.data.files import TEMP_SUFFIX, atomic_write, display_path
from colorseg.errors import CheckpointError, ColorsegError

#: Layout version of colorseg checkpoints. Bump it when a change makes older colorseg releases
#: misread new checkpoints (renamed weights, changed hyper-parameter meaning); loading refuses
#: checkpoints with a higher number than this with a clear "upgrade colorseg" message.
CHECKPOINT_FORMAT = 1
TASKS = ("segment", "colorize")


class LoadedCheckpoint(dict):
    """A loaded checkpoint (a plain dict) that remembers its file, for error messages."""

    path: Path


def checkpoint_metadata(task: str) -> dict:
    """The ``checkpoint["colorseg"]`` entry written by the LightningModules."""
    return {"task": task, "version": __version__, "format": CHECKPOINT_FORMAT}


def load_checkpoint(path: str | Path, task: str) -> LoadedCheckpoint:
    """Load a colorseg checkpoint without executing pickled code, and check its metadata.

    Raises CheckpointError when the file is missing or corrupt, carries pickled objects (code),
    was written for another task or by a newer, incompatible colorseg, or its hyper-parameters
    do not describe a valid model.
    """
    path = Path(path)
    name = display_path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {name}")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"refusing to load {name}: it contains pickled objects that could run "
                              f"code (only plain tensors and containers are accepted): {exc}") from exc
    except Exception as exc:
        raise CheckpointError(f"cannot read checkpoint {name}: {exc}") from exc
    if not isinstance(raw, dict) or "state_dict" not in raw or "hyper_parameters" not in raw:
        raise CheckpointError(f"{name} is not a colorseg checkpoint (no state_dict/hyper_parameters)")
    meta = raw.get("colorseg")
    if not isinstance(meta, dict) or "task" not in meta:
        raise CheckpointError(f"{name} is not a colorseg checkpoint (no colorseg metadata: task, version)")
    if meta["task"] != task:
        raise CheckpointError(f"{name} is a checkpoint for task {meta['task']!r}, not {task!r}")
    fmt = meta.get("format", 1)  # checkpoints from before the format number are format 1
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise CheckpointError(f"{name}: invalid checkpoint format {fmt!r}")
    if fmt > CHECKPOINT_FORMAT:
        raise CheckpointError(f"{name} was written by colorseg {meta.get('version', '?')} in checkpoint format "
                              f"{fmt}; this colorseg {__version__} reads formats up to {CHECKPOINT_FORMAT}: "
                              "upgrade colorseg to use it")
    if not isinstance(raw["state_dict"], dict) or not isinstance(raw["hyper_parameters"], dict):
        raise CheckpointError(f"{name}: state_dict and hyper_parameters must be mappings")
    validate_hyperparameters(raw["hyper_parameters"], task, name)
    data_hp = raw.get("datamodule_hyper_parameters") or {}
    for key in ("class_names", "in_channels"):
        if task == "segment" and data_hp.get(key) is not None and data_hp[key] != raw["hyper_parameters"][key]:
            raise CheckpointError(f"{name}: data {key} {data_hp[key]!r} disagree with the model's "
                                  f"{raw['hyper_parameters'][key]!r}")
    ckpt = LoadedCheckpoint(raw)
    ckpt.path = path
    return ckpt


# ----------------------------------------------------------------------------- hyper-parameters

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _colors_ok(v: Any, n: int) -> bool:
    return v is None or (isinstance(v, (list, tuple)) and len(v) == n and all(
        isinstance(c, (list, tuple)) and len(c) == 3 and all(_is_int(x) and 0 <= x <= 255 for x in c) for c in v))


def _names_ok(v: Any) -> bool:
    return (isinstance(v, (list, tuple)) and len(v) >= 2 and all(isinstance(x, str) for x in v)
            and len(set(v)) == len(v))


def _rules(task: str, hp: dict) -> list[tuple[str, bool, Callable[[Any], bool], str]]:
    """(key, required, check, what is expected) for the hyper-parameters a model of ``task`` is
    built from. Required: what the model means (classes, input channels, preprocessing, working
    size); the others fall back to constructor defaults, and the weight check catches a mismatch."""
    if task == "segment":
        n = len(hp.get("class_names") or ())
        return [
            ("class_names", True, _names_ok, "a list of at least 2 distinct class names"),
            ("in_channels", True, lambda v: v in (1, 3) and _is_int(v), "1 or 3"),
            ("mean", True, _is_number, "a finite number (input normalisation)"),
            ("std", True, lambda v: _is_number(v) and v > 0, "a positive number (input normalisation)"),
            ("class_colors", False, lambda v: _colors_ok(v, n), f"null or {n} RGB triples in 0..255"),
            ("ignore_index", False, _is_int, "an integer"),
            ("depth", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
            ("base_width", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
        ]
    return [
        ("kind", True, lambda v: v in ("vae", "regression", "gray"), "vae, regression or gray"),
        ("image_size", True, lambda v: _is_int(v) and v >= 8, "an integer >= 8 (working resolution)"),
        ("latent_dim", False, lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
        ("depth", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
        ("base_width", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
    ]


def validate_hyperparameters(hp: dict, task: str, name: str = "checkpoint") -> None:
    """Check the saved model description (classes, channels, preprocessing, architecture)."""
    if task not in TASKS:
        raise CheckpointError(f"unknown task {task!r}")
    for key, required, check, expected in _rules(task, hp):
        if key not in hp:
            if required:
                raise CheckpointError(f"{name}: hyper-parameter {key!r} is missing (expected {expected})")
            continue
        if not check(hp[key]):
            raise CheckpointError(f"{name}: hyper-parameter {key}={hp[key]!r} is invalid (expected {expected})")


# ------------------------------------------------------------------------------- rebuilding

def constructor_kwargs(hparams: dict, cls) -> dict:
    """The saved hyper-parameters that ``cls.__init__`` accepts (drops LightningCLI's private keys)."""
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in dict(hparams).items() if k in params}


def check_weights(expected: dict[str, torch.Tensor], saved: dict, name: str = "checkpoint") -> None:
    """Saved weights must match the model built from the hyper-parameters: same names, shapes,
    floating types, and finite values. Raises CheckpointError listing the first differences."""
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing weights {missing[:5]}" + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    if unexpected:
        problems.append(f"unexpected weights {unexpected[:5]}"
                        + (f" (+{len(unexpected) - 5} more)" if len(unexpected) > 5 else ""))
    for key, ref in expected.items():
        value = saved.get(key)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            problems.append(f"{key} is a {type(value).__name__}, not a tensor")
        elif value.shape != ref.shape:
            problems.append(f"{key} has shape {tuple(value.shape)}, the model needs {tuple(ref.shape)}")
        elif value.is_floating_point() and not bool(torch.isfinite(value).all()):
            problems.append(f"{key} holds NaN or infinite values")
        if len(problems) >= 6:
            break
    if problems:
        raise CheckpointError(f"{name}: weights do not fit the model described by its hyper-parameters: "
                              + "; ".join(problems))


def module_from_checkpoint(ckpt: dict, module_class):
    """Rebuild a LightningModule from a loaded checkpoint: constructor from the saved
    hyper-parameters, weights checked against it (names, shapes, finite), then loaded strictly."""
    name = display_path(getattr(ckpt, "path", "checkpoint"))
    try:
        module = module_class(**constructor_kwargs(ckpt["hyper_parameters"], module_class))
    except (ColorsegError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: its hyper-parameters do not build a model: {exc}") from exc
    check_weights(module.state_dict(), ckpt["state_dict"], name)
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
    for task in TASKS:
        try:
            load_checkpoint(path, task)
            return task
        except CheckpointError as exc:
            if "is a checkpoint for task" not in str(exc):
                raise
    raise CheckpointError(f"{display_path(path)} names no known task")


# ---------------------------------------------------------------------------------- saving

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
