"""CVAT for images 1.1 XML: labels from <meta>, polygon / box / ellipse / mask shapes, z_order, skipped polylines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from colorseg.errors import DataError
from colorseg.formats.convert import convert
from colorseg.formats.cvat import read_cvat
from tests.formats.helpers import layout_config, layout_masks, save_image

META = """<meta><task><name>t</name><labels>
  <label><name>road</name><color>#808080</color><type>any</type><attributes/></label>
  <label><name>car</name><color>#ff0000</color><type>any</type><attributes/></label>
</labels></task></meta>"""


def _xml(images: str, meta: str = META) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>{meta}{images}</annotations>'


IMAGES = """
<image id="0" name="frames/a.png" width="10" height="8">
  <box label="car" source="manual" occluded="0" xtl="1" ytl="1" xbr="5" ybr="4" z_order="1"/>
  <polygon label="road" occluded="0" points="0,0;10,0;10,8;0,8" z_order="0"/>
  <mask label="car" source="manual" occluded="0" rle="1, 2, 3, 2" left="6" top="5" width="4" height="2" z_order="2"/>
  <polyline label="road" occluded="0" points="0,7;9,7" z_order="3"/>
  <tag label="road"/>
</image>
<image id="1" name="b.png" width="6" height="6">
  <ellipse label="car" cx="3" cy="3" rx="2" ry="2" z_order="0"/>
</image>"""


@pytest.fixture
def cvat_export(tmp_path: Path) -> Path:
    """CVAT's export zip layout: annotations.xml next to images/."""
    save_image(tmp_path / "export" / "images" / "frames" / "a.png", 8, 10)
    save_image(tmp_path / "export" / "images" / "b.png", 6, 6)
    path = tmp_path / "export" / "annotations.xml"
    path.write_text(_xml(IMAGES))
    return path


def test_read_cvat_labels_z_order_and_shapes(cvat_export: Path) -> None:
    conv = read_cvat(cvat_export)
    assert conv.class_names == ["background", "road", "car"]
    assert conv.class_colors == [(0, 0, 0), (128, 128, 128), (255, 0, 0)]
    assert conv.warnings == [f"skipped 2 polyline/points/cuboid/skeleton/tag annotations (no area) in {cvat_export}"]
    samples = {s.name: s for s in conv.samples}
    a = samples["frames__a"]
    assert a.image == cvat_export.parent / "images" / "frames" / "a.png"
    expected = np.ones((8, 10), dtype=np.uint16)  # the road polygon (z 0) first, though listed second
    expected[1:4, 1:5] = 2  # box (z 1) on top
    patch = np.array([0, 1, 1, 0, 0, 0, 1, 1], dtype=bool).reshape(2, 4)  # row-major, background first
    expected[5:7, 6:10][patch] = 2  # mask (z 2)
    np.testing.assert_array_equal(a.mask, expected)
    b = samples["b"].mask
    assert b[3, 3] == 2 and b[0, 0] == 0


def test_convert_cvat_keeps_label_colours(cvat_export: Path, tmp_path: Path) -> None:
    convert("cvat", cvat_export, tmp_path / "out", progress=False)
    cfg = layout_config(tmp_path / "out")
    assert cfg["class_names"] == ["background", "road", "car"]
    assert cfg["class_colors"] == [[0, 0, 0], [128, 128, 128], [255, 0, 0]]
    assert set(layout_masks(tmp_path / "out")) == {"frames__a", "b"}


def test_project_meta_and_a_background_label(tmp_path: Path) -> None:
    meta = "<meta><project><labels><label><name>background</name></label><label><name>cell</name></label>" \
           "</labels></project></meta>"
    path = tmp_path / "p.xml"
    path.write_text(_xml('<image id="0" name="a.png" width="4" height="4"/>', meta))
    conv = read_cvat(path)
    assert conv.class_names == ["background", "cell"] and conv.class_colors is None


MALFORMED = {
    "bad xml": ("<annotations><meta>", "not valid XML"),
    "wrong root": ("<dataset/>", "root element is <dataset>"),
    "no labels": (_xml(IMAGES, meta="<meta/>"), "no <labels> in <meta>"),
    "video tracks": (_xml('<track id="0" label="car"/>'), "CVAT for video"),
    "unknown label": (_xml('<image id="0" name="a.png" width="4" height="4"><box label="bus" xtl="0" ytl="0" '
                           'xbr="1" ybr="1"/></image>'), "unknown label 'bus'"),
    "polygon with 2 points": (_xml('<image id="0" name="a.png" width="4" height="4"><polygon label="car" '
                                   'points="0,0;1,1"/></image>'), "polygon with 2 point(s)"),
    "bad points": (_xml('<image id="0" name="a.png" width="4" height="4"><polygon label="car" '
                        'points="0,0;1;2,2"/></image>'), "not a whole number"),
    "box missing xbr": (_xml('<image id="0" name="a.png" width="4" height="4"><box label="car" xtl="0" ytl="0" '
                             'ybr="1"/></image>'), "missing attribute 'xbr'"),
    "box not a number": (_xml('<image id="0" name="a.png" width="4" height="4"><box label="car" xtl="a" ytl="0" '
                              'xbr="1" ybr="1"/></image>'), "xtl='a' is not a number"),
    "mask rle mismatch": (_xml('<image id="0" name="a.png" width="4" height="4"><mask label="car" rle="1, 2" left="0" '
                               'top="0" width="2" height="2"/></image>'), "mask rle covers 3 pixels but its box is 2x2"),
    "mask outside": (_xml('<image id="0" name="a.png" width="4" height="4"><mask label="car" rle="0, 4" left="3" '
                          'top="0" width="2" height="2"/></image>'), "lies outside the 4x4 image"),
    "image without size": (_xml('<image id="0" name="a.png"/>'), "missing attribute 'height'"),
    "image missing": (_xml('<image id="0" name="gone.png" width="4" height="4"/>'), "image file referenced but missing"),
    "size mismatch": (_xml('<image id="0" name="a.png" width="5" height="4"/>'), "annotation is for a 5x4 image"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_cvat_gets_a_clear_error_naming_the_file(tmp_path: Path, case: str) -> None:
    save_image(tmp_path / "a.png", 4, 4)
    text, message = MALFORMED[case]
    path = tmp_path / "broken.xml"
    path.write_text(text)
    with pytest.raises(DataError, match="broken.xml") as err:
        convert("cvat", path, tmp_path / "out", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()
