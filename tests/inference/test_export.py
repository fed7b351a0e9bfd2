"""colorseg export: ONNX (onnxruntime) and TorchScript graphs equal PyTorch at new, odd sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from colorseg.cli import main
from colorseg.errors import ColorsegError, ConfigError
from colorseg.inference import export
from colorseg.inference.colorizer import Colorizer
from colorseg.inference.export import export_model, run_exported
from colorseg.inference.segmenter import Segmenter
from colorseg.models.padding import pad_to_multiple
from colorseg.training.colorizer_module import ColorizerModule
from colorseg.training.segmenter_module import SegmenterModule
from tests.conftest import perturb_weights as _perturb
from tests.conftest import save_module_checkpoint

TOL = 1e-4  # ONNX Runtime vs PyTorch, max abs difference (probabilities / ab_norm in (-1, 1))
TS_TOL = 1e-6  # TorchScript vs eager: same kernels
# (B, H, W), none the trace size: batch 2 at odd sizes; 3×2 pads by replication (too small to reflect)
SIZES = [(2, 37, 53), (1, 3, 2)]


_save = save_module_checkpoint


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export_ckpts")
    torch.manual_seed(0)
    seg = SegmenterModule(class_names=["bg", "a", "b"], in_channels=3, mean=0.4, std=0.3, depth=2, base_width=4)
    vae = ColorizerModule(kind="vae", latent_dim=3, depth=2, base_width=4, posterior_width=4, image_size=32,
                          perceptual_weight=0)
    reg = ColorizerModule(kind="regression", depth=3, base_width=4, image_size=32, perceptual_weight=0)
    gray = ColorizerModule(kind="gray", image_size=32, perceptual_weight=0)
    spatial = ColorizerModule(kind="vae", latent_dim=2, depth=2, base_width=4, posterior_width=4, image_size=32,
                              perceptual_weight=0, latent_layout="spatial", head="classification")
    hints = ColorizerModule(kind="vae", latent_dim=2, depth=2, base_width=4, posterior_width=4, image_size=32,
                            perceptual_weight=0, latent_layout="spatial", hints=True)
    for m in (seg, vae, reg, spatial, hints):
        _perturb(m)  # also makes the zero-initialised hint weights non-zero
    return {"segment": _save(seg, "segment", root / "seg.ckpt"), "vae": _save(vae, "colorize", root / "vae.ckpt"),
            "vae_spatial_cls": _save(spatial, "colorize", root / "spatial.ckpt"),
            "vae_hints": _save(hints, "colorize", root / "hints.ckpt"),
            "regression": _save(reg, "colorize", root / "reg.ckpt"),
            "gray": _save(gray, "colorize", root / "gray.ckpt")}


def _images(b: int, h: int, w: int, c: int = 3) -> torch.Tensor:
    return torch.rand(b, c, h, w, generator=torch.Generator().manual_seed(h * w))


def _hints(b: int, h: int, w: int) -> torch.Tensor:
    """A sparse hint map (a, b, mask): ~10 % of the pixels hinted."""
    gen = torch.Generator().manual_seed(h + w)
    mask = (torch.rand(b, 1, h, w, generator=gen) < 0.1).float()
    return torch.cat([(torch.rand(b, 2, h, w, generator=gen) - 0.5) * mask, mask], 1)


def _max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape
    return float((a - b).abs().max())


# ------------------------------------------------------------------------------ padding

@pytest.mark.parametrize("multiple", [2, 4, 16])
def test_pad_to_multiple_equals_f_pad(multiple: int) -> None:
    for h in range(1, 20):
        for w in (1, 2, 5, 16, 17):
            x = torch.randn(2, 3, h, w)
            ph, pw = (-h) % multiple, (-w) % multiple
            ref = F.pad(x, (0, pw, 0, ph), mode="reflect" if h > ph and w > pw else "replicate") if ph or pw else x
            assert torch.equal(pad_to_multiple(x, multiple), ref), (h, w)


# --------------------------------------------------------------------------------- ONNX

def _onnx(ckpts, tmp_path_factory, key: str, sampling: bool = False) -> Path:
    return export_model(ckpts[key], "onnx", tmp_path_factory.mktemp("onnx") / f"{key}.onnx", sampling=sampling)


def test_cli_exports_segmenter_to_onnx_equal_to_segmenter(ckpts, tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "sub" / "seg.onnx"
    assert main(["export", "--ckpt", str(ckpts["segment"]), "--format", "onnx", "--output", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["seg.onnx"]  # no temporary or external-data files
    segmenter = Segmenter.from_checkpoint(ckpts["segment"])
    for b, h, w in SIZES:
        x = _images(b, h, w)
        probs = run_exported(out, "onnx", (x,))
        assert _max_diff(probs, segmenter.predict_tensor(x)) < TOL
        assert torch.allclose(probs.sum(1), torch.ones(b, h, w), atol=1e-5)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["task"] == "segment" and json.loads(props["class_names"]) == ["bg", "a", "b"]
    assert props["in_channels"] == "3" and props["colorseg_version"]
    meta = json.loads(props["colorseg"])
    assert (meta["mean"], meta["std"]) == (pytest.approx([0.4] * 3), pytest.approx([0.3] * 3))  # per channel


@pytest.mark.parametrize("key", ["vae", "regression", "vae_spatial_cls"])
def test_onnx_colorizer_deterministic(ckpts, tmp_path_factory, key: str) -> None:
    pytest.importorskip("onnxruntime")
    path = _onnx(ckpts, tmp_path_factory, key)
    module = Colorizer.from_checkpoint(ckpts[key]).module
    for b, h, w in SIZES:
        L = _images(b, h, w, 1) * 2 - 1
        with torch.no_grad():
            assert _max_diff(run_exported(path, "onnx", (L,)), module(L)["ab"]) < TOL


@pytest.mark.parametrize("key", ["vae", "vae_spatial_cls"])
def test_onnx_colorizer_sampling_matches_sample(ckpts, tmp_path_factory, key: str) -> None:
    pytest.importorskip("onnxruntime")
    path = _onnx(ckpts, tmp_path_factory, key, sampling=True)
    module = Colorizer.from_checkpoint(ckpts[key]).module
    for (b, h, w), temperature in zip(SIZES, (1.0, 0.5)):
        L = _images(b, h, w, 1) * 2 - 1
        noise = torch.randn(module.net.latent_shape(L), generator=torch.Generator().manual_seed(5))
        ref = module.sample(L, 1, temperature, torch.Generator().manual_seed(5))[:, 0]
        ab = run_exported(path, "onnx", (L, temperature * noise))
        assert _max_diff(ab, ref) < TOL
    # the noise matters: another draw gives another colouring
    assert _max_diff(run_exported(path, "onnx", (L, -noise)), ab) > 1e-3


def test_onnx_hint_colorizer_takes_L_and_hints(ckpts, tmp_path_factory) -> None:
    """A hint model's graphs: (L, hints) and, sampling, (L, noise, hints), equal to PyTorch."""
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    path = _onnx(ckpts, tmp_path_factory, "vae_hints")
    sampling = _onnx(ckpts, tmp_path_factory, "vae_hints", sampling=True)
    assert [i.name for i in onnx.load(str(path)).graph.input] == ["L", "hints"]
    assert [i.name for i in onnx.load(str(sampling)).graph.input] == ["L", "noise", "hints"]
    meta = json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}["colorseg"])
    assert meta["hints"] is True and "hints" in meta["inputs"]
    module = Colorizer.from_checkpoint(ckpts["vae_hints"]).module
    for (b, h, w), temperature in zip(SIZES, (1.0, 0.5)):
        L, hints = _images(b, h, w, 1) * 2 - 1, _hints(b, h, w)
        with torch.no_grad():
            ab = run_exported(path, "onnx", (L, hints))
            assert _max_diff(ab, module(L, hints=hints)["ab"]) < TOL
            assert _max_diff(run_exported(path, "onnx", (L, torch.zeros_like(hints))), module(L)["ab"]) < TOL
        noise = torch.randn(module.net.latent_shape(L), generator=torch.Generator().manual_seed(5))
        ref = module.sample(L, 1, temperature, torch.Generator().manual_seed(5), hints=hints)[:, 0]
        assert _max_diff(run_exported(sampling, "onnx", (L, temperature * noise, hints)), ref) < TOL
        if b > 1:  # the hints matter
            assert _max_diff(run_exported(path, "onnx", (L, hints)), run_exported(path, "onnx", (L, 0 * hints))) > 1e-3


def test_onnx_export_needs_its_packages(ckpts, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export, "ONNX_PACKAGES", ("onnx", "colorseg_no_such_package"))
    with pytest.raises(ColorsegError, match=r"colorseg_no_such_package.*pip install 'colorseg\[export\]'"):
        export_model(ckpts["segment"], "onnx", tmp_path / "m.onnx")


# --------------------------------------------------------------------------- TorchScript

@pytest.mark.parametrize("key,sampling", [("segment", False), ("vae", False), ("vae", True), ("regression", False),
                                          ("vae_spatial_cls", False), ("vae_spatial_cls", True),
                                          ("vae_hints", False), ("vae_hints", True)])
def test_torchscript_equals_eager(ckpts, tmp_path: Path, key: str, sampling: bool) -> None:
    path = export_model(ckpts[key], "torchscript", tmp_path / "m.pt", sampling=sampling)
    graph, meta = export.build_graph(ckpts[key], sampling)
    files = {"colorseg.json": ""}
    loaded = torch.jit.load(str(path), _extra_files=files)
    assert json.loads(files["colorseg.json"])["task"] == meta["task"]
    for b, h, w in SIZES:
        inputs = export.example_inputs(graph, meta, (b, h, w))
        with torch.no_grad():
            assert _max_diff(loaded(*inputs), graph(*inputs)) <= TS_TOL
    if key == "vae_hints":  # inputs L[, noise], hints; the hints matter, and equal the Colorizer's model
        inputs = export.example_inputs(graph, meta, SIZES[0])
        assert inputs[-1].shape == (SIZES[0][0], 3, *SIZES[0][1:]) and len(inputs) == 2 + sampling
        module = Colorizer.from_checkpoint(ckpts[key]).module
        L, hints = inputs[0], inputs[-1]
        with torch.no_grad():
            if not sampling:
                assert _max_diff(loaded(L, hints), module(L, hints=hints)["ab"]) <= TS_TOL
            assert _max_diff(loaded(*inputs[:-1], hints), loaded(*inputs[:-1], torch.zeros_like(hints))) > 1e-3


def test_failed_check_writes_nothing(ckpts, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(export, "TOLERANCE", -1.0)
    with pytest.raises(ColorsegError, match="differs from PyTorch"):
        export_model(ckpts["segment"], "torchscript", tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------- errors

def _cli_error(argv: list[str], capsys) -> str:
    assert main(["export", *argv]) == 2
    return capsys.readouterr().err


def test_cli_errors_name_the_bad_value(ckpts, tmp_path: Path, capsys) -> None:
    out = ["--output", str(tmp_path / "m.onnx")]
    assert "'pdf'" in _cli_error(["--ckpt", str(ckpts["segment"]), "--format", "pdf", *out], capsys)
    assert "gray" in _cli_error(["--ckpt", str(ckpts["gray"]), "--format", "torchscript", *out], capsys)
    missing = tmp_path / "nothing.ckpt"
    assert "nothing.ckpt" in _cli_error(["--ckpt", str(missing), "--format", "torchscript", *out], capsys)
    err = _cli_error(["--ckpt", str(ckpts["regression"]), "--format", "torchscript", "--sampling", *out], capsys)
    assert "'regression'" in err and "--sampling" in err
    assert "segment" in _cli_error(["--ckpt", str(ckpts["segment"]), "--format", "torchscript", "--sampling", *out],
                                   capsys)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    err = _cli_error(["--ckpt", str(ckpts["segment"]), "--format", "torchscript",
                      "--output", str(blocker / "m.pt")], capsys)
    assert "a_file" in err
    assert not (tmp_path / "m.onnx").exists()


def test_bad_format_is_config_error(ckpts, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'tflite'"):
        export_model(ckpts["segment"], "tflite", tmp_path / "m")
