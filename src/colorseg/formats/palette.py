"""Mask-image formats: Pascal VOC index PNGs, RGB colour-coded masks with a palette, 0/255 binary masks.

All three read a folder of masks (``SRC/<stem>[suffix].png``) paired by stem with the images in
``images_dir`` (:func:`colorseg.data.pairing.pair_by_stem`, the loaders' pairing; ``mask_suffix``
strips e.g. CamVid's ``_L`` from mask names). Images without a mask are skipped (VOC's
``JPEGImages`` holds more images than ``SegmentationClass``); a mask without an image, or two
images or masks with one name, is an error.

* **voc**: palette (P-mode) or gray PNGs whose stored values are the class indices, kept as they
  are; 255 (VOC's object boundaries) is the ignore index. Classes: ``classes``, else a CVAT/Datumaro
  ``labelmap.txt`` next to the masks or one folder up, else VOC's 21 classes. Splits from
  ``ImageSets/Segmentation/{train,val,test}.txt`` one folder up are kept.
* **rgb**: colour masks; each colour of the palette file is a class, in file order (class 0 first;
  several colours may share a name and so a class). A colour not in the palette is an error that
  lists the colours with their pixel counts, or becomes the ignore index with ``unknown="ignore"``;
  palette entries named in ``ignore_names`` map to the ignore index.
* **binary**: 0/255 masks → 0/1 (1-bit PNGs as they are); any other value is an error naming the
  values, unless ``threshold`` is set (value ≥ threshold → 1), for JPEG-compressed masks.

Palette files (:func:`read_palette`): ``voc`` (built in); JSON ``{"name": [r, g, b], …}`` or
``[{"name": …, "color": [r, g, b]}, …]``; or text lines ``R G B name`` (CamVid's
``label_colors.txt``), ``name,r,g,b`` / ``r,g,b,name`` (CSV, a header line is skipped), or
``name:r,g,b::`` (CVAT/Datumaro ``labelmap.txt``); ``#`` starts a comment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from colorseg.data.files import IMAGE_EXTENSIONS, display_path
from colorseg.data.image_io import image_mode, pack_rgb, read_mask, unpack_rgb
from colorseg.data.pairing import (
    AMBIGUOUS_STEM,
    BROKEN_LINK,
    IMAGE_WITHOUT_MASK,
    MASK_WITHOUT_IMAGE,
    MISSING_FOLDER,
    NO_IMAGES,
    pair_by_stem,
)
from colorseg.errors import ConfigError, DataError
from colorseg.formats.annotations import Conversion, LabelledImage, load_json, parse_class_names, sample_name

VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor"]
UNKNOWN_MODES = ("error", "ignore")

Color = tuple[int, int, int]


def voc_colormap(n: int = 256) -> list[Color]:
    """Pascal VOC's palette: colour of index i from the bits of i (``bitget`` construction)."""
    colors = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        colors.append((r, g, b))
    return colors


def _describe(values: np.ndarray, counts: np.ndarray, limit: int = 10) -> str:
    order = np.argsort(-counts, kind="stable")
    parts = [f"{values[i].tolist()}: {int(counts[i]):,} px" for i in order[:limit]]
    return ", ".join(parts) + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _color_tokens(tokens: list[str]) -> tuple[Color, str] | None:
    """(colour, name) from ``R G B name…`` or ``name… R G B`` tokens, else None."""
    def ints(t: list[str]) -> Color | None:
        try:
            return tuple(int(v) for v in t)  # type: ignore[return-value]
        except ValueError:
            return None

    if len(tokens) >= 4 and (rgb := ints(tokens[:3])):
        return rgb, " ".join(tokens[3:]).strip()
    if len(tokens) >= 4 and (rgb := ints(tokens[-3:])):
        return rgb, " ".join(tokens[:-3]).strip()
    return None


def _text_palette(path: Path) -> list[tuple[str, Color]]:
    entries: list[tuple[str, Color]] = []
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    first = True
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        at = f"{display_path(path)} line {n}"
        if ":" in line:  # CVAT / Datumaro labelmap: name:r,g,b:parts:actions
            name, _, rest = line.partition(":")
            parsed = _color_tokens(rest.split(":", 1)[0].split(",") + [name])
            parsed = (parsed[0], name.strip()) if parsed else None
        else:
            parsed = _color_tokens([t.strip() for t in line.split(",")] if "," in line else line.split())
        if parsed is None:
            if first and not any(ch.isdigit() for ch in line):  # a header such as "name,r,g,b"
                first = False
                continue
            raise DataError(f"{at}: expected 'R G B name', 'name,r,g,b' or 'name:r,g,b::', got {raw.strip()!r}")
        first = False
        entries.append((parsed[1], parsed[0]))
    return entries


def _json_palette(path: Path) -> list[tuple[str, Color]]:
    data = load_json(path)
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list) and all(isinstance(e, dict) for e in data):
        items = [(e.get("name"), e.get("color")) for e in data]
    else:
        raise DataError(f"{display_path(path)}: expected {{\"name\": [r, g, b], ...}} or "
                        "[{\"name\": ..., \"color\": [r, g, b]}, ...]")
    out = []
    for name, color in items:
        if not isinstance(name, str) or not isinstance(color, list) or len(color) != 3 \
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in color):
            raise DataError(f"{display_path(path)}: entry {name!r}: expected a name and [r, g, b] integers, got {color!r}")
        out.append((name, tuple(color)))
    return out


def read_palette(palette: str | Path) -> list[tuple[str, Color]]:
    """``[(name, (r, g, b)), …]`` in class order from a palette file or ``"voc"`` (see module docstring).

    Raises DataError naming the file (and line) for a malformed entry, a value outside 0..255, an
    empty name, a duplicate colour, or fewer than 2 entries.
    """
    if str(palette).lower() == "voc":
        return list(zip(VOC_CLASSES, voc_colormap(len(VOC_CLASSES))))
    path = Path(palette)
    if not path.is_file():
        raise DataError(f"palette file not found: {display_path(path)}")
    entries = _json_palette(path) if path.suffix.lower() == ".json" else _text_palette(path)
    seen: dict[Color, str] = {}
    for name, color in entries:
        if not name:
            raise DataError(f"{display_path(path)}: colour {color} has no name")
        if not all(0 <= v <= 255 for v in color):
            raise DataError(f"{display_path(path)}: colour {color} of {name!r} is outside 0..255")
        if color in seen:
            raise DataError(f"{display_path(path)}: colour {color} is given twice ({seen[color]!r} and {name!r})")
        seen[color] = name
    if len({n for n, _ in entries}) < 2:
        raise DataError(f"{display_path(path)}: a palette needs at least 2 classes, found {len(entries)} entries")
    return entries


def _pairs(masks_dir: Path, images_dir: Path, mask_suffix: str) -> tuple[list[tuple[Path, Path]], int]:
    """(mask, image) pairs by stem (:func:`~colorseg.data.pairing.pair_by_stem`), and the number of
    images without a mask (skipped); any other pairing problem is an error naming the file."""
    pairing = pair_by_stem(images_dir, masks_dir, mask_suffix)
    pairing.raise_first([MISSING_FOLDER, BROKEN_LINK, NO_IMAGES])
    if not any(f.mask is not None for f in pairing.files):
        raise DataError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder: {display_path(masks_dir)}")
    hint = "" if mask_suffix else "if mask names carry a suffix such as _L, pass --mask-suffix"
    pairing.raise_first([AMBIGUOUS_STEM, MASK_WITHOUT_IMAGE], advice={MASK_WITHOUT_IMAGE: hint} if hint else None)
    unmatched = sum(p.kind == IMAGE_WITHOUT_MASK for p in pairing.problems)
    return [(f.mask, f.image) for f in pairing.pairs], unmatched


def _folder_conversion(fmt: str, src: Path, images_dir: Path | None, mask_suffix: str, names: list[str],
                       read, colors: list[Color] | None = None) -> Conversion:
    if images_dir is None:
        raise ConfigError(f"--from {fmt} needs --images DIR, the folder of the images the masks belong to")
    pairs, unmatched = _pairs(src, images_dir, mask_suffix)
    warnings = [f"{unmatched} images in {display_path(images_dir)} have no mask and were skipped"] if unmatched else []

    def samples() -> Iterator[LabelledImage]:
        for m, img in pairs:
            yield LabelledImage(sample_name(img.name), img, read(m), m)

    return Conversion(src, fmt, names, samples(), len(pairs), class_colors=colors, warnings=warnings)


def _labelmap(src: Path) -> Path | None:
    for folder in (src, src.parent):
        if (folder / "labelmap.txt").is_file():
            return folder / "labelmap.txt"
    return None


def read_voc(src: str | Path, images_dir: str | Path | None = None, classes: str | list[str] | None = None,
             mask_suffix: str = "") -> Conversion:
    """Pascal VOC-style index masks (see module docstring); ``images_dir`` defaults to ``../JPEGImages``."""
    src = Path(src)
    if images_dir is None and (src.parent / "JPEGImages").is_dir():
        images_dir = src.parent / "JPEGImages"
    colors: list[Color] | None
    if classes is not None:
        names, colors = parse_class_names(classes), None
    elif (labelmap := _labelmap(src)) is not None:
        entries = read_palette(labelmap)
        names, colors = [n for n, _ in entries], [c for _, c in entries]
    else:
        names, colors = list(VOC_CLASSES), voc_colormap(len(VOC_CLASSES))
    if len(names) > 255:
        raise ConfigError(f"VOC masks are 8-bit: at most 255 classes, got {len(names)}")
    if colors is None:  # the masks' own palette is VOC's
        colors = voc_colormap(len(names))

    def read(path: Path) -> np.ndarray:
        try:
            mask = read_mask(path)
        except DataError as exc:
            if "colour (RGB)" in str(exc):
                raise DataError(f"{display_path(path)}: an RGB colour mask, not class indices; use --from rgb "
                                "--palette voc (or your palette file)") from exc
            raise
        values, counts = np.unique(mask, return_counts=True)
        bad = (values >= len(names)) & (values != 255)
        if bad.any():
            raise DataError(f"{display_path(path)}: mask values outside the {len(names)} classes 0..{len(names) - 1} "
                            f"(255 = ignore): {_describe(values[bad], counts[bad])}")
        return mask.astype(np.uint16)

    conv = _folder_conversion("voc", src, Path(images_dir) if images_dir else None, mask_suffix, names, read, colors)
    split_dir = src.parent / "ImageSets" / "Segmentation"
    for split in ("train", "val", "test"):
        if (split_dir / f"{split}.txt").is_file():
            conv.splits[split] = [ln.strip() for ln in (split_dir / f"{split}.txt").read_text().splitlines()
                                  if ln.strip()]
    return conv


def read_rgb(src: str | Path, images_dir: str | Path | None, palette: str | Path, unknown: str = "error",
             ignore_names: list[str] | None = None, mask_suffix: str = "") -> Conversion:
    """RGB colour-coded masks with a palette (see module docstring)."""
    if unknown not in UNKNOWN_MODES:
        raise ConfigError(f"unknown colours: choose one of {', '.join(UNKNOWN_MODES)}, got {unknown!r}")
    entries = read_palette(palette)
    ignore_names = list(ignore_names or [])
    missing = [n for n in ignore_names if n not in {name for name, _ in entries}]
    if missing:
        raise ConfigError(f"--ignore-names {missing} are not in the palette {palette} "
                          f"({', '.join(dict.fromkeys(n for n, _ in entries))})")
    names: list[str] = []
    colors: list[Color] = []
    for name, color in entries:
        if name not in ignore_names and name not in names:
            names.append(name)
            colors.append(color)
    if len(names) < 2:
        raise ConfigError(f"palette {palette}: fewer than 2 classes remain after --ignore-names")
    ignore = 255 if len(names) <= 255 else 65535
    lut = {int(pack_rgb(np.array(c))): (ignore if n in ignore_names else names.index(n)) for n, c in entries}

    def read(path: Path) -> np.ndarray:
        try:
            with Image.open(path) as im:
                if im.mode not in ("RGB", "RGBA", "P"):
                    raise DataError(f"{display_path(path)}: mode {im.mode} is not a colour mask; for class-index "
                                    "masks use --from voc (or --from binary for 0/255 masks)")
                packed = pack_rgb(np.asarray(im.convert("RGB")))
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"cannot read mask {display_path(path)}: {exc}") from exc
        values, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
        mapped = np.array([lut.get(int(v), -1) for v in values], dtype=np.int64)
        if (mapped < 0).any():
            if unknown == "error":
                bad = values[mapped < 0]
                rgbs = np.array([unpack_rgb(v) for v in bad])
                raise DataError(f"{display_path(path)}: {len(bad)} colour(s) not in the palette {palette}: "
                                f"{_describe(rgbs, counts[mapped < 0])} (pass --unknown-colors ignore to map them "
                                f"to the ignore index {ignore})")
            mapped[mapped < 0] = ignore
        return mapped[inverse.reshape(packed.shape)].astype(np.uint16)

    return _folder_conversion("rgb", Path(src), Path(images_dir) if images_dir else None, mask_suffix, names, read,
                              colors)


def read_binary(src: str | Path, images_dir: str | Path | None, classes: str | list[str] | None = None,
                threshold: int | None = None, mask_suffix: str = "") -> Conversion:
    """0/255 binary masks → 0/1 (see module docstring); ``classes`` default ``background,foreground``."""
    names = parse_class_names(classes if classes is not None else "background,foreground")
    if len(names) != 2:
        raise ConfigError(f"binary masks have 2 classes; --classes gave {len(names)}: {names}")
    if threshold is not None and not 1 <= threshold <= 65535:
        raise ConfigError(f"--threshold must be 1..65535, got {threshold}")

    def read(path: Path) -> np.ndarray:
        mask = read_mask(path)
        if image_mode(path) == "1":
            return mask.astype(np.uint16)
        if threshold is not None:
            return (mask >= threshold).astype(np.uint16)
        values, counts = np.unique(mask, return_counts=True)
        bad = (values != 0) & (values != 255)
        if bad.any():
            raise DataError(f"{display_path(path)}: a binary mask holds only 0 and 255, found "
                            f"{_describe(values[bad], counts[bad])}; for JPEG-compressed masks pass --threshold 128, "
                            "for 0/1 index masks use --from voc --classes background,foreground")
        return (mask == 255).astype(np.uint16)

    return _folder_conversion("binary", Path(src), Path(images_dir) if images_dir else None, mask_suffix, names,
                              read)
