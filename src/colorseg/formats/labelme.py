"""labelme JSON (one file per image) → label masks.

Shapes with an area are painted in file order (a later shape wins where shapes overlap, as labelme
draws them): ``polygon`` (≥ 3 points), ``rectangle`` (2 opposite corners), ``circle`` (centre, then
a point on the circle), ``mask`` (a base64 PNG placed at its first point). ``line``, ``linestrip``,
``point`` and ``points`` have no area: they are skipped with a warning. Geometry is rasterised as in
:mod:`~colorseg.formats.rasterize`.

The image is ``imagePath`` relative to the JSON file (or its file name inside ``images_dir``); when
that file is missing, the base64 ``imageData`` stored in the JSON is written instead. Classes: the
``classes`` given (index order, class 0 first; any other label is an error), else ``background``
plus every label found, sorted by name (``_background_`` / ``background`` labels paint class 0).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from colorseg.data.files import display_path
from colorseg.errors import DataError
from colorseg.formats.annotations import (
    Conversion,
    EmbeddedImage,
    LabelledImage,
    classes_from_labels,
    image_size,
    is_background_name,
    load_json,
    parse_class_names,
    require,
    sample_name,
)
from colorseg.formats.rasterize import box_polygon, check_points, ellipse_polygon, polygons_to_mask

AREA_SHAPES = ("polygon", "rectangle", "circle", "mask")
SKIPPED_SHAPES = ("line", "linestrip", "point", "points")
_SUFFIX = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif"}


def _json_files(src: Path) -> list[Path]:
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise DataError(f"labelme source not found: {display_path(src)} (a .json file or a folder of them)")
    files = sorted(p for p in src.rglob("*.json") if not p.name.startswith("."))
    if not files:
        raise DataError(f"no labelme .json files in {display_path(src)}")
    return files


def _decode_png(text: object, where: str) -> np.ndarray:
    """bool (h, w) from a labelme ``mask`` shape's base64 PNG."""
    if not isinstance(text, str):
        raise DataError(f"{where}: a 'mask' shape needs a base64 PNG in 'mask'")
    try:
        with Image.open(io.BytesIO(base64.b64decode(text, validate=True))) as im:
            return np.asarray(im.convert("L")) > 0
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{where}: 'mask' is not a base64-encoded image ({exc})") from exc


def _shape_mask(shape: dict, height: int, width: int, where: str) -> np.ndarray:
    """bool (H, W) of one area shape (validated by :func:`_check_shape`)."""
    kind, pts = shape.get("shape_type") or "polygon", shape["points"]
    if kind == "polygon":
        return polygons_to_mask([check_points([v for p in pts for v in p], where)], height, width)
    if kind == "rectangle":
        (x0, y0), (x1, y1) = pts
        return polygons_to_mask([box_polygon(x0, y0, x1, y1)], height, width)
    if kind == "circle":
        (cx, cy), (px, py) = pts
        r = math.hypot(px - cx, py - cy)
        return polygons_to_mask([ellipse_polygon(cx, cy, r, r)], height, width)
    patch = _decode_png(shape.get("mask"), where)  # kind == "mask"
    out = np.zeros((height, width), dtype=bool)
    x0, y0 = int(pts[0][0]), int(pts[0][1])
    ys, xs = slice(max(y0, 0), min(y0 + patch.shape[0], height)), slice(max(x0, 0), min(x0 + patch.shape[1], width))
    if ys.stop > ys.start and xs.stop > xs.start:
        out[ys, xs] = patch[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return out


def _check_shape(shape: object, where: str) -> str | None:
    """Validate one shape; returns its label when it has an area, None for a skipped type."""
    label = require(shape, "label", str, where)
    kind = shape.get("shape_type") or "polygon"
    if kind in SKIPPED_SHAPES:
        return None
    if kind not in AREA_SHAPES:
        raise DataError(f"{where}: unknown shape_type {kind!r} (known: {', '.join(AREA_SHAPES + SKIPPED_SHAPES)})")
    if not label.strip():
        raise DataError(f"{where}: empty label")
    pts = require(shape, "points", list, where)
    if not all(isinstance(p, list) and len(p) == 2 for p in pts):
        raise DataError(f"{where}: 'points' must be a list of [x, y] pairs")
    flat = [v for p in pts for v in p]
    if kind == "polygon":
        check_points(flat, where)
    elif len(pts) != 2:
        raise DataError(f"{where}: a {kind} needs exactly 2 points, got {len(pts)}")
    else:
        check_points(flat, where, min_points=2)
    return label


def _image(doc: dict, json_path: Path, images_dir: Path | None, where: str) -> Path | EmbeddedImage:
    """The image file named by ``imagePath`` if it exists, else the embedded ``imageData``."""
    rel = PurePosixPath(require(doc, "imagePath", str, where).replace("\\", "/"))
    path = images_dir / rel.name if images_dir is not None else json_path.parent / rel
    if path.is_file():
        return path
    data = doc.get("imageData")
    if not data:
        raise DataError(f"{where}: image file referenced but missing: {display_path(path)} (and no imageData in "
                        "the JSON); pass --images DIR, the folder that holds the images")
    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw)) as im:
            fmt = im.format
    except (binascii.Error, TypeError, UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{where}: image {display_path(path)} is missing and imageData is not a base64-encoded "
                        f"image ({exc})") from exc
    if fmt not in _SUFFIX:
        raise DataError(f"{where}: imageData is a {fmt} image; colorseg reads PNG, JPEG, BMP, TIFF")
    return EmbeddedImage(raw, _SUFFIX[fmt])


def _size(doc: dict, image: Path | EmbeddedImage, where: str) -> tuple[int, int]:
    if "imageHeight" in doc or "imageWidth" in doc:
        return image_size(doc, where, ("imageHeight", "imageWidth"))
    if isinstance(image, EmbeddedImage):
        with Image.open(io.BytesIO(image.data)) as im:
            return im.size[1], im.size[0]
    from colorseg.formats.layout import probe_image

    return probe_image(image)[:2]


def read_labelme(src: str | Path, images_dir: str | Path | None = None,
                 classes: str | list[str] | None = None) -> Conversion:
    """Read a labelme .json file or a folder of them (recursively) into a :class:`Conversion`.

    Every file is parsed and checked (JSON, keys, shape types, point counts, labels) before anything
    is written. Sample names come from the JSON paths relative to ``src``.
    """
    src = Path(src)
    files = _json_files(src)
    folder = Path(images_dir) if images_dir is not None else None
    labels_by_file: list[tuple[Path, list[tuple[int, str]]]] = []
    skipped = 0
    for f in files:
        where = display_path(f)
        doc = load_json(f)
        shapes = require(doc, "shapes", list, where)
        require(doc, "imagePath", str, where)
        found = [(j, _check_shape(s, f"{where}: shapes[{j}]")) for j, s in enumerate(shapes)]
        skipped += sum(label is None for _, label in found)
        labels_by_file.append((f, [(j, label) for j, label in found if label is not None]))
    if classes is not None:
        names = parse_class_names(classes)
        index = {n: i for i, n in enumerate(names)}
        for f, found in labels_by_file:
            for j, label in found:
                if label not in index and not (is_background_name(label) and is_background_name(names[0])):
                    raise DataError(f"{display_path(f)}: shapes[{j}]: unknown label {label!r} (classes: "
                                    f"{', '.join(names)})")
        index.update({lb: 0 for _, found in labels_by_file for _, lb in found if lb not in index})
    else:
        names, index = classes_from_labels(sorted({lb for _, found in labels_by_file for _, lb in found}))
    warnings = [f"skipped {skipped} line/point shapes (no area) in {display_path(src)}"] if skipped else []
    base = src if src.is_dir() else src.parent

    def samples() -> Iterator[LabelledImage]:
        for f in files:
            where = display_path(f)
            doc = load_json(f)
            image = _image(doc, f, folder, where)
            h, w = _size(doc, image, where)
            mask = np.zeros((h, w), dtype=np.uint16)
            for j, shape in enumerate(doc["shapes"]):
                if (shape.get("shape_type") or "polygon") in AREA_SHAPES:
                    mask[_shape_mask(shape, h, w, f"{where}: shapes[{j}]")] = index[shape["label"]]
            yield LabelledImage(sample_name(f.relative_to(base).as_posix()), image, mask, f)

    return Conversion(src, "labelme", names, samples(), len(files), warnings=warnings)
