"""One metric table per task: selections are subsets in table order, labels are unique, and the
places that name metrics read the tables."""

from __future__ import annotations

import pytest

from colorseg.metrics import registry as reg


@pytest.mark.parametrize("task", ["segment", "colorize"])
def test_selections_are_ordered_subsets_of_their_table(task: str) -> None:
    table = list(reg.METRICS[task])
    for selection in (reg.SUMMARY[task], reg.PAIRED[task], reg.HEADLINE[task]):
        assert set(selection) <= set(table)
        assert sorted(selection, key=table.index) == list(selection)
    assert len(set(reg.labels(task).values())) == len(table)  # no two metrics share a label


def test_group_selections() -> None:
    assert set(reg.SEGMENTATION_PER_IMAGE) <= set(reg.SEGMENTATION_METRICS)
    # per-image colorization metrics + feature-distribution metrics = the whole table, in order
    assert (*reg.COLORIZATION_IMAGE_METRICS, *reg.COLORIZATION_DISTRIBUTION) == tuple(reg.COLORIZATION_METRICS)
    assert not set(reg.SEGMENTATION_METRICS) & set(reg.COLORIZATION_METRICS)
    assert reg.all_labels()["mean_iou"] == "mean IoU" and reg.all_labels()["psnr"] == "PSNR (dB)"


def test_metric_directions_and_format() -> None:
    seg, col = reg.SEGMENTATION_METRICS, reg.COLORIZATION_METRICS
    assert seg["mean_iou"].higher_is_better and seg["adapted_rand_error"].higher_is_better is False
    assert col["psnr"].higher_is_better and col["fd_lite2"].higher_is_better is False
    assert col["diversity"].higher_is_better is None  # not a score: more is not better by itself
    assert col["psnr"].format(23.456) == "23.46"
    assert col["feature_distribution_images"].format(3) == "3"
    assert seg["mean_iou"].format(None) == "-"


def test_reports_and_evaluation_read_the_registry() -> None:
    from colorseg.reports import compare, segment_report

    assert compare.SUMMARY_KEYS["colorize"] == reg.COLORIZATION_SUMMARY
    assert tuple(compare.PAIRED_KEYS["segment"]) == reg.SEGMENTATION_PAIRED
    assert compare.LABELS["segment"]["vi"] == reg.SEGMENTATION_METRICS["vi"].label
    assert segment_report.LABELS == reg.labels("segment")
