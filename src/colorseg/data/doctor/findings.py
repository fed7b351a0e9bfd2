"""What the data doctor reports: findings with a severity, and the exit status they add up to.

A finding names one file (``file``) or, for a data-set-wide observation, none. Severities:

* ``error``: ``fit`` would stop on this, or would silently learn wrong labels (exit status 2);
* ``warning``: worth a look before training: leakage, wasted or suspicious files (exit status 1);
* ``info``: context, no action needed (does not change the exit status).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)
EXIT_STATUS = {ERROR: 2, WARNING: 1, INFO: 0}


@dataclass(frozen=True)
class Finding:
    """One diagnosis: ``severity`` (error / warning / info), a stable ``code`` (e.g. ``rgb_mask``),
    the file it concerns (a printable path, or None for the whole data set) and a message that
    says what is wrong and how to fix it."""

    severity: str
    code: str
    message: str
    file: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}; choose one of {', '.join(SEVERITIES)}")

    def to_dict(self) -> dict:
        return asdict(self)


def exit_status(findings: Iterable[Finding]) -> int:
    """0 when nothing is wrong (info only), 1 when the worst finding is a warning, 2 for an error."""
    return max((EXIT_STATUS[f.severity] for f in findings), default=0)


def group_findings(findings: Iterable[Finding]) -> list[tuple[str, str, list[Finding]]]:
    """Findings grouped by (severity, code), errors first, then warnings, then info; within a
    severity, in order of first appearance."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.severity, f.code), []).append(f)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    keys = sorted(groups, key=lambda k: order[k[0]])  # stable: first appearance within a severity
    return [(sev, code, groups[(sev, code)]) for sev, code in keys]
