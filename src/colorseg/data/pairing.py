"""Pairing images with masks by file stem: the one implementation, tolerant.

:func:`pair_by_stem` lists an image folder and a mask folder and pairs ``<stem>.<ext>`` with
``<stem><mask_suffix>.<ext>`` (the extensions may differ: ``x.jpg`` + ``x.png``). It never stops
at a problem: it returns every file it found and every problem, so each caller decides what to
refuse:

* the loaders (:mod:`colorseg.data.sources`) refuse with the first problem they cannot train with
  (:data:`LOADER_REFUSES`), as :meth:`Pairing.raise_first` words it;
* ``colorseg segment plan`` refuses any problem;
* ``colorseg data check`` lists them all as findings;
* ``colorseg data convert`` refuses all but images without a mask (it skips those).

Problems are listed in a fixed order, so "the first problem" is well defined: the image
folder's (missing, broken or looping links, no image files), the mask folder's (missing, broken
links), then two files with one stem in a folder (the first in name order is used), images
without a mask, masks without an image; files in name order within each kind.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from colorseg.data.files import IMAGE_EXTENSIONS, check_image_file, display_path, is_image_file
from colorseg.errors import DataError

MISSING_FOLDER = "missing_folder"
BROKEN_LINK = "broken_link"
NO_IMAGES = "no_images"
AMBIGUOUS_STEM = "ambiguous_stem"
IMAGE_WITHOUT_MASK = "image_without_mask"
MASK_WITHOUT_IMAGE = "mask_without_image"
PROBLEM_KINDS = (MISSING_FOLDER, BROKEN_LINK, NO_IMAGES, AMBIGUOUS_STEM, IMAGE_WITHOUT_MASK, MASK_WITHOUT_IMAGE)
#: what a loader cannot train with; it ignores masks without images and uses the first of two files with one stem
LOADER_REFUSES = (MISSING_FOLDER, BROKEN_LINK, NO_IMAGES, IMAGE_WITHOUT_MASK)


@dataclass(frozen=True)
class FilePair:
    """The files of one sample name: ``image`` and ``mask``, either None when it has no partner."""

    name: str
    image: Path | None
    mask: Path | None


@dataclass(frozen=True)
class PairingProblem:
    """One pairing problem: its ``kind`` (one of :data:`PROBLEM_KINDS`), the file or folder it is
    about and a message naming it."""

    kind: str
    path: Path
    message: str


@dataclass
class Pairing:
    """What :func:`pair_by_stem` found: ``files`` (images in name order with their mask or None,
    then masks without an image), ``problems`` in the order of the module docstring, and
    ``skipped``, the files that are not images (``Thumbs.db``, notes)."""

    files: list[FilePair] = field(default_factory=list)
    problems: list[PairingProblem] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def pairs(self) -> list[FilePair]:
        """The complete pairs, in image name order."""
        return [f for f in self.files if f.image is not None and f.mask is not None]

    def first_error(self, kinds: Collection[str] = PROBLEM_KINDS, advice: dict[str, str] | None = None
                    ) -> DataError | None:
        """A DataError with the first problem of ``kinds`` (``" and N more"`` when its kind occurs
        more often, then ``"; "`` + ``advice[kind]`` when given), or None when there is none."""
        problems = [p for p in self.problems if p.kind in kinds]
        if not problems:
            return None
        first = problems[0]
        more = sum(p.kind == first.kind for p in problems) - 1
        text = first.message + (f" and {more} more" if more else "")
        if advice and first.kind in advice:
            text += f"; {advice[first.kind]}"
        return DataError(text)

    def raise_first(self, kinds: Collection[str] = PROBLEM_KINDS, advice: dict[str, str] | None = None) -> None:
        """Raise :meth:`first_error` when there is a problem of ``kinds``."""
        error = self.first_error(kinds, advice)
        if error is not None:
            raise error


def _list_folder(folder: Path, pairing: Pairing) -> list[Path]:
    """Image files of ``folder`` in name order (broken links included, each also a problem); the
    other files go to ``pairing.skipped``."""
    files = []
    for p in sorted(folder.iterdir()):
        if is_image_file(p) and (p.is_file() or p.is_symlink()):
            files.append(p)
            if p.is_symlink() and not p.exists():
                try:
                    check_image_file(p)
                except DataError as exc:
                    pairing.problems.append(PairingProblem(BROKEN_LINK, p, str(exc)))
        elif p.is_file():
            pairing.skipped.append(p)
    return files


def _by_stem(files: list[Path], suffix: str, pairing: Pairing) -> dict[str, Path]:
    """Stem (``suffix`` removed) → the first file in name order; later ones are problems."""
    out: dict[str, Path] = {}
    for p in files:
        stem = p.stem[:-len(suffix)] if suffix and p.stem.endswith(suffix) else p.stem
        if stem in out:
            pairing.problems.append(PairingProblem(AMBIGUOUS_STEM, p, (
                f"two files with one name: {display_path(out[stem])} and {display_path(p)} (images and masks are "
                "paired by file name without extension)")))
        else:
            out[stem] = p
    return out


def pair_by_stem(images_dir: str | Path, masks_dir: str | Path, mask_suffix: str = "") -> Pairing:
    """Pair the images of ``images_dir`` with the masks of ``masks_dir`` by file stem (a mask's stem
    is the image's + ``mask_suffix``, e.g. CamVid's ``_L``); every problem is recorded, none raised
    (see the module docstring). With a folder missing, only that is reported and nothing is paired."""
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    pairing = Pairing()
    if not images_dir.is_dir():
        pairing.problems.append(PairingProblem(MISSING_FOLDER, images_dir,
                                               f"folder not found: {display_path(images_dir)}"))
        image_files = []
    else:
        image_files = _list_folder(images_dir, pairing)
        if not image_files:
            pairing.problems.append(PairingProblem(NO_IMAGES, images_dir, (
                f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder: {display_path(images_dir)}")))
    if not masks_dir.is_dir():
        pairing.problems.append(PairingProblem(MISSING_FOLDER, masks_dir,
                                               f"mask folder not found: {display_path(masks_dir)}"))
        return pairing
    mask_files = _list_folder(masks_dir, pairing)
    if not images_dir.is_dir():
        return pairing
    images = _by_stem(image_files, "", pairing)
    masks = _by_stem(mask_files, mask_suffix, pairing)
    for stem, image in images.items():
        pairing.files.append(FilePair(stem, image, masks.get(stem)))
        if stem not in masks:
            pairing.problems.append(PairingProblem(IMAGE_WITHOUT_MASK, image, (
                f"image without mask: {display_path(image)} (no {display_path(masks_dir / (stem + mask_suffix))}.*)")))
    for stem, mask in masks.items():
        if stem not in images:
            pairing.files.append(FilePair(stem, None, mask))
            pairing.problems.append(PairingProblem(MASK_WITHOUT_IMAGE, mask, (
                f"mask without image: {display_path(mask)} (no {display_path(images_dir / stem)}.*)")))
    return pairing


def size_mismatch_message(image: str | Path, image_hw: tuple[int, int], mask: str | Path,
                          mask_hw: tuple[int, int]) -> str:
    """The message for a pair whose image and mask differ in size (``fit`` refuses it), naming
    both files with their sizes as width x height."""
    return (f"size mismatch: image {display_path(image)} is {image_hw[1]}x{image_hw[0]} but mask "
            f"{display_path(mask)} is {mask_hw[1]}x{mask_hw[0]}")
