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
    for name in ("colorseg-bf16-cl-noscale-nowarp_isbi2012.json",):  # the hand-tuned config's published figure
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
    assert saved["hand_tuned"]["result"].endswith("results/colorseg-bf16-cl-noscale-nowarp_isbi2012.json")
    assert saved["mean_iou_difference"] == pytest.approx(saved["mean_iou"] - saved["hand_tuned"]["mean_iou"])
    assert saved["within_0_02"] == (abs(saved["mean_iou_difference"]) <= 0.02)
    assert 0 <= result["mean_iou"] <= 1 and "adapted_rand_error" in result and result["steps"] > 0
    # the row the README's segmentation table would show
    monkeypatch.setattr(segment, "RESULTS", results)
    assert "planned by `segment plan`" in segment.render_table()


@pytest.mark.parametrize("dataset", ["camvid", "isbi2012", "isbi2012_folder"])
def test_hand_tuned_figure_is_the_run_of_the_config_as_it_is(dataset: str) -> None:
    tuned = plan_benchmark.hand_tuned(dataset)
    assert tuned["config_path"].name == f"{plan_benchmark.HAND_TUNED[dataset]}.yaml"
    assert plan_benchmark.config_mismatches(tuned["config"], tuned["result"]) == []


def test_config_mismatches_names_each_differing_setting() -> None:
    config = {"trainer": {"precision": "bf16-mixed"}, "model": {"channels_last": True, "loss": "dice_ce"},
              "data": {"source": "isbi2012", "root": "a", "scale_range": [1.0, 1.0], "augment": {"elastic_p": 0.0}}}
    run = {"encoder": "unet", "precision": "bf16-mixed", "channels_last": True,
           "fit_options": ["--data.scale_range=[1.0,1.0]", "--data.augment.elastic_p=0"]}
    assert plan_benchmark.config_mismatches(config, run) == []
    run["fit_options"] += ["--model.loss=lovasz_ce", "--seed_everything=1"]
    run["precision"] = "32"
    assert plan_benchmark.config_mismatches(config, run) == [
        "trainer.precision: config 'bf16-mixed', run '32'", "model.loss: config 'dice_ce', run 'lovasz_ce'",
        "seed_everything: config None, run 1"]


def test_compare_settings_uses_defaults_and_source_conventions() -> None:
    tuned = {"model": {"encoder": "efficientnet_lite0", "base_width": 24}, "data": {"source": "camvid", "root": "a"},
             "trainer": {"max_epochs": 200}}
    planned = {"model": {"encoder": "efficientnet_lite0"},
               "data": {"source": "camvid", "root": "b", "ignore_index": 11, "in_channels": 3,
                        "augment": {"hflip_p": 0.5}},
               "trainer": {"max_epochs": -1}}
    rows = plan_benchmark.compare_settings(planned, tuned)
    assert rows == [{"key": "trainer.max_epochs", "planned": -1, "hand_tuned": 200}]


@pytest.mark.parametrize(("option", "label"), [
    ("--model.scheduler=cosine", "cosine schedule"),
    ("--model.class_weights=[1.0,2.0]", "class weights"),
    ("--seed_everything=1", "seed 1"),
    ("--model.loss=lovasz_ce", "lovasz_ce loss"),
    ("--data.scale_range=[1.0,1.0]", "no rescaling"),
    ("--data.scale_range=[0.8,1.25]", "scale_range=[0.8,1.25]"),
    ("--data.augment.elastic_p=0", "no elastic"),
    ("--data.augment.elastic_p=0.5", "augment.elastic_p=0.5"),
    ("--model.depth=5", "depth=5"),
    ("--trainer.callbacks+=lightning.pytorch.callbacks.EMAWeightAveraging", "EMA weights"),
    ("--trainer.callbacks.decay=0.99", "decay 0.99"),
])
def test_fit_options_have_short_labels(option: str, label: str) -> None:
    assert segment.option_label(option) == label


def _fake_run(here: Path, results: Path, variant: str, **fields) -> Path:
    """A result JSON and an (empty) best checkpoint where segment.run_of looks for them."""
    ckpt = here / "runs" / f"isbi2012-{variant}" / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"")
    result = {"dataset": "isbi2012", "encoder": "unet", "precision": "bf16-mixed", "channels_last": True,
              "budget_seconds": 600.0, **fields}
    path = results / f"colorseg-{variant}_isbi2012.json"
    path.write_text(json.dumps(result))
    return path


def test_ensemble_refuses_a_single_run_no_tag_and_unlike_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(segment, "HERE", tmp_path)
    a = _fake_run(tmp_path, tmp_path, "bf16-cl-a")
    b = _fake_run(tmp_path, tmp_path, "bf16-cl-b", encoder="efficientnet_lite0")
    with pytest.raises(SystemExit, match="two or more"):
        segment.bench_ensemble([a], "pair", tmp_path)
    with pytest.raises(SystemExit, match="--tag"):
        segment.bench_ensemble([a, b], "", tmp_path)
    with pytest.raises(SystemExit, match="differ in encoder"):
        segment.bench_ensemble([a, b], "pair", tmp_path)
    with pytest.raises(SystemExit, match="result not found: .*colorseg-bf16-cl-c_isbi2012.json"):
        segment.bench_ensemble([a, tmp_path / "colorseg-bf16-cl-c_isbi2012.json"], "pair", tmp_path)
    (tmp_path / "runs" / "isbi2012-bf16-cl-b" / "checkpoints" / "best.ckpt").unlink()
    with pytest.raises(SystemExit, match="no checkpoint for colorseg-bf16-cl-b_isbi2012.json"):
        segment.bench_ensemble([a, b], "pair", tmp_path)


@pytest.mark.slow  # trains two runs for 15 s each and tests five times in child processes
def test_ensemble_of_two_runs_is_a_tested_variant(isbi_like: Path, tmp_path: Path, monkeypatch) -> None:
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setattr(segment, "RESULTS", results)
    monkeypatch.setattr(segment, "HERE", tmp_path)
    monkeypatch.setattr(segment, "THREADS", 1)
    monkeypatch.chdir(REPO)
    splits = ['--data.test_names=["10","11"]', '--data.val_names=["8","9"]']  # the fixture has 12 slices
    for seed in (0, 1):
        segment.bench_colorseg("isbi2012", 0.25, isbi_like, precision="bf16-mixed", channels_last=True,
                               fit_options=[*splits, f"--seed_everything={seed}"], tag=f"s{seed}")
    members = [results / f"colorseg-bf16-cl-s{seed}_isbi2012.json" for seed in (0, 1)]
    ens = segment.bench_ensemble(members, "pair", isbi_like)
    saved = json.loads((results / "colorseg-pair_isbi2012.json").read_text())
    assert saved == json.loads(json.dumps(ens))
    runs = [json.loads(m.read_text()) for m in members]
    assert saved["members"] == [m.name for m in members] and saved["threads"] == 2
    assert saved["steps"] == sum(r["steps"] for r in runs)
    assert 0 <= saved["mean_iou"] <= 1 and 0 <= saved["val_mean_iou"] <= 1 and saved["tta"]["mode"] == "flips"
    assert (tmp_path / "runs" / "isbi2012-pair" / "test" / "metrics.json").is_file()


def test_ensemble_label_names_one_recipe_for_seeds_else_each_run() -> None:
    a, b = "colorseg U-Net (from scratch, bf16 autocast)", "colorseg U-Net (from scratch, bf16 autocast, seed 1)"
    assert segment.ensemble_label([a, b]) == (
        "ensemble of 2 seeds of colorseg U-Net (from scratch, bf16 autocast), one thread each "
        "(the budget of one run, on 2 cores)")
    c = "colorseg U-Net (efficientnet_lite0, ImageNet)"
    assert segment.ensemble_label([a, c]) == (
        f"ensemble of 2 runs: {a}; {c}, one thread each (the budget of one run, on 2 cores)")
