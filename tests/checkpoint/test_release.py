"""Released models: slim checkpoints (fp32 exact, fp16 close), the built-in weights registry, the
release script, and downloads by URL + SHA-256 from a local HTTP server (never the internet)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from colorseg.checkpoint import (
    colorization_model_from_checkpoint,
    load_checkpoint,
    release,
    segmentation_model_from_checkpoint,
)
from colorseg.errors import CheckpointError, ConfigError
from colorseg.inference.colorizer import Colorizer
from tests.checkpoint.helpers import ELSEWHERE, closed_port, serve_folder, tiny_checkpoint

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "release_colorizer.py"
#: float16 weights vs float32: max |Δ ab_norm| (values in (-1, 1)); measured ~2e-4 on the tiny VAE
FP16_AB_TOL = 2e-3
#: float16 weights vs float32: max |Δ logits| relative to the largest |logit| (measured < 2e-3)
FP16_LOGIT_RTOL = 1e-2


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("release_ckpts")
    return {"colorize": tiny_checkpoint(root / "vae.ckpt", data=ELSEWHERE),
            "segment": tiny_checkpoint(root / "seg.ckpt", task="segment")}


@pytest.fixture
def weights_dir(tmp_path: Path, monkeypatch) -> Path:
    """An empty built-in weights folder in place of the package's."""
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "manifest.json").write_text("{}\n")
    monkeypatch.setattr(release, "WEIGHTS_DIR", folder)
    return folder


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch) -> None:
    """No proxy for the local server, and torch.hub's cache in tmp (never the user's)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torch-hub"))


def _colorize_outputs(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    model = colorization_model_from_checkpoint(load_checkpoint(path, task="colorize"))
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(b.dtype in (torch.float32, torch.int64) for b in model.buffers())
    L = torch.rand(2, 1, 32, 40, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        return model(L)["ab"], model.sample(L, 3, 0.8, torch.Generator().manual_seed(1))


# ------------------------------------------------------------------------------------- slim

def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 17)  # several chunks and a partial one
    (tmp_path / "f.bin").write_bytes(data)
    assert release.sha256_file(tmp_path / "f.bin") == hashlib.sha256(data).hexdigest()
    assert release.sha256_file(tmp_path / "f.bin", chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_slim_keeps_only_what_inference_needs(ckpts, tmp_path: Path) -> None:
    info = release.slim_checkpoint(ckpts["colorize"], tmp_path / "slim.pt", half=True)
    assert info["file"] == str(tmp_path / "slim.pt") and info["half"] is True and info["task"] == "colorize"
    assert info["sha256"] == release.sha256_file(tmp_path / "slim.pt")
    assert info["bytes"] == (tmp_path / "slim.pt").stat().st_size
    raw = torch.load(tmp_path / "slim.pt", weights_only=True)
    assert set(raw) == {"state_dict", "hyper_parameters", "datamodule_hyper_parameters", "colorseg", "SomeDataModule"}
    assert all(k.startswith("net.") for k in raw["state_dict"])
    floats = [v for v in raw["state_dict"].values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    assert raw["colorseg"]["task"] == "colorize" and raw["colorseg"]["slim"] == {"half": True}
    assert raw["datamodule_hyper_parameters"] == ELSEWHERE
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically, nothing left behind


def test_slim_fp32_is_identical(ckpts, tmp_path: Path) -> None:
    info = release.slim_checkpoint(ckpts["colorize"], tmp_path / "slim32.pt", half=False)
    assert info["half"] is False
    ab, samples = _colorize_outputs(ckpts["colorize"])
    ab32, samples32 = _colorize_outputs(tmp_path / "slim32.pt")
    assert torch.equal(ab, ab32) and torch.equal(samples, samples32)
    assert release.output_difference(ckpts["colorize"], tmp_path / "slim32.pt") == 0.0


def test_slim_fp16_is_close_and_loads_as_float32(ckpts, tmp_path: Path) -> None:
    release.slim_checkpoint(ckpts["colorize"], tmp_path / "slim16.pt")
    ab, samples = _colorize_outputs(ckpts["colorize"])
    ab16, samples16 = _colorize_outputs(tmp_path / "slim16.pt")
    assert float((ab - ab16).abs().max()) < FP16_AB_TOL
    assert float((samples - samples16).abs().max()) < FP16_AB_TOL
    assert (tmp_path / "slim16.pt").stat().st_size < ckpts["colorize"].stat().st_size
    # Colorizer on the slim file: the same picture within one 8-bit level
    image = np.random.default_rng(0).random((37, 45, 3)).astype(np.float32)
    full, slim = Colorizer.from_checkpoint(ckpts["colorize"]), Colorizer.from_checkpoint(tmp_path / "slim16.pt")
    assert np.abs(full.colorize(image) - slim.colorize(image)).max() < 1 / 255


def test_slim_segmentation_checkpoint(ckpts, tmp_path: Path) -> None:
    for half in (False, True):
        release.slim_checkpoint(ckpts["segment"], tmp_path / f"seg{half}.pt", half=half)
        model = segmentation_model_from_checkpoint(load_checkpoint(tmp_path / f"seg{half}.pt", task="segment"))
        ref = segmentation_model_from_checkpoint(load_checkpoint(ckpts["segment"], task="segment"))
        assert all(p.dtype == torch.float32 for p in model.parameters())
        x = torch.rand(1, 3, 29, 35, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            a, b = ref(x), model(x)
        if half:
            assert float((a - b).abs().max()) < FP16_LOGIT_RTOL * float(a.abs().max())
        else:
            assert torch.equal(a, b)
        assert model.class_names == ["bg", "a", "b"]


def test_values_beyond_float16_stay_float32() -> None:
    state = {"net.w": torch.tensor([1.0, 1e6]), "net.b": torch.tensor([0.5]), "net.n": torch.tensor(3),
             "loss.ab_weights": torch.ones(3)}
    slim, kept = release.slim_state_dict(state, half=True)
    assert kept == ["net.w"] and slim["net.w"].dtype == torch.float32 and slim["net.b"].dtype == torch.float16
    assert slim["net.n"].dtype == torch.int64 and "loss.ab_weights" not in slim


def test_slim_refuses_a_file_over_the_limit(ckpts, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="over the"):
        release.slim_checkpoint(ckpts["colorize"], tmp_path / "big.pt", max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- built-in models

def test_builtin_registry(ckpts, weights_dir: Path) -> None:
    with pytest.raises(CheckpointError, match="available: none"):
        release.builtin_checkpoint()
    entry = release.release_checkpoint(ckpts["colorize"], "colorize-default", "tiny test model")
    assert entry["file"] == "colorize-default.pt" and entry["task"] == "colorize" and entry["half"] is True
    manifest = json.loads((weights_dir / "manifest.json").read_text())
    assert set(manifest["colorize-default"]) == set(release.MANIFEST_KEYS)
    assert manifest["colorize-default"]["sha256"] == release.sha256_file(weights_dir / "colorize-default.pt")
    assert release.builtin_checkpoint() == weights_dir / "colorize-default.pt"
    assert release.builtin_models() == manifest
    assert Colorizer.pretrained().image_size == 32
    with pytest.raises(CheckpointError, match="available: colorize-default"):
        release.builtin_checkpoint("colorize-nope")


def test_builtin_hash_mismatch_names_the_file_and_both_hashes(ckpts, weights_dir: Path) -> None:
    entry = release.release_checkpoint(ckpts["colorize"], "colorize-default", "tiny")
    path = weights_dir / "colorize-default.pt"
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(CheckpointError) as err:
        release.builtin_checkpoint()
    assert str(path) in str(err.value) and entry["sha256"] in str(err.value)
    assert release.sha256_file(path) in str(err.value)


def test_builtin_missing_file_says_package_data(ckpts, weights_dir: Path) -> None:
    release.release_checkpoint(ckpts["colorize"], "colorize-default", "tiny")
    (weights_dir / "colorize-default.pt").unlink()
    with pytest.raises(CheckpointError, match="missing: this colorseg was installed without its package data"):
        Colorizer.pretrained()


def test_package_manifest_is_valid() -> None:
    """The shipped manifest parses, and each entry names a file that is present with its hash."""
    manifest = release.read_manifest()
    for name, entry in manifest.items():
        assert set(release.MANIFEST_KEYS) <= set(entry), name
        assert release.builtin_checkpoint(name).is_file()


# ----------------------------------------------------------------------------- release script

def _script():
    spec = importlib.util.spec_from_file_location("release_colorizer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_release_script(ckpts, tmp_path: Path, capsys) -> None:
    main, out = _script(), tmp_path / "w"
    assert main([str(ckpts["colorize"]), "--description", "fp16", "--weights-dir", str(out)]) == 0
    assert "max |output difference|" in capsys.readouterr().out
    assert main([str(ckpts["colorize"]), "--name", "colorize-fp32", "--description", "fp32", "--full-precision",
                 "--weights-dir", str(out), "--card", "#card"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest) == ["colorize-default", "colorize-fp32"]  # the second release kept the first
    assert manifest["colorize-default"]["description"] == "fp16" and manifest["colorize-fp32"]["card"] == "#card"
    assert manifest["colorize-fp32"]["bytes"] > manifest["colorize-default"]["bytes"]
    for entry in manifest.values():
        assert release.sha256_file(out / entry["file"]) == entry["sha256"]
        assert entry["bytes"] == (out / entry["file"]).stat().st_size
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main([str(ckpts["colorize"]), "--description", "too big", "--weights-dir", str(out),
                 "--max-mb", "0.001"]) == 2
    assert "over the" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # refused: nothing changed
    assert main([str(ckpts["colorize"]), "--name", "Bad Name", "--description", "x", "--weights-dir", str(out)]) == 2


# --------------------------------------------------------------------------------- downloads

@pytest.fixture
def served(ckpts, tmp_path: Path) -> tuple[Path, str]:
    """A folder to serve holding a released (slim) checkpoint, and its SHA-256."""
    folder = tmp_path / "site"
    folder.mkdir()
    info = release.slim_checkpoint(ckpts["colorize"], folder / "colorizer-v1.pt")
    return folder, info["sha256"]


def test_download_verifies_and_reuses_the_cache(served, tmp_path: Path) -> None:
    folder, sha = served
    cache = tmp_path / "cache"
    with serve_folder(folder) as base:
        path = release.download_checkpoint(f"{base}/colorizer-v1.pt", sha.upper(), cache, progress=False)
        assert path == cache / "colorizer-v1.pt" and release.sha256_file(path) == sha
        col = Colorizer.from_url(f"{base}/colorizer-v1.pt", sha, cache_dir=cache)
    assert sorted(p.name for p in cache.iterdir()) == ["colorizer-v1.pt"]
    # the server is gone: the cached file is used without network
    mtime = path.stat().st_mtime_ns
    assert release.download_checkpoint(f"{base}/colorizer-v1.pt", sha, cache, progress=False) == path
    assert path.stat().st_mtime_ns == mtime
    assert Colorizer.from_url(f"{base}/colorizer-v1.pt", sha, cache_dir=cache).image_size == col.image_size


def test_download_into_torch_hub_cache(served, tmp_path: Path, monkeypatch) -> None:
    folder, sha = served
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    assert release.default_cache_dir() == tmp_path / "hub" / "checkpoints" / "colorseg"
    with serve_folder(folder) as base:
        path = release.download_checkpoint(f"{base}/colorizer-v1.pt", sha, progress=False)
    assert path == tmp_path / "hub" / "checkpoints" / "colorseg" / "colorizer-v1.pt"


def test_download_wrong_hash_deletes_the_file(served, tmp_path: Path) -> None:
    folder, sha = served
    wrong = "0" * 64
    cache = tmp_path / "cache"
    with serve_folder(folder) as base, pytest.raises(CheckpointError) as err:
        release.download_checkpoint(f"{base}/colorizer-v1.pt", wrong, cache, progress=False)
    assert sha in str(err.value) and wrong in str(err.value)
    assert list(cache.iterdir()) == []  # neither the file nor a temporary one is left


def test_download_replaces_a_damaged_cached_file(served, tmp_path: Path) -> None:
    folder, sha = served
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "colorizer-v1.pt").write_bytes(b"partial")
    with serve_folder(folder) as base:
        path = release.download_checkpoint(f"{base}/colorizer-v1.pt", sha, cache, progress=False)
    assert release.sha256_file(path) == sha


def test_download_http_error_and_unreachable_host(served, tmp_path: Path) -> None:
    folder, sha = served
    cache = tmp_path / "cache"
    with serve_folder(folder) as base, pytest.raises(CheckpointError) as err:
        release.download_checkpoint(f"{base}/missing.pt", sha, cache, progress=False)
    message = str(err.value)
    assert f"{base}/missing.pt" in message and "404" in message and str(cache / "missing.pt") in message
    url = f"http://127.0.0.1:{closed_port()}/colorizer-v1.pt"
    with pytest.raises(CheckpointError) as err:
        release.download_checkpoint(url, sha, cache, progress=False)
    message = str(err.value)
    assert url in message and str(cache / "colorizer-v1.pt") in message and "refused" in message.lower()
    assert list(cache.iterdir()) == []


def test_resolve_checkpoint_arguments(ckpts, served, tmp_path: Path, weights_dir: Path) -> None:
    folder, sha = served
    with pytest.raises(ConfigError, match="--sha256"):
        release.resolve_checkpoint("https://example.invalid/model.pt")
    with pytest.raises(ConfigError, match="64 hexadecimal"):
        release.resolve_checkpoint("https://example.invalid/model.pt", "abc123")
    with pytest.raises(ConfigError, match="file name"):
        release.download_checkpoint("https://example.invalid/", sha)
    assert release.resolve_checkpoint(str(folder / "colorizer-v1.pt"), sha) == folder / "colorizer-v1.pt"
    with pytest.raises(CheckpointError, match=f"expected {'f' * 64}, the file has {sha}"):
        release.resolve_checkpoint(str(folder / "colorizer-v1.pt"), "F" * 64)
    with pytest.raises(ConfigError, match="built-in model"):
        release.resolve_checkpoint(None, sha)
    shutil.copy(folder / "colorizer-v1.pt", weights_dir / "colorize-default.pt")
    release.write_manifest({"colorize-default": {"file": "colorize-default.pt", "sha256": sha, "bytes": 1,
                                                 "task": "colorize", "description": "", "card": ""}})
    assert release.resolve_checkpoint(None) == weights_dir / "colorize-default.pt"
    assert release.is_url("HTTPS://x/y.pt") and not release.is_url(str(tmp_path)) and not release.is_url(tmp_path)
