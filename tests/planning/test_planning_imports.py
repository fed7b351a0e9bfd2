"""Planning reads data through the data doctor, yet stays light: importing it loads neither
Lightning nor torch nor plotting libraries (STYLE.md; ``segment plan`` starts in a fraction of a second)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("lightning", "pytorch_lightning", "torch", "matplotlib", "seaborn")


def test_planning_imports_neither_lightning_nor_torch() -> None:
    code = ("import json, sys, colorseg.planning, colorseg.planning.rules, colorseg.planning.config_writer; "
            f"print(json.dumps(sorted({{m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}}})))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
