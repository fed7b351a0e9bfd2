"""`segment test` / evaluate_segmenter: the test split is held out and a selection split says so,
recorded split names reveal overlaps, legacy checkpoints evaluate on their validation split, and
every declared class is listed. The evaluated split is rebuilt with data code only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from colorseg.checkpoint import load_checkpoint
from colorseg.cli import main
from colorseg.errors import ConfigError
from colorseg.evaluation.segmentation import (
    DATAMODULE_STATE_KEY,
    evaluate_checkpoints,
    evaluate_segmenter,
    recorded_split_names,
    split_data_from_checkpoint,
)
from colorseg.inference.segmenter import Segmenter

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run_dir),
                 "--trainer.enable_progress_bar=false"]) == 0
    return run_dir / "checkpoints" / "best.ckpt"


def test_test_split_is_held_out_and_val_is_marked(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    for split, reused in (("test", False), ("val", True)):
        out = tmp_path / split
        assert main(["segment", "test", "--ckpt", str(tiny_ckpt), "--split", split, "--output", str(out)]) == 0
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["selection_split_reused"] is reused and metrics["split"] == split
        assert ("not a held-out score" in capsys.readouterr().err) is reused
    assert "selection" in metrics["selection_note"]


def test_recorded_splits_reveal_an_overlap(tiny_ckpt: Path, tmp_path: Path) -> None:
    """Evaluating with other split options cannot hide that the samples trained the model."""
    ckpt = load_checkpoint(tiny_ckpt, "segment")
    recorded = ckpt["SegmentationDataModule"]["split_names"]
    assert set(recorded["train"]).isdisjoint(recorded["test"])
    dm = split_data_from_checkpoint(ckpt, {"test_names": recorded["train"][:2], "val_names": recorded["val"]})
    metrics = evaluate_segmenter(Segmenter.from_checkpoint(tiny_ckpt), dm, tmp_path, "test", progress=False,
                                 recorded_splits=recorded)
    assert metrics["selection_split_reused"]
    assert "2 of the 2 samples were in the checkpoint's train split" in metrics["selection_note"]


def test_old_checkpoints_test_on_their_validation_split(tiny_ckpt: Path) -> None:
    ckpt = load_checkpoint(tiny_ckpt, "segment")
    del ckpt["datamodule_hyper_parameters"]["test_fraction"]  # as written before test splits existed
    dm = split_data_from_checkpoint(ckpt)
    assert dm.split_names()["test"] == dm.split_names()["val"] and dm.selection_split_reused("test")


def test_metrics_list_absent_classes(tiny_ckpt: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(tiny_ckpt, "segment")
    dm = split_data_from_checkpoint(ckpt)
    dataset = dm.dataset("test")
    for i in range(len(dataset.samples)):  # ground truth: background only
        image, mask = dataset.load_pair(i)
        dataset._cache[i] = (image, np.zeros_like(mask))
    metrics = evaluate_segmenter(Segmenter.from_checkpoint(tiny_ckpt), dm, tmp_path, "test", progress=False)
    assert metrics["absent_classes"] == ["circle", "square", "triangle"]
    assert list(metrics["per_class"]) == ["background", "circle", "square", "triangle"]
    assert metrics["per_class"]["circle"]["present"] is False and metrics["per_class"]["circle"]["gt_pixels"] == 0
    assert metrics["per_class"]["background"]["gt_pixels"] == len(dataset.samples) * 48 * 48


def test_evaluated_split_matches_the_training_split(tiny_ckpt: Path) -> None:
    """The data-only rebuild gives the splits the training run recorded, name for name."""
    ckpt = load_checkpoint(tiny_ckpt, "segment")
    assert split_data_from_checkpoint(ckpt).split_names() == recorded_split_names(ckpt)
    assert ckpt[DATAMODULE_STATE_KEY]["split_names"] == recorded_split_names(ckpt)


def test_results_hold_what_reports_read(tiny_ckpt: Path, tmp_path: Path) -> None:
    metrics = evaluate_checkpoints([tiny_ckpt], tmp_path, progress=False)
    recorded = recorded_split_names(load_checkpoint(tiny_ckpt, "segment"))
    assert metrics["split_sizes"] == {s: len(v) for s, v in recorded.items()}
    assert json.loads((tmp_path / "metrics.json").read_text())["split_sizes"] == metrics["split_sizes"]


def test_unknown_data_override_is_refused(tiny_ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown data option 'batch_size'"):
        split_data_from_checkpoint(load_checkpoint(tiny_ckpt, "segment"), {"batch_size": 2})


def test_test_with_tta_averages_flips_and_records_it(tiny_ckpt: Path, tmp_path: Path, capsys) -> None:
    plain, flips = tmp_path / "plain", tmp_path / "flips"
    assert main(["segment", "test", "--ckpt", str(tiny_ckpt), "--output", str(plain)]) == 0
    assert main(["segment", "test", "--ckpt", str(tiny_ckpt), "--output", str(flips), "--tta", "flips"]) == 0
    m_plain = json.loads((plain / "metrics.json").read_text())
    m_flips = json.loads((flips / "metrics.json").read_text())
    assert m_plain["tta"] == "none" and m_flips["tta"] == "flips"
    # the flip average is what the Segmenter predicts with tta=flips, image by image
    from colorseg.inference.tiling import TileConfig

    seg = Segmenter.from_checkpoint(tiny_ckpt, tiling=TileConfig(tta="flips"))
    data = split_data_from_checkpoint(load_checkpoint(tiny_ckpt, "segment")).dataset("test")
    expected = evaluate_segmenter(seg, split_data_from_checkpoint(load_checkpoint(tiny_ckpt, "segment")),
                                  tmp_path / "direct", "test", progress=False)
    assert len(data) == m_flips["num_images"]
    assert m_flips["mean_iou"] == pytest.approx(expected["mean_iou"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["segment", "test", "--ckpt", str(tiny_ckpt), "--output", str(tmp_path / "x"), "--tta", "spin"])
    assert "spin" in capsys.readouterr().err
