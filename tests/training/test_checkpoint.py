"""Checkpoint safety: pickled code refused, wrong task and corrupt files named clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from colorseg.checkpoint import load_checkpoint
from colorseg.errors import CheckpointError


class Payload:
    def __reduce__(self):  # would run code on unpickling
        return (print, ("pwned",))


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="pickled objects"):
        load_checkpoint(path, task="segment")


def test_wrong_task_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "colorseg": {"task": "colorize"}}, path)
    with pytest.raises(CheckpointError, match="'colorize', not 'segment'"):
        load_checkpoint(path, task="segment")


def test_missing_and_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.ckpt", task="segment")
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        load_checkpoint(bad, task="segment")


def test_not_a_colorseg_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(CheckpointError, match="not a colorseg checkpoint"):
        load_checkpoint(path, task="segment")


# --------------------------------------------------------------------- metadata and weights

def _module(**kwargs):
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    return SegmenterModule(**{"class_names": ["bg", "a", "b"], "in_channels": 3, "depth": 2, "base_width": 4,
                              **kwargs})


def _save(path: Path, module=None, meta: dict | None = None, hparams: dict | None = None, state: dict | None = None,
          **extra) -> Path:
    from colorseg.checkpoint import checkpoint_metadata

    module = module or _module()
    torch.save({"state_dict": module.state_dict() if state is None else state,
                "hyper_parameters": {**dict(module.hparams), **(hparams or {})},
                "colorseg": {**checkpoint_metadata("segment"), **(meta or {})}, **extra}, path)
    return path


def test_valid_checkpoint_round_trips_with_metadata(tmp_path: Path) -> None:
    from colorseg import __version__
    from colorseg.checkpoint import CHECKPOINT_FORMAT, module_from_checkpoint
    from colorseg.training.segmenter_module import SegmenterModule

    module = _module()
    ckpt = load_checkpoint(_save(tmp_path / "ok.ckpt", module), task="segment")
    assert ckpt["colorseg"] == {"task": "segment", "version": __version__, "format": CHECKPOINT_FORMAT}
    assert ckpt.path == tmp_path / "ok.ckpt"
    rebuilt = module_from_checkpoint(ckpt, SegmenterModule)
    for key, value in module.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value)


def test_checkpoint_without_format_number_is_format_1(tmp_path: Path) -> None:
    path = tmp_path / "old.ckpt"
    module = _module()
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "colorseg": {"task": "segment", "version": "0.1.0"}}, path)
    assert load_checkpoint(path, task="segment")["colorseg"]["task"] == "segment"


@pytest.mark.parametrize("meta, match", [
    ({"format": 99, "version": "7.0.0"}, "colorseg 7.0.0 in checkpoint format 99.*upgrade colorseg"),
    ({"format": "one"}, "invalid checkpoint format 'one'"),
])
def test_incompatible_format_is_refused(tmp_path: Path, meta: dict, match: str) -> None:
    path = _save(tmp_path / "future.ckpt", meta=meta)
    with pytest.raises(CheckpointError, match=f"future.ckpt.*{match}"):
        load_checkpoint(path, task="segment")


def test_checkpoint_without_colorseg_metadata(tmp_path: Path) -> None:
    path = tmp_path / "lightning_only.ckpt"
    module = _module()
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)
    with pytest.raises(CheckpointError, match="lightning_only.ckpt is not a colorseg checkpoint.*metadata"):
        load_checkpoint(path, task="segment")


@pytest.mark.parametrize("hparams, match", [
    ({"class_names": ["only_one"]}, "class_names=\\['only_one'\\] is invalid"),
    ({"class_names": ["bg", "bg", "x"]}, "class_names"),
    ({"in_channels": 2}, "in_channels=2 is invalid"),
    ({"std": 0.0}, "std=0.0 is invalid"),
    ({"mean": float("nan")}, "mean=nan is invalid"),
    ({"class_colors": [[0, 0, 0]]}, "class_colors"),
    ({"class_colors": [[0, 0, 0], [1, 2, 3], [300, 0, 0]]}, "class_colors"),
])
def test_invalid_hyperparameters_are_refused_before_weights(tmp_path: Path, hparams: dict, match: str) -> None:
    path = _save(tmp_path / "hp.ckpt", hparams=hparams)
    with pytest.raises(CheckpointError, match=f"hp.ckpt: hyper-parameter {match}"):
        load_checkpoint(path, task="segment")


def test_missing_preprocessing_is_refused(tmp_path: Path) -> None:
    module = _module()
    hp = dict(module.hparams)
    del hp["mean"]
    path = tmp_path / "nomean.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": hp,
                "colorseg": {"task": "segment", "format": 1}}, path)
    with pytest.raises(CheckpointError, match="nomean.ckpt: hyper-parameter 'mean' is missing"):
        load_checkpoint(path, task="segment")


def test_data_and_model_classes_must_agree(tmp_path: Path) -> None:
    path = _save(tmp_path / "mixed.ckpt", datamodule_hyper_parameters={"class_names": ["x", "y", "z"]})
    with pytest.raises(CheckpointError, match="mixed.ckpt: data class_names"):
        load_checkpoint(path, task="segment")


def _weights_case(name: str) -> tuple[dict, dict, str]:
    """(hparams override, state_dict, expected message) for a weights/architecture mismatch."""
    state = _module().state_dict()
    if name == "missing":
        state.pop(next(iter(state)))
        return {}, state, "missing weights"
    if name == "unexpected":
        return {}, {**state, "net.extra.weight": torch.zeros(1)}, "unexpected weights \\['net.extra.weight'\\]"
    if name == "shape":  # weights of a 3-class model, metadata claiming 4 classes
        return {"class_names": ["bg", "a", "b", "c"]}, state, "has shape .*the model needs"
    if name == "non_finite":
        key = next(k for k, v in state.items() if v.is_floating_point())
        state[key] = torch.full_like(state[key], float("nan"))
        return {}, state, "NaN or infinite"
    if name == "not_a_tensor":
        key = next(iter(state))
        return {}, {**state, key: [1, 2, 3]}, "is a list, not a tensor"
    raise AssertionError(name)


@pytest.mark.parametrize("name", ["missing", "unexpected", "shape", "non_finite", "not_a_tensor"])
def test_weights_not_fitting_the_metadata_are_refused(tmp_path: Path, name: str) -> None:
    from colorseg.checkpoint import module_from_checkpoint
    from colorseg.training.segmenter_module import SegmenterModule

    hparams, state, match = _weights_case(name)
    path = _save(tmp_path / f"{name}.ckpt", hparams=hparams, state=state)
    with pytest.raises(CheckpointError, match=f"{name}.ckpt: weights do not fit .*{match}"):
        module_from_checkpoint(load_checkpoint(path, task="segment"), SegmenterModule)


def test_colorize_checkpoint_metadata_is_checked(tmp_path: Path) -> None:
    from colorseg.checkpoint import checkpoint_metadata

    path = tmp_path / "c.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {"kind": "vae", "image_size": 4},
                "colorseg": checkpoint_metadata("colorize")}, path)
    with pytest.raises(CheckpointError, match="c.ckpt: hyper-parameter image_size=4 is invalid"):
        load_checkpoint(path, task="colorize")


@pytest.mark.parametrize("kind", ["pickled", "future", "wrong_task", "shape"])
def test_cli_refuses_bad_checkpoints_cleanly(tmp_path: Path, kind: str, capsys) -> None:
    """Every refusal reaches the user as one line naming the file, exit status 2, no traceback."""
    from colorseg.cli import main

    path = tmp_path / f"{kind}.ckpt"
    if kind == "pickled":
        torch.save({"state_dict": {}, "hyper_parameters": {}, "payload": Payload()}, path)
    elif kind == "future":
        _save(path, meta={"format": 3})
    elif kind == "wrong_task":
        _save(path, meta={"task": "colorize"})
    else:
        hparams, state, _ = _weights_case("shape")
        _save(path, hparams=hparams, state=state)
    (tmp_path / "in").mkdir()
    code = main(["segment", "predict", "--ckpt", str(path), "--input", str(tmp_path / "in"),
                 "--output", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert f"{kind}.ckpt" in captured.err and "Traceback" not in captured.err
    assert "pwned" not in captured.out
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------ saving

def test_atomic_save_failure_keeps_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    """A save that dies half-way (disk full, exception) leaves the old file and no temporary."""
    from colorseg.training.checkpoint_io import AtomicCheckpointIO

    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"epoch": 1, "w": torch.arange(1000)}, path)
    real_save = torch.save

    def half_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        Path(f).write_bytes(Path(f).read_bytes()[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        io.save_checkpoint({"epoch": 2, "w": torch.arange(2000)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_killed_during_save_keeps_previous_checkpoint(tmp_path: Path) -> None:
    """SIGKILL half-way through writing: the previous checkpoint is intact; the orphan temporary
    file is hidden, never matched by ``--ckpt_path last``, and removed by the next fit."""
    import signal
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "last.ckpt"
    script = textwrap.dedent(f"""
        import os, signal, torch
        from pathlib import Path
        from colorseg.training.checkpoint_io import AtomicCheckpointIO
        io = AtomicCheckpointIO()
        io.save_checkpoint({{"epoch": 1, "w": torch.arange(10)}}, {str(path)!r})
        real = torch.save
        def die_half_way(obj, f, *a, **k):
            real(obj, f, *a, **k)
            Path(f).write_bytes(Path(f).read_bytes()[:64])
            os.kill(os.getpid(), signal.SIGKILL)
        torch.save = die_half_way
        io.save_checkpoint({{"epoch": 2, "w": torch.arange(10**6)}}, {str(path)!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    orphans = [p for p in tmp_path.iterdir() if p.name != "last.ckpt"]
    assert len(orphans) == 1 and orphans[0].name.startswith(".last.ckpt.")
    from colorseg.training.checkpoint_io import AtomicCheckpointIO

    assert AtomicCheckpointIO.remove_stale_temporaries(tmp_path) == orphans
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_non_finite_weights_are_never_saved() -> None:
    module = _module()
    with torch.no_grad():
        next(module.parameters())[0] = float("inf")
    with pytest.raises(FloatingPointError, match="non-finite by step 0; checkpoint not written"):
        module.on_save_checkpoint({"state_dict": module.state_dict()})
