"""labelme JSON: polygon, rectangle, circle and mask shapes; imagePath or imageData; labels → classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colorseg.errors import ConfigError, DataError
from colorseg.formats.convert import convert
from colorseg.formats.labelme import read_labelme
from colorseg.formats.rasterize import box_polygon, ellipse_polygon, polygons_to_mask
from tests.formats.helpers import layout_masks, png_b64, save_image, write_json


def _shape(label: str, kind: str, points: list, **extra) -> dict:
    return {"label": label, "shape_type": kind, "points": points, "group_id": None, "flags": {}, **extra}


def _doc(image_path: str, shapes: list, h: int = 20, w: int = 24, image_data: str | None = None) -> dict:
    return {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": image_data,
            "imageHeight": h, "imageWidth": w}


@pytest.fixture
def labelme_dir(tmp_path: Path) -> Path:
    src = tmp_path / "lm"
    save_image(src / "one.png", 20, 24)
    patch = np.zeros((3, 4), dtype=np.uint8)
    patch[1:, 1:] = 255
    write_json(src / "one.json", _doc("one.png", [
        _shape("road", "polygon", [[0, 0], [12, 0], [12, 10], [0, 10]]),
        _shape("car", "rectangle", [[10, 8], [4, 2]]),  # corners in any order; painted over the road
        _shape("tree", "circle", [[18, 14], [18, 18]]),
        _shape("car", "mask", [[20, 2], [23, 4]], mask=png_b64(patch)),
        _shape("road", "line", [[0, 19], [23, 19]]),  # no area: skipped
    ]))
    # the image only inside the JSON (imageData), in a subfolder
    embedded = np.full((10, 12, 3), 7, dtype=np.uint8)
    write_json(src / "sub" / "two.json", _doc("../elsewhere/two.png", [_shape("_background_", "polygon",
                                                                              [[0, 0], [5, 0], [5, 5]])],
                                              h=10, w=12, image_data=png_b64(embedded)))
    return src


def test_read_labelme_shapes_and_classes(labelme_dir: Path) -> None:
    conv = read_labelme(labelme_dir)
    assert conv.class_names == ["background", "car", "road", "tree"]  # found labels, sorted; _background_ → 0
    assert conv.count == 2 and conv.warnings == [f"skipped 1 line/point shapes (no area) in {labelme_dir}"]
    samples = {s.name: s for s in conv.samples}
    assert list(samples) == ["one", "sub__two"]
    m = samples["one"].mask
    expected = np.zeros((20, 24), dtype=np.uint16)
    expected[0:10, 0:12] = 2
    expected[polygons_to_mask([box_polygon(4, 2, 10, 8)], 20, 24)] = 1
    expected[polygons_to_mask([ellipse_polygon(18, 14, 4, 4)], 20, 24)] = 3
    expected[3:5, 21:24] = 1  # the mask patch's set pixels, placed at (20, 2)
    np.testing.assert_array_equal(m, expected)
    assert not samples["sub__two"].mask.any()


def test_missing_image_file_uses_image_data(labelme_dir: Path, tmp_path: Path) -> None:
    convert("labelme", labelme_dir, tmp_path / "out", progress=False)
    assert (tmp_path / "out" / "images" / "sub__two.png").read_bytes()
    from colorseg.data.image_io import read_image

    np.testing.assert_allclose(read_image(tmp_path / "out" / "images" / "sub__two.png"), 7 / 255)
    assert set(layout_masks(tmp_path / "out")) == {"one", "sub__two"}


def test_given_classes_set_the_order_and_refuse_unknown_labels(labelme_dir: Path) -> None:
    conv = read_labelme(labelme_dir, classes="background,tree,road,car")
    masks = {s.name: s.mask for s in conv.samples}
    assert masks["one"][0, 0] == 2 and masks["one"][14, 18] == 1
    with pytest.raises(DataError, match=r"one.json: shapes\[2\]: unknown label 'tree'"):
        read_labelme(labelme_dir, classes="background,road,car")
    with pytest.raises(ConfigError, match="duplicate class names"):
        read_labelme(labelme_dir, classes="background,road,road")


def test_images_dir_overrides_the_image_path(tmp_path: Path) -> None:
    save_image(tmp_path / "pics" / "x.png", 6, 6)
    write_json(tmp_path / "ann" / "x.json", _doc("C:\\labels\\x.png", [_shape("a", "polygon", [[0, 0], [6, 0], [6, 6]])],
                                                  h=6, w=6))
    conv = read_labelme(tmp_path / "ann" / "x.json", images_dir=tmp_path / "pics")
    assert next(conv.samples).image == tmp_path / "pics" / "x.png"


TRIANGLE = _shape("a", "polygon", [[0, 0], [4, 0], [4, 4]])
MALFORMED = {
    "bad json": ("{oops", "not valid JSON"),
    "no shapes": ({"imagePath": "a.png"}, "missing key 'shapes'"),
    "no imagePath": ({"shapes": []}, "missing key 'imagePath'"),
    "polygon with 2 points": (_doc("a.png", [_shape("a", "polygon", [[0, 0], [1, 1]])]),
                              "shapes[0]: polygon with 2 point(s)"),
    "rectangle with 3 points": (_doc("a.png", [_shape("a", "rectangle", [[0, 0], [1, 1], [2, 2]])]),
                                "a rectangle needs exactly 2 points, got 3"),
    "circle with 1 point": (_doc("a.png", [_shape("a", "circle", [[0, 0]])]), "a circle needs exactly 2 points"),
    "unknown shape type": (_doc("a.png", [_shape("a", "cuboid", [[0, 0], [1, 1]])]), "unknown shape_type 'cuboid'"),
    "points not pairs": (_doc("a.png", [_shape("a", "polygon", [[0, 0, 1], [1, 1], [2, 2]])]),
                         "list of [x, y] pairs"),
    "empty label": (_doc("a.png", [_shape(" ", "polygon", [[0, 0], [1, 1], [2, 0]])]), "empty label"),
    "label not a string": (_doc("a.png", [_shape(3, "polygon", [[0, 0], [1, 1], [2, 0]])]), "'label' must be str"),
    "image missing, no imageData": (_doc("gone.png", [TRIANGLE]), "image file referenced but missing"),
    "bad imageData": (_doc("gone.png", [TRIANGLE], image_data="###"), "imageData is not a base64-encoded image"),
    "bad mask shape": (_doc("a.png", [_shape("a", "mask", [[0, 0], [2, 2]], mask="zz")]),
                       "'mask' is not a base64-encoded image"),
    "image size mismatch": (_doc("a.png", [TRIANGLE], h=5, w=5), "annotation is for a 5x5 image but"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_labelme_gets_a_clear_error_naming_the_file(tmp_path: Path, case: str) -> None:
    save_image(tmp_path / "src" / "a.png", 20, 24)
    doc, message = MALFORMED[case]
    path = tmp_path / "src" / "broken.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(DataError, match="broken.json") as err:
        convert("labelme", tmp_path / "src", tmp_path / "out", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_files_without_labels_are_an_error(tmp_path: Path) -> None:
    save_image(tmp_path / "src" / "a.png", 20, 24)
    write_json(tmp_path / "src" / "a.json", _doc("a.png", []))
    with pytest.raises(DataError, match="src: only the class \\['background'\\] was found"):
        convert("labelme", tmp_path / "src", tmp_path / "out", progress=False)


def test_an_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no labelme .json files"):
        read_labelme(tmp_path / "empty")
