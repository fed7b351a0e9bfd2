"""COCO JSON: read instance/semantic annotations into label masks; write label masks as COCO RLE.

Reading (:func:`read_coco`)
    ``images`` (``id``, ``file_name``, ``width``, ``height``), ``categories`` (``id``, ``name``) and
    ``annotations`` (``image_id``, ``category_id``, ``segmentation``: polygons, or RLE with ``counts``
    compressed (string) or uncompressed (list); ``iscrowd`` 0/1). Categories sorted by id become
    classes 1, 2, … (0 = background: unannotated pixels; a category named ``background`` is class 0).
    **Overlaps:** annotations are painted in file order, so a later annotation wins where two overlap
    (as COCO-Stuff's ``cocoSegmentationToPng`` does). Crowd regions (``iscrowd: 1``) get their
    category, or the ignore index with ``crowd="ignore"``. Every image listed is converted; one
    without annotations is all background. Polygons are rasterised as in
    :mod:`~colorseg.formats.rasterize`.

Writing (:func:`export_coco`)
    Semantic: **one annotation per class present in each image** (class 0, the background, is not
    written), ``segmentation`` compressed RLE (``counts`` a string), ``area`` and ``bbox`` from
    pycocotools, ``iscrowd: 0``, ``category_id`` = the class index. CVAT's COCO 1.0 import reads these
    as masks; reading the file back with :func:`read_coco` gives the same masks, pixel for pixel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from colorseg.data.files import atomic_write, display_path, list_images
from colorseg.data.image_io import read_mask
from colorseg.errors import ConfigError, DataError
from colorseg.formats.annotations import (
    Conversion,
    LabelledImage,
    classes_from_labels,
    ignore_index_for,
    image_size,
    load_json,
    parse_class_names,
    require,
    sample_name,
)
from colorseg.formats.rasterize import check_points, polygons_to_mask
from colorseg.formats.rle import decode_rle, encode_rle, rle_area_bbox

CROWD_MODES = ("class", "ignore")


def _categories(data: dict, where: str) -> tuple[list[str], dict[int, int]]:
    """Class names and category id → class index (sorted by id; ``background`` → 0)."""
    cats = require(data, "categories", list, where)
    by_id: dict[int, str] = {}
    for i, cat in enumerate(cats):
        at = f"{where}: categories[{i}]"
        cid, name = require(cat, "id", int, at), require(cat, "name", str, at)
        if cid in by_id:
            raise DataError(f"{at}: duplicate category id {cid}")
        by_id[cid] = name
    names = [by_id[k] for k in sorted(by_id)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"{where}: duplicate category names {dupes}; class names must be unique")
    class_names, index = classes_from_labels(names)
    return class_names, {cid: index[name] for cid, name in by_id.items()}


def _segmentation_mask(ann: dict, height: int, width: int, where: str) -> np.ndarray:
    """bool (H, W) of one annotation's ``segmentation`` (polygons or RLE)."""
    seg = require(ann, "segmentation", (list, dict), where)
    if isinstance(seg, dict):
        return decode_rle(seg, height, width, where)
    if not seg:
        raise DataError(f"{where}: empty 'segmentation' (a detection-only annotation has no mask)")
    polygons = [check_points(p, f"{where}: polygon {j}") for j, p in enumerate(seg)]
    return polygons_to_mask(polygons, height, width)


def read_coco(path: str | Path, images_dir: str | Path | None = None, crowd: str = "class") -> Conversion:
    """Read a COCO JSON file (see module docstring) into a :class:`Conversion`.

    Args:
        path: the JSON file.
        images_dir: folder that ``file_name`` is relative to (default: the JSON file's folder).
        crowd: ``"class"`` paints crowd regions with their category, ``"ignore"`` with the ignore index.

    Structure (keys, types, ids, categories, duplicate images) is checked here, before anything is
    written; each annotation's geometry is checked when its image is converted. Errors name the file,
    the annotation (list position and id) and the image.
    """
    if crowd not in CROWD_MODES:
        raise ConfigError(f"crowd must be one of {', '.join(CROWD_MODES)}, got {crowd!r}")
    path = Path(path)
    where = display_path(path)
    data = load_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{where}: expected a COCO JSON object with 'images', 'annotations', 'categories'")
    class_names, cat_index = _categories(data, where)
    folder = Path(images_dir) if images_dir is not None else path.parent
    images = require(data, "images", list, where)
    anns = require(data, "annotations", list, where)
    by_id: dict[int, dict] = {}
    for i, img in enumerate(images):
        at = f"{where}: images[{i}]"
        iid = require(img, "id", int, at)
        require(img, "file_name", str, at)
        image_size(img, at)
        if iid in by_id:
            raise DataError(f"{at}: duplicate image id {iid}")
        by_id[iid] = img
    per_image: dict[int, list[tuple[int, dict]]] = {iid: [] for iid in by_id}
    for i, ann in enumerate(anns):
        at = f"{where}: annotations[{i}]"
        iid = require(ann, "image_id", int, at)
        cid = require(ann, "category_id", int, at)
        if iid not in by_id:
            raise DataError(f"{at}: image_id {iid} is not in 'images'")
        if cid not in cat_index:
            raise DataError(f"{at}: category_id {cid} is not in 'categories' (known ids: {sorted(cat_index)})")
        if ann.get("iscrowd", 0) not in (0, 1):
            raise DataError(f"{at}: 'iscrowd' must be 0 or 1, got {ann.get('iscrowd')!r}")
        per_image[iid].append((i, ann))
    ignore = ignore_index_for(len(class_names))

    def samples() -> Iterator[LabelledImage]:
        for iid, img in by_id.items():
            h, w = img["height"], img["width"]
            mask = np.zeros((h, w), dtype=np.uint16)
            for i, ann in per_image[iid]:
                at = f"{where}: annotation {i} (id {ann.get('id', '?')}, image {img['file_name']})"
                value = ignore if crowd == "ignore" and ann.get("iscrowd", 0) == 1 else cat_index[ann["category_id"]]
                mask[_segmentation_mask(ann, h, w, at)] = value
            rel = img["file_name"].replace("\\", "/")  # Windows-made files
            yield LabelledImage(sample_name(rel), folder / rel, mask, path)

    return Conversion(path, "coco", class_names, samples(), len(by_id))


def _mask_for(image: Path, images_dir: Path, mask_dir: Path) -> Path:
    rel = image.relative_to(images_dir)
    return mask_dir / rel.parent / f"{rel.stem}.png"


def export_coco(mask_dir: str | Path, images_dir: str | Path, classes: str | list[str], output: str | Path,
                progress: bool = True) -> dict:
    """Write label masks as a COCO JSON file of RLE annotations (see module docstring).

    Args:
        mask_dir: label PNGs (class indices), ``MASK_DIR/<rel>/<stem>.png`` for each image
            ``IMAGES/<rel>/<stem>.<ext>`` — what ``colorseg segment predict`` writes (its
            ``*_overlay.png`` files are not read), or a ``folder`` layout's ``masks/``.
        images_dir: the images (searched recursively); ``file_name`` is the path relative to it.
        classes: all class names in index order, class 0 first (``"background,cat,dog"``);
            categories are classes 1…K-1 with ``id`` = class index.
        output: the JSON file to write (atomically).

    Returns counts: ``{"images": N, "annotations": M, "categories": K-1}``. Raises DataError naming
    the mask for a missing mask, a size other than its image's, or values outside 0…K-1.
    """
    from tqdm import tqdm

    from colorseg.formats.layout import probe_image

    names = parse_class_names(classes)
    images_dir, mask_dir = Path(images_dir), Path(mask_dir)
    if not mask_dir.is_dir():
        raise DataError(f"mask folder not found: {display_path(mask_dir)}")
    files = list_images(images_dir, recursive=True)
    out_images, out_anns = [], []
    for image_id, image in enumerate(tqdm(files, desc="export-coco", unit="img", disable=not progress), 1):
        mask_path = _mask_for(image, images_dir, mask_dir)
        if not mask_path.is_file():
            raise DataError(f"no mask for image {display_path(image)}: expected {display_path(mask_path)}")
        mask = read_mask(mask_path)
        h, w, _ = probe_image(image)
        if mask.shape != (h, w):
            raise DataError(f"{display_path(mask_path)}: mask is {mask.shape[1]}x{mask.shape[0]} but image "
                            f"{display_path(image)} is {w}x{h}")
        values, counts = np.unique(mask, return_counts=True)
        bad = [(int(v), int(c)) for v, c in zip(values, counts) if not 0 <= v < len(names)]
        if bad:
            raise DataError(f"{display_path(mask_path)}: mask values outside the {len(names)} classes 0..{len(names) - 1}: "
                            + ", ".join(f"{v} ({c} px)" for v, c in bad[:10]))
        out_images.append({"id": image_id, "file_name": image.relative_to(images_dir).as_posix(),
                           "width": w, "height": h})
        for value in values.tolist():
            if value == 0:
                continue
            rle = encode_rle(mask == value)
            area, bbox = rle_area_bbox(rle)
            out_anns.append({"id": len(out_anns) + 1, "image_id": image_id, "category_id": int(value),
                             "segmentation": rle, "area": area, "bbox": bbox, "iscrowd": 0})
    categories = [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(names) if i > 0]
    doc = {"info": {"description": "colorseg label masks", "version": "1.0"}, "licenses": [],
           "images": out_images, "annotations": out_anns, "categories": categories}

    def write(tmp: Path) -> None:
        import json

        tmp.write_text(json.dumps(doc), encoding="utf-8")

    atomic_write(output, write)
    return {"images": len(out_images), "annotations": len(out_anns), "categories": len(categories)}
