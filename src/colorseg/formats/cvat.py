"""CVAT for images 1.1 XML (``annotations.xml``) → label masks.

Classes: ``background`` plus the ``<label>`` names under ``<meta>`` (task, job or project
export), in their order (a label named ``background`` is class 0); label colours (``<color>``)
become the class colours when every label has one. Per ``<image name width height>``:

* ``<polygon points="x,y;x,y;…">`` (≥ 3 points), ``<box xtl ytl xbr ybr [rotation]>``,
  ``<ellipse cx cy rx ry [rotation]>``: rasterised as in :mod:`~colorseg.formats.rasterize`;
* ``<mask rle left top width height>``: CVAT's own RLE, run lengths over the ``width × height``
  box in row-major order, starting with a run of background;
* ``<polyline>``, ``<points>``, ``<cuboid>``, ``<skeleton>``, ``<tag>``: no area, skipped with a warning.

Overlaps: shapes are painted by ``z_order`` (CVAT's stacking), then document order, so the shape
drawn on top in CVAT wins. ``<track>`` elements (CVAT *for video*) are refused. Images are looked
up in ``images_dir``, else in ``images/`` next to the XML (CVAT's export zip), else next to it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from colorseg.data.files import display_path
from colorseg.errors import DataError
from colorseg.formats.annotations import Conversion, LabelledImage, classes_from_labels, sample_name
from colorseg.formats.rasterize import box_polygon, check_points, ellipse_polygon, polygons_to_mask

AREA_SHAPES = ("polygon", "box", "ellipse", "mask")
SKIPPED_SHAPES = ("polyline", "points", "cuboid", "skeleton", "tag")


def _number(el: ET.Element, key: str, where: str, kind: type = float, default: float | None = None) -> float:
    value = el.get(key)
    if value is None:
        if default is not None:
            return default
        raise DataError(f"{where}: missing attribute {key!r}")
    try:
        return kind(value)
    except ValueError as exc:
        raise DataError(f"{where}: attribute {key}={value!r} is not a{'n integer' if kind is int else ' number'}") from exc


def _points(text: str | None, where: str) -> list[float]:
    if not text:
        raise DataError(f"{where}: missing attribute 'points'")
    try:
        flat = [float(v) for pair in text.strip().split(";") for v in pair.split(",")]
    except ValueError as exc:
        raise DataError(f"{where}: 'points' must look like 'x,y;x,y;…', got {text[:60]!r}") from exc
    return check_points(flat, where)


def _color(text: str | None) -> tuple[int, int, int] | None:
    text = (text or "").strip().lstrip("#")
    if len(text) != 6:
        return None
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return None


def _labels(root: ET.Element, where: str) -> tuple[list[str], dict[str, int], list[tuple[int, int, int]] | None]:
    meta = root.find("meta")
    found = meta.findall(".//labels/label") if meta is not None else []
    if not found:
        raise DataError(f"{where}: no <labels> in <meta>; export the task as 'CVAT for images 1.1'")
    names, colors = [], []
    for el in found:
        name = (el.findtext("name") or "").strip()
        if not name:
            raise DataError(f"{where}: a <label> in <meta> has no <name>")
        if name in names:
            raise DataError(f"{where}: duplicate label {name!r} in <meta>")
        names.append(name)
        colors.append(_color(el.findtext("color")))
    class_names, index = classes_from_labels(names)
    class_colors = None
    if all(colors):
        by_name = dict(zip(names, colors))
        class_colors = [by_name.get(n, (0, 0, 0)) for n in class_names]
    return class_names, index, class_colors


def _mask_rle(el: ET.Element, height: int, width: int, where: str) -> np.ndarray:
    """bool (H, W) of a CVAT ``<mask>``: row-major runs over its box, background first."""
    left, top = _number(el, "left", where, int), _number(el, "top", where, int)
    w, h = _number(el, "width", where, int), _number(el, "height", where, int)
    try:
        runs = [int(v) for v in (el.get("rle") or "").split(",")]
    except ValueError as exc:
        raise DataError(f"{where}: 'rle' must be comma-separated integers") from exc
    if w <= 0 or h <= 0 or any(v < 0 for v in runs):
        raise DataError(f"{where}: mask box {w}x{h} and run lengths must be positive")
    if sum(runs) != w * h:
        raise DataError(f"{where}: mask rle covers {sum(runs)} pixels but its box is {w}x{h} = {w * h} "
                        "(RLE size mismatch)")
    if left < 0 or top < 0 or left + w > width or top + h > height:
        raise DataError(f"{where}: mask box {w}x{h} at ({left}, {top}) lies outside the {width}x{height} image")
    patch = np.repeat((np.arange(len(runs)) % 2).astype(bool), runs).reshape(h, w)
    out = np.zeros((height, width), dtype=bool)
    out[top:top + h, left:left + w] = patch
    return out


def _shape_mask(el: ET.Element, height: int, width: int, where: str) -> np.ndarray:
    if el.tag == "polygon":
        return polygons_to_mask([_points(el.get("points"), where)], height, width)
    if el.tag == "box":
        x0, y0, x1, y1 = (_number(el, k, where) for k in ("xtl", "ytl", "xbr", "ybr"))
        poly = box_polygon(x0, y0, x1, y1, _number(el, "rotation", where, default=0.0))
        return polygons_to_mask([check_points(poly, where)], height, width)
    if el.tag == "ellipse":
        cx, cy, rx, ry = (_number(el, k, where) for k in ("cx", "cy", "rx", "ry"))
        poly = ellipse_polygon(cx, cy, rx, ry, _number(el, "rotation", where, default=0.0))
        return polygons_to_mask([check_points(poly, where)], height, width)
    return _mask_rle(el, height, width, where)


def _image_folder(path: Path, images_dir: Path | None) -> Path:
    if images_dir is not None:
        return images_dir
    return path.parent / "images" if (path.parent / "images").is_dir() else path.parent


def read_cvat(path: str | Path, images_dir: str | Path | None = None) -> Conversion:
    """Read a CVAT for images 1.1 XML file (see module docstring) into a :class:`Conversion`.

    The XML, the labels and every shape's label and attributes are checked before anything is written.
    """
    path = Path(path)
    where = display_path(path)
    if not path.is_file():
        raise DataError(f"annotation file not found: {where}")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise DataError(f"{where}: not valid XML: {exc}") from exc
    if root.tag != "annotations":
        raise DataError(f"{where}: root element is <{root.tag}>, expected <annotations> (CVAT for images 1.1)")
    if root.find("track") is not None:
        raise DataError(f"{where}: has <track> elements (CVAT for video); export as 'CVAT for images 1.1'")
    class_names, index, class_colors = _labels(root, where)
    folder = _image_folder(path, Path(images_dir) if images_dir is not None else None)
    images, skipped = [], 0
    for k, img in enumerate(root.findall("image")):
        at = f"{where}: <image> {k} ({img.get('name', '?')})"
        if not img.get("name"):
            raise DataError(f"{at}: missing attribute 'name'")
        h, w = _number(img, "height", at, int), _number(img, "width", at, int)
        if h <= 0 or w <= 0:
            raise DataError(f"{at}: image size must be positive, got width={w}, height={h}")
        shapes = []
        for order, el in enumerate(img):
            if el.tag in SKIPPED_SHAPES:
                skipped += 1
                continue
            if el.tag not in AREA_SHAPES:
                continue  # attributes and other non-shape children
            s_at = f"{at}: <{el.tag}> {order}"
            label = el.get("label")
            if label not in index:
                raise DataError(f"{s_at}: unknown label {label!r} (labels in <meta>: {', '.join(class_names[1:])})")
            shapes.append((_number(el, "z_order", s_at, int, default=0), order, el, s_at))
        images.append((img.get("name"), h, w, sorted(shapes, key=lambda s: (s[0], s[1]))))
    warnings = [f"skipped {skipped} polyline/points/cuboid/skeleton/tag annotations (no area) in {where}"] \
        if skipped else []

    def samples() -> Iterator[LabelledImage]:
        for name, h, w, shapes in images:
            mask = np.zeros((h, w), dtype=np.uint16)
            for _, _, el, s_at in shapes:
                mask[_shape_mask(el, h, w, s_at)] = index[el.get("label")]
            yield LabelledImage(sample_name(name), folder / name, mask, path)

    return Conversion(path, "cvat", class_names, samples(), len(images), class_colors=class_colors,
                      warnings=warnings)
