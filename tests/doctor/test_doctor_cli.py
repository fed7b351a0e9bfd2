"""``colorseg data check`` end to end through ``colorseg.cli.main``: exit codes, the HTML page
(findings, overlays), check.json and palette.txt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from colorseg import cli
from colorseg.cli import main
from colorseg.data.doctor.check import DEFAULT_MAX_OVERLAYS
from colorseg.data.doctor.duplicates import NEAR_THRESHOLD
from colorseg.reports.data_check_report import DEFAULT_OUTPUT
from tests.doctor.builders import save, write_folder, write_messy_folder, write_photos


def _run(root: Path, out: Path, *extra: str) -> tuple[int, str]:
    return main(["data", "check", str(root), "--output", str(out / "report.html"), *extra]), \
        (out / "report.html").read_text(encoding="utf-8")


def _section(html: str, title: str) -> str:
    """The HTML of one section (up to the next)."""
    start = html.index(f">{title}</h2>")
    end = html.find("<h2", start)
    return html[start:end if end > 0 else None]


def test_clean_folder_exits_0_with_overlays_per_class(tmp_path: Path, capsys) -> None:
    rc, html = _run(write_folder(tmp_path / "d", n=5), tmp_path / "out", "--max-overlays", "2")
    assert rc == 0
    out = capsys.readouterr().out
    assert "verdict: clean (exit status 0" in out and "check.json" in out
    assert "Clean: nothing to fix before training." in html
    overlays = _section(html, "Overlays per class")
    assert re.findall(r"(value \d)</h3>", overlays) == ["value 0", "value 1", "value 2"]
    assert overlays.count("data:image/jpeg;base64,") == 3 * 2  # 3 classes x --max-overlays 2
    assert len(re.findall(r'anywhere">s\d \(all\): [\d,]+ px</figcaption>', overlays)) == 6
    assert "http://" not in html and "https://" not in html
    data = json.loads((tmp_path / "out" / "check.json").read_text())
    assert data["exit_status"] == 0 and data["fingerprint"]["mask"]["kind"] == "index"
    assert not (tmp_path / "out" / "palette.txt").exists()


def test_warnings_exit_1_and_are_on_the_page(tmp_path: Path, capsys) -> None:
    rc, html = _run(write_folder(tmp_path / "d", values=(0, 2, 5)), tmp_path / "out")
    assert rc == 1
    assert "value_gaps" in capsys.readouterr().out
    findings = _section(html, "Findings")
    assert "value_gaps" in findings and "--data.mask_value_map=&#x27;{0: 0, 2: 1, 5: 2}&#x27;" in findings


def test_errors_exit_2_name_every_file_and_write_the_palette(tmp_path: Path, capsys) -> None:
    root = write_folder(tmp_path / "d", n=3, colour=True)
    (root / "images" / "s2.png").write_bytes(b"broken")
    rc, html = _run(root, tmp_path / "out")
    assert rc == 2
    printed = capsys.readouterr().out
    assert "rgb_mask" in printed and "unreadable" in printed and "palette.txt" in printed
    findings = _section(html, "Findings")
    for i in range(3):
        assert str(root / "masks" / f"s{i}.png") in findings
    assert str(root / "images" / "s2.png") in findings
    palette = (tmp_path / "out" / "palette.txt").read_text().splitlines()
    assert palette[0] == "0 0 0 background" and len(palette) == 3
    assert all(re.fullmatch(r"\d+ \d+ \d+ \S+", line) for line in palette)
    assert "Proposed palette" in html and _section(html, "Overlays per class").count("data:image/jpeg") >= 2
    data = json.loads((tmp_path / "out" / "check.json").read_text())
    assert data["exit_status"] == 2 and len(data["palette"]) == 3
    assert {"severity", "code", "file", "message"} <= set(data["findings"][0])


def test_colorize_folder_lists_gray_photos(tmp_path: Path) -> None:
    rc, html = _run(write_photos(tmp_path / "p", n=4, gray=(2,)), tmp_path / "out")
    assert rc == 1
    gray = _section(html, "Grayscale-only photos")
    assert "1 of 4 photos (25.0 %)" in gray and "p2.png" in gray and gray.count("data:image/jpeg") == 1
    assert "Overlays per class" not in html


def test_task_and_source_options_are_passed_on(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=3)
    rc, html = _run(root, tmp_path / "out", "--task", "colorize")  # every image under ROOT, masks included
    assert rc == 1 and "colorize" in _section(html, "Summary") and "Masks" not in html
    assert "3 of 6 photos" in _section(html, "Grayscale-only photos")  # the masks are gray pictures
    rc, html = _run(root, tmp_path / "out2", "--source", "folder", "--task", "segment")
    assert rc == 0 and "<h2 id=\"masks\">Masks</h2>" in html


def test_near_threshold_option(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n=3)
    img = np.asarray(Image.open(root / "images" / "s0.png")).copy()
    img[:4, :4] = 255  # a small edit: 4 bits of the perceptual hash change
    save(root / "images" / "s9.png", img)
    save(root / "masks" / "s9.png", np.asarray(Image.open(root / "masks" / "s0.png")))
    assert _run(root, tmp_path / "a")[0] == 1  # near copy in a pool: warning
    assert _run(root, tmp_path / "b", "--near-threshold", "3")[0] == 0


def test_bad_input_is_one_line_and_status_2(tmp_path: Path, capsys) -> None:
    assert main(["data", "check", str(tmp_path / "missing")]) == 2
    assert "colorseg: error: data folder not found" in capsys.readouterr().err
    assert main(["data", "check", str(tmp_path), "--max-overlays", "-1"]) == 2
    assert "max_overlays" in capsys.readouterr().err


def test_cli_defaults_match_the_library() -> None:
    args = cli.build_parser().parse_args(["data", "check", "ROOT"])
    assert (args.task, args.command, args.data_task, args.source) == ("data", "check", "auto", None)
    assert args.max_overlays == DEFAULT_MAX_OVERLAYS and args.near_threshold == NEAR_THRESHOLD
    assert Path(args.output) == DEFAULT_OUTPUT


def test_readme_example_is_what_the_command_prints(tmp_path: Path, monkeypatch, capsys) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("$ colorseg data check cells\n", 1)[1].split("```", 1)[0]
    write_messy_folder(tmp_path / "cells")
    monkeypatch.chdir(tmp_path)
    assert main(["data", "check", "cells"]) == 2
    assert capsys.readouterr().out == block
