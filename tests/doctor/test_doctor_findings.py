"""Findings, their grouping and the exit status they add up to."""

from __future__ import annotations

import pytest

from colorseg.data.doctor.findings import ERROR, INFO, WARNING, Finding, exit_status, group_findings


def test_exit_status_is_the_worst_severity() -> None:
    assert exit_status([]) == 0
    assert exit_status([Finding(INFO, "a", "m")]) == 0
    assert exit_status([Finding(INFO, "a", "m"), Finding(WARNING, "b", "m")]) == 1
    assert exit_status([Finding(WARNING, "b", "m"), Finding(ERROR, "c", "m"), Finding(INFO, "a", "m")]) == 2


def test_group_findings_errors_first_then_by_appearance() -> None:
    fs = [Finding(INFO, "i", "1"), Finding(WARNING, "w2", "2"), Finding(ERROR, "e", "3", "f.png"),
          Finding(WARNING, "w1", "4"), Finding(WARNING, "w2", "5")]
    groups = group_findings(fs)
    assert [(s, c, len(items)) for s, c, items in groups] == [(ERROR, "e", 1), (WARNING, "w2", 2),
                                                              (WARNING, "w1", 1), (INFO, "i", 1)]


def test_finding_rejects_unknown_severity_and_serialises() -> None:
    with pytest.raises(ValueError, match="severity"):
        Finding("fatal", "x", "m")
    assert Finding(ERROR, "x", "m", "a.png").to_dict() == {"severity": "error", "code": "x", "message": "m",
                                                          "file": "a.png"}
