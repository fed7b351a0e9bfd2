"""The same test images shown across runs (for comparisons)."""

from __future__ import annotations

import numpy as np

from colorseg.checkpoint import (
    colorization_model_from_checkpoint,
    load_checkpoint,
    segmentation_model_from_checkpoint,
)
from colorseg.evaluation import colorization as color_evaluation
from colorseg.evaluation import segmentation as segment_evaluation
from colorseg.inference.colorizer import Colorizer
from colorseg.inference.segmenter import Segmenter, overlay
from colorseg.reports.run_data import RunData


def segment_examples(runs: list[RunData], names: list[str], k: int = 3):
    """Rows: image, ground truth, then each run's prediction overlay, for the first ``k`` test images
    (each checkpoint loaded once; the images come from the first run's data)."""
    ckpts = [load_checkpoint(r.checkpoint, "segment") for r in runs]
    dm = segment_evaluation.split_data_from_checkpoint(ckpts[0])
    dataset = dm.dataset(runs[0].test_metrics.get("split", "test"))
    models = [Segmenter(segmentation_model_from_checkpoint(c)) for c in ckpts]
    rows, labels = [], []
    for i in range(min(k, len(dataset.samples))):
        image, mask = dataset.load_pair(i)
        colors = models[0].class_colors
        row = [np.clip(image if image.shape[2] == 3 else image[..., 0], 0, 1),
               overlay(image, np.where(mask == dm.ignore_index, 0, mask), colors) / 255.0]
        row += [overlay(image, m.predict(image), colors) / 255.0 for m in models]
        rows.append(row)
        labels.append(dataset.samples[i].name)
    return rows, ["image", "ground truth", *names], labels


def colorize_examples(runs: list[RunData], names: list[str], k: int = 3, seed: int = 0):
    """Rows: gray input, ground truth, each run's prediction, and one sample of each run."""
    import torch

    from colorseg.data.lab import rgb_to_lab_norm, to_gray

    ckpts = [load_checkpoint(r.checkpoint, "colorize") for r in runs]  # each once
    dataset = color_evaluation.split_data_from_checkpoint(ckpts[0]).dataset(runs[0].test_metrics.get("split", "test"))
    models = [Colorizer(colorization_model_from_checkpoint(c)) for c in ckpts]
    rows, labels = [], []
    for i in range(min(k, len(dataset))):
        item = dataset[i]
        L = rgb_to_lab_norm(item["rgb"][None])[0]
        rgb = item["rgb"].permute(1, 2, 0).numpy()
        row = [to_gray(rgb), rgb]  # the L the models see, shown with ab = 0
        for model in models:
            row.append(model.colorize_tensor(L, L)[0].permute(1, 2, 0).numpy())
        for model in models:
            gen = torch.Generator().manual_seed(seed + i)
            row.append(model.colorize_tensor(L, L, 1, 1.0, gen, deterministic=False)[0].permute(1, 2, 0).numpy())
        rows.append(row)
        labels.append(item["name"])
    return rows, ["gray", "ground truth", *names, *[f"{n} (sample)" for n in names]], labels
