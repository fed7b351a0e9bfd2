"""Batch processing of image folders: discovery, parallel loading, resumable atomic outputs.

``run_batch`` walks a folder recursively (following directory symlinks once: loops are cut),
loads images in background threads while the model computes, writes each input's outputs under
the same relative path, skips inputs whose outputs all exist (``skip_existing``: resume an
interrupted run), and reports and skips bad files: one failure never stops the batch, and a
failed input leaves none of its outputs behind. Progress shows images/s; the summary counts
done, skipped and failed (with reasons) and the throughput.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from colorseg.data.files import display_path, is_image_file, walk_files
from colorseg.errors import ColorsegError, DataError

#: Errors that make one input fail (reported, batch continues); anything else is a bug and raised.
PER_FILE_ERRORS = (ColorsegError, OSError, RuntimeError, ValueError, MemoryError)


@dataclass
class BatchSummary:
    """What a batch run did: counts, (file, reason) for failures, wall time."""

    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        lines = [(f"done {self.done}, skipped {self.skipped}, failed {len(self.failed)} "
                  f"in {self.seconds:.1f} s ({self.images_per_s:.2f} images/s)")]
        lines += [f"  failed: {display_path(f)}: {display_path(why)}" for f, why in self.failed]
        return "\n".join(lines)


def collect_inputs(input_path: str | Path) -> tuple[Path, list[Path]]:
    """(base folder, sorted image files): a single file, or every image under a folder.

    Directory symlinks are followed, but each real directory is visited once (no loops). Broken
    or looping file links are listed, so that the batch reports them as failed.
    """
    p = Path(input_path)
    if p.is_file():
        return p.parent, [p]
    if not p.is_dir():
        raise DataError(f"input not found: {display_path(p)}")
    # broken or looping file links are kept: loading them fails and they are reported
    files = [f for f in walk_files(p) if is_image_file(f)]
    if not files:
        raise DataError(f"no image files in folder: {display_path(p)}")
    return p, sorted(files)


def prepare_output_dir(output_dir: str | Path) -> Path:
    """Create ``output_dir`` and check it is writable, with a clear error naming it otherwise."""
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create output folder {display_path(out)}: {exc.strerror or exc}") from exc
    if not out.is_dir() or not os.access(out, os.W_OK | os.X_OK):
        raise DataError(f"output folder is not writable: {display_path(out)}")
    return out


def _remove_new(targets: list[Path], existed: list[bool]) -> None:
    for t, was in zip(targets, existed):
        if not was:
            t.unlink(missing_ok=True)


def run_batch(input_path: str | Path, output_dir: str | Path, outputs: Callable[[Path], list[Path]],
              load: Callable[[Path], Any], process: Callable[[Any, list[Path]], None],
              skip_existing: bool = False, desc: str = "predict", progress: bool = True,
              workers: int = 2) -> BatchSummary:
    """Run ``process(load(file), output_paths)`` over every image under ``input_path``.

    ``outputs(rel_stem)`` names an input's files relative to ``output_dir`` (``rel_stem``: its
    path relative to the input folder, without suffix). ``load`` runs in ``workers`` threads,
    at most ``2 * workers`` inputs ahead (memory stays flat); ``process`` runs in order in
    the calling thread. Failures are collected, never raised.
    """
    base, files = collect_inputs(input_path)
    out_root = prepare_output_dir(output_dir)
    summary = BatchSummary()
    jobs = []
    for f in files:
        targets = [out_root / t for t in outputs(f.relative_to(base).with_suffix(""))]
        if skip_existing and all(t.exists() for t in targets):
            summary.skipped += 1
        else:
            jobs.append((f, targets))
    start = time.perf_counter()
    pending: deque[tuple[Path, list[Path], Future]] = deque()
    with ThreadPoolExecutor(max(1, workers)) as pool, \
            tqdm(total=len(jobs), desc=desc, unit="img", disable=not progress) as bar:
        queue = iter(jobs)
        for _ in range(2 * max(1, workers)):
            _submit(pool, queue, load, pending)
        while pending:
            f, targets, future = pending.popleft()
            _submit(pool, queue, load, pending)
            existed = [t.exists() for t in targets]
            try:
                process(future.result(), targets)
                summary.done += 1
            except PER_FILE_ERRORS as exc:
                _remove_new(targets, existed)
                summary.failed.append((str(f), str(exc) or type(exc).__name__))
            bar.update()
            release_freed_memory()
    summary.seconds = time.perf_counter() - start
    return summary


def release_freed_memory() -> None:
    """Return freed heap memory to the OS (glibc ``malloc_trim``), so resident memory stays level
    over thousands of images of different sizes; a no-op where glibc is absent."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 (probe: AttributeError where absent)
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_libc()


def _submit(pool: ThreadPoolExecutor, queue, load, pending: deque) -> None:
    job = next(queue, None)
    if job is not None:
        pending.append((*job, pool.submit(load, job[0])))
