"""Start and stop the web app: the models it serves, its temporary folder, the Gradio server.

:func:`serve` is what ``colorseg app`` calls: it starts the app (:func:`start_app`), prints the
local URL and waits for Ctrl-C (or SIGTERM), then stops the server and removes the temporary
folder. :func:`start_app` returns a :class:`RunningApp` for use from Python and tests.

Privacy: the server binds to 127.0.0.1 by default (this machine only); Gradio's analytics are
off and no share link is made. Uploads, Gradio's cache and the downloads all live in one
``tempfile.TemporaryDirectory`` owned by the app (``GRADIO_TEMP_DIR`` points into it while the
app runs), removed when it stops; nothing is written to the working directory.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from colorseg.app.images import PREVIEW_SIDE
from colorseg.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: environment Gradio reads while the app runs: its temporary folder, examples cache, no analytics
GRADIO_ENV = ("GRADIO_TEMP_DIR", "GRADIO_EXAMPLES_CACHE", "GRADIO_ANALYTICS_ENABLED")


@dataclass
class AppConfig:
    """What ``colorseg app`` serves and where.

    host / port: the address to bind (127.0.0.1: this machine only; port 0: any free port).
    colorize_ckpt / colorize_sha256: the colorization checkpoint the page starts with, a file or an
        http(s) URL with its SHA-256 (None: the built-in model ``colorize-default``).
    segment_ckpts: segmentation checkpoints offered in the Segment tab (others can be typed in).
    device: where models run (``cpu``, ``cuda``, ...).
    max_pixels: refuse uploads with more pixels (None: ``$COLORSEG_MAX_PIXELS`` or colorseg's limit).
    max_file_size: the largest upload in bytes (Gradio refuses larger files).
    preview_side: long side of the images shown in the page, in pixels.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    colorize_ckpt: str | None = None
    colorize_sha256: str | None = None
    segment_ckpts: list[str] = field(default_factory=list)
    device: str = "cpu"
    max_pixels: int | None = None
    max_file_size: int = 256 * 2**20
    preview_side: int = PREVIEW_SIDE

    def check(self) -> None:
        """ConfigError naming a bad value."""
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be an integer in 0..65535 (0: any free port), got {self.port!r}")
        if not str(self.host).strip():
            raise ConfigError("--host must name an address to bind, e.g. 127.0.0.1")
        if self.max_pixels is not None and self.max_pixels < 1:
            raise ConfigError(f"max_pixels must be positive, got {self.max_pixels}")
        if self.max_file_size < 1:
            raise ConfigError(f"max_file_size must be positive, got {self.max_file_size}")
        if self.preview_side < 16:
            raise ConfigError(f"preview_side must be at least 16 pixels, got {self.preview_side}")


class ModelStore:
    """Loads models on first use and keeps the ``max_models`` most recently used (thread-safe).

    ``colorizer(ckpt, sha256)``: ckpt None is the built-in model, else a file or a URL (resolved
    by :func:`~colorseg.checkpoint.release.resolve_checkpoint`); returns (Colorizer, its name).
    ``segmenter(ckpt)``: a segmentation checkpoint file. Both raise colorseg's CheckpointError /
    ConfigError naming the checkpoint.
    """

    def __init__(self, device: str = "cpu", max_models: int = 4) -> None:
        self.device = device
        self.max_models = max_models
        self._models: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: tuple, load: Callable):
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            value = load()
            self._models[key] = value
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return value

    def colorizer(self, ckpt: str | None = None, sha256: str | None = None):
        from colorseg.checkpoint.release import DEFAULT_MODEL, resolve_checkpoint
        from colorseg.inference.colorizer import Colorizer

        def load():
            path = resolve_checkpoint(ckpt, sha256)
            name = f"built-in {DEFAULT_MODEL}" if not ckpt else str(ckpt)
            return Colorizer.from_checkpoint(path, self.device), name

        return self._get(("colorize", ckpt or None, sha256 or None), load)

    def segmenter(self, ckpt: str):
        from colorseg.inference.segmenter import Segmenter

        if not ckpt or not str(ckpt).strip():
            raise ConfigError("no segmentation checkpoint given")
        return self._get(("segment", str(ckpt)), lambda: Segmenter.from_checkpoint(str(ckpt).strip(), self.device))


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nothing listens on at ``host`` now (bound once, then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class RunningApp:
    """A started app: ``url`` (the local address), ``temp_dir`` (its temporary folder),
    ``blocks`` (the Gradio page). :meth:`close` (or leaving a ``with`` block) stops the server,
    removes the temporary folder and restores the environment."""

    def __init__(self, blocks, url: str, temp: tempfile.TemporaryDirectory, saved_env: dict) -> None:
        self.blocks = blocks
        self.url = url
        self._temp = temp
        self.temp_dir = Path(temp.name)
        self._saved_env = saved_env
        self._closed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.blocks.close()
        finally:
            self._temp.cleanup()
            _restore_env(self._saved_env)

    def __enter__(self) -> RunningApp:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _restore_env(saved: dict) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def start_app(config: AppConfig, store: ModelStore | None = None) -> RunningApp:
    """Load the models ``config`` names (errors before anything starts), create the app's
    temporary folder, and start the server without blocking. Returns the :class:`RunningApp`."""
    config.check()
    store = store or ModelStore(config.device)
    store.colorizer(config.colorize_ckpt, config.colorize_sha256)
    for ckpt in config.segment_ckpts:
        store.segmenter(ckpt)
    temp = tempfile.TemporaryDirectory(prefix="colorseg-app-")
    saved = {key: os.environ.get(key) for key in GRADIO_ENV}
    os.environ.update(GRADIO_TEMP_DIR=str(Path(temp.name) / "gradio"),
                      GRADIO_EXAMPLES_CACHE=str(Path(temp.name) / "examples"), GRADIO_ANALYTICS_ENABLED="False")
    try:
        from colorseg.app.page import CSS, Page, build_blocks

        page = Page(store, temp.name, config.colorize_ckpt, config.colorize_sha256, config.segment_ckpts,
                    config.max_pixels, config.preview_side)
        blocks = build_blocks(page).queue(default_concurrency_limit=1)
        port = config.port or free_port(config.host)
        blocks.launch(server_name=config.host, server_port=port, share=False, inbrowser=False, quiet=True,
                      prevent_thread_lock=True, show_error=False, ssr_mode=False, mcp_server=False, pwa=False,
                      footer_links=[], run_history=False, max_file_size=config.max_file_size, css=CSS)
    except BaseException:
        temp.cleanup()
        _restore_env(saved)
        raise
    return RunningApp(blocks, blocks.local_url, temp, saved)


def _stop_on_sigterm() -> Callable[[], None]:
    """SIGTERM and SIGINT raise KeyboardInterrupt (so the temporary folder is removed); returns
    the undo. SIGINT too, because a process started in the background by a non-interactive shell
    inherits SIGINT ignored, and Python then never turns Ctrl-C into KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def undo() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo


def serve(config: AppConfig, stop: threading.Event | None = None, out=None) -> int:
    """``colorseg app``: start the app, print its URL, serve until Ctrl-C / SIGTERM (or ``stop``
    is set), then stop it and remove its temporary folder. Returns the exit status (0)."""
    out = out or sys.stdout
    stop = stop or threading.Event()
    undo = _stop_on_sigterm()
    try:
        with start_app(config) as app:
            try:  # a signal may come as soon as the URL is printed (a script that waits for it)
                print(f"colorseg app running at {app.url} (Ctrl-C to stop)", file=out, flush=True)
                print(f"uploads and downloads live in {app.temp_dir} until the app stops", file=out, flush=True)
                if config.host not in LOCAL_HOSTS:
                    print(f"warning: bound to {config.host}: other machines can reach this app, which has no login",
                          file=out, flush=True)
                while not stop.wait(0.2):
                    pass
            except KeyboardInterrupt:
                pass
            print("stopping; removing the temporary folder", file=out, flush=True)
    finally:
        undo()
    return 0
