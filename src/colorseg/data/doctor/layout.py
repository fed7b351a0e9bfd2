"""Which files a data set holds, found the way the loaders find them, but tolerant: every
pairing problem becomes a finding instead of stopping at the first.

Segmentation layouts are those of :mod:`colorseg.data.sources` (``folder``, ``isbi2012``,
``camvid``: :func:`~colorseg.data.sources.source_folders`), images and masks paired by
:func:`colorseg.data.pairing.pair_by_stem`, the pairing the loaders use; ``folder`` splits from
``ROOT/splits/{train,val,test}.txt``. Colorization folders use :mod:`colorseg.data.color_sources`
itself (``folder``: every image under ROOT; ``bsds500``: its predefined splits).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from colorseg.data.color_sources import BSDS500Source, color_samples_under
from colorseg.data.doctor.findings import ERROR, INFO, WARNING, Finding
from colorseg.data.files import display_path, is_image_file, walk_files
from colorseg.data.pairing import (
    AMBIGUOUS_STEM,
    IMAGE_WITHOUT_MASK,
    MASK_WITHOUT_IMAGE,
    MISSING_FOLDER,
    NO_IMAGES,
    pair_by_stem,
)
from colorseg.data.sources import POOL, SPLIT_NAMES, source_folders, split_file_names
from colorseg.errors import ConfigError, DataError

SEGMENT_SOURCES = ("folder", "isbi2012", "camvid")
COLOR_SOURCES = ("folder", "bsds500")
TASKS = ("auto", "segment", "colorize")
ALL = POOL  # split name of a data set without predefined splits (fit carves them, seeded)


@dataclass(frozen=True)
class Entry:
    """One sample as the loaders name it: an image, its mask (segmentation), and its split.
    Unpaired files have ``image`` or ``mask`` None."""

    name: str
    split: str
    image: Path | None = None
    mask: Path | None = None


@dataclass
class Layout:
    """What :func:`discover` found under ``root``."""

    task: str
    source: str
    root: Path
    entries: list[Entry] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # non-image files the loaders skip
    findings: list[Finding] = field(default_factory=list)

    def splits(self) -> list[str]:
        """Split names in layout order."""
        return list(dict.fromkeys(e.split for e in self.entries))


def detect(root: str | Path, task: str = "auto", source: str | None = None) -> tuple[str, str]:
    """(task, source) for ``root``: given ones are checked, missing ones recognised from the folders
    (``trainannot/`` → camvid, ``train/image`` + ``train/label`` → isbi2012, ``images/`` + ``masks/``
    → segmentation folder, ``images/{train,test}`` → bsds500, anything else → colorization folder)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data folder not found: {display_path(root)}")
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if source is not None and source not in set(SEGMENT_SOURCES) | set(COLOR_SOURCES):
        raise ConfigError(f"unknown source {source!r}; choose one of "
                          f"{', '.join(dict.fromkeys(SEGMENT_SOURCES + COLOR_SOURCES))}")
    if task == "colorize" and source not in (None, *COLOR_SOURCES):
        raise ConfigError(f"source {source!r} holds segmentation data; colorization reads "
                          f"{' or '.join(COLOR_SOURCES)}")
    if task == "segment" and source not in (None, *SEGMENT_SOURCES):
        raise ConfigError(f"source {source!r} holds colorization photos; segmentation reads "
                          f"{', '.join(SEGMENT_SOURCES)}")
    if source == "bsds500":
        return "colorize", source
    if source is not None and task != "auto":
        return task, source
    found = _recognise(root)
    if source is not None:  # task auto, source given
        return ("segment" if source in ("camvid", "isbi2012") or found[0] == "segment" else "colorize"), source
    if task == "auto" or task == found[0]:
        return found
    return task, "folder"


def _recognise(root: Path) -> tuple[str, str]:
    if (root / "trainannot").is_dir():
        return "segment", "camvid"
    if (root / "train" / "image").is_dir() and (root / "train" / "label").is_dir():
        return "segment", "isbi2012"
    if (root / "masks").is_dir():
        return "segment", "folder"
    if (root / "images" / "train").is_dir() and (root / "images" / "test").is_dir():
        return "colorize", "bsds500"
    return "colorize", "folder"


def discover(root: str | Path, task: str = "auto", source: str | None = None) -> Layout:
    """The entries, skipped files and pairing / split-file findings of the data set at ``root``."""
    task, source = detect(root, task, source)
    layout = Layout(task, source, Path(root))
    if task == "colorize":
        _discover_photos(layout)
    else:
        _discover_pairs(layout)
    for p in layout.skipped:
        layout.findings.append(Finding(INFO, "skipped_file", f"not an image, skipped by the loader: "
                                       f"{display_path(p)}", display_path(p)))
    return layout


#: pairing problem → (severity, advice appended to the pairing's message); broken links are left
#: to the scan, which reports every unreadable file naming it
_PAIRING_FINDINGS = {
    MISSING_FOLDER: (ERROR, "the {source} layout needs it"),
    NO_IMAGES: (ERROR, "fit stops on it"),
    AMBIGUOUS_STEM: (WARNING, "the loader pairs only the first: rename or remove the other"),
    IMAGE_WITHOUT_MASK: (ERROR, "fit stops on it: add the mask or remove the image"),
    MASK_WITHOUT_IMAGE: (WARNING, "the loader ignores it"),
}


def _discover_pairs(layout: Layout) -> None:
    for split, image_dir, mask_dir in source_folders(layout.source, layout.root):
        pairing = pair_by_stem(image_dir, mask_dir)
        layout.skipped += pairing.skipped
        layout.entries += [Entry(f.name, split, f.image, f.mask) for f in pairing.files]
        for problem in pairing.problems:
            if problem.kind in _PAIRING_FINDINGS:
                severity, advice = _PAIRING_FINDINGS[problem.kind]
                layout.findings.append(Finding(severity, problem.kind,
                                               f"{problem.message}; {advice.format(source=layout.source)}",
                                               display_path(problem.path)))
    if layout.source == "folder":
        _apply_split_files(layout)


def convert_command(source: str, root: str | Path, fmt: str, palette: str | Path | None = None) -> str:
    """The ``colorseg data convert --from FMT`` command line that turns the masks of a segmentation
    layout into class indices, in a new folder ``<ROOT>-converted`` next to ``root`` (``palette``:
    the palette file of ``--from rgb``). A layout with one image and mask folder (``folder``,
    ``isbi2012``) gets its folders; ``camvid``'s split folders get placeholders (MASKS, IMAGES),
    one command per split."""
    folders = source_folders(source, root)
    if len(folders) == 1:
        _, images, masks = folders[0]
        args = [str(masks), "--images", str(images)]
    else:
        args = ["MASKS", "--images", "IMAGES"]
    root = Path(root)
    output = root.parent / f"{root.resolve().name}-converted"
    return shlex.join(["colorseg", "data", "convert", "--from", fmt, *args,
                       *(["--palette", str(palette)] if palette is not None else []), "--output", str(output)])


def _apply_split_files(layout: Layout) -> None:
    """Assign ``folder`` entries to the splits named in ``ROOT/splits/*.txt`` (as FolderSource does)."""
    split_dir = layout.root / "splits"
    if not split_dir.is_dir():
        return
    names = {e.name for e in layout.entries if e.image is not None}
    assigned: dict[str, str] = {}
    for split in SPLIT_NAMES:
        f = split_dir / f"{split}.txt"
        if not f.is_file():
            continue
        listed = split_file_names(f)
        unknown = [n for n in listed if n not in names]
        if unknown:
            layout.findings.append(Finding(ERROR, "unknown_split_name", (
                f"{display_path(f)} names {len(unknown)} samples that have no image and mask pair: "
                f"{', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}; fit stops on it"), display_path(f)))
        for n in listed:
            if n in assigned and assigned[n] != split:
                layout.findings.append(Finding(ERROR, "split_overlap", (
                    f"sample {n!r} is listed in both {assigned[n]}.txt and {split}.txt: splits must be disjoint"),
                    display_path(f)))
            assigned.setdefault(n, split)
    rest = "unlisted" if (split_dir / "train.txt").is_file() else "pool"
    entries = []
    for e in layout.entries:
        split = assigned.get(e.name, rest)
        if split == "unlisted" and e.image is not None:
            layout.findings.append(Finding(WARNING, "unlisted_sample", (
                f"{e.name!r} is in no split file while splits/train.txt exists, so fit never uses it; "
                "list it in a split file or remove it"), display_path(e.image)))
        entries.append(Entry(e.name, split, e.image, e.mask))
    layout.entries = entries


def _discover_photos(layout: Layout) -> None:
    try:
        if layout.source == "bsds500":
            splits = BSDS500Source(layout.root).splits()
        else:
            splits = {ALL: color_samples_under(layout.root)}
    except DataError as exc:
        layout.findings.append(Finding(ERROR, "no_images", str(exc)))
        return
    for split, samples in splits.items():
        layout.entries += [Entry(s.name, split, s.path) for s in samples]
    images = {e.image for e in layout.entries}
    base = layout.root / "images" if layout.source == "bsds500" else layout.root
    layout.skipped += sorted(p for p in walk_files(base) if p not in images and p.is_file() and not is_image_file(p))
