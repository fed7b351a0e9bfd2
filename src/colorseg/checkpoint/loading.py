"""Checkpoints: safe loading (``torch.load(weights_only=True)``) and validation of what they describe.

Framework-free (torch only, no Lightning): training, inference, export, evaluation and reports
all read checkpoints through this package.

Every colorseg checkpoint carries ``checkpoint["colorseg"] = {"task", "version", "format"}``
(:func:`checkpoint_metadata`). Loading refuses, with a :class:`~colorseg.errors.CheckpointError`
naming the file: pickled objects (code), another task, a newer checkpoint ``format`` than this
colorseg reads, hyper-parameters that do not describe a valid model (classes, channels,
preprocessing), and weights whose names or shapes do not match that model — all checked before
any weight is applied.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from colorseg import __version__
from colorseg.checkpoint.upgrade import upgrade_checkpoint
from colorseg.data.files import display_path
from colorseg.errors import CheckpointError

#: Layout version of colorseg checkpoints. Bump it when a change makes older colorseg releases
#: misread new checkpoints (renamed weights, changed hyper-parameter meaning); loading refuses
#: checkpoints with a higher number than this with a clear "upgrade colorseg" message.
#: Format 2 (colorseg 0.3): models are encoder + decoder (``net.encoder.*``, ``net.decoder.*``);
#: format-1 checkpoints are upgraded on load (:mod:`colorseg.checkpoint.upgrade`).
CHECKPOINT_FORMAT = 2
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
    upgrade_checkpoint(raw, fmt)
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


def _as_list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _numbers_ok(v: Any) -> bool:
    values = _as_list(v)
    return 1 <= len(values) <= 3 and all(_is_number(x) for x in values)


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
            ("mean", True, _numbers_ok, "a finite number or one per channel (input normalisation)"),
            ("std", True, lambda v: _numbers_ok(v) and min(_as_list(v)) > 0,
             "a positive number or one per channel (input normalisation)"),
            ("encoder", False, lambda v: isinstance(v, str), "an encoder name"),
            ("class_colors", False, lambda v: _colors_ok(v, n), f"null or {n} RGB triples in 0..255"),
            ("ignore_index", False, _is_int, "an integer"),
            ("depth", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
            ("base_width", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
        ]
    return [
        ("kind", True, lambda v: v in ("vae", "regression", "gray"), "vae, regression or gray"),
        ("image_size", True, lambda v: _is_int(v) and v >= 8, "an integer >= 8 (working resolution)"),
        ("encoder", False, lambda v: isinstance(v, str), "an encoder name"),
        ("latent_dim", False, lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
        ("depth", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
        ("base_width", False, lambda v: _is_int(v) and v >= 1, "a positive integer"),
        ("hints", False, lambda v: isinstance(v, bool), "true or false (colour hints)"),
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
