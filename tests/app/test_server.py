"""Starting and stopping the app: 127.0.0.1 by default, the URL answers, uploads and Gradio's
cache live in the app's own temporary folder, which is removed at shutdown, and nothing is written
to the working directory; bad configurations and checkpoints fail before anything starts."""

from __future__ import annotations

import os
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'colorseg[app]'")

from colorseg.app.server import GRADIO_ENV, AppConfig, ModelStore, free_port, serve, start_app
from colorseg.errors import CheckpointError, ConfigError


@pytest.fixture(autouse=True)
def _local_only(monkeypatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def _app_temp_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("colorseg-app-*")}


def _upload(url: str, path: Path) -> str:
    """POST a file to Gradio's upload route, as the page does; returns the stored path."""
    boundary = "colorsegtestboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        import json

        return json.loads(response.read())[0]


def test_app_serves_on_localhost_and_removes_its_temporary_folder(plain_ckpt: Path, seg_ckpt: Path, photo_png: Path,
                                                                  tmp_path: Path, monkeypatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before_env = {k: os.environ.get(k) for k in GRADIO_ENV}
    with start_app(AppConfig(port=0, colorize_ckpt=str(plain_ckpt), segment_ckpts=[str(seg_ckpt)])) as app:
        assert app.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(app.url, timeout=30) as response:
            assert response.status == 200 and b"colorseg" in response.read()
        assert app.temp_dir.is_dir() and app.temp_dir.name.startswith("colorseg-app-")
        assert os.environ["GRADIO_TEMP_DIR"].startswith(str(app.temp_dir))
        assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
        stored = Path(_upload(app.url, photo_png))
        assert app.temp_dir in stored.parents and stored.name == photo_png.name
        temp_dir = app.temp_dir
    assert not temp_dir.exists()
    assert {k: os.environ.get(k) for k in GRADIO_ENV} == before_env
    assert list(work.iterdir()) == []  # nothing written to the working directory


def test_serve_prints_the_url_and_stops(plain_ckpt: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    stop = threading.Event()

    class Out:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def write(self, text: str) -> None:
            self.lines.append(text)
            if "running at" in text:
                url = text.split("running at ")[1].split()[0]
                with urllib.request.urlopen(url, timeout=30) as response:
                    assert response.status == 200
                stop.set()

        def flush(self) -> None:
            pass

    out = Out()
    port = free_port()
    assert serve(AppConfig(port=port, colorize_ckpt=str(plain_ckpt)), stop=stop, out=out) == 0
    text = "".join(out.lines)
    assert f"colorseg app running at http://127.0.0.1:{port}/" in text and "stopping" in text
    temp = Path(text.split("live in ")[1].split()[0])
    assert temp.name.startswith("colorseg-app-") and not temp.exists()


def test_a_bad_checkpoint_stops_the_start_before_anything_runs(tmp_path: Path) -> None:
    before = _app_temp_dirs()
    with pytest.raises(CheckpointError, match="missing.ckpt"):
        start_app(AppConfig(port=0, colorize_ckpt=str(tmp_path / "missing.ckpt")))
    with pytest.raises(CheckpointError, match="nothere.ckpt"):
        start_app(AppConfig(port=0, segment_ckpts=[str(tmp_path / "nothere.ckpt")]))
    assert _app_temp_dirs() == before


@pytest.mark.parametrize("config, match", [(AppConfig(port=70000), "--port"), (AppConfig(port=-1), "--port"),
                                           (AppConfig(host=" "), "--host"), (AppConfig(max_pixels=0), "max_pixels"),
                                           (AppConfig(max_file_size=0), "max_file_size"),
                                           (AppConfig(preview_side=4), "preview_side")])
def test_bad_configurations_are_named(config: AppConfig, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        config.check()


def test_a_taken_port_is_an_error_and_leaves_nothing(plain_ckpt: Path) -> None:
    import socket

    before = _app_temp_dirs()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(OSError):
            start_app(AppConfig(port=sock.getsockname()[1], colorize_ckpt=str(plain_ckpt)), ModelStore())
    assert _app_temp_dirs() == before


def test_free_port_is_free() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
