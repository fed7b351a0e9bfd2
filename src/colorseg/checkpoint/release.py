"""Released models: slim inference checkpoints, the built-in weights registry, downloads by URL.

Framework-free (torch only, no Lightning).

* :func:`slim_checkpoint` keeps what inference needs from a training checkpoint (the model's
  weights, its hyper-parameters, the data options, the colorseg metadata and the data module's
  split names) and drops optimizer states, loops and callbacks; floating weights are stored as
  float16 by default (loading casts them back into the float32 model).
* Built-in models ship in the package folder ``colorseg/weights/`` (:data:`WEIGHTS_DIR`):
  ``manifest.json`` maps a model name to ``{"file", "sha256", "bytes", "task", "description",
  "card"}`` and :func:`builtin_checkpoint` returns the verified file. :func:`release_checkpoint`
  (``scripts/release_colorizer.py``) adds one.
* :func:`download_checkpoint` fetches a released checkpoint from a URL once into torch.hub's cache
  (``<torch.hub.get_dir()>/checkpoints/colorseg/``), checked against its SHA-256.
* :func:`resolve_checkpoint`: what ``--ckpt`` means (nothing: the built-in model; a URL; a file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import torch

from colorseg.checkpoint.loading import CHECKPOINT_FORMAT, load_checkpoint, read_task
from colorseg.checkpoint.rebuild import MODEL_PREFIX, model_from_checkpoint
from colorseg.data.files import atomic_write, display_path
from colorseg.errors import CheckpointError, ConfigError

#: The package folder of built-in weights and their ``manifest.json`` (tests point it elsewhere).
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
MANIFEST_NAME = "manifest.json"
DEFAULT_MODEL = "colorize-default"
#: README anchor of the model card a new release points to (``--card`` changes it).
DEFAULT_CARD = "#built-in-colorizer"
#: Largest released weights file (bytes): the package must stay small.
MAX_RELEASE_BYTES = 25 * 10**6
MANIFEST_KEYS = ("file", "sha256", "bytes", "task", "description", "card")
#: Top-level checkpoint entries inference needs (everything else is training state).
KEPT_KEYS = ("state_dict", "hyper_parameters", "datamodule_hyper_parameters", "colorseg")
FP16_MAX = float(torch.finfo(torch.float16).max)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


# ------------------------------------------------------------------------------------ hashes

def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def normalize_sha256(value: str) -> str:
    """A SHA-256 as 64 lower-case hex digits; ConfigError for anything else."""
    text = str(value).strip().lower()
    if not _SHA256.fullmatch(text):
        raise ConfigError(f"a SHA-256 is 64 hexadecimal digits (as `sha256sum FILE` prints), got {value!r}")
    return text


def verify_sha256(path: str | Path, sha256: str) -> None:
    """CheckpointError naming the file and both hashes when ``path`` does not have ``sha256``."""
    expected, actual = normalize_sha256(sha256), sha256_file(path)
    if actual != expected:
        raise CheckpointError(f"{display_path(path)}: SHA-256 mismatch: expected {expected}, the file has "
                              f"{actual} (a different or damaged file)")


# ------------------------------------------------------------------------------------- slim

def slim_state_dict(state: dict, half: bool = True) -> tuple[dict, list[str]]:
    """The model's weights (``net.*``) of a module state dict, floating tensors in float16 when
    ``half``. Returns (state, names kept in float32 because their values exceed float16's range)."""
    out, kept_fp32 = {}, []
    for key, value in state.items():
        if not key.startswith(MODEL_PREFIX):
            continue  # training-only buffers of the module (loss weights, ...)
        value = value.detach().cpu()
        if half and value.is_floating_point() and value.dtype != torch.float16:
            if value.numel() and float(value.abs().max()) > FP16_MAX:
                kept_fp32.append(key)
            else:
                value = value.to(torch.float16)
        out[key] = value.clone()  # no views into the training checkpoint's storage
    return out, kept_fp32


def slim_checkpoint(src: str | Path, dst: str | Path, half: bool = True,
                    max_bytes: int | None = None) -> dict:
    """Write an inference-only copy of the colorseg checkpoint ``src`` to ``dst`` (atomically).

    Kept: the model's weights (``state_dict`` entries under ``net.``; float16 when ``half``,
    except tensors whose values float16 cannot hold), ``hyper_parameters``,
    ``datamodule_hyper_parameters``, the ``colorseg`` metadata (format set to the current one,
    since the weights are saved in the current layout; ``slim`` records ``half``) and the data
    module's state (``*DataModule``: split names, which evaluation uses). Dropped: optimizer and
    scheduler states, loops, callbacks, training-only buffers. ``max_bytes``: refuse (and leave
    nothing at ``dst``) when the file would be larger.

    Returns ``{"file", "sha256", "bytes", "half", "task", "kept_fp32"}``.
    """
    src, dst = Path(src), Path(dst)
    task = read_task(src)
    ckpt = load_checkpoint(src, task=task)
    state, kept_fp32 = slim_state_dict(ckpt["state_dict"], half)
    if not state:
        raise CheckpointError(f"{display_path(src)} holds no model weights (no state_dict entries under "
                              f"{MODEL_PREFIX!r})")
    slim: dict = {"state_dict": state}
    for key in KEPT_KEYS[1:]:
        if ckpt.get(key) is not None:
            slim[key] = ckpt[key]
    slim["colorseg"] = {**ckpt["colorseg"], "format": CHECKPOINT_FORMAT, "slim": {"half": bool(half)}}
    for key, value in ckpt.items():
        if key.endswith("DataModule") and isinstance(value, dict):
            slim[key] = value

    def write(tmp: Path) -> None:
        torch.save(slim, tmp)
        size = tmp.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise CheckpointError(f"the slim checkpoint of {display_path(src)} would be {size / 1e6:.1f} MB, "
                                  f"over the {max_bytes / 1e6:.0f} MB limit")

    atomic_write(dst, write)
    return {"file": str(dst), "sha256": sha256_file(dst), "bytes": dst.stat().st_size, "half": bool(half),
            "task": task, "kept_fp32": kept_fp32}


# ---------------------------------------------------------------------------- built-in models

def read_manifest(weights_dir: str | Path | None = None) -> dict:
    """The built-in models' manifest (``{}`` when the folder has none)."""
    path = Path(WEIGHTS_DIR if weights_dir is None else weights_dir) / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read the built-in models' manifest {display_path(path)}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{display_path(path)} must map model names to entries")
    return manifest


def write_manifest(manifest: dict, weights_dir: str | Path | None = None) -> Path:
    """Write ``manifest.json`` atomically (sorted, indented, trailing newline)."""
    path = Path(WEIGHTS_DIR if weights_dir is None else weights_dir) / MANIFEST_NAME
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def builtin_models() -> dict[str, dict]:
    """Name → manifest entry of every built-in model."""
    return read_manifest()


def builtin_checkpoint(name: str = DEFAULT_MODEL) -> Path:
    """The file of the built-in model ``name``, after checking its SHA-256 against the manifest.

    CheckpointError: unknown name (the message lists the available ones), a manifest entry whose
    file is missing (an install without the package data), or a file whose hash differs (both
    hashes named).
    """
    weights_dir = Path(WEIGHTS_DIR)
    manifest = read_manifest(weights_dir)
    if name not in manifest:
        available = ", ".join(sorted(manifest)) or "none (this colorseg ships no built-in weights)"
        raise CheckpointError(f"no built-in model named {name!r}; available: {available}. "
                              "Use a checkpoint file or a URL with its SHA-256 instead")
    entry = manifest[name]
    missing = [k for k in ("file", "sha256") if not isinstance(entry, dict) or not entry.get(k)]
    if missing:
        raise CheckpointError(f"{display_path(weights_dir / MANIFEST_NAME)}: the entry {name!r} lacks {missing}")
    rel = Path(entry["file"])
    if rel.is_absolute() or ".." in rel.parts:
        raise CheckpointError(f"{display_path(weights_dir / MANIFEST_NAME)}: the entry {name!r} must name a file "
                              f"inside the weights folder, got {entry['file']!r}")
    path = weights_dir / rel
    if not path.is_file():
        raise CheckpointError(f"the built-in model {name!r} is listed in {display_path(weights_dir / MANIFEST_NAME)} "
                              f"but its weights file {display_path(path)} is missing: this colorseg was installed "
                              "without its package data (reinstall it from a wheel or a complete source tree)")
    actual = sha256_file(path)
    if actual != str(entry["sha256"]).lower():
        raise CheckpointError(f"the built-in model {name!r}: {display_path(path)} has SHA-256 {actual}, the manifest "
                              f"says {entry['sha256']} (a damaged or replaced file; reinstall colorseg)")
    return path


def release_checkpoint(src: str | Path, name: str = DEFAULT_MODEL, description: str = "",
                       weights_dir: str | Path | None = None, half: bool = True, card: str = DEFAULT_CARD,
                       max_bytes: int = MAX_RELEASE_BYTES) -> dict:
    """Slim ``src`` into ``<weights_dir>/<name>.pt`` and add it to the manifest (both atomic).

    The slim file is rebuilt and run once against the original on a fixed random input;
    returns the manifest entry plus ``max_abs_diff`` (model outputs: colorize ab_norm, segment
    logits) and ``kept_fp32``. Refuses files over ``max_bytes`` (the previous release, if any,
    stays).
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"a model name is lower-case letters, digits, '.', '_' and '-', got {name!r}")
    weights_dir = Path(WEIGHTS_DIR if weights_dir is None else weights_dir)
    manifest = read_manifest(weights_dir)  # a broken manifest stops the release before any write
    info = slim_checkpoint(src, weights_dir / f"{name}.pt", half=half, max_bytes=max_bytes)
    entry = {"file": f"{name}.pt", "sha256": info["sha256"], "bytes": info["bytes"], "task": info["task"],
             "description": description, "card": card}
    diff = output_difference(src, weights_dir / entry["file"])
    manifest[name] = entry
    write_manifest(manifest, weights_dir)
    return {**entry, "half": info["half"], "kept_fp32": info["kept_fp32"], "max_abs_diff": diff}


@torch.no_grad()
def output_difference(a: str | Path, b: str | Path, seed: int = 0) -> float:
    """Max |difference| of two checkpoints' model outputs on one seeded random input (both
    rebuilt in float32, eval mode): colorize → ab_norm at the working size, segment → logits."""
    task = read_task(a)
    models = [model_from_checkpoint(load_checkpoint(p, task=task)) for p in (a, b)]
    gen = torch.Generator().manual_seed(seed)
    if task == "colorize":
        size = models[0].image_size
        x = torch.rand(1, 1, size, size, generator=gen) * 2 - 1
        outs = [m(x)["ab"] for m in models]
    else:
        x = torch.rand(1, models[0].in_channels, 64, 64, generator=gen)
        outs = [m(x) for m in models]
    return float((outs[0] - outs[1]).abs().max())


# --------------------------------------------------------------------------------- downloads

def default_cache_dir() -> Path:
    """Where downloaded checkpoints are kept: ``<torch.hub.get_dir()>/checkpoints/colorseg``
    (follows ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / "colorseg"


def is_url(value: str | Path | None) -> bool:
    """True for an ``http://`` or ``https://`` address (a ``Path`` never is one)."""
    return isinstance(value, str) and urlparse(value).scheme.lower() in ("http", "https")


def url_filename(url: str) -> str:
    """The file name a URL's path ends in (ConfigError when it names no file)."""
    name = unquote(os.path.basename(urlparse(url).path))
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ConfigError(f"the URL {url} does not end in a file name")
    return name


def download_checkpoint(url: str, sha256: str, cache_dir: str | Path | None = None,
                        progress: bool = True) -> Path:
    """The checkpoint at ``url``, downloaded once into ``cache_dir`` (default:
    :func:`default_cache_dir`) under the URL's file name and checked against ``sha256``.

    A cached file with the right hash is used without touching the network. A download is
    written to a temporary name and moved into place only once its hash matches, so a mismatch
    leaves nothing behind (CheckpointError with both hashes). Offline, unreachable hosts and HTTP
    errors raise CheckpointError naming the URL, the reason, and the path where the file can be
    placed by hand.
    """
    expected = normalize_sha256(sha256)
    cache = Path(default_cache_dir() if cache_dir is None else cache_dir)
    path = cache / url_filename(url)
    if path.is_file() and sha256_file(path) == expected:
        return path

    def fetch(tmp: Path) -> None:
        try:
            torch.hub.download_url_to_file(url, str(tmp), None, progress=progress)
        except Exception as exc:  # URLError, HTTPError, timeouts, OSError
            raise CheckpointError(
                f"cannot download the checkpoint {url} ({type(exc).__name__}: {exc}). If this machine is "
                f"offline, download the file elsewhere and place it at {display_path(path)} (SHA-256 {expected}): "
                "it is then used from there without network") from exc
        actual = sha256_file(tmp)
        if actual != expected:
            raise CheckpointError(f"the checkpoint downloaded from {url} has SHA-256 {actual}, expected {expected}: "
                                  "the file was deleted (a changed or damaged file, or a wrong hash)")

    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create the checkpoint cache {display_path(cache)}: {exc}") from exc
    atomic_write(path, fetch)
    return path


def resolve_checkpoint(ckpt: str | Path | None, sha256: str | None = None, name: str = DEFAULT_MODEL,
                       cache_dir: str | Path | None = None) -> Path:
    """What a ``--ckpt`` argument names, as a local file: None → the built-in model ``name``;
    an http(s) URL → :func:`download_checkpoint` (``sha256`` required); a path → that file
    (checked against ``sha256`` when given)."""
    if ckpt is None or ckpt == "":
        if sha256:
            raise ConfigError("--sha256 checks a checkpoint given by URL or file (--ckpt); the built-in model "
                              "is checked against its manifest")
        return builtin_checkpoint(name)
    if is_url(ckpt):
        if not sha256:
            raise ConfigError(f"a checkpoint URL needs its SHA-256 (--sha256 HEX) so the download can be "
                              f"verified: {ckpt}")
        return download_checkpoint(str(ckpt), sha256, cache_dir)
    path = Path(ckpt)
    if sha256:
        if not path.is_file():
            raise CheckpointError(f"checkpoint not found: {display_path(path)}")
        verify_sha256(path, sha256)
    return path

