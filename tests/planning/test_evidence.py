"""The evidence shipped with the planner equals what benchmarks/results and the configs say now."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colorseg.errors import ConfigError
from colorseg.planning.evidence import EVIDENCE_FILE, build_evidence, load_evidence, write_evidence

REPO = Path(__file__).resolve().parents[2]


def test_shipped_evidence_is_up_to_date() -> None:
    assert load_evidence() == json.loads(json.dumps(build_evidence(REPO))), \
        "refresh it: python benchmarks/plan.py --update-evidence"


def test_evidence_holds_what_the_rules_read() -> None:
    ev = load_evidence()
    assert {b["channels"] for b in ev["benchmarks"].values()} == {1, 3}
    for bench in ev["benchmarks"].values():
        assert bench["variants"] and all(v["val_mean_iou"] is not None for v in bench["variants"])
        assert bench["config"]["lr"] > 0
    for name, enc in ev["encoder_speed"]["encoders"].items():
        assert enc["size_multiple"] in (16, 32) and enc["train_samples_per_s"]["bf16-mixed"] > 0, name
        assert f"{name}|bf16-mixed" in ev["memory"]["rows"] and f"{name}|32" in ev["memory"]["rows"]


def test_ensembles_are_not_evidence_for_a_single_model() -> None:
    results = REPO / "benchmarks" / "results"
    ensembles = {str(p.relative_to(REPO)) for p in results.glob("colorseg-*.json")
                 if "members" in json.loads(p.read_text())}
    listed = {v["file"] for bench in load_evidence()["benchmarks"].values() for v in bench["variants"]}
    assert ensembles and not ensembles & listed


def test_write_evidence_and_missing_results(tmp_path: Path) -> None:
    out = write_evidence(REPO, tmp_path / "evidence.json")
    assert json.loads(out.read_text()) == load_evidence() and out != EVIDENCE_FILE
    with pytest.raises(ConfigError, match="benchmark result missing: .*encoders.json"):
        build_evidence(tmp_path)
