"""No silent perfect scores: classes without pixels stop training, every declared class is
listed in the metrics, and a score on a selection split says so (the evaluation side:
tests/evaluation/test_evaluate_segmentation.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from colorseg.checkpoint import load_checkpoint
from colorseg.cli import main
from colorseg.data.label_checks import check_training_labels, label_counts
from colorseg.errors import DataError
from colorseg.inference.ensemble import ProbabilityEnsemble
from colorseg.training.datamodule import SegmentationDataModule
from colorseg.training.segmenter_module import SegmenterModule
from tests.conftest import write_pair

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")


def _binary_folder(root: Path, n: int = 10, foreground: int = 255) -> Path:
    """Photos with a person-like square, masks saved as 0/``foreground`` (the common format)."""
    rng = np.random.default_rng(1)
    for i in range(n):
        mask = np.zeros((24, 24), np.uint8)
        mask[4 + i % 5: 16 + i % 5, 6:18] = foreground
        image = rng.integers(0, 60, (24, 24, 3), dtype=np.uint8) + (mask[..., None] > 0) * 150
        write_pair(root, f"p{i:02d}", image.astype(np.uint8), mask)
    return root


FIT_BINARY = ["--data.source=folder", "--data.class_names=[background, person]", "--data.crop_size=16",
              "--data.batch_size=4", "--model.depth=2", "--model.base_width=4", "--trainer.max_epochs=1",
              "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def test_zero_255_masks_stop_fit_with_the_fix(tmp_path: Path, capsys) -> None:
    root = _binary_folder(tmp_path / "data")
    run_dir = tmp_path / "run"
    code = main(["segment", "fit", f"--data.root={root}", "--run_dir", str(run_dir), *FIT_BINARY])
    err = capsys.readouterr().err
    assert code == 2
    assert "'person' (label 1) has no pixels in the 6 training masks" in err
    assert "255:" in err and "(ignore_index)" in err
    assert "--data.mask_value_map='{0: 0, 255: 1}'" in err
    assert not run_dir.exists()  # no half-made run directory


def test_zero_255_masks_train_with_the_proposed_map(tmp_path: Path) -> None:
    root = _binary_folder(tmp_path / "data")
    run_dir = tmp_path / "run"
    assert main(["segment", "fit", f"--data.root={root}", "--run_dir", str(run_dir), *FIT_BINARY,
                 "--data.mask_value_map={0: 0, 255: 1}"]) == 0
    log = (run_dir / "logs" / "version_0" / "metrics.csv").read_text()
    assert "val/iou_person" in log and "val/iou_background" in log


def test_declared_class_without_pixels_is_named() -> None:
    counts = label_counts([np.array([[0, 0], [2, 2]])])
    with pytest.raises(DataError, match=r"'b' \(label 1\) has no pixels in the 3 training masks, so it cannot be "
                                        r"learned; the masks hold 0: 2 px, 2: 2 px\."):
        check_training_labels(counts, ["a", "b", "c"], ignore_index=255, num_masks=3)
    check_training_labels(label_counts([np.array([[0, 1], [2, 255]])]), ["a", "b", "c"], 255, 1)


def test_validation_split_without_a_class_warns() -> None:
    dm = SegmentationDataModule(source="synthetic", num_images=12, image_size=32)
    dm.setup()
    dm._splits["val"].samples = dm._splits["val"].samples[:1]
    dm._splits["val"]._cache = {0: (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.int64))}
    with pytest.warns(UserWarning, match="validation split has no pixels of circle, square, triangle"):
        dm.check_labels()


def test_probability_ensemble_averages_members() -> None:
    torch.manual_seed(0)
    a, b = (SegmenterModule(class_names=["x", "y", "z"], in_channels=1, depth=2, base_width=4).eval().to_model()
            for _ in range(2))
    ens = ProbabilityEnsemble([a, b]).eval()
    x = torch.rand(2, 1, 20, 12)
    with torch.no_grad():
        want = (a(x).softmax(1) + b(x).softmax(1)) / 2
        torch.testing.assert_close(ens(x).softmax(1), want, atol=1e-6, rtol=1e-5)
    other = SegmenterModule(class_names=["x", "y"], in_channels=1, depth=2, base_width=4).to_model()
    with pytest.raises(Exception, match="member 1 has classes/channels"):
        ProbabilityEnsemble([a, other])


def test_cross_validation_command(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cv"
    args = ["segment", "cv", "--folds", "2", "--output", str(out), "-c", TINY, "--trainer.max_epochs=1",
            "--trainer.enable_progress_bar=false"]
    assert main(args) == 0
    assert "2-fold cross-validation" in capsys.readouterr().out
    result = json.loads((out / "cv.json").read_text())
    folds = [r["test"]["mean_iou"] for r in result["per_fold"]]
    assert result["test_summary"]["mean_iou"]["values"] == folds
    assert result["test_summary"]["mean_iou"]["mean"] == pytest.approx(np.mean(folds))
    assert result["test_summary"]["mean_iou"]["std"] == pytest.approx(np.std(folds, ddof=1))
    tests = [set(load_checkpoint(out / f"fold{f}" / "checkpoints" / "best.ckpt", "segment")
                 ["SegmentationDataModule"]["split_names"]["test"]) for f in range(2)]
    vals = [r["val"] for r in result["per_fold"]]
    assert tests[0] == tests[1] and all(v["selection_split_reused"] for v in vals)  # val chose the ckpt
    assert not result["ensemble_test"]["selection_split_reused"]
    assert result["ensemble_test"]["num_images"] == result["test_images"] == 2
    # resuming keeps finished folds: nothing is retrained
    stamp = (out / "fold0" / "checkpoints" / "best.ckpt").stat().st_mtime_ns
    assert main(args) == 0
    assert "fold 0: done, kept" in capsys.readouterr().out
    assert (out / "fold0" / "checkpoints" / "best.ckpt").stat().st_mtime_ns == stamp


def test_cross_validation_refuses_its_own_options(tmp_path: Path, capsys) -> None:
    assert main(["segment", "cv", "--output", str(tmp_path), "-c", TINY, "--data.fold=1"]) == 2
    assert "remove '--data.fold=1'" in capsys.readouterr().err
