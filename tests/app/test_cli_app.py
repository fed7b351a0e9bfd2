"""`colorseg app`: the command starts the app, prints its URL, serves until Ctrl-C and removes its
temporary folder; without Gradio it says how to install it; Gradio stays out of the rest of
colorseg, and the app stays out of Lightning and the training code."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from colorseg.cli import main
from tests.test_layout import _loaded_after_import

HAS_GRADIO = importlib.util.find_spec("gradio") is not None
needs_gradio = pytest.mark.skipif(not HAS_GRADIO, reason="the web app needs gradio: pip install 'colorseg[app]'")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


@needs_gradio
@pytest.mark.parametrize("sigint_ignored_at_start", [False, True])
def test_colorseg_app_prints_its_url_serves_and_cleans_up_on_ctrl_c(plain_ckpt: Path, seg_ckpt: Path,
                                                                     tmp_path: Path,
                                                                     sigint_ignored_at_start: bool) -> None:
    from colorseg.app.server import free_port

    port = free_port()
    command = [sys.executable, "-m", "colorseg", "app", "--port", str(port), "--colorize-ckpt", str(plain_ckpt),
               "--segment-ckpt", str(seg_ckpt)]
    if sigint_ignored_at_start:  # as a background job of a non-interactive shell starts (SIGINT ignored)
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    proc = subprocess.Popen(command, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not any("live in" in line for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        text = "".join(lines)
        assert f"colorseg app running at http://127.0.0.1:{port}/" in text, text + proc.stderr.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
        temp = Path(text.split("live in ")[1].split()[0])
        assert temp.is_dir()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopping" in out and "Traceback" not in err
    assert not temp.exists()
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory


@needs_gradio
def test_colorseg_app_stops_on_sigterm_too(plain_ckpt: Path, tmp_path: Path) -> None:
    from colorseg.app.server import free_port

    proc = subprocess.Popen([sys.executable, "-m", "colorseg", "app", "--port", str(free_port()), "--colorize-ckpt",
                             str(plain_ckpt)], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        text = ""
        while "live in" not in text:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            text += line
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and not Path(text.split("live in ")[1].split()[0]).exists()


@needs_gradio
def test_colorseg_app_reports_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["app", "--port", "70000"]) == 2
    assert "--port must be an integer in 0..65535" in capsys.readouterr().err
    assert main(["app", "--port", "0", "--colorize-ckpt", str(tmp_path / "missing.ckpt")]) == 2
    assert "missing.ckpt" in capsys.readouterr().err
    assert main(["app", "--port", "0", "--colorize-ckpt", "https://example.invalid/m.ckpt"]) == 2
    assert "SHA-256" in capsys.readouterr().err


@needs_gradio
def test_gradio_installed_finds_gradio_without_importing_it() -> None:
    code = "import sys; from colorseg.app import gradio_installed; print(gradio_installed(), 'gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300,
                         check=False)
    assert out.stdout.split() == ["True", "False"], out.stderr


def test_without_gradio_the_app_says_how_to_install_it() -> None:
    code = ("import sys; sys.modules['gradio'] = None\n"
            "from colorseg.cli import main\n"
            "status = main(['app'])\n"
            "try:\n"
            "    import colorseg.app\n"
            "except ImportError as exc:\n"
            "    print('IMPORT:', type(exc).__name__, exc)\n"
            "sys.exit(status)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=300,
                         check=False)
    assert out.returncode == 2, out.stderr
    assert "colorseg: error: the web app needs Gradio, which is not installed: pip install 'colorseg[app]'" in out.stderr
    assert "IMPORT: AppDependencyError the web app needs Gradio" in out.stdout
    assert "Traceback" not in out.stderr


def test_the_rest_of_colorseg_never_imports_gradio() -> None:
    code = ("import importlib, json, pkgutil, sys, colorseg\n"
            "names = [m.name for m in pkgutil.walk_packages(colorseg.__path__, 'colorseg.')\n"
            "         if not m.name.startswith('colorseg.app') and not m.name.startswith('colorseg.training')]\n"
            "for name in names + ['colorseg.cli']:\n"
            "    importlib.import_module(name)\n"
            "from colorseg.cli import build_parser; build_parser()\n"
            "print(json.dumps([len(names), sorted(m for m in sys.modules if m.split('.')[0] == 'gradio')]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=600,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    count, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert count > 30 and loaded == []


@needs_gradio
@pytest.mark.parametrize("module", ["colorseg.app.server", "colorseg.app.page"])
def test_the_app_does_not_import_lightning_or_training(module: str) -> None:
    assert _loaded_after_import(module) == []
