"""Plans on the real CamVid and ISBI 2012 copies in ../shared/data (skipped without them): the
planned settings equal the hand-tuned configs' except for what only the budget decides, and the
ISBI labels read through the generic folder source get the 0/255 map."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from colorseg.planning import plan_segmentation
from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))


def _needs(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


@pytest.mark.parametrize("dataset,minutes", [("camvid", 30), ("isbi2012", 10)])
def test_plan_reproduces_the_hand_tuned_settings(tmp_path: Path, dataset: str, minutes: float) -> None:
    import plan as plan_benchmark

    root = _needs(dataset)
    result = plan_segmentation(root, minutes, source=dataset, output=tmp_path / "plan.yaml", threads=1,
                               progress=False)
    planned = yaml.safe_load(result.text)
    tuned = yaml.safe_load((REPO / "configs" / "segment" / f"{dataset}.yaml").read_text())
    differences = plan_benchmark.compare_settings(planned, tuned)
    assert [d["key"] for d in differences] == ["trainer.max_epochs"], differences


def test_isbi_through_the_folder_source_maps_0_255(tmp_path: Path) -> None:
    isbi = _needs("isbi2012")
    view = tmp_path / "isbi_folder"
    view.mkdir()
    (view / "images").symlink_to(isbi / "train" / "image", target_is_directory=True)
    (view / "masks").symlink_to(isbi / "train" / "label", target_is_directory=True)
    cfg = plan_segmentation(view, 10, output=None, threads=1, progress=False).plan.as_config()
    assert cfg["data"]["mask_value_map"] == {0: 0, 255: 1} and cfg["data"]["in_channels"] == 1
    assert cfg["data"]["test_names"] == [str(i) for i in range(24, 30)]
    assert cfg["model"]["encoder"] == "unet"
