"""Helpers for the release tests: tiny colorseg checkpoints as training writes them, and a local
HTTP server (one folder on 127.0.0.1 at a free port, in a thread: nothing in the tests touches the
real internet)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

from tests.conftest import perturb_weights as perturb
from tests.conftest import save_module_checkpoint

#: a training checkpoint's data options that point at data nobody else has
ELSEWHERE = {"source": "folder", "root": "/nonexistent/colorseg-training-photos", "image_size": 32,
             "val_fraction": 0.1, "test_fraction": 0.1, "seed": 0}


def tiny_checkpoint(path: Path, task: str = "colorize", data: dict | None = None) -> Path:
    """A small trained-looking checkpoint of ``task`` (VAE colorizer, 32 px working size; or a
    3-class U-Net) with the training state a Lightning checkpoint carries (optimizer states,
    loops, callbacks, the data module's split names) and ``data`` as its data options."""
    from colorseg.training.colorizer_module import ColorizerModule
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    if task == "colorize":
        module = ColorizerModule(kind="vae", latent_dim=3, depth=2, base_width=4, posterior_width=4, image_size=32,
                                 perceptual_weight=0)
    else:
        module = SegmenterModule(class_names=["bg", "a", "b"], in_channels=3, mean=0.4, std=0.3, depth=2,
                                 base_width=4)
    perturb(module)
    save_module_checkpoint(module, task, path)
    ckpt = torch.load(path, weights_only=True)
    ckpt.update(epoch=3, global_step=120, pytorch_lightning_version="2.4.0",
                optimizer_states=[{"state": {0: {"exp_avg": torch.ones(1000)}}, "param_groups": []}],
                lr_schedulers=[{"last_epoch": 3}], loops={"fit_loop": {"epoch_progress": {"current": 3}}},
                callbacks={"ModelCheckpoint": {"best_model_score": torch.tensor(0.5)}},
                datamodule_hyper_parameters=dict(data or {}),
                SomeDataModule={"split_names": {"train": ["a"], "val": ["b"], "test": ["c"]}})
    torch.save(ckpt, path)
    return path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` serving ``folder`` until the block ends (then the port is closed)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A local port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
