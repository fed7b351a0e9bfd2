"""A small, JSON-ready description of a data set (per split: image count, sizes, channels,
modes, class pixel frequencies; the mask diagnosis), for ``check.json``.

:class:`SizeStats` (:func:`size_stats`) is the one summary of image sizes: ``colorseg segment
plan``'s fingerprint (:mod:`colorseg.planning.fingerprint`) uses it too, with the doctor's scan
(:mod:`.scan`) and mask statistics (:mod:`.mask_checks`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from colorseg.data.doctor.mask_checks import ValueHistogram
from colorseg.data.doctor.scan import Record


@dataclass(frozen=True)
class SizeStats:
    """Median, smallest and largest of one image dimension (height or width) over a split."""

    median: float
    min: int
    max: int


def size_stats(values: list[int]) -> SizeStats | None:
    """:class:`SizeStats` of ``values`` (None when there are none)."""
    return SizeStats(float(np.median(values)), int(min(values)), int(max(values))) if values else None


@dataclass
class SplitFingerprint:
    """One split: readable images, height/width statistics (None without readable images), number
    of distinct sizes, images per channel count and per file mode, class pixel frequency (label value
    of the index masks → share of their labelled pixels; empty for colorization and for colour masks,
    which need converting first) and the share of grayscale-only images."""

    images: int
    height: SizeStats | None = None
    width: SizeStats | None = None
    distinct_sizes: int = 0
    channels: dict[int, int] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    class_pixel_frequency: dict[int, float] = field(default_factory=dict)
    gray_share: float = 0.0


@dataclass
class MaskDiagnosis:
    """What the masks are: ``kind`` is ``index`` (class indices), ``binary_0_255``, ``rgb`` (colour
    coded) or ``mixed`` (colour and index masks); the label values of the index masks, the label
    colours of the colour masks (packed ``0xRRGGBB``), the stray values of either, whether stray values
    reveal JPEG / resizing artifacts, counts of JPEG files, colour masks and empty masks, gaps in the
    label values, and the ``mask_value_map`` that would fix 0/255 or gapped values (None when none is
    needed)."""

    kind: str
    label_values: list[int]
    colour_values: list[int]
    stray_values: list[int]
    edge_artifacts: bool
    jpeg_files: int
    colour_masks: int
    empty_masks: int
    gaps: list[int]
    suggested_value_map: dict[int, int] | None = None


@dataclass
class DataFingerprint:
    """The data set at ``root`` as ``task`` / ``source`` reads it: per split facts, the mask
    diagnosis (segmentation only), display names of the label values and the ignore value."""

    task: str
    source: str
    root: str
    splits: dict[str, SplitFingerprint]
    mask: MaskDiagnosis | None = None
    class_names: dict[int, str] = field(default_factory=dict)
    ignore_index: int | None = None

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (integer keys become strings when dumped)."""
        return asdict(self)


def split_fingerprint(records: list[Record], hist: ValueHistogram | None = None,
                      label_values: list[int] | None = None) -> SplitFingerprint:
    """Facts of one split's records; ``hist`` (its mask values) restricted to ``label_values`` gives
    the class pixel frequencies."""
    images = [r.image for r in records if r.image is not None]
    freq: dict[int, float] = {}
    if hist is not None:
        keep = set(hist.values() if label_values is None else label_values)
        total = sum(n for v, n in hist.pixels.items() if v in keep)
        freq = {v: hist.pixels[v] / total for v in hist.values() if v in keep} if total else {}
    return SplitFingerprint(
        images=len(images),
        height=size_stats([i.height for i in images]),
        width=size_stats([i.width for i in images]),
        distinct_sizes=len({(i.height, i.width) for i in images}),
        channels=dict(sorted(Counter(i.channels for i in images).items())),
        modes=dict(Counter(i.mode for i in images).most_common()),
        class_pixel_frequency=freq,
        gray_share=sum(i.gray for i in images) / len(images) if images else 0.0)
