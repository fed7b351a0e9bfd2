"""Findings from the scanned records: unreadable files, size mismatches, mask problems,
duplicates, grayscale photos, absent classes. Each function returns findings (and, where the
report needs it, what it found)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from colorseg.data.doctor.classes import ClassInfo
from colorseg.data.doctor.duplicates import NEAR_THRESHOLD, duplicate_groups
from colorseg.data.doctor.findings import ERROR, INFO, WARNING, Finding
from colorseg.data.doctor.fingerprint import MaskDiagnosis
from colorseg.data.doctor.layout import ALL
from colorseg.data.doctor.mask_checks import (
    ValueHistogram,
    consecutive_value_map,
    format_value_map,
    has_edge_artifacts,
    is_binary_0_255,
    stray_values,
    unpack_rgb,
    value_gaps,
)
from colorseg.data.doctor.scan import Record
from colorseg.data.files import display_path
from colorseg.data.pairing import size_mismatch_message

SINGLE_POOL = (ALL, "pool")  # splits that fit carves further (seeded)


def _path(rec: Record, which: str = "image") -> str:
    p = rec.entry.image if which == "image" else rec.entry.mask
    return display_path(p) if p is not None else rec.entry.name


def _short(values, limit: int = 12, fmt=str) -> str:
    values = list(values)
    return ", ".join(fmt(v) for v in values[:limit]) + (f" … ({len(values)} in all)" if len(values) > limit else "")


def file_findings(records: list[Record]) -> list[Finding]:
    """Unreadable images and masks (the decoder's message, naming the file) and image/mask size
    mismatches."""
    out = []
    for rec in records:
        for which, error in (("image", rec.image_error), ("mask", rec.mask_error)):
            if error:
                out.append(Finding(ERROR, "unreadable", error if which == "image" else f"mask: {error}",
                                   _path(rec, which)))
        if rec.image is not None and rec.mask is not None and \
                (rec.image.height, rec.image.width) != (rec.mask.height, rec.mask.width):
            out.append(Finding(ERROR, "size_mismatch", size_mismatch_message(
                rec.entry.image, (rec.image.height, rec.image.width), rec.entry.mask,
                (rec.mask.height, rec.mask.width)) + "; fit stops on it", _path(rec, "mask")))
    return out


def image_findings(records: list[Record], task: str) -> list[Finding]:
    """Mixed file modes and sizes (info: training converts and crops them)."""
    images = [r.image for r in records if r.image is not None]
    out = []
    modes = Counter(i.mode for i in images)
    if len(modes) > 1:
        out.append(Finding(INFO, "mixed_modes", "images come in several modes: " + ", ".join(
            f"{m} ({n})" for m, n in modes.most_common()) + "; training converts each to the model's channels"))
    sizes = Counter((i.width, i.height) for i in images)
    if len(sizes) > 1:
        common = ", ".join(f"{w}x{h} ({n})" for (w, h), n in sizes.most_common(5))
        out.append(Finding(INFO, "mixed_sizes", f"{len(sizes)} different image sizes, most common: {common}"
                           + ("; training crops / resizes them" if task == "colorize" else
                              "; training takes random crops, evaluation whole images")))
    return out


def photo_findings(records: list[Record]) -> list[Finding]:
    """Grayscale-only photos of a colorization folder: one info finding per file, a warning with
    their share, and an error for a split with no colour photo at all (training stops on it)."""
    out = []
    gray = [r for r in records if r.image is not None and r.image.gray]
    readable = [r for r in records if r.image is not None]
    for r in gray:
        out.append(Finding(INFO, "gray_photo", f"grayscale-only photo (R = G = B), skipped by training: {_path(r)}",
                           _path(r)))
    if gray:
        out.append(Finding(WARNING, "gray_photos", (
            f"{len(gray)} of {len(readable)} photos ({100 * len(gray) / len(readable):.1f} %) are grayscale-only: "
            "they carry no colour to learn from and training skips them (names listed as gray_photo)")))
    for split in dict.fromkeys(r.entry.split for r in readable):
        in_split = [r for r in readable if r.entry.split == split]
        if in_split and all(r.image.gray for r in in_split):
            out.append(Finding(ERROR, "all_gray", f"all {len(in_split)} photos of the {split} split are grayscale-only: "
                               "there is no colour to train or evaluate on"))
    return out


@dataclass
class DuplicateReport:
    """One group of copies: the records, whether identical, the widest hash distance."""

    records: list[Record]
    identical: bool
    max_distance: int

    @property
    def cross_split(self) -> bool:
        return len({r.entry.split for r in self.records}) > 1


def duplicate_findings(records: list[Record], threshold: int = NEAR_THRESHOLD) -> tuple[list[Finding],
                                                                                        list[DuplicateReport]]:
    """Copies across splits (warning: leakage), within a pool that fit still splits (warning: leakage
    to come), identical copies within a split (warning: wasted) and near copies within a split
    (info: over-weighted, as consecutive video frames are)."""
    readable = [r for r in records if r.image is not None]
    groups = duplicate_groups([r.image.phash for r in readable], [r.image.digest for r in readable], threshold)
    out, reports = [], []
    for g in groups:
        rep = DuplicateReport([readable[i] for i in g.members], g.identical, g.max_distance)
        reports.append(rep)
        kind = "identical" if rep.identical else f"near-identical (perceptual hash ≤ {rep.max_distance} bits apart)"
        members = ", ".join(f"{_path(r)} ({r.entry.split})" for r in rep.records[:8])
        more = f" and {len(rep.records) - 8} more" if len(rep.records) > 8 else ""
        if rep.cross_split:
            out.append(Finding(WARNING, "cross_split_duplicate", (
                f"{len(rep.records)} {kind} images in different splits: {members}{more}; the same picture in "
                "training and evaluation inflates the scores (leakage): keep it in one split"), _path(rep.records[0])))
        else:
            pool = rep.records[0].entry.split in SINGLE_POOL
            severity = WARNING if pool or rep.identical else INFO  # near copies in one split: e.g. video frames
            out.append(Finding(severity, "duplicate", (
                f"{len(rep.records)} {kind} images: {members}{more}; "
                + ("fit carves validation and test from this pool, so copies can land on both sides (leakage): "
                   "remove the copies" if pool else "copies weigh one picture more"
                   + (": remove them" if rep.identical else " (consecutive video frames look like this)"))),
                _path(rep.records[0])))
    return out, reports


def _label_set(rec: Record, stray: set[int]) -> set[int]:
    s = rec.mask.stats
    return {v for v, c in zip(s.values.tolist(), s.counts.tolist()) if c and v not in stray}


def _format_value(colour: bool):
    return (lambda v: "#{:02x}{:02x}{:02x}".format(*unpack_rgb(v))) if colour else str


def _storage_findings(masks: list[Record], stray_i: set[int], stray_c: set[int], rgb_command: str) -> list[Finding]:
    """Colour-coded masks (``rgb_command``: the convert command to suggest); stray edge values
    (JPEG / resizing); masks stored as JPEG."""
    out = []
    for r in masks:
        s = r.mask.stats
        stray = stray_c if s.is_colour else stray_i
        if s.is_colour:
            n = len(_label_set(r, stray_c))
            out.append(Finding(ERROR, "rgb_mask", (
                f"colour (RGB) mask with {n} colour{'s' * (n != 1)}: {_path(r, 'mask')}; fit expects class indices: "
                f"check the class names in the proposed palette, then convert with `{rgb_command}"
                + (" --unknown-colors ignore` (the stray edge colours become the ignore index)" if stray_c else "`")),
                _path(r, "mask")))
        bad = [(v, c) for v, c in zip(s.values.tolist(), s.counts.tolist()) if v in stray]
        if bad:
            px = sum(c for _, c in bad)
            out.append(Finding(ERROR, "jpeg_artifacts", (
                f"{px} pixels ({100 * px / s.num_pixels:.1f} %) of {_path(r, 'mask')} hold values that only occur on "
                f"the edges between labels ({_short([v for v, _ in bad], 8, _format_value(s.is_colour))}): the mask "
                f"was JPEG-compressed{' (the file is a JPEG)' if r.mask.jpeg_file else ''} or resized with "
                "interpolation; re-export it losslessly (PNG) and resize masks with nearest-neighbour"),
                _path(r, "mask")))
        elif r.mask.jpeg_file:
            out.append(Finding(ERROR, "jpeg_mask", (
                f"mask stored as JPEG: {_path(r, 'mask')}; lossy compression changes the labels along edges (and can "
                "invent values): re-export the masks as PNG from their source"), _path(r, "mask")))
    return out


def _value_findings(index: ValueHistogram, labels: list[int], info: ClassInfo, source: str,
                    ignore_candidate: int | None, binary_command: str
                    ) -> tuple[list[Finding], list[int], dict[int, int] | None]:
    """0/255 masks (``binary_command``: the convert command to suggest), gaps in the label values
    (sources without declared classes), values outside the declared classes; returns findings, gaps
    and the suggested ``mask_value_map``."""
    out: list[Finding] = []
    gaps: list[int] = []
    suggested = None
    binary = is_binary_0_255(labels)
    ignore = [] if ignore_candidate is None else [ignore_candidate]
    if labels and info.allowed is None and binary:
        suggested = {0: 0, 255: 1}
        out.append(Finding(WARNING, "binary_0_255", (
            f"the masks hold only 0 and 255 (255 in {index.masks.get(255, 0)} masks): 255 is the default "
            f"ignore_index, so the foreground would be ignored; pass "
            f"--data.mask_value_map='{format_value_map(suggested)}' or convert with `{binary_command}`")))
    elif labels and info.allowed is None:
        if ignore_candidate is not None:
            out.append(Finding(INFO, "ignore_value", (
                "value 255 is present beside small label values: it is taken as ignore_index (the default "
                "data.ignore_index=255), not as a class")))
        gaps = value_gaps(labels, ignore)
        if gaps:
            suggested = consecutive_value_map(labels, ignore)
            out.append(Finding(WARNING, "value_gaps", (
                f"label values {_short(labels)} are not consecutive: {_short(gaps)} have no pixel, but fit reads "
                f"value i as class i, so those classes could not be learned; map them with "
                f"--data.mask_value_map='{format_value_map(suggested)}' (or convert the masks)")))
    elif binary and info.value_map:
        out.append(Finding(INFO, "binary_0_255", (
            f"0/255 masks, mapped by the {source} source ({format_value_map(info.value_map)})")))
    return out, gaps, suggested


def _outside_findings(masks: list[Record], info: ClassInfo, source: str) -> list[Finding]:
    """Index masks holding values the source does not declare (camvid, isbi2012)."""
    out = []
    for r in masks:
        bad = sorted(_label_set(r, set()) - info.allowed) if not r.mask.stats.is_colour else []
        if bad:
            out.append(Finding(ERROR, "values_outside_classes", (
                f"{_path(r, 'mask')}: mask values {_short(bad)} are outside the classes of the {source} source "
                f"(allowed: {_short(sorted(info.allowed))}); fit stops on it"), _path(r, "mask")))
    return out


def _empty_findings(masks: list[Record], info: ClassInfo, stray_i: set[int], stray_c: set[int]) -> list[Finding]:
    """Masks holding only 0 (and the ignore value), or only black."""
    out = []
    for r in masks:
        colour = r.mask.stats.is_colour
        present = _label_set(r, stray_c if colour else stray_i)
        background = {0} | ({info.ignore} if info.ignore is not None and not colour else set())
        if present and present <= background:
            what = "black" if colour else info.name(0)
            what += "" if what in ("black", "value 0") else " (value 0)"
            out.append(Finding(WARNING, "empty_mask", (
                f"mask holds only {what}: {_path(r, 'mask')}; fine for a negative example, otherwise the labels "
                "were lost when it was saved"), _path(r, "mask")))
    return out


def mask_findings(records: list[Record], source: str, info_fn, commands: dict[str, str]
                  ) -> tuple[list[Finding], MaskDiagnosis, ClassInfo, ValueHistogram, ValueHistogram]:
    """Diagnose the masks: colour masks, JPEG files and edge artifacts, 0/255 binary masks, gaps,
    values outside the declared classes, empty masks. ``info_fn(label_values, ignore_candidate)``
    gives the :class:`ClassInfo`; ``commands`` the ``colorseg data convert`` command lines to
    suggest for colour (``"rgb"``) and 0/255 (``"binary"``) masks. Returns findings, diagnosis,
    class info and the index and colour histograms."""
    masks = [r for r in records if r.mask is not None]
    index = ValueHistogram.of(r.mask.stats for r in masks if not r.mask.stats.is_colour)
    colour = ValueHistogram.of(r.mask.stats for r in masks if r.mask.stats.is_colour)
    stray_i = set(stray_values(index)) if has_edge_artifacts(index) else set()
    stray_c = set(stray_values(colour)) if has_edge_artifacts(colour) else set()
    labels = [v for v in index.values() if v not in stray_i]
    binary = is_binary_0_255(labels)
    ignore_candidate = 255 if 255 in labels and not binary and len(labels) > 1 else None
    info = info_fn(labels, ignore_candidate)
    values, gaps, suggested = _value_findings(index, labels, info, source, ignore_candidate, commands["binary"])
    empty = _empty_findings(masks, info, stray_i, stray_c)
    out = (_storage_findings(masks, stray_i, stray_c, commands["rgb"]) + values
           + (_outside_findings(masks, info, source) if info.allowed is not None else []) + empty)
    n_colour = sum(r.mask.stats.is_colour for r in masks)
    kind = ("mixed" if 0 < n_colour < len(masks) else "rgb" if n_colour else "binary_0_255" if binary else "index")
    diagnosis = MaskDiagnosis(
        kind=kind, label_values=labels, colour_values=[v for v in colour.values() if v not in stray_c],
        stray_values=sorted(stray_i | stray_c), edge_artifacts=bool(stray_i or stray_c),
        jpeg_files=sum(r.mask.jpeg_file for r in masks), colour_masks=n_colour, empty_masks=len(empty),
        gaps=gaps, suggested_value_map=suggested)
    return out, diagnosis, info, index, colour


def class_findings(split_hists: dict[str, ValueHistogram], info: ClassInfo) -> list[Finding]:
    """Declared classes (camvid, isbi2012) without pixels: an error in the training data (fit
    stops), a warning elsewhere (the mean IoU then averages over fewer classes)."""
    if info.classes is None:
        return []
    stored = info.value_map or {k: k for k in range(len(info.classes))}
    out = []
    for split, hist in split_hists.items():
        missing = [info.classes[label] for value, label in stored.items() if hist.pixels.get(value, 0) == 0]
        if not missing:
            continue
        training = split in ("train", *SINGLE_POOL)
        out.append(Finding(ERROR if training else WARNING, "absent_class", (
            f"the {split} split has no pixels of {', '.join(missing)}"
            + (": fit stops, a class without pixels cannot be learned" if training
               else ": its mean IoU / Dice average over the classes present"))))
    return out
