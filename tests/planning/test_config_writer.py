"""The commented YAML: it loads to the plan's values, every value has its comment, it is ASCII."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from colorseg.planning.config_writer import ascii_text, render_yaml, summarize, write_plan, yaml_value
from colorseg.planning.evidence import load_evidence
from colorseg.planning.rules import Choice, Plan, plan_from_fingerprint
from tests.planning.helpers import em_fingerprint, fingerprint, street_fingerprint


@pytest.fixture(params=["street", "em", "binary"])
def plan(request) -> Plan:
    fp = {"street": street_fingerprint, "em": em_fingerprint,
          "binary": lambda: fingerprint({0: 900, 255: 100})}[request.param]()
    return plan_from_fingerprint(fp, 12.5, load_evidence(), 16.0, threads=2)


def test_yaml_loads_to_the_plans_values(plan: Plan) -> None:
    assert yaml.safe_load(render_yaml(plan)) == plan.as_config()


def test_every_reasoned_value_is_preceded_by_its_comment(plan: Plan) -> None:
    lines = render_yaml(plan).splitlines()
    for choice in plan.choices:
        if not choice.reason:
            continue
        leaf = choice.key.split(".")[-1]
        depth = choice.key.count(".")
        index = next(i for i, ln in enumerate(lines) if ln == " " * 2 * depth + f"{leaf}: {yaml_value(choice.value)}"
                     or ln.startswith(" " * 2 * depth + f"{leaf}: ") and yaml.safe_load(ln.strip())[leaf] == choice.value)
        comment = []
        i = index - 1
        while i >= 0 and lines[i].lstrip().startswith("#"):
            comment.insert(0, lines[i].strip()[2:])
            i -= 1
        assert " ".join(comment) == ascii_text(choice.reason), choice.key


def test_header_holds_fingerprint_estimates_and_confirmation(plan: Plan) -> None:
    text = render_yaml(plan, "colorseg segment plan DATA --minutes 12.5")
    head = text.split("\n\n")[0]
    assert "#   colorseg segment plan DATA --minutes 12.5\n" in head
    assert "# Data: " in head and "# Class pixel frequencies" in head and "# Estimates:" in head
    assert "# PLEASE CONFIRM:" in head
    assert all(len(line) <= 100 for line in text.splitlines() if line.startswith("#") and "segment plan DATA" not in line)
    text.encode("ascii")  # plain ASCII: loads under any locale


def test_yaml_value_formats() -> None:
    assert yaml_value("00:00:30:00") == "'00:00:30:00'"
    assert yaml_value({0: 0, 255: 1}) == "{0: 0, 255: 1}"
    assert yaml_value([0.75, 1.25]) == "[0.75, 1.25]"
    assert yaml_value(None) == "null" and yaml_value(True) == "true" and yaml_value("auto") == "auto"


def test_ascii_text() -> None:
    assert ascii_text("160² crops, ±15°, ≤ 3 → ok …") == "160^2 crops, +/-15 deg, <= 3 -> ok ..."


def test_write_plan_and_summary(tmp_path: Path) -> None:
    plan = plan_from_fingerprint(fingerprint({0: 900, 255: 100}), 5, load_evidence(), 16.0, threads=1)
    path = write_plan(plan, tmp_path / "sub" / "plan.yaml", "cmd")
    assert yaml.safe_load(path.read_text()) == plan.as_config()
    text = summarize(plan, path)
    assert "mask_value_map {0: 0, 255: 1}" in text and f"Wrote {path}" in text and "Please confirm" in text
    assert "loss dice_ce" in text and "max_time 00:00:05:00" in text


def test_nested_keys_render_as_sections() -> None:
    plan = Plan([Choice("a.b.c", 1, "why"), Choice("a.d", "x"), Choice("e", [1, 2])], notes=["note"])
    text = render_yaml(plan)
    assert "a:\n  b:\n    # why\n    c: 1\n  d: x\ne: [1, 2]\n" in text
