"""COCO import (polygons, compressed and uncompressed RLE, crowd, overlaps), export, and the round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg.errors import ConfigError, DataError
from colorseg.formats.coco import export_coco, read_coco
from colorseg.formats.convert import convert
from colorseg.formats.rle import encode_rle
from tests.formats.helpers import coco_doc, coco_image, layout_config, layout_masks, save_image, write_json


@pytest.fixture
def coco_src(tmp_path: Path) -> Path:
    """Two images, categories with gaps in their ids, every segmentation kind, an overlap and a crowd."""
    save_image(tmp_path / "src" / "img" / "a.png", 20, 30)
    save_image(tmp_path / "src" / "img" / "sub" / "b.jpg", 16, 12, seed=1)
    save_image(tmp_path / "src" / "img" / "c.png", 8, 8, seed=2)
    dog = np.zeros((20, 30), dtype=bool)
    dog[4:12, 6:20] = True
    anns = [
        {"image_id": 1, "category_id": 3, "segmentation": [[1, 1, 10, 1, 10, 10, 1, 10]]},  # cat box 1..9
        {"image_id": 1, "category_id": 7, "segmentation": encode_rle(dog)},  # dog, painted over the cat
        {"image_id": 2, "category_id": 3, "segmentation": {"size": [16, 12], "counts": [20, 10, 162]},
         "iscrowd": 1},
    ]
    doc = coco_doc([coco_image(1, "a.png", 20, 30), coco_image(2, "sub/b.jpg", 16, 12), coco_image(3, "c.png", 8, 8)],
                   anns, [(7, "dog"), (3, "cat")])
    return write_json(tmp_path / "src" / "instances.json", doc)


def _expected_a() -> np.ndarray:
    m = np.zeros((20, 30), dtype=np.int64)
    m[1:10, 1:10] = 1
    m[4:12, 6:20] = 2
    return m


def test_read_coco_maps_categories_and_paints_later_annotations_on_top(coco_src: Path) -> None:
    conv = read_coco(coco_src, coco_src.parent / "img")
    assert conv.class_names == ["background", "cat", "dog"]  # sorted by category id: 3 → 1, 7 → 2
    samples = {s.name: s for s in conv.samples}
    assert list(samples) == ["a", "sub__b", "c"]
    np.testing.assert_array_equal(samples["a"].mask, _expected_a())
    crowd = np.zeros((16, 12), dtype=np.int64)
    crowd.T.flat[20:30] = 1  # column-major runs
    np.testing.assert_array_equal(samples["sub__b"].mask, crowd)
    assert not samples["c"].mask.any()  # an image without annotations is all background
    assert samples["sub__b"].image == coco_src.parent / "img" / "sub" / "b.jpg"


def test_crowd_regions_can_be_ignored(coco_src: Path) -> None:
    masks = {s.name: s.mask for s in read_coco(coco_src, coco_src.parent / "img", crowd="ignore").samples}
    assert set(np.unique(masks["sub__b"]).tolist()) == {0, 255}
    with pytest.raises(ConfigError, match="crowd"):
        read_coco(coco_src, crowd="drop")


def test_a_background_category_is_class_zero(tmp_path: Path) -> None:
    doc = coco_doc([coco_image(1, "a.png", 4, 4)], [{"image_id": 1, "category_id": 1, "segmentation": [[0, 0, 4, 0, 4, 4]]}],
                   [(0, "Background"), (1, "cell")])
    conv = read_coco(write_json(tmp_path / "c.json", doc))
    assert conv.class_names == ["background", "cell"]


def test_convert_coco_writes_the_layout(coco_src: Path, tmp_path: Path) -> None:
    summary = convert("coco", coco_src, tmp_path / "out", coco_src.parent / "img", progress=False)
    masks = layout_masks(tmp_path / "out")
    np.testing.assert_array_equal(masks["a"], _expected_a())
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == ["a.png", "c.png", "sub__b.jpg"]
    assert summary.num_images == 3 and summary.pixel_counts[2] == int((_expected_a() == 2).sum())
    cfg = layout_config(tmp_path / "out")
    assert cfg["class_names"] == ["background", "cat", "dog"] and cfg["ignore_index"] == 255


def _roundtrip_masks(tmp_path: Path) -> dict[str, np.ndarray]:
    """Random label masks over 4 classes, with holes and touching regions."""
    rng = np.random.default_rng(3)
    masks = {}
    for i, (h, w) in enumerate([(24, 31), (17, 17), (9, 40)]):
        m = (rng.random((h, w)) * 4).astype(np.uint8)
        m[: h // 2] = 2
        m[1:4, 1:4] = 0
        masks[f"img{i}"] = m
        save_image(tmp_path / "images" / f"img{i}.png", h, w, seed=i)
        (tmp_path / "masks").mkdir(exist_ok=True)
        Image.fromarray(m).save(tmp_path / "masks" / f"img{i}.png")
    masks["img1"][:] = 0  # an image with no foreground: no annotations at all
    Image.fromarray(masks["img1"]).save(tmp_path / "masks" / "img1.png")
    return masks


def test_import_export_import_is_identical(tmp_path: Path) -> None:
    original = _roundtrip_masks(tmp_path)
    counts = export_coco(tmp_path / "masks", tmp_path / "images", "background,a,b,c", tmp_path / "x.json",
                         progress=False)
    assert counts == {"images": 3, "annotations": 3 + 0 + 3, "categories": 3}
    convert("coco", tmp_path / "x.json", tmp_path / "first", tmp_path / "images", progress=False)
    first = layout_masks(tmp_path / "first")
    assert first.keys() == original.keys()
    for name, mask in original.items():
        np.testing.assert_array_equal(first[name], mask)
    assert layout_config(tmp_path / "first")["class_names"] == ["background", "a", "b", "c"]
    # and once more from the imported layout: the second export is the same file
    export_coco(tmp_path / "first" / "masks", tmp_path / "first" / "images", "background,a,b,c",
                tmp_path / "y.json", progress=False)
    convert("coco", tmp_path / "y.json", tmp_path / "second", tmp_path / "first" / "images", progress=False)
    second = layout_masks(tmp_path / "second")
    for name, mask in original.items():
        np.testing.assert_array_equal(second[name], mask)
    assert json.loads((tmp_path / "x.json").read_text())["annotations"] == \
        json.loads((tmp_path / "y.json").read_text())["annotations"]


def test_export_writes_one_rle_annotation_per_class_per_image(tmp_path: Path) -> None:
    _roundtrip_masks(tmp_path)
    export_coco(tmp_path / "masks", tmp_path / "images", ["bg", "a", "b", "c"], tmp_path / "x.json", progress=False)
    doc = json.loads((tmp_path / "x.json").read_text())
    assert [c["id"] for c in doc["categories"]] == [1, 2, 3]  # class 0 is not a category
    assert [c["name"] for c in doc["categories"]] == ["a", "b", "c"]
    assert doc["images"][0] == {"id": 1, "file_name": "img0.png", "width": 31, "height": 24}
    per_image = [(a["image_id"], a["category_id"]) for a in doc["annotations"]]
    assert len(per_image) == len(set(per_image))
    mask = np.asarray(Image.open(tmp_path / "masks" / "img0.png"))
    for ann in (a for a in doc["annotations"] if a["image_id"] == 1):
        assert isinstance(ann["segmentation"]["counts"], str) and ann["iscrowd"] == 0
        region = mask == ann["category_id"]
        assert ann["area"] == int(region.sum())
        ys, xs = np.nonzero(region)
        assert ann["bbox"] == [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
                               float(ys.max() - ys.min() + 1)]


def test_export_reads_predict_output_with_subfolders_and_overlays(tmp_path: Path) -> None:
    save_image(tmp_path / "images" / "x" / "p.jpg", 6, 5)
    (tmp_path / "pred" / "x").mkdir(parents=True)
    Image.fromarray(np.ones((6, 5), dtype=np.uint8)).save(tmp_path / "pred" / "x" / "p.png")
    save_image(tmp_path / "pred" / "x" / "p_overlay.png", 6, 5)  # predict's overlay: not a mask, not read
    export_coco(tmp_path / "pred", tmp_path / "images", "bg,fg", tmp_path / "p.json", progress=False)
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["images"][0]["file_name"] == "x/p.jpg" and doc["annotations"][0]["area"] == 30


@pytest.mark.parametrize("case, message", [
    ("missing", "no mask for image"),
    ("size", "mask is 4x4 but image"),
    ("values", "mask values outside the 3 classes 0..2: 7 (16 px)"),
])
def test_export_errors_name_the_file(tmp_path: Path, case: str, message: str) -> None:
    save_image(tmp_path / "images" / "a.png", 8, 8)
    (tmp_path / "masks").mkdir()
    if case != "missing":
        m = np.zeros((4, 4) if case == "size" else (8, 8), dtype=np.uint8)
        m[:4, :4] = 7 if case == "values" else 0
        Image.fromarray(m).save(tmp_path / "masks" / "a.png")
    with pytest.raises(DataError, match="a.png") as err:
        export_coco(tmp_path / "masks", tmp_path / "images", "bg,a,b", tmp_path / "x.json", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "x.json").exists()


def _malformed(doc: dict, case: str) -> object:
    ann = doc["annotations"][0]
    if case == "bad json":
        return "{not json"
    if case == "not an object":
        return [1, 2]
    if case == "no images":
        del doc["images"]
    elif case == "no annotations":
        del doc["annotations"]
    elif case == "no categories":
        del doc["categories"]
    elif case == "image without file_name":
        del doc["images"][0]["file_name"]
    elif case == "image size not int":
        doc["images"][0]["width"] = "30"
    elif case == "duplicate image id":
        doc["images"].append(dict(doc["images"][0]))
    elif case == "duplicate category id":
        doc["categories"].append({"id": 3, "name": "cow"})
    elif case == "duplicate category name":
        doc["categories"].append({"id": 9, "name": "cat"})
    elif case == "unknown image id":
        ann["image_id"] = 99
    elif case == "unknown category":
        ann["category_id"] = 5
    elif case == "bad iscrowd":
        ann["iscrowd"] = 2
    elif case == "polygon with 2 points":
        ann["segmentation"] = [[1, 1, 5, 1]]
    elif case == "polygon odd coordinates":
        ann["segmentation"] = [[1, 1, 5, 1, 5]]
    elif case == "empty segmentation":
        ann["segmentation"] = []
    elif case == "no segmentation":
        del ann["segmentation"]
    elif case == "rle size mismatch":
        ann["segmentation"] = {"size": [10, 10], "counts": [100]}
    elif case == "rle counts mismatch":
        ann["segmentation"] = {"size": [20, 30], "counts": [100, 3]}
    elif case == "rle bad string":
        ann["segmentation"] = {"size": [20, 30], "counts": "\x7f\x7f"}
    elif case == "image missing":
        doc["images"][0]["file_name"] = "nope.png"
    return doc


MALFORMED = {
    "bad json": "not valid JSON", "not an object": "expected a COCO JSON object", "no images": "missing key 'images'",
    "no annotations": "missing key 'annotations'", "no categories": "missing key 'categories'",
    "image without file_name": "images[0]: missing key 'file_name'", "image size not int": "'width' must be int",
    "duplicate image id": "duplicate image id 1", "duplicate category id": "duplicate category id 3",
    "duplicate category name": "duplicate category names ['cat']",
    "unknown image id": "annotations[0]: image_id 99 is not in 'images'",
    "unknown category": "annotations[0]: category_id 5 is not in 'categories'",
    "bad iscrowd": "'iscrowd' must be 0 or 1", "polygon with 2 points": "polygon 0: polygon with 2 point(s)",
    "polygon odd coordinates": "not a whole number", "empty segmentation": "empty 'segmentation'",
    "no segmentation": "missing key 'segmentation'", "rle size mismatch": "RLE size 10x10",
    "rle counts mismatch": "RLE counts cover 103 pixels", "rle bad string": "invalid character",
    "image missing": "image file referenced but missing",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_coco_gets_a_clear_error_naming_the_file(tmp_path: Path, case: str) -> None:
    save_image(tmp_path / "a.png", 20, 30)
    doc = coco_doc([coco_image(1, "a.png", 20, 30)], [{"image_id": 1, "category_id": 3,
                                                       "segmentation": [[1, 1, 9, 1, 9, 9]]}], [(3, "cat")])
    bad = _malformed(doc, case)
    path = tmp_path / "bad_coco.json"
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    with pytest.raises(DataError, match="bad_coco.json") as err:
        convert("coco", path, tmp_path / "out", progress=False)
    assert MALFORMED[case] in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
