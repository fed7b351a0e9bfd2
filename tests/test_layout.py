"""Dependency direction (docs: STYLE.md): evaluation, inference, checkpoint and reports rebuild
models through ``colorseg.checkpoint`` and never pull in Lightning or the training code; planning
(``colorseg segment plan``) writes configs without them (only ``fit`` trains)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import colorseg

PACKAGES = ("checkpoint", "evaluation", "inference", "reports", "planning")


def _modules(package: str) -> list[str]:
    pkg = __import__(f"colorseg.{package}", fromlist=["__path__"])
    return [f"colorseg.{package}"] + [f"colorseg.{package}.{m.name}"
                                      for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]


def _loaded_after_import(module: str) -> list[str]:
    """Modules of Lightning or colorseg.training in sys.modules after importing ``module`` in a
    fresh interpreter."""
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('lightning', 'pytorch_lightning') "
            "or m == 'colorseg.training' or m.startswith('colorseg.training.'))))")
    out = subprocess.run([sys.executable, "-c", code, module], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"importing {module} failed:\n{out.stderr[-2000:]}"
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", [m for p in PACKAGES for m in _modules(p)])
def test_module_does_not_import_lightning_or_training(module: str) -> None:
    assert _loaded_after_import(module) == []


def test_the_check_can_fail() -> None:
    """The probe sees what a training module drags in."""
    assert "colorseg.training.datamodule" in _loaded_after_import("colorseg.training.datamodule")
    assert any(m.startswith("lightning") for m in _loaded_after_import("colorseg.training.datamodule"))


def test_every_package_is_probed() -> None:
    assert all(_modules(p)[1:] for p in PACKAGES), colorseg.__file__
