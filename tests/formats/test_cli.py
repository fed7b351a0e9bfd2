"""``colorseg data convert`` and ``colorseg data export-coco`` through ``colorseg.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorseg import cli
from colorseg.formats import FORMATS
from colorseg.formats.coco import CROWD_MODES
from colorseg.formats.palette import UNKNOWN_MODES
from tests.formats.helpers import coco_doc, coco_image, layout_config, layout_masks, save_image, write_json


def _square(h: int = 8, w: int = 10) -> np.ndarray:
    m = np.zeros((h, w), dtype=np.uint8)
    m[2:6, 3:7] = 1
    return m


def _source(fmt: str, root: Path) -> list[str]:
    """Write a one-image source of ``fmt`` under ``root``; the convert arguments after ``--from fmt``."""
    save_image(root / "img" / "a.png", 8, 10)
    images = ["--images", str(root / "img")]
    square = [[3, 2], [7, 2], [7, 6], [3, 6]]
    if fmt == "coco":
        doc = coco_doc([coco_image(1, "a.png", 8, 10)],
                       [{"image_id": 1, "category_id": 1, "segmentation": [[v for p in square for v in p]]}],
                       [(1, "thing")])
        return [str(write_json(root / "c.json", doc))] + images
    if fmt == "labelme":
        doc = {"shapes": [{"label": "thing", "shape_type": "polygon", "points": square}], "imagePath": "../img/a.png",
               "imageHeight": 8, "imageWidth": 10, "imageData": None}
        return [str(write_json(root / "lm" / "a.json", doc))]
    if fmt == "cvat":
        (root / "ann.xml").write_text(
            "<annotations><version>1.1</version><meta><task><labels><label><name>thing</name></label></labels></task>"
            '</meta><image id="0" name="a.png" width="10" height="8"><polygon label="thing" '
            'points="3,2;7,2;7,6;3,6"/></image></annotations>')
        return [str(root / "ann.xml")] + images
    (root / "masks").mkdir()
    if fmt == "voc":
        Image.fromarray(_square()).save(root / "masks" / "a.png")
        return [str(root / "masks"), "--classes", "background,thing"] + images
    if fmt == "rgb":
        Image.fromarray(np.stack([_square() * 200] * 3, axis=-1)).save(root / "masks" / "a.png")
        (root / "pal.txt").write_text("0 0 0 background\n200 200 200 thing\n")
        return [str(root / "masks"), "--palette", str(root / "pal.txt")] + images
    Image.fromarray(_square() * 255).save(root / "masks" / "a.png")
    return [str(root / "masks"), "--classes", "background,thing"] + images


@pytest.mark.parametrize("fmt", FORMATS)
def test_convert_every_format(tmp_path: Path, fmt: str, capsys) -> None:
    args = _source(fmt, tmp_path / "src")
    assert cli.main(["data", "convert", "--from", fmt, *args, "--output", str(tmp_path / "out")]) == 0
    np.testing.assert_array_equal(layout_masks(tmp_path / "out")["a"], _square())
    assert layout_config(tmp_path / "out")["class_names"] == ["background", "thing"]
    out = capsys.readouterr().out
    assert "converted 1 images" in out and "thing" in out and "16 px" in out
    assert "colorseg segment fit -c configs/segment/synthetic.yaml -c" in out


def test_convert_refuses_a_non_empty_output_and_overwrites_on_request(tmp_path: Path, capsys) -> None:
    args = ["data", "convert", "--from", "coco", *_source("coco", tmp_path / "src"), "--output", str(tmp_path / "out")]
    assert cli.main(args) == 0
    assert cli.main(args) == 2
    assert "is not empty; pass --overwrite" in capsys.readouterr().err
    assert cli.main(args + ["--overwrite", "--link"]) == 0
    assert "1 hard-linked" in capsys.readouterr().out


def test_convert_errors_name_the_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.json").write_text('{"images": []')
    assert cli.main(["data", "convert", "--from", "coco", str(tmp_path / "bad.json"), "--output",
                     str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorseg: error: ") and "bad.json: not valid JSON" in err


def test_options_of_other_formats_are_refused(tmp_path: Path, capsys) -> None:
    args = _source("coco", tmp_path / "src")
    assert cli.main(["data", "convert", "--from", "coco", *args, "--output", str(tmp_path / "o"),
                     "--palette", "voc", "--threshold", "3"]) == 2
    assert "--palette, --threshold does not apply to --from coco" in capsys.readouterr().err
    assert cli.main(["data", "convert", "--from", "rgb", str(tmp_path / "src"), "--output", str(tmp_path / "o")]) == 2
    assert "--from rgb needs --palette" in capsys.readouterr().err


def test_convert_prints_warnings(tmp_path: Path, capsys) -> None:
    args = _source("voc", tmp_path / "src")
    save_image(tmp_path / "src" / "img" / "unlabelled.png", 8, 10)
    assert cli.main(["data", "convert", "--from", "voc", *args, "--output", str(tmp_path / "out")]) == 0
    assert "warning: 1 images in" in capsys.readouterr().err


def test_export_coco_then_convert_back(tmp_path: Path, capsys) -> None:
    save_image(tmp_path / "img" / "a.png", 8, 10)
    (tmp_path / "pred").mkdir()
    mask = _square()
    mask[0, :] = 2
    Image.fromarray(mask).save(tmp_path / "pred" / "a.png")
    assert cli.main(["data", "export-coco", str(tmp_path / "pred"), "--images", str(tmp_path / "img"),
                     "--classes", "background,thing,edge", "--output", str(tmp_path / "p.json")]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'p.json'}: 1 images, 2 annotations" in out
    doc = json.loads((tmp_path / "p.json").read_text())
    assert len(doc["annotations"]) == 2 and [c["name"] for c in doc["categories"]] == ["thing", "edge"]
    assert cli.main(["data", "convert", "--from", "coco", str(tmp_path / "p.json"), "--images", str(tmp_path / "img"),
                     "--output", str(tmp_path / "back")]) == 0
    np.testing.assert_array_equal(layout_masks(tmp_path / "back")["a"], mask)
    assert cli.main(["data", "export-coco", str(tmp_path / "nowhere"), "--images", str(tmp_path / "img"),
                     "--classes", "a,b", "--output", str(tmp_path / "q.json")]) == 2
    assert "mask folder not found" in capsys.readouterr().err


def test_cli_choices_match_the_formats_package() -> None:
    assert cli.CONVERT_FORMATS == FORMATS
    assert cli.CROWD_MODES == CROWD_MODES and cli.UNKNOWN_COLOR_MODES == UNKNOWN_MODES


def test_the_written_config_trains(tmp_path: Path, monkeypatch) -> None:
    """``fit -c <model config> -c ROOT/colorseg.yaml`` reads the converted folder (one short epoch)."""
    monkeypatch.setenv("COLORSEG_RUN_DIR", str(tmp_path / "run"))  # fit sets it; restored after the test
    for i in range(10):
        m = np.zeros((24, 24), dtype=np.uint8)
        m[4 + i:14 + i, 5:18] = 255
        save_image(tmp_path / "img" / f"p{i}.png", 24, 24, seed=i)
        (tmp_path / "m").mkdir(exist_ok=True)
        Image.fromarray(m).save(tmp_path / "m" / f"p{i}.png")
    assert cli.main(["data", "convert", "--from", "binary", str(tmp_path / "m"), "--images", str(tmp_path / "img"),
                     "--classes", "background,cell", "--output", str(tmp_path / "data")]) == 0
    tiny = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")
    assert cli.main(["segment", "fit", "-c", tiny, "-c", str(tmp_path / "data" / "colorseg.yaml"),
                     "--run_dir", str(tmp_path / "run"), "--trainer.max_epochs=1", "--data.crop_size=16",
                     "--trainer.enable_progress_bar=false"]) == 0
    resolved = (tmp_path / "run" / "config.yaml").read_text()
    assert "source: folder" in resolved and f"root: {tmp_path / 'data'}" in resolved and "- cell" in resolved
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
