"""colorseg.formats is pure numpy + pycocotools: importing it pulls in neither torch nor Lightning."""

from __future__ import annotations

import json
import subprocess
import sys


def test_formats_import_neither_torch_nor_lightning() -> None:
    code = ("import importlib, json, pkgutil, sys; import colorseg.formats as f; "
            "[importlib.import_module(f'colorseg.formats.{m.name}') for m in pkgutil.iter_modules(f.__path__)]; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('torch', 'lightning', 'pytorch_lightning'))))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
