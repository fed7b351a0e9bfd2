"""`colorseg colorize predict|test` with the built-in model (no --ckpt), a checkpoint URL + --sha256,
and `colorize test --input DIR` on any folder of photos. The built-in weights folder is a tmp
folder holding a tiny released model; URLs are served from 127.0.0.1 (never the internet)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorseg.checkpoint import release
from colorseg.cli import main
from colorseg.data.color_datasets import to_uint8
from colorseg.inference.colorizer import Colorizer
from tests.checkpoint.helpers import ELSEWHERE, serve_folder, tiny_checkpoint


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    """A colorizer whose training data (a folder) is not on this machine, like a released model's."""
    return tiny_checkpoint(tmp_path_factory.mktemp("builtin") / "tiny.ckpt", data=ELSEWHERE)


@pytest.fixture
def builtin(tiny_ckpt: Path, tmp_path: Path, monkeypatch) -> Path:
    """The package's weights folder replaced by one holding the tiny model as colorize-default."""
    folder = tmp_path / "weights"
    monkeypatch.setattr(release, "WEIGHTS_DIR", folder)
    release.release_checkpoint(tiny_ckpt, "colorize-default", "tiny test model", weights_dir=folder)
    return folder / "colorize-default.pt"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch) -> None:
    """No proxy for the local server, and torch.hub's cache in tmp (never the user's)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "torch-hub"))


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three colour photos (one in a subfolder) and one grayscale-only image."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    yy, xx = np.mgrid[0:30, 0:40] / 40.0
    for i, rel in enumerate(["a.png", "b.png", "sub/c.png"]):
        rgb = np.stack([np.sin(xx * (i + 2)) * 0.4 + 0.5, yy * 0.8 + 0.1, 0.9 - 0.7 * xx], -1)
        Image.fromarray((rgb * 255).round().astype(np.uint8)).save(root / rel)
    Image.fromarray(np.full((30, 40), 128, np.uint8)).save(root / "sub" / "gray.png")
    return root


def test_predict_without_ckpt_uses_the_builtin_model(builtin: Path, photos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["colorize", "predict", "--input", str(photos), "--output", str(out)]) == 0
    assert "built-in model colorize-default" in capsys.readouterr().err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["a.png", "b.png", "sub/c.png",
                                                                            "sub/gray.png"]
    expected = to_uint8(Colorizer.pretrained().colorize(np.asarray(Image.open(photos / "sub" / "c.png"))))
    assert np.array_equal(np.asarray(Image.open(out / "sub" / "c.png")), expected)


def test_predict_takes_the_photo_as_positional_argument(builtin: Path, photos: Path, tmp_path: Path,
                                                        capsys) -> None:
    """`colorseg colorize predict photo.jpg --output out/`: the README's first command."""
    out = tmp_path / "pos"
    assert main(["colorize", "predict", str(photos / "a.png"), "--output", str(out)]) == 0
    assert [p.name for p in out.glob("*.png")] == ["a.png"]
    assert main(["colorize", "predict", str(photos / "a.png"), "--input", str(photos), "--output", str(out)]) == 2
    assert "give the input once" in capsys.readouterr().err
    assert main(["colorize", "predict", "--output", str(out)]) == 2
    assert "needs an image or folder" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Fréchet distance on")  # 3 images: expected
def test_test_input_folder_evaluates_every_colour_photo(builtin: Path, photos: Path, tmp_path: Path,
                                                        monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 grayscale-only image"):
        assert main(["colorize", "test", "--input", str(photos), "--samples", "2"]) == 0
    out = tmp_path / "colorize-test"  # the default output with --input
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_images"] == 3 and metrics["split"] == "test" and metrics["n_samples"] == 2
    assert metrics["selection_split_reused"] is False
    assert isinstance(metrics["psnr"], float) and isinstance(metrics["kid_lite2"], float)
    names = (out / "per_image.csv").read_text()
    assert "a" in names and "sub/c" in names and "gray" not in names
    assert "wrote colorize-test/metrics.json" in capsys.readouterr().out


def test_test_builtin_without_input_suggests_input(builtin: Path, tmp_path: Path, capsys) -> None:
    assert main(["colorize", "test", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not found here" in err and "--input DIR" in err and ELSEWHERE["root"] in err
    assert not (tmp_path / "o").exists()


def test_input_decides_the_data(builtin: Path, photos: Path, tmp_path: Path, capsys) -> None:
    assert main(["colorize", "test", "--input", str(photos), "--split", "val"]) == 2
    assert "test split" in capsys.readouterr().err
    assert main(["colorize", "test", "--input", str(photos), "--data.root", str(photos)]) == 2
    assert "--data.root" in capsys.readouterr().err
    assert main(["colorize", "test", "--input", str(tmp_path / "nope")]) == 2
    assert "folder of colour images" in capsys.readouterr().err


def test_url_needs_sha256(tmp_path: Path, capsys) -> None:
    for cmd in (["predict", "--input", str(tmp_path), "--output", str(tmp_path / "o")], ["test"]):
        assert main(["colorize", *cmd, "--ckpt", "https://example.invalid/colorizer.pt"]) == 2
        assert "--sha256" in capsys.readouterr().err


def test_bad_sha256(builtin: Path, tmp_path: Path, capsys) -> None:
    args = ["colorize", "predict", "--input", str(tmp_path), "--output", str(tmp_path / "o")]
    assert main([*args, "--ckpt", "https://example.invalid/colorizer.pt", "--sha256", "not-a-hash"]) == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err
    actual, wrong = release.sha256_file(builtin), "ab" * 32
    assert main([*args, "--ckpt", str(builtin), "--sha256", wrong]) == 2  # a local file is checked too
    err = capsys.readouterr().err
    assert actual in err and wrong in err
    with serve_folder(builtin.parent) as base:
        assert main([*args, "--ckpt", f"{base}/colorize-default.pt", "--sha256", wrong]) == 2
    err = capsys.readouterr().err
    assert actual in err and wrong in err and "deleted" in err
    assert list((tmp_path / "torch-hub" / "checkpoints" / "colorseg").iterdir()) == []
    assert not (tmp_path / "o").exists()


def test_predict_from_url(builtin: Path, photos: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    sha = release.sha256_file(builtin)
    with serve_folder(builtin.parent) as base:
        assert main(["colorize", "predict", "--ckpt", f"{base}/colorize-default.pt", "--sha256", sha,
                     "--input", str(photos / "a.png"), "--output", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "a.png").is_file()
    assert release.sha256_file(tmp_path / "hub" / "checkpoints" / "colorseg" / "colorize-default.pt") == sha


def test_no_builtin_weights_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(release, "WEIGHTS_DIR", tmp_path / "empty")
    assert main(["colorize", "predict", "--input", str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "no built-in model named 'colorize-default'; available: none" in capsys.readouterr().err


def test_help_names_the_defaults(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["colorize", "test", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "./colorize-test" in text and "built-in model colorize-default" in text and "--sha256" in text
