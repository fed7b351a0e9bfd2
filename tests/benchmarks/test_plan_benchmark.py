"""benchmarks/plan.py end to end on a generated ISBI-like folder (no shared data): plan, compare
with the hand-tuned config, train for seconds, test, and write the comparison JSON that the
README tables can render."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_pair

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import plan as plan_benchmark
import segment


@pytest.fixture
def isbi_like(tmp_path: Path) -> Path:
    """12 gray 64x64 "slices" named 0..11 with 0/255 labels, in the ISBI layout."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for i in range(12):
        label = np.full((64, 64), 255, np.uint8)
        label[:, 20 + i % 4: 23 + i % 4] = 0
        label[30 + i % 3: 33 + i % 3, :] = 0
        image = (rng.integers(100, 160, (64, 64)) - (label == 0) * 90).astype(np.uint8)
        write_pair(root, str(i), image, label, image_dir="isbi2012/train/image", mask_dir="isbi2012/train/label")
    return root


@pytest.mark.slow  # trains for 15 s and tests twice in child processes: about a minute on one core
def test_plan_train_and_compare(isbi_like: Path, tmp_path: Path, monkeypatch) -> None:
    results = tmp_path / "results"
    results.mkdir()
    for name in ("colorseg-bf16-cl_isbi2012.json",):  # the hand-tuned config's published figure
        shutil.copy(segment.RESULTS / name, results)
    monkeypatch.setattr(plan_benchmark, "RESULTS", results)
    monkeypatch.setattr(plan_benchmark, "HERE", tmp_path)
    monkeypatch.setitem(plan_benchmark.MINUTES, "isbi2012", 0.25)
    monkeypatch.setattr(segment, "THREADS", 1)
    monkeypatch.chdir(REPO)
    info = plan_benchmark.plan_dataset("isbi2012", isbi_like, threads=1)
    assert info["yaml"].is_file() and info["planned"]["data"]["source"] == "isbi2012"
    assert {row["key"] for row in info["differences"]} >= {"trainer.max_time"}  # 15 s instead of 10 min
    assert info["memory"]["hand_tuned_run_peak_rss_mib"] > 0
    result = plan_benchmark.train_and_test("isbi2012", info, isbi_like)
    saved = json.loads((results / "plan_isbi2012.json").read_text())
    assert saved["hand_tuned"]["result"].endswith("results/colorseg-bf16-cl_isbi2012.json")
    assert saved["mean_iou_difference"] == pytest.approx(saved["mean_iou"] - saved["hand_tuned"]["mean_iou"])
    assert saved["within_0_02"] == (abs(saved["mean_iou_difference"]) <= 0.02)
    assert 0 <= result["mean_iou"] <= 1 and "adapted_rand_error" in result and result["steps"] > 0
    # the row the README's segmentation table would show
    monkeypatch.setattr(segment, "RESULTS", results)
    assert "planned by `segment plan`" in segment.render_table()


def test_hand_tuned_figure_is_the_configs_variant() -> None:
    assert plan_benchmark.hand_tuned("camvid")["result_path"].name == "colorseg-efficientnet_lite0-bf16-cl_camvid.json"
    assert plan_benchmark.hand_tuned("isbi2012")["result_path"].name == "colorseg-bf16-cl_isbi2012.json"
    assert plan_benchmark.hand_tuned("isbi2012_folder")["config_path"].name == "isbi2012.yaml"


def test_compare_settings_uses_defaults_and_source_conventions() -> None:
    tuned = {"model": {"encoder": "efficientnet_lite0", "base_width": 24}, "data": {"source": "camvid", "root": "a"},
             "trainer": {"max_epochs": 200}}
    planned = {"model": {"encoder": "efficientnet_lite0"},
               "data": {"source": "camvid", "root": "b", "ignore_index": 11, "in_channels": 3,
                        "augment": {"hflip_p": 0.5}},
               "trainer": {"max_epochs": -1}}
    rows = plan_benchmark.compare_settings(planned, tuned)
    assert rows == [{"key": "trainer.max_epochs", "planned": -1, "hand_tuned": 200}]
