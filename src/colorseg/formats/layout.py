"""Write a :class:`~colorseg.formats.annotations.Conversion` as colorseg's ``folder`` layout.

``ROOT/images/<name>.<ext>`` (copied, or hard-linked with ``link=True``), ``ROOT/masks/<name>.png``
(8-bit gray class indices, 16-bit above 255 classes), ``ROOT/splits/<split>.txt`` when the source
defines splits, and ``ROOT/colorseg.yaml``, the data section to train with::

    colorseg segment fit -c configs/segment/synthetic.yaml -c ROOT/colorseg.yaml

(``data.source: folder``, ``data.root`` as an absolute path, ``class_names``, ``ignore_index``,
``in_channels`` (1 when every image is gray) and ``class_colors`` when the source has them).

Atomic: everything is written into ``ROOT.partial`` (marked by a ``.colorseg-partial`` file) and
renamed to ``ROOT`` only when complete, so an interrupted conversion never looks finished; a
stale ``ROOT.partial`` of an earlier interrupted run is removed. A non-empty ``ROOT`` is replaced
only with ``overwrite=True``, and never when it contains the inputs.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, UnidentifiedImageError

from colorseg.data.files import IMAGE_EXTENSIONS, display_path
from colorseg.data.image_io import probe_image, save_png
from colorseg.errors import ConfigError, DataError
from colorseg.formats.annotations import Conversion, EmbeddedImage, LabelledImage

CONFIG_NAME = "colorseg.yaml"
PARTIAL_MARKER = ".colorseg-partial"


def _raw_size(path: Path) -> tuple[int, int] | None:
    """(height, width) as stored, ignoring EXIF orientation (for the mismatch hint), or None."""
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except (UnidentifiedImageError, OSError, ValueError):
        return None


@dataclass
class ConvertSummary:
    """What a conversion wrote: counts per class value (ignore included) and where."""

    root: Path
    format: str
    source: Path
    num_images: int
    class_names: list[str]
    ignore_index: int
    pixel_counts: dict[int, int]
    linked: int = 0
    copied: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def describe(self) -> str:
        """Multi-line human summary: images, classes with pixel counts and shares, the train command."""
        total = sum(self.pixel_counts.values()) or 1
        how = f"{self.copied} copied" + (f", {self.linked} hard-linked" if self.linked else "")
        lines = [(f"converted {self.num_images} images ({self.format}: {display_path(self.source)}) into "
                  f"{display_path(self.root)} (images: {how})"),
                 f"{len(self.class_names)} classes (mask value: name, pixels):"]
        for i, name in enumerate(self.class_names):
            n = self.pixel_counts.get(i, 0)
            lines.append(f"  {i:>3}: {name:<20} {n:>14,} px  {100 * n / total:5.1f}%" + ("  (no pixels)" if not n else ""))
        n = self.pixel_counts.get(self.ignore_index, 0)
        lines.append(f"  {self.ignore_index:>3}: {'(ignored)':<20} {n:>14,} px  {100 * n / total:5.1f}%")
        lines.append(f"wrote {display_path(self.config_path)}; train with:")
        lines.append(f"  colorseg segment fit -c configs/segment/synthetic.yaml -c {display_path(self.config_path)}")
        return "\n".join(lines)


def _is_within(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def check_output(root: str | Path, overwrite: bool, inputs: list[Path]) -> Path:
    """Refuse, before any work, an output that exists and is not an empty folder (unless
    ``overwrite``), a file, or a folder that holds one of the ``inputs`` (replacing it would delete them)."""
    root = Path(root)
    for p in inputs:
        if _is_within(p, root):
            raise ConfigError(f"output {display_path(root)} contains the input {display_path(p)}; "
                              "choose an output folder outside the inputs")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"output {display_path(root)} exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ConfigError(f"output folder {display_path(root)} is not empty; pass --overwrite to replace it")
    return root


def _partial_dir(root: Path) -> Path:
    partial = root.with_name(root.name + ".partial")
    if partial.exists():
        if not (partial / PARTIAL_MARKER).is_file():
            raise ConfigError(f"{display_path(partial)} exists and was not made by colorseg; remove or rename it")
        shutil.rmtree(partial)  # an earlier conversion was interrupted
    (partial / "images").mkdir(parents=True)
    (partial / "masks").mkdir()
    (partial / PARTIAL_MARKER).write_text("incomplete colorseg data convert output\n")
    return partial


def _place_image(sample: LabelledImage, dest_dir: Path, link: bool) -> tuple[Path, bool]:
    """Copy / hard-link / write the sample's image into ``dest_dir``; returns (path, was_linked)."""
    if isinstance(sample.image, EmbeddedImage):
        dest = dest_dir / f"{sample.name}{sample.image.suffix}"
        dest.write_bytes(sample.image.data)
        return dest, False
    src = sample.image
    if src.suffix.lower() not in IMAGE_EXTENSIONS:
        raise DataError(f"{display_path(sample.source)}: image {display_path(src)} has a suffix colorseg does not "
                        f"read ({', '.join(IMAGE_EXTENSIONS)}); convert the image first")
    if not src.is_file():
        raise DataError(f"{display_path(sample.source)}: image file referenced but missing: {display_path(src)}")
    dest = dest_dir / f"{sample.name}{src.suffix}"
    if link:
        try:
            os.link(src, dest)
            return dest, True
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EACCES):
                raise
    shutil.copyfile(src, dest)
    return dest, False


def _check_size(sample: LabelledImage, placed: Path) -> int:
    """Image and mask sizes agree; returns the image's channel count (1 or 3)."""
    shown = display_path(sample.image if isinstance(sample.image, Path) else placed)
    try:
        h, w, c = probe_image(placed)
    except DataError as exc:
        raise DataError(f"{display_path(sample.source)}: {exc}".replace(display_path(placed), shown)) from exc
    mh, mw = sample.mask.shape
    if (h, w) != (mh, mw):
        hint = ""
        if _raw_size(placed) == (mh, mw):
            hint = (" (the annotation matches the stored pixels, but the image's EXIF orientation rotates it; "
                    "save the image with the rotation applied and annotate that)")
        raise DataError(f"{display_path(sample.source)}: annotation is for a {mw}x{mh} image but {shown} is "
                        f"{w}x{h}{hint}")
    return c


def _check_values(sample: LabelledImage, num_classes: int, ignore_index: int) -> None:
    bad = np.unique(sample.mask[(sample.mask >= num_classes) & (sample.mask != ignore_index)])
    if bad.size:
        raise DataError(f"{display_path(sample.source)}: mask values {bad.tolist()[:10]} are outside the "
                        f"{num_classes} classes (ignore: {ignore_index})")


def _write_mask(path: Path, mask: np.ndarray, ignore_index: int) -> None:
    if ignore_index == 255:
        save_png(path, mask.astype(np.uint8))
    else:
        Image.fromarray(mask.astype(np.uint16)).save(path, format="PNG")


def _write_config(partial: Path, root: Path, conv: Conversion, in_channels: int) -> None:
    data: dict = {"source": "folder", "root": str(root.resolve()), "class_names": list(conv.class_names),
                  "ignore_index": conv.ignore_index, "in_channels": in_channels}
    if conv.class_colors:
        data["class_colors"] = [list(map(int, c)) for c in conv.class_colors]
    header = (f"# colorseg data convert --from {conv.format} {display_path(conv.source)}\n"
              f"# train: colorseg segment fit -c configs/segment/synthetic.yaml -c {display_path(root / CONFIG_NAME)}\n"
              f"# (model and trainer settings from the first config, data from this one)\n")
    (partial / CONFIG_NAME).write_text(header + yaml.safe_dump({"data": data}, sort_keys=False,
                                                               default_flow_style=None, allow_unicode=True))


def _commit(partial: Path, root: Path) -> None:
    """Rename the finished ``partial`` onto ``root`` (replacing an old one only at the very end)."""
    (partial / PARTIAL_MARKER).unlink()
    old = None
    if root.is_dir():
        if any(root.iterdir()):
            old = root.with_name(f"{root.name}.old-{os.getpid()}")
            os.replace(root, old)
        else:
            root.rmdir()
    os.replace(partial, root)
    if old is not None:
        shutil.rmtree(old)


def write_layout(conv: Conversion, root: str | Path, link: bool = False, overwrite: bool = False,
                 progress: bool = True, inputs: list[Path] | None = None) -> ConvertSummary:
    """Write ``conv`` into ``root`` (see module docstring); returns the :class:`ConvertSummary`.

    Raises DataError naming the annotation file when an image is missing or unreadable, its size
    differs from the annotation's, or two images get the same output name; nothing is left behind.
    """
    from tqdm import tqdm

    root = check_output(root, overwrite, inputs or [])
    if len(conv.class_names) < 2:
        raise DataError(f"{display_path(conv.source)}: only the class {conv.class_names} was found; segmentation "
                        "needs at least 2 (no labelled shapes or categories?)")
    partial = _partial_dir(root)
    counts: dict[int, int] = {}
    seen: dict[str, Path] = {}
    linked = copied = 0
    channels: set[int] = set()
    try:
        for sample in tqdm(conv.samples, total=conv.count, desc=f"convert {conv.format}", unit="img",
                           disable=not progress):
            if sample.name in seen:
                raise DataError(f"{display_path(sample.source)}: two images map to the sample name {sample.name!r} "
                                f"(the other from {display_path(seen[sample.name])}); rename one of them")
            seen[sample.name] = sample.source
            placed, was_linked = _place_image(sample, partial / "images", link)
            linked, copied = linked + was_linked, copied + (not was_linked)
            channels.add(_check_size(sample, placed))
            _check_values(sample, len(conv.class_names), conv.ignore_index)
            _write_mask(partial / "masks" / f"{sample.name}.png", sample.mask, conv.ignore_index)
            values, n = np.unique(sample.mask, return_counts=True)
            for v, c in zip(values.tolist(), n.tolist()):
                counts[v] = counts.get(v, 0) + c
        if not seen:
            raise DataError(f"{display_path(conv.source)}: no images to convert")
        unknown = sorted(set(seen) - {s for names in conv.splits.values() for s in names}) if conv.splits else []
        if conv.splits:
            (partial / "splits").mkdir()
            for split, names in conv.splits.items():
                kept = [n for n in names if n in seen]
                (partial / "splits" / f"{split}.txt").write_text("".join(f"{n}\n" for n in kept))
            if unknown:
                conv.warnings.append(f"{len(unknown)} converted images are in no split file (e.g. {unknown[0]})")
        _write_config(partial, root, conv, 1 if channels == {1} else 3)
        _commit(partial, root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ConvertSummary(root, conv.format, conv.source, len(seen), list(conv.class_names), conv.ignore_index,
                          counts, linked, copied, list(conv.warnings))
