"""Every block between ``<!-- name:start -->`` / ``<!-- name:end -->`` in README.md and
benchmarks/README.md is what ``benchmarks/tables.py`` renders from the committed
``benchmarks/results/*.json`` (no data sets needed)."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import tables


@pytest.fixture(scope="module")
def pages() -> dict[Path, tuple[str, str]]:
    return tables.expected()


@pytest.mark.parametrize("readme", tables.READMES, ids=lambda p: str(p.relative_to(tables.REPO)))
def test_blocks_match_the_json(pages, readme: Path) -> None:
    current, expected = pages[readme]
    diff = "".join(difflib.unified_diff(current.splitlines(True), expected.splitlines(True), "README", "from JSON"))
    assert current == expected, f"regenerate with `python benchmarks/tables.py`:\n{diff}"


@pytest.mark.parametrize("readme", tables.READMES, ids=lambda p: str(p.relative_to(tables.REPO)))
def test_every_marker_has_a_start_and_an_end(readme: Path) -> None:
    text = readme.read_text()
    markers = [m.groups() for m in tables.MARKER.finditer(text)]
    assert markers, f"{readme} has no generated blocks"
    assert markers == [(name, kind) for name, _, _ in tables.blocks(text, str(readme)) for kind in ("start", "end")]


@pytest.mark.parametrize("text,message", [
    ("<!-- demo:start -->\nx\n", "'demo:start' without 'demo:end'"),
    ("x\n<!-- demo:end -->\n", "'demo:end' without 'demo:start'"),
    ("<!-- demo:start -->\n<!-- headline:start -->\n", "inside the open block 'demo'"),
    ("<!-- nothing:start -->\n<!-- nothing:end -->\n", "no renderer for block 'nothing'"),
])
def test_bad_markers_are_errors(text: str, message: str) -> None:
    with pytest.raises(tables.TableError, match=message):
        tables.blocks(text, "README.md")


def test_missing_json_is_an_error_naming_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tables, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(tables, "REPO", tmp_path)
    with pytest.raises(tables.TableError, match=r"results/inference\.json is missing"):
        tables.BLOCKS["inference"]()
