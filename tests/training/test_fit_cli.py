"""CLI smoke tests: fit → run directory → test → predict → resume, on generated data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from colorseg.checkpoint import load_checkpoint
from colorseg.cli import main

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run_dir),
                 "--trainer.enable_progress_bar=false"]) == 0
    return run_dir


def test_fit_writes_run_directory(tiny_run: Path) -> None:
    assert (tiny_run / "checkpoints" / "best.ckpt").is_file()
    assert (tiny_run / "checkpoints" / "last.ckpt").is_file()
    config = (tiny_run / "config.yaml").read_text()
    assert "max_epochs: 2" in config and "source: synthetic" in config
    assert "run_dir:" in config
    metrics = (tiny_run / "logs" / "version_0" / "metrics.csv").read_text()
    assert "val/mean_iou" in metrics and "train/loss_epoch" in metrics
    assert any((tiny_run / "tensorboard").rglob("events.out.tfevents*"))


def test_checkpoint_carries_model_metadata(tiny_run: Path) -> None:
    ckpt = load_checkpoint(tiny_run / "checkpoints" / "last.ckpt", task="segment")
    hp = ckpt["hyper_parameters"]
    assert hp["class_names"] == ["background", "circle", "square", "triangle"]
    assert len(hp["class_colors"]) == 4 and hp["in_channels"] == 3
    assert hp["mean"] == [0.5] * 3 and hp["depth"] == 2
    assert ckpt["datamodule_hyper_parameters"]["source"] == "synthetic"
    assert ckpt["colorseg"]["task"] == "segment"
    assert ckpt["epoch"] == 1


def test_test_command_writes_metrics(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    assert main(["segment", "test", "--ckpt", str(tiny_run / "checkpoints" / "best.ckpt"),
                 "--output", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("mean_iou", "mean_dice", "pixel_accuracy", "per_class"):
        assert key in metrics
    assert set(metrics["per_class"]) == {"background", "circle", "square", "triangle"}
    confusion = np.asarray(metrics["confusion"], dtype=np.float64)
    assert confusion.sum() == 2 * 48 * 48  # 2 held-out images of 48x48
    # the scores follow from the counts: IoU = tp / (gt + pred − tp) per class, NaN-mean over classes
    tp, gt, pred = np.diag(confusion), confusion.sum(1), confusion.sum(0)
    with np.errstate(invalid="ignore"):
        iou = tp / (gt + pred - tp)
    for name, value in zip(metrics["per_class"], iou):
        assert (metrics["per_class"][name]["iou"] is None) == bool(np.isnan(value)), name
        assert np.isnan(value) or metrics["per_class"][name]["iou"] == pytest.approx(value, rel=1e-9), name
    assert metrics["mean_iou"] == pytest.approx(np.nanmean(iou), rel=1e-9)
    assert metrics["pixel_accuracy"] == pytest.approx(tp.sum() / confusion.sum(), rel=1e-9)
    table = (out / "per_image.csv").read_text().splitlines()
    assert len(table) == 1 + metrics["num_images"]
    assert table[0].startswith("name,mean_iou,mean_dice,pixel_accuracy")


def test_test_on_validation_split_reproduces_the_logged_validation_scores(tmp_path: Path) -> None:
    """`segment test` (the inference path: Segmenter rebuilt from the checkpoint) on the validation
    split gives the val/mean_iou training logged: best.ckpt the highest epoch's, last.ckpt the
    last epoch's. 4 epochs × 8 passes over the data, so the model predicts more than background."""
    import pandas as pd

    run = tmp_path / "run"
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run), "--trainer.enable_progress_bar=false",
                 "--trainer.max_epochs=4", "--data.repeats=8"]) == 0
    logged = pd.read_csv(run / "logs" / "version_0" / "metrics.csv")["val/mean_iou"].dropna().to_numpy()
    assert len(logged) == 4  # one per epoch
    for ckpt, expected in (("best", logged.max()), ("last", logged[-1])):
        out = tmp_path / ckpt
        assert main(["segment", "test", "--ckpt", str(run / "checkpoints" / f"{ckpt}.ckpt"), "--split", "val",
                     "--output", str(out)]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["mean_iou"] == pytest.approx(expected, rel=1e-6), ckpt
        assert (np.asarray(metrics["confusion"]).sum(0) > 0).sum() >= 2, ckpt  # not all background


def test_test_command_with_data_override(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "eval"
    assert main(["segment", "test", "--ckpt", str(tiny_run / "checkpoints" / "best.ckpt"),
                 "--output", str(out), "--data.num_images=20", "--data.test_fraction", "0.5"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_images"] == 10
    # the new 20-image pool holds the 8 the checkpoint was trained and validated on: that shows
    assert metrics["selection_split_reused"] and "in the checkpoint's" in metrics["selection_note"]


def test_test_command_rejects_unknown_data_key(tiny_run: Path, capsys) -> None:
    code = main(["segment", "test", "--ckpt", str(tiny_run / "checkpoints" / "best.ckpt"),
                 "--data.bogus=1"])
    assert code == 2
    assert "unknown data option 'bogus'" in capsys.readouterr().err


def test_predict_writes_labels_and_overlays(tiny_run: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    (inputs / "sub").mkdir(parents=True)
    Image.fromarray(np.zeros((30, 41, 3), np.uint8)).save(inputs / "a.png")
    Image.fromarray(np.full((17, 23), 128, np.uint8)).save(inputs / "sub" / "b.jpg")  # gray → RGB
    (inputs / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    code = main(["segment", "predict", "--ckpt", str(tiny_run / "checkpoints" / "best.ckpt"),
                 "--input", str(inputs), "--output", str(out)])
    assert code == 1  # one file failed, the others were written
    label = np.asarray(Image.open(out / "a.png"))
    assert label.shape == (30, 41) and label.max() < 4
    assert np.asarray(Image.open(out / "a_overlay.png")).shape == (30, 41, 3)
    assert np.asarray(Image.open(out / "sub" / "b.png")).shape == (17, 23)
    assert not (out / "broken.png").exists()
    assert not list(out.rglob(".*"))  # no temp files left behind


def test_predict_skip_existing(tiny_run: Path, tmp_path: Path, capsys) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(inputs / "a.png")
    args = ["segment", "predict", "--ckpt", str(tiny_run / "checkpoints" / "best.ckpt"),
            "--input", str(inputs), "--output", str(tmp_path / "out")]
    assert main(args) == 0
    assert main(args + ["--skip-existing"]) == 0
    assert "done 0, skipped 1, failed 0" in capsys.readouterr().out


def test_ema_weights_are_validated_saved_tested_and_resumed(tmp_path: Path) -> None:
    """Lightning's EMAWeightAveraging under trainer.callbacks: validation scores the averaged
    weights, checkpoints hold them as the model (the raw weights aside), `segment test` on the
    validation split reproduces the logged score, and a resume continues the average."""
    import pandas as pd

    run = tmp_path / "run"
    ema = ["--trainer.callbacks+=lightning.pytorch.callbacks.EMAWeightAveraging", "--trainer.callbacks.decay=0.5"]
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run), "--trainer.enable_progress_bar=false",
                 "--trainer.max_epochs=3", "--data.repeats=8", *ema]) == 0
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    averaged, raw = ckpt["state_dict"], ckpt["current_model_state"]
    assert averaged.keys() == raw.keys()
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged if averaged[k].is_floating_point())
    logged = pd.read_csv(run / "logs" / "version_0" / "metrics.csv")["val/mean_iou"].dropna().to_numpy()
    out = tmp_path / "last"
    assert main(["segment", "test", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--split", "val",
                 "--output", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["mean_iou"] == pytest.approx(logged[-1], rel=1e-6)
    assert main(["segment", "fit", "-c", str(run / "config.yaml"), "--run_dir", str(run), "--ckpt_path", "last",
                 "--trainer.max_epochs=4", "--trainer.enable_progress_bar=false"]) == 0
    resumed = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 3 and "current_model_state" in resumed


def test_resume_continues_from_last(tiny_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "resumed"
    shutil.copytree(tiny_run, run)
    assert main(["segment", "fit", "-c", str(run / "config.yaml"), "--run_dir", str(run),
                 "--ckpt_path", "last", "--trainer.max_epochs=3",
                 "--trainer.enable_progress_bar=false"]) == 0
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["epoch"] == 2  # continued: only epoch index 2 was trained
    assert (run / "logs" / "version_1" / "metrics.csv").is_file()  # history of both runs kept
    assert (run / "logs" / "version_0" / "metrics.csv").is_file()


def test_fit_bad_config_value_exits_nonzero(tmp_path: Path, capsys) -> None:
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(tmp_path / "r"),
                 "--model.depth=notanint"])
    assert code == 2
    assert "depth" in capsys.readouterr().err


def test_fit_unknown_source_is_clear(tmp_path: Path, capsys) -> None:
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(tmp_path / "r"),
                 "--data.source=nonsense"])
    assert code == 2
    assert "unknown data source 'nonsense'" in capsys.readouterr().err


def test_fit_missing_root_names_folder(tmp_path: Path, capsys) -> None:
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(tmp_path / "r"),
                 "--data.source=isbi2012", f"--data.root={tmp_path / 'nowhere'}"])
    assert code == 2
    assert "nowhere" in capsys.readouterr().err


@pytest.mark.parametrize("config", ["synthetic.yaml", "synthetic_em.yaml", "isbi2012.yaml", "camvid.yaml"])
def test_shipped_configs_parse(config: str, capsys) -> None:
    path = Path(TINY).parent / config
    assert main(["segment", "fit", "-c", str(path), "--print_config"]) == 0
    out = capsys.readouterr().out
    assert "model:" in out and "data:" in out
    if config == "isbi2012.yaml":
        assert "- '24'" in out and "- '29'" in out


def test_plateau_scheduler_with_sparse_validation(tmp_path: Path) -> None:
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(tmp_path / "r"), "--model.scheduler=plateau",
                 "--trainer.check_val_every_n_epoch=2", "--trainer.max_epochs=3",
                 "--trainer.enable_progress_bar=false"]) == 0
    assert (tmp_path / "r" / "checkpoints" / "last.ckpt").is_file()


def test_same_seed_deterministic_runs_match(tmp_path: Path) -> None:
    logs = []
    for name in ("a", "b"):
        run = tmp_path / name
        assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run), "--seed_everything=7",
                     "--trainer.deterministic=true", "--trainer.enable_progress_bar=false"]) == 0
        import pandas as pd

        table = pd.read_csv(run / "logs" / "version_0" / "metrics.csv")
        logs.append(table.drop(columns=["train/images_per_s"]))  # wall-clock throughput differs
    pd.testing.assert_frame_equal(logs[0], logs[1])
    assert logs[0]["val/mean_iou"].notna().sum() == 2


def test_fit_refuses_to_overwrite_a_run_with_checkpoints(tiny_run: Path, capsys) -> None:
    """A new fit into a run directory that holds checkpoints would destroy them: refused, clearly."""
    before = (tiny_run / "checkpoints" / "last.ckpt").read_bytes()
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(tiny_run), "--trainer.max_epochs=1"])
    err = capsys.readouterr().err
    assert code == 2 and "already holds checkpoints" in err and "--ckpt_path last" in err
    assert (tiny_run / "checkpoints" / "last.ckpt").read_bytes() == before


def test_fit_with_pretrained_encoder_then_test_predict_export_and_resume(tmp_path: Path) -> None:
    """The whole CLI path with an ImageNet EfficientNet-Lite0 encoder and the fine-tuning options."""
    run_dir = tmp_path / "lite0"
    opts = ["--model.encoder=efficientnet_lite0", "--model.encoder_weights=imagenet",
            "--model.encoder_lr_scale=0.5", "--model.freeze_encoder_steps=2", "--model.freeze_encoder_bn=true",
            "--model.channels_last=true", "--trainer.enable_progress_bar=false"]
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run_dir), *opts]) == 0
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    hp = load_checkpoint(ckpt, task="segment")["hyper_parameters"]
    assert hp["encoder"] == "efficientnet_lite0" and hp["mean"] == [0.5] * 3 and hp["encoder_lr_scale"] == 0.5
    assert main(["segment", "test", "--ckpt", str(ckpt), "--output", str(tmp_path / "test")]) == 0
    assert json.loads((tmp_path / "test" / "metrics.json").read_text())["mean_iou"] >= 0
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 61, 3), dtype=np.uint8)).save(images / "x.png")
    assert main(["segment", "predict", "--ckpt", str(ckpt), "--input", str(images),
                 "--output", str(tmp_path / "pred")]) == 0
    assert np.asarray(Image.open(tmp_path / "pred" / "x.png")).shape[:2] == (45, 61)
    assert main(["export", "--ckpt", str(ckpt), "--format", "torchscript", "--output", str(tmp_path / "m.pt")]) == 0
    assert main(["report", str(run_dir), "--output", str(tmp_path / "report.html")]) == 0
    assert "efficientnet_lite0 (imagenet weights)" in (tmp_path / "report.html").read_text()
    # resume for one more epoch from the last checkpoint
    assert main(["segment", "fit", "-c", str(run_dir / "config.yaml"), "--ckpt_path", "last",
                 "--trainer.max_epochs=3", "--trainer.enable_progress_bar=false"]) == 0
    assert load_checkpoint(ckpt, task="segment")["epoch"] == 2
