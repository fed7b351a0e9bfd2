"""``colorseg segment plan``: fingerprint the data, apply the rules, write the commented config.

    from colorseg.planning import plan_segmentation
    result = plan_segmentation("data/", minutes=30, output="plan.yaml")
    print(result.summary)

No Lightning here: planning reads files and the shipped evidence only; ``fit`` trains.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from colorseg.errors import ConfigError, DataError
from colorseg.formats.layout import CONFIG_NAME as CONVERTED_CONFIG
from colorseg.planning.config_writer import render_yaml, summarize, write_plan
from colorseg.planning.evidence import load_evidence
from colorseg.planning.fingerprint import MAX_MASKS, PLAN_SOURCES, Fingerprint, compute_fingerprint
from colorseg.planning.rules import Plan, max_time_text, plan_from_fingerprint


@dataclass
class PlanResult:
    """The plan, the fingerprint it came from, the YAML text, where it was written, the summary."""

    plan: Plan
    fingerprint: Fingerprint
    text: str
    path: Path | None
    summary: str


def default_memory_gb() -> float:
    """This machine's physical memory in GiB."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30


def default_threads() -> int:
    """Threads training will use: ``OMP_NUM_THREADS`` when set, else the CPU count (torch's default)."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


def plan_command(root: str | Path, minutes: float, source: str, output: str | Path | None,
                 memory_gb: float | None, class_names: list[str] | None, threads: int | None) -> str:
    """The ``colorseg segment plan`` command line that reproduces a plan (for the YAML header)."""
    parts = ["colorseg", "segment", "plan", str(root), "--minutes", f"{minutes:g}", "--source", source]
    if output is not None:
        parts += ["--output", str(output)]
    if memory_gb is not None:
        parts += ["--memory-gb", f"{memory_gb:g}"]
    if class_names:
        parts += ["--class-names", *class_names]
    if threads is not None:
        parts += ["--threads", str(threads)]
    return shlex.join(parts)


def converted_class_names(root: str | Path) -> list[str] | None:
    """The class names ``colorseg data convert`` recorded in ``ROOT/colorseg.yaml``
    (``data.class_names``), or None when there is no such file. DataError naming the file when it
    is not valid YAML or its class names are not a list of strings."""
    path = Path(root) / CONVERTED_CONFIG
    if not path.is_file():
        return None
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    names = (config or {}).get("data", {}).get("class_names") if isinstance(config, dict) else None
    if names is None:
        return None
    if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise DataError(f"{path}: data.class_names must be a list of names, got {names!r}")
    return names


def plan_segmentation(root: str | Path, minutes: float, source: str = "folder",
                      output: str | Path | None = "plan.yaml", memory_gb: float | None = None,
                      class_names: list[str] | None = None, threads: int | None = None,
                      progress: bool = True, max_masks: int = MAX_MASKS) -> PlanResult:
    """Plan a segmentation config for the data under ``root`` and a ``minutes`` training budget.

    Args:
        root: the data folder, written into ``data.root`` as given (relative paths are relative to
            the folder ``fit`` runs in).
        minutes: training budget (``trainer.max_time``); must be > 0.
        source: ``folder`` (ROOT/images + ROOT/masks), ``camvid`` or ``isbi2012``.
        output: YAML file to write (None: do not write, e.g. to inspect ``result.text``).
        memory_gb: memory the training may use (default: this machine's physical memory).
        class_names: one name per class (default: the source's; for a folder, those that
            ``colorseg data convert`` recorded in ``ROOT/colorseg.yaml``, else placeholders).
        threads: CPU threads training will use, for the time estimates (default
            :func:`default_threads`).
        progress: progress bars while scanning large folders.
        max_masks: training masks read for the label statistics (a seeded sample above it).

    Raises ConfigError (bad budget, memory, threads, class names) or DataError (empty folder,
    unpaired files, colour masks, …), each naming the value or file.
    """
    if source not in PLAN_SOURCES:
        raise ConfigError(f"--source must be one of {', '.join(PLAN_SOURCES)}, got {source!r}")
    max_time_text(minutes)  # refuse a bad budget before scanning
    if memory_gb is not None and not (math.isfinite(memory_gb) and memory_gb > 0):
        raise ConfigError(f"--memory-gb must be a positive number of GiB, got {memory_gb:g}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    if class_names is not None and (len(class_names) < 2 or len(set(class_names)) != len(class_names)):
        raise ConfigError(f"--class-names needs at least two distinct names, got {class_names}")
    names_origin = "given with --class-names"
    if class_names is None and source == "folder":
        class_names = converted_class_names(root)
        names_origin = f"from {CONVERTED_CONFIG} (written by colorseg data convert)"
    fingerprint = compute_fingerprint(root, source, max_masks=max_masks, progress=progress)
    plan = plan_from_fingerprint(fingerprint, minutes, load_evidence(),
                                 memory_gb if memory_gb is not None else default_memory_gb(), class_names,
                                 threads if threads is not None else default_threads(), root_text=str(root),
                                 names_origin=names_origin)
    command = plan_command(root, minutes, source, output, memory_gb, class_names, threads)
    text = render_yaml(plan, command)
    path = write_plan(plan, output, command) if output is not None else None
    return PlanResult(plan, fingerprint, text, path, summarize(plan, path))
