"""`colorseg report` and `colorseg compare` on tiny runs made in tmp_path, plus compare statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from colorseg.cli import main
from colorseg.reports.compare import bootstrap_ci, paired_table, wilcoxon_p

ROOT = Path(__file__).resolve().parents[2] / "configs"
SEG_TINY = str(ROOT / "segment" / "synthetic_tiny.yaml")
COL_TINY = str(ROOT / "colorize" / "synthetic_tiny.yaml")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    specs = {"seg_a": (SEG_TINY, []), "seg_b": (SEG_TINY, ["--data.augment.enabled=false"]),
             "seg_other": (SEG_TINY, ["--data.num_images=12"]), "col": (COL_TINY, [])}
    for name, (config, extra) in specs.items():
        task = "segment" if name.startswith("seg") else "colorize"
        assert main([task, "fit", "-c", config, "--run_dir", str(base / name),
                     "--trainer.enable_progress_bar=false", *extra]) == 0
    return {name: base / name for name in specs}


def test_segment_report_sections_and_tables(runs) -> None:
    assert main(["report", str(runs["seg_a"])]) == 0
    html = (runs["seg_a"] / "report.html").read_text()
    for section in ("Learning curves", "Per-class scores", "Per-image scores", "Best and worst images",
                    "Configuration", "Data set", "Timing and hardware"):
        assert section in html
    assert html.count("data:image/png;base64,") >= 5
    assert "http://" not in html and "https://" not in html
    tables = runs["seg_a"] / "report_tables"
    per_class = pd.read_csv(tables / "per_class.csv")
    assert list(per_class["class"]) == ["background", "circle", "square", "triangle"]
    assert (tables / "confusion.csv").is_file() and (tables / "per_image.csv").is_file()


def test_reports_mark_scores_on_a_selection_split(runs, tmp_path: Path) -> None:
    """A run whose test results come from the validation split says so in the title, a warning
    line and the comparison's 'held out' column; a held-out run does not."""
    import json
    import shutil

    for name in ("seg_a", "seg_b"):  # same data and splits: their validation images are the same
        shutil.copytree(runs[name], tmp_path / f"{name}_val", ignore=shutil.ignore_patterns("test-*", "report*"))
        assert main(["segment", "test", "--ckpt", str(tmp_path / f"{name}_val" / "checkpoints" / "best.ckpt"),
                     "--split", "val", "--output", str(tmp_path / f"{name}_val" / "test-test")]) == 0
    run = tmp_path / "seg_a_val"
    assert json.loads((run / "test-test" / "metrics.json").read_text())["selection_split_reused"]
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    assert "(scores on a split used for selection, not held out)" in html
    assert "Not a held-out score: the val split was used for selection." in html
    held_out = (runs["seg_a"] / "report.html")
    assert main(["report", str(runs["seg_a"])]) == 0 and "not held out" not in held_out.read_text()
    for pair, held in (((runs["seg_a"], runs["seg_b"]), [True, True]), ((run, tmp_path / "seg_b_val"), [False, False])):
        out = tmp_path / f"cmp_{held[0]}.html"
        assert main(["compare", *map(str, pair), "--output", str(out)]) == 0
        assert pd.read_csv(tmp_path / f"cmp_{held[0]}_tables" / "summary.csv")["held out"].tolist() == held


def test_colorize_report_sections(runs, tmp_path: Path) -> None:
    out = tmp_path / "r" / "col.html"
    assert main(["report", str(runs["col"]), "--output", str(out)]) == 0
    html = out.read_text()
    for section in ("Samples", "Colourfulness", "Latent space", "Active units", "Calibration",
                    "Learning curves"):
        assert section in html
    assert (tmp_path / "r" / "col_tables" / "kl_per_dim.csv").is_file()


def test_compare_two_segmentation_runs(runs, tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    assert main(["compare", str(runs["seg_a"]), str(runs["seg_b"]), "--output", str(out)]) == 0
    html = out.read_text()
    assert "Paired per-image differences" in html and "Same images across runs" in html
    summary = pd.read_csv(tmp_path / "cmp_tables" / "summary.csv")
    assert list(summary["run"]) == ["seg_a", "seg_b"]
    paired = pd.read_csv(tmp_path / "cmp_tables" / "paired.csv")
    assert set(paired["metric"]) == {"mean_iou", "mean_dice", "pixel_accuracy"}


def test_compare_refuses_other_task(runs, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(runs["seg_a"]), str(runs["col"]), "--output", str(tmp_path / "x.html")]) == 2
    assert "cannot compare a segment run" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_compare_refuses_other_test_set(runs, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(runs["seg_a"]), str(runs["seg_other"]), "--output", str(tmp_path / "x.html")]) == 2
    assert "different images" in capsys.readouterr().err


def test_report_on_missing_run_is_clear(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_bootstrap_and_wilcoxon_hand_built() -> None:
    assert bootstrap_ci(np.full(20, 0.1)) == pytest.approx((0.1, 0.1))
    low, high = bootstrap_ci(np.array([-1.0, 1.0] * 10))
    assert low < 0 < high
    assert wilcoxon_p(np.zeros(10)) == 1.0
    assert wilcoxon_p(np.arange(1, 21, dtype=float)) < 0.001
    assert np.isnan(wilcoxon_p(np.array([1.0])))


def test_paired_table_matches_by_name() -> None:
    ref = pd.DataFrame({"name": ["a", "b", "c", "d"], "psnr": [10.0, 20.0, 30.0, 40.0]})
    other = pd.DataFrame({"name": ["d", "c", "b", "a"], "psnr": [41.0, 31.0, 21.0, 11.0]})
    row = paired_table(ref, other, ["psnr", "ssim"], "run").iloc[0]
    assert row["metric"] == "psnr" and row["mean_diff"] == pytest.approx(1.0) and row["n_images"] == 4
    assert row["significant"] and row["ci_low"] == pytest.approx(1.0)


def test_demo_quick_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--output", str(out)]) == 0
    index = (out / "index.html").read_text()
    assert "Several plausible colours" in index and "compare-segment.html" in index
    for name in ("segment-augmented", "segment-no-augmentation", "colorize-vae", "colorize-regression"):
        assert (out / name / "report.html").is_file()
    assert (out / "compare-colorize.html").is_file()
    from colorseg.demo import PHOTOS

    # the bundled photos, coloured by the built-in model shipped in the package
    assert sorted(p.stem for p in (out / "photos").glob("*.png")) == sorted(PHOTOS)
    assert "built-in model" in index and "Skipped" not in index
