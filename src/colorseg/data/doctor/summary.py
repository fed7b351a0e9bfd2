"""The terminal summary of a data check (rich): what was read, each kind of finding once with
its count and first message, and the verdict with the exit status."""

from __future__ import annotations

import sys
from typing import TextIO

from colorseg.data.doctor.check import DataCheck
from colorseg.data.doctor.findings import ERROR, INFO, WARNING, group_findings

STYLE = {ERROR: "bold red", WARNING: "yellow", INFO: "dim"}


def _split_line(name: str, fp) -> str:
    if not fp.images:
        return f"{name}: no readable images"
    size = (f"{fp.width.min}x{fp.height.min}" if fp.distinct_sizes == 1
            else f"{fp.width.min}..{fp.width.max} x {fp.height.min}..{fp.height.max}")
    modes = ", ".join(f"{m}" + (f" ({n})" if len(fp.modes) > 1 else "") for m, n in fp.modes.items())
    return f"{name}: {fp.images} image{'s' * (fp.images != 1)}, {size}, {modes}"


def summary_lines(check: DataCheck, max_groups: int = 20) -> list[tuple[str, str]]:
    """(style, text) lines of the summary (plain text in the second element)."""
    fp = check.fingerprint
    lines = [("bold", f"colorseg data check: {fp.root} ({fp.task}, source {fp.source})")]
    lines += [("", "  " + _split_line(s, sp)) for s, sp in fp.splits.items()]
    if fp.mask is not None:
        m = fp.mask
        values = (f"{len(m.colour_values)} colours" if m.kind == "rgb" else "label values "
                  + ", ".join(f"{v}" for v in m.label_values[:16]) + (" …" if len(m.label_values) > 16 else ""))
        lines.append(("", f"  masks: {m.kind}, {values}"
                      + (f", {len(m.stray_values)} stray values" if m.edge_artifacts else "")))
    if fp.task == "colorize" and fp.splits:
        n = sum(s.images for s in fp.splits.values())
        gray = sum(round(s.gray_share * s.images) for s in fp.splits.values())
        lines.append(("", f"  grayscale-only photos: {gray} of {n}"))
    groups = group_findings(check.findings)
    for severity, code, items in groups[:max_groups]:
        count = f"{len(items)}x" if len(items) > 1 else ""
        lines.append((STYLE[severity], f"  {severity:<7} {code:<22} {count:<10} {items[0].message}"))
    if len(groups) > max_groups:
        lines.append(("dim", f"  … {len(groups) - max_groups} more kinds of finding in the report"))
    c = check.counts()
    verdict = ("clean" if check.exit_status == 0 else
               f"{c[ERROR]} error{'s' * (c[ERROR] != 1)}, {c[WARNING]} warning{'s' * (c[WARNING] != 1)}")
    lines.append(("bold", f"verdict: {verdict} (exit status {check.exit_status}; {c[INFO]} info)"))
    return lines


def print_summary(check: DataCheck, file: TextIO | None = None) -> None:
    """Print :func:`summary_lines` with rich (colours on a terminal, plain text otherwise)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=file or sys.stdout, highlight=False, soft_wrap=True)
    for style, text in summary_lines(check):
        console.print(Text(text, style=style or ""))
