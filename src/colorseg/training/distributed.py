"""Per-sample validation records merged over DDP processes, each sample counted once.

Under DDP, Lightning gives validation loaders a ``DistributedSampler``, which pads the data set
to a multiple of the number of processes by repeating its first samples: 5 images on 2
processes are validated as 3 + 3, one image twice. Summing per-process totals (or averaging
per-process means, as ``self.log(..., sync_dist=True)`` does) therefore counts the repeated
images twice, and the metrics change with the number of processes.

The modules instead keep one record per validated sample, keyed by its name (names identify
samples: file stems, ISBI slice numbers, generated indices; a split that lists one name twice is
counted once, on any number of processes), gather the records of all processes once at the end of the epoch and keep one record per name.
Every sample is counted exactly once whatever sampler the loaders got (Lightning's padded one, a
custom one, or none), so 2 processes report the same validation metrics as 1 on the same data.
We de-duplicate in the module rather than give the loaders a non-padding sampler because that
also makes losses and other means exact: with uneven per-process counts, Lightning's
``sync_dist`` mean of per-process means would still weight the images unequally.
"""

from __future__ import annotations

from typing import TypeVar

import torch.distributed as dist

T = TypeVar("T")


def gather_by_name(records: dict[str, T]) -> dict[str, T]:
    """This process's ``{sample name: record}`` merged with every other process's, one record per
    name, sorted by name (so sums over them run in the same order on any number of processes).

    A collective call under DDP: every process must call it, once per epoch. Records must be
    picklable (NumPy arrays and floats, not device tensors). Without an initialised process
    group (one process) the records come back sorted.
    """
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        parts: list[dict[str, T] | None] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, records)
    else:
        parts = [records]
    merged: dict[str, T] = {}
    for part in parts:
        for name, record in (part or {}).items():
            merged.setdefault(name, record)  # a padded repeat of a sample another process also ran
    return dict(sorted(merged.items()))
