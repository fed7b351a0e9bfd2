"""``data check`` → the convert command it suggests → ``data check`` again, end to end through
``colorseg.cli.main``: colour-coded masks through the proposed ``palette.txt``, 0/255 masks through
``--from binary`` or the suggested ``--data.mask_value_map``."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import yaml

from colorseg.cli import main, parse_data_overrides
from colorseg.data.doctor.mask_checks import format_palette, propose_palette
from colorseg.data.image_io import read_mask
from colorseg.data.sources import build_source
from colorseg.formats.palette import read_palette
from tests.doctor.builders import RGB_PALETTE, label_mask, write_folder


def _check(root: Path, out: Path) -> tuple[int, dict]:
    rc = main(["data", "check", str(root), "--output", str(out / "report.html")])
    return rc, json.loads((out / "check.json").read_text())


def _suggested_command(finding: dict) -> list[str]:
    """The ``colorseg data convert ...`` command quoted in a finding, as arguments for ``main``."""
    command = re.search(r"`(colorseg data convert [^`]*)`", finding["message"]).group(1)
    argv = shlex.split(command)
    assert argv[:3] == ["colorseg", "data", "convert"]
    return argv[1:]


def test_colour_masks_round_trip_through_the_proposed_palette(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=4, colour=True)
    rc, report = _check(root, tmp_path / "check")
    assert rc == 2 and {f["code"] for f in report["findings"] if f["severity"] == "error"} == {"rgb_mask"}
    palette_file = tmp_path / "check" / "palette.txt"
    palette = read_palette(palette_file)  # data convert reads the file data check wrote
    assert [name for name, _ in palette] == [p["name"] for p in report["palette"]] == \
        ["background", "class_1", "class_2"]
    finding = next(f for f in report["findings"] if f["code"] == "rgb_mask")
    argv = _suggested_command(finding)
    assert argv[argv.index("--palette") + 1] == str(palette_file)
    assert main(argv) == 0
    converted = tmp_path / "d-converted"
    index_of = {rgb: i for i, (_, rgb) in enumerate(palette)}
    lut = np.array([index_of[RGB_PALETTE[v]] for v in range(len(RGB_PALETTE))])
    for i in range(4):  # line i of palette.txt is label i
        np.testing.assert_array_equal(read_mask(converted / "masks" / f"s{i}.png"), lut[label_mask(i)])
    config = yaml.safe_load((converted / "colorseg.yaml").read_text())["data"]
    assert config["class_names"] == ["background", "class_1", "class_2"]
    assert config["class_colors"] == [list(rgb) for _, rgb in palette]
    rc, again = _check(converted, tmp_path / "check2")
    assert rc == 0 and {f["severity"] for f in again["findings"]} <= {"info"}
    assert again["fingerprint"]["mask"]["kind"] == "index"
    assert again["fingerprint"]["mask"]["label_values"] == [0, 1, 2]


def test_binary_masks_convert_as_suggested_or_map_with_the_suggested_value_map(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "b", n=4, values=(0, 255))
    rc, report = _check(root, tmp_path / "check")
    assert rc == 1
    finding = next(f for f in report["findings"] if f["code"] == "binary_0_255")
    assert main(_suggested_command(finding)) == 0
    converted = tmp_path / "b-converted"
    for i in range(4):
        np.testing.assert_array_equal(read_mask(converted / "masks" / f"s{i}.png"), label_mask(i, values=(0, 1)))
    rc, again = _check(converted, tmp_path / "check2")
    assert rc == 0 and again["fingerprint"]["mask"]["label_values"] == [0, 1]
    # the other suggestion, --data.mask_value_map=..., parsed as `fit` parses it, loads the same labels
    option = re.search(r"(--data\.mask_value_map)='([^']*)'", finding["message"])
    overrides = parse_data_overrides([f"{option.group(1)}={option.group(2)}"], {"mask_value_map"})
    source = build_source("folder", root, class_names=["background", "foreground"], **overrides)
    for sample in source.pool():
        _, mask = source.load(sample)
        np.testing.assert_array_equal(mask, read_mask(converted / "masks" / f"{sample.name}.png"))


def test_palette_file_names_survive_the_reader(tmp_path: Path) -> None:
    """format_palette writes names data convert's reader parses back: white space, commas, colons
    and '#' (a comment there) become '_', so every line stays ``R G B name``."""
    known = [((0, 0, 0), "back ground"), ((1, 2, 3), "a,b:c#d"), ((250, 9, 0), "Sign Symbol")]
    (tmp_path / "palette.txt").write_text(format_palette(propose_palette({0x000000: 5, 0x010203: 5}, known)))
    assert read_palette(tmp_path / "palette.txt") == [("back_ground", (0, 0, 0)), ("a_b_c_d", (1, 2, 3)),
                                                      ("Sign_Symbol", (250, 9, 0))]
