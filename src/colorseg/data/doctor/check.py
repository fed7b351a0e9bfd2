"""``check_data``: discover → read every file once → findings and a fingerprint; ``check.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from colorseg.data.doctor.classes import ClassInfo, class_info
from colorseg.data.doctor.diagnose import (
    DuplicateReport,
    class_findings,
    duplicate_findings,
    file_findings,
    image_findings,
    mask_findings,
    photo_findings,
)
from colorseg.data.doctor.duplicates import NEAR_THRESHOLD
from colorseg.data.doctor.findings import SEVERITIES, Finding, exit_status
from colorseg.data.doctor.fingerprint import DataFingerprint, split_fingerprint
from colorseg.data.doctor.layout import Layout, convert_command, discover
from colorseg.data.doctor.mask_checks import PaletteEntry, ValueHistogram, propose_palette
from colorseg.data.doctor.scan import Record, scan
from colorseg.data.files import atomic_write_text, display_path
from colorseg.data.sources import CAMVID_CLASSES, CAMVID_COLORS
from colorseg.errors import ConfigError

DEFAULT_MAX_OVERLAYS = 3
PALETTE_FILE = "palette.txt"  # the proposed palette of colour masks, written next to the report
#: colours a colour mask is recognised by (label order): CamVid's 11 classes
KNOWN_PALETTE = list(zip(CAMVID_COLORS, CAMVID_CLASSES))


@dataclass
class DataCheck:
    """Everything ``colorseg data check`` found: the layout, one record per sample, the findings,
    the fingerprint, label names/colours, mask histograms, a proposed palette for colour masks,
    duplicate groups, the samples picked for overlays (label value → records; colour masks:
    packed ``0xRRGGBB`` → records) and the ``colorseg data convert`` command lines the findings
    suggest (``"rgb"``, ``"binary"``; segmentation only)."""

    layout: Layout
    records: list[Record]
    findings: list[Finding]
    fingerprint: DataFingerprint
    classes: ClassInfo | None = None
    index_histogram: ValueHistogram = field(default_factory=ValueHistogram)
    colour_histogram: ValueHistogram = field(default_factory=ValueHistogram)
    palette: list[PaletteEntry] = field(default_factory=list)
    duplicates: list[DuplicateReport] = field(default_factory=list)
    overlays: dict[int, list[Record]] = field(default_factory=dict)
    colour_overlays: dict[int, list[Record]] = field(default_factory=dict)
    convert_commands: dict[str, str] = field(default_factory=dict)

    @property
    def exit_status(self) -> int:
        """0 clean, 1 warnings, 2 errors."""
        return exit_status(self.findings)

    def counts(self) -> dict[str, int]:
        """Findings per severity."""
        return {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}

    def to_dict(self) -> dict:
        """What ``check.json`` holds."""
        return {
            "root": display_path(self.layout.root), "task": self.layout.task, "source": self.layout.source,
            "exit_status": self.exit_status, "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
            "fingerprint": self.fingerprint.to_dict(),
            "duplicates": [{"identical": d.identical, "max_distance": d.max_distance,
                            "files": [{"name": r.entry.name, "split": r.entry.split,
                                       "file": display_path(r.entry.image)} for r in d.records]}
                           for d in self.duplicates],
            "palette": [{"rgb": list(p.rgb), "name": p.name, "index": p.index, "pixels": p.pixels}
                        for p in self.palette],
        }


def _by_split(records: list[Record]) -> dict[str, list[Record]]:
    out: dict[str, list[Record]] = {}
    for r in records:
        out.setdefault(r.entry.split, []).append(r)
    return out


def pick_overlays(records: list[Record], values: list[int], max_per_value: int,
                  colour: bool = False, pool_factor: int = 5) -> dict[int, list[Record]]:
    """Per label value, up to ``max_per_value`` readable pairs that show it well and differ: of the
    ``pool_factor * max_per_value`` pairs with the most pixels of it, evenly spaced ones in name
    order (consecutive video frames are not all picked). Colour masks: per packed colour; pairs
    whose sizes differ are left out."""
    if max_per_value < 0:
        raise ConfigError(f"max_overlays must be >= 0, got {max_per_value}")
    usable = [r for r in records if r.image is not None and r.mask is not None and r.mask.stats.is_colour == colour
              and (r.image.height, r.image.width) == (r.mask.height, r.mask.width)]
    picks = {}
    for v in values:
        ranked = sorted(((r.mask.stats.count_of(v), i) for i, r in enumerate(usable)), reverse=True)
        pool = sorted((i for n, i in ranked[:pool_factor * max_per_value] if n > 0),
                      key=lambda i: (usable[i].entry.split, usable[i].entry.name))
        if pool and max_per_value:
            k = min(max_per_value, len(pool))
            picks[v] = [usable[pool[j]] for j in sorted({round(t * (len(pool) - 1) / max(k - 1, 1))
                                                         for t in range(k)})]
    return picks


def check_data(root: str | Path, task: str = "auto", source: str | None = None,
               max_overlays: int = DEFAULT_MAX_OVERLAYS, near_threshold: int = NEAR_THRESHOLD,
               progress: bool = True, palette_file: str | Path = PALETTE_FILE) -> DataCheck:
    """Check the data set at ``root`` before training (see the README, "Check your data").

    ``task``: ``segment``, ``colorize`` or ``auto`` (recognised from the folders); ``source``:
    ``folder``, ``camvid``, ``isbi2012`` (segmentation) or ``folder``, ``bsds500`` (colorization),
    recognised when None. ``max_overlays`` samples per class are picked for overlays;
    ``near_threshold`` is the perceptual-hash distance (bits of 64) up to which images count as copies;
    ``palette_file`` is where the proposed palette of colour masks will be written (for the convert
    command the findings suggest). Raises DataError / ConfigError only when ``root`` or the options
    are unusable; every problem in the data itself is a finding.
    """
    if max_overlays < 0:
        raise ConfigError(f"max_overlays must be >= 0, got {max_overlays}")
    if not 0 <= near_threshold < 64:
        raise ConfigError(f"near_threshold must be a number of bits in 0..63, got {near_threshold}")
    layout = discover(root, task, source)
    records = scan(layout.entries, progress=progress)
    findings = list(layout.findings) + file_findings(records) + image_findings(records, layout.task)
    dup_findings, duplicates = duplicate_findings(records, near_threshold)
    splits = _by_split(records)
    check = DataCheck(layout, records, findings, DataFingerprint(layout.task, layout.source,
                                                                   display_path(layout.root), {}),
                      duplicates=duplicates)
    if layout.task == "colorize":
        check.findings = findings + photo_findings(records) + dup_findings
        check.fingerprint.splits = {s: split_fingerprint(rs) for s, rs in splits.items()}
        return check
    check.convert_commands = {"rgb": convert_command(layout.source, layout.root, "rgb", palette_file),
                              "binary": convert_command(layout.source, layout.root, "binary")}
    mfind, diagnosis, info, index, colour = mask_findings(
        records, layout.source, lambda values, ignore: class_info(layout.source, layout.root, values, ignore),
        check.convert_commands)
    split_hists = {s: ValueHistogram.of(r.mask.stats for r in rs if r.mask is not None and not r.mask.stats.is_colour)
                   for s, rs in splits.items()}
    check.findings = findings + mfind + class_findings(split_hists, info) + dup_findings
    check.classes, check.index_histogram, check.colour_histogram = info, index, colour
    labels = diagnosis.label_values
    if diagnosis.colour_values:
        check.palette = propose_palette({v: colour.pixels[v] for v in diagnosis.colour_values}, KNOWN_PALETTE)
        check.colour_overlays = pick_overlays(records, diagnosis.colour_values, max_overlays, colour=True)
    check.overlays = pick_overlays(records, labels, max_overlays)
    check.fingerprint.splits = {s: split_fingerprint(rs, split_hists[s], labels) for s, rs in splits.items()}
    check.fingerprint.mask = diagnosis
    check.fingerprint.class_names = {v: info.name(v) for v in labels}
    check.fingerprint.ignore_index = info.ignore
    return check


def fingerprint_data(root: str | Path, task: str = "auto", source: str | None = None,
                     progress: bool = False) -> DataFingerprint:
    """The :class:`DataFingerprint` of the data set at ``root`` (runs :func:`check_data`)."""
    return check_data(root, task, source, max_overlays=0, progress=progress).fingerprint


def save_check_json(check: DataCheck, path: str | Path) -> Path:
    """Write ``check.json`` (findings with severity, code, file, message; the fingerprint;
    duplicates; palette) atomically."""
    return atomic_write_text(path, json.dumps(check.to_dict(), indent=2, default=str) + "\n")
