"""The doctor lives in ``data/``: it imports neither Lightning nor matplotlib / seaborn (STYLE.md)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("lightning", "pytorch_lightning", "matplotlib", "seaborn")


def _loaded(module: str) -> list[str]:
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))")
    out = subprocess.run([sys.executable, "-c", code, module], check=True, capture_output=True, text=True,
                         timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_doctor_imports_no_lightning_and_no_plotting() -> None:
    assert _loaded("colorseg.data.doctor.summary") == []  # imports check, and through it every doctor module


def test_the_probe_can_fail() -> None:
    assert "matplotlib" in _loaded("colorseg.reports.data_check_plots")
