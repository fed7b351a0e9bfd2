"""`colorseg segment plan` through ``colorseg.cli.main``: the planned YAML loads, `fit` accepts it
(and, for 0/255 masks, sees the foreground), and bad inputs give one clear line and status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from colorseg.cli import main
from colorseg.errors import ConfigError, DataError
from colorseg.planning import plan_segmentation
from colorseg.planning.planner import default_memory_gb, default_threads, plan_command
from tests.planning.helpers import binary_folder, index_folder


def test_plan_writes_a_commented_config_and_prints_a_summary(tmp_path: Path, capsys) -> None:
    root = index_folder(tmp_path / "data", n=8, size=40, classes=3)
    out = tmp_path / "plan.yaml"
    assert main(["segment", "plan", str(root), "--minutes", "3", "--output", str(out), "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out}" in printed and "Please confirm" in printed and "max_time 00:00:03:00" in printed
    cfg = yaml.safe_load(out.read_text())
    assert cfg["data"]["source"] == "folder" and cfg["data"]["root"] == str(root)
    assert cfg["data"]["class_names"] == ["class_0", "class_1", "class_2"]
    assert cfg["trainer"]["max_time"] == "00:00:03:00"
    assert out.read_text().count("\n# ") > 10  # the reasons are in the file


def test_plan_uses_given_class_names(tmp_path: Path) -> None:
    root = binary_folder(tmp_path / "data", n=6, size=24)
    out = tmp_path / "p.yaml"
    assert main(["segment", "plan", str(root), "--minutes", "1", "--output", str(out),
                 "--class-names", "sea", "ship"]) == 0
    cfg = yaml.safe_load(out.read_text())
    assert cfg["data"]["class_names"] == ["sea", "ship"] and cfg["data"]["mask_value_map"] == {0: 0, 255: 1}


def test_plan_reads_the_class_names_data_convert_recorded(tmp_path: Path) -> None:
    """``data convert --from binary`` writes ROOT/colorseg.yaml with the class names; the plan of
    the converted folder uses them (and says where they came from); --class-names still wins."""
    src = binary_folder(tmp_path / "raw", n=6, size=24)
    converted = tmp_path / "converted"
    assert main(["data", "convert", "--from", "binary", str(src / "masks"), "--images", str(src / "images"),
                 "--output", str(converted), "--classes", "sea,ship"]) == 0
    out = tmp_path / "p.yaml"
    assert main(["segment", "plan", str(converted), "--minutes", "1", "--output", str(out)]) == 0
    assert yaml.safe_load(out.read_text())["data"]["class_names"] == ["sea", "ship"]
    assert "from colorseg.yaml (written by colorseg data convert)" in out.read_text()
    assert main(["segment", "plan", str(converted), "--minutes", "1", "--output", str(out),
                 "--class-names", "water", "boat"]) == 0
    assert yaml.safe_load(out.read_text())["data"]["class_names"] == ["water", "boat"]
    (converted / "colorseg.yaml").write_text("data: {class_names: 3}\n")
    with pytest.raises(DataError, match="colorseg.yaml: data.class_names must be a list"):
        plan_segmentation(converted, minutes=1, output=None)


def test_zero_255_plan_maps_the_foreground_and_fit_sees_it(tmp_path: Path, capsys) -> None:
    """The plan sets ``mask_value_map: {0: 0, 255: 1}`` and two classes; two fit steps with it pass
    the label check (foreground pixels present), while the same config without the map is refused."""
    from colorseg.training.datamodule import SegmentationDataModule

    root = binary_folder(tmp_path / "data", n=12, size=48)
    out = tmp_path / "plan.yaml"
    assert main(["segment", "plan", str(root), "--minutes", "2", "--output", str(out), "--threads", "1"]) == 0
    cfg = yaml.safe_load(out.read_text())
    assert cfg["data"]["mask_value_map"] == {0: 0, 255: 1}
    assert cfg["data"]["class_names"] == ["background", "foreground"]
    run_dir = tmp_path / "run"
    fit = ["segment", "fit", "-c", str(out), "--run_dir", str(run_dir), "--trainer.max_steps=2",
           "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    assert main(fit) == 0  # the label check passed and two training steps ran
    resolved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert {int(k): v for k, v in resolved["data"]["mask_value_map"].items()} == {0: 0, 255: 1}
    assert resolved["trainer"]["max_epochs"] == -1
    dm = SegmentationDataModule(**cfg["data"])
    dm.setup("fit")
    counts = dm.dataset("train").label_counts()
    assert counts.get(1, 0) > 0 and 255 not in counts  # the foreground is learned, nothing ignored
    capsys.readouterr()
    no_map = [*fit[:5], str(tmp_path / "run2"), "--data.mask_value_map=null", *fit[6:]]
    assert main(no_map) == 2
    assert "'foreground' (label 1) has no pixels" in capsys.readouterr().err


def test_plan_from_python_without_writing(tmp_path: Path) -> None:
    root = index_folder(tmp_path / "data", n=6, size=32, classes=2)
    result = plan_segmentation(root, 4, output=None, memory_gb=8, threads=2, progress=False)
    assert result.path is None and yaml.safe_load(result.text) == result.plan.as_config()
    assert result.fingerprint.splits["pool"].n_images == 6
    assert "--memory-gb 8" in result.text and "--threads 2" in result.text


def test_plan_command_and_defaults(monkeypatch) -> None:
    assert plan_command("d a", 30, "folder", "p.yaml", None, ["a b", "c"], 2) == \
        "colorseg segment plan 'd a' --minutes 30 --source folder --output p.yaml --class-names 'a b' c --threads 2"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() >= 1 and default_memory_gb() > 0


# ------------------------------------------------------------------------------------ refusals

def _error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("colorseg: error: ") and "Traceback" not in err
    return err


def test_empty_folder_is_refused_naming_it(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    err = _error(capsys, ["segment", "plan", str(tmp_path / "empty"), "--minutes", "5",
                          "--output", str(tmp_path / "p.yaml")])
    assert not (tmp_path / "p.yaml").exists()
    assert f"no images/ folder in {tmp_path / 'empty'}" in err


def test_unpaired_masks_are_refused_naming_the_file(tmp_path: Path, capsys) -> None:
    root = index_folder(tmp_path / "data", n=4, size=16, classes=2)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "masks" / "stray.png")
    err = _error(capsys, ["segment", "plan", str(root), "--minutes", "5", "--output", str(tmp_path / "p.yaml")])
    assert "mask without image" in err and "stray.png" in err
    assert not (tmp_path / "p.yaml").exists()


def test_rgb_colour_masks_point_to_the_converter(tmp_path: Path, capsys) -> None:
    root = index_folder(tmp_path / "data", n=3, size=16, classes=2)
    colour = np.zeros((16, 16, 3), np.uint8)
    colour[:8] = (128, 0, 0)
    Image.fromarray(colour).save(root / "masks" / "img_1.png")
    err = _error(capsys, ["segment", "plan", str(root), "--minutes", "5", "--output", str(tmp_path / "p.yaml")])
    assert "img_1.png: mask is a colour (RGB) image" in err and "colorseg data convert --from rgb" in err


@pytest.mark.parametrize("minutes", ["0", "-3"])
def test_non_positive_budgets_are_refused(tmp_path: Path, capsys, minutes: str) -> None:
    root = index_folder(tmp_path / "data", n=3, size=16, classes=2)
    err = _error(capsys, ["segment", "plan", str(root), "--minutes", minutes, "--output", str(tmp_path / "p.yaml")])
    assert f"--minutes must be a positive number of minutes, got {float(minutes)}" in err


@pytest.mark.parametrize("argv,message", [
    (["--memory-gb", "-1"], "--memory-gb must be a positive number of GiB, got -1"),
    (["--threads", "0"], "--threads must be at least 1, got 0"),
    (["--class-names", "only"], "--class-names needs at least two distinct names"),
    (["--class-names", "a", "b", "c"], "class c has no pixels in the scanned training masks under"),
])
def test_bad_options_are_refused_naming_the_value(tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    root = index_folder(tmp_path / "data", n=3, size=16, classes=2)
    err = _error(capsys, ["segment", "plan", str(root), "--minutes", "5", "--output", str(tmp_path / "p.yaml"), *argv])
    assert message in err


def test_too_few_class_names_are_refused(tmp_path: Path, capsys) -> None:
    root = index_folder(tmp_path / "data", n=3, size=24, classes=3)
    err = _error(capsys, ["segment", "plan", str(root), "--minutes", "5", "--output", str(tmp_path / "p.yaml"),
                          "--class-names", "a", "b"])
    assert "--class-names gives 2 names (a, b) but the masks hold 3 classes (values 0, 1, 2)" in err


def test_unknown_source_is_refused_from_python(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--source must be one of folder, camvid, isbi2012"):
        plan_segmentation(tmp_path, 5, source="synthetic")


def test_non_numeric_minutes_is_an_argument_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["segment", "plan", str(tmp_path), "--minutes", "soon"])
    assert exc.value.code == 2 and "--minutes: invalid float value: 'soon'" in capsys.readouterr().err
