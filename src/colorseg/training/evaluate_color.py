"""`colorseg colorize test`: evaluate a colorization checkpoint → metrics.json + per_image.csv.

Outputs are produced at the input's full resolution (ab predicted at working resolution,
upsampled, recombined with the original L) and compared with the original colour image.
``metrics.json`` keys, means over images unless said otherwise (labels:
:data:`colorseg.metrics.color.METRIC_LABELS`):

* deterministic output (prior mean): ``psnr``, ``ssim``, ``colorfulness``, ``gt_colorfulness``,
  ``delta_colorfulness`` (|CF(output) − CF(ground truth)|), ``ab_auc``;
* ``n_samples`` samples at ``temperature`` (what a user who samples gets):
  ``mean_sample_psnr`` (PSNR of single samples, averaged over samples and images),
  ``best_of_n_psnr`` (oracle: the best sample chosen *with the ground truth*; compare it with
  ``mean_sample_psnr``, not with ``psnr``), ``diversity``, ``sample_colorfulness``,
  ``sample_delta_colorfulness``;
* ``feature_distance``: the perceptual-loss distance (frozen EfficientNet-Lite0 features at the
  working resolution), i.e. the training objective of models with ``perceptual_weight > 0``,
  not an independent measure;
* set-level, independent of every training loss (:mod:`colorseg.metrics.feature_distribution`):
  ``fd_lite2`` (Fréchet distance), ``kid_lite2`` / ``kid_lite2_std`` (KID, mean / std over
  subsets) between EfficientNet-Lite2 features of the deterministic outputs and of the photos,
  ``feature_distribution_images`` and ``feature_distribution_note`` (FD is biased upward below
  1280 images); None when the split has fewer than 2 images;
* ``num_images``, ``n_samples``, ``temperature``, ``split``, ``checkpoint``, ``psnr_convention``;
  ``selection_split_reused`` (true for ``--split val|train``: not a held-out score) and
  ``selection_note``.

Conventions: see :mod:`colorseg.metrics.color` (RGB, 8-bit range, PSNR capped at 100 dB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from colorseg.data.lab import recombine, rgb_to_lab_norm
from colorseg.inference.colorizer import Colorizer
from colorseg.metrics import colorization as cm
from colorseg.metrics.feature_distribution import FeatureDistribution
from colorseg.metrics.registry import COLORIZATION_DISTRIBUTION, COLORIZATION_IMAGE_METRICS
from colorseg.training.checkpoint import datamodule_from_checkpoint
from colorseg.training.color_datamodule import ColorizationDataModule
from colorseg.training.evaluate import write_results

METRIC_KEYS = COLORIZATION_IMAGE_METRICS
DISTRIBUTION_KEYS = (*COLORIZATION_DISTRIBUTION, "feature_distribution_note")


def _numpy(rgb: torch.Tensor) -> np.ndarray:
    return rgb.permute(1, 2, 0).float().cpu().numpy()


def evaluate_colorizer(colorizer: Colorizer, datamodule: ColorizationDataModule, output_dir: str | Path,
                       split: str = "test", n_samples: int = 8, temperature: float = 1.0, seed: int = 0,
                       feature_backbone: str | None = "efficientnet_lite0", distribution: bool = True,
                       progress: bool = True, checkpoint: str = "") -> dict:
    """Evaluate on ``split`` and write ``metrics.json`` and ``per_image.csv`` (see module docstring).

    ``feature_backbone``: the perceptual-loss backbone for ``feature_distance`` (None: skip);
    ``distribution``: compute the Lite2 Fréchet distance and KID (False: skip).
    """
    feature = None
    if feature_backbone:
        from colorseg.losses.perceptual import PerceptualLoss

        feature = PerceptualLoss(backbone=feature_backbone).to(colorizer.device)
    dataset = datamodule.dataset(split)
    lite2 = FeatureDistribution(device=colorizer.device) if distribution and len(dataset) >= 2 else None
    generator = torch.Generator(device=colorizer.device).manual_seed(seed)
    rows = []
    for i in tqdm(range(len(dataset)), desc=f"test ({split})", unit="img", disable=not progress):
        item = dataset[i]
        full = item["rgb_full"][None].to(colorizer.device)
        work = item["rgb"][None].to(colorizer.device)
        L_full, L_work = rgb_to_lab_norm(full)[0], rgb_to_lab_norm(work)[0]
        ab = colorizer.predict_ab(L_work)  # deterministic (prior mean), reused below
        pred = recombine(L_full, ab)[0]
        samples = colorizer.colorize_tensor(L_full, L_work, n_samples, temperature, generator, deterministic=False)
        pred_np, gt_np = _numpy(pred), _numpy(full[0])
        samples_np = np.stack([_numpy(s) for s in samples])
        row = {"name": item["name"], "psnr": cm.psnr(pred_np, gt_np), "ssim": cm.ssim(pred_np, gt_np),
               "colorfulness": cm.colorfulness(pred_np), "gt_colorfulness": cm.colorfulness(gt_np),
               "ab_auc": cm.ab_auc(pred_np, gt_np), "mean_sample_psnr": cm.mean_sample_psnr(samples_np, gt_np),
               "best_of_n_psnr": cm.best_of_n_psnr(samples_np, gt_np), "diversity": cm.diversity(samples_np)}
        row["delta_colorfulness"] = abs(row["colorfulness"] - row["gt_colorfulness"])
        sample_cf = [cm.colorfulness(s) for s in samples_np]
        row["sample_colorfulness"] = float(np.mean(sample_cf))
        row["sample_delta_colorfulness"] = float(np.mean([abs(c - row["gt_colorfulness"]) for c in sample_cf]))
        if feature is not None:
            with torch.inference_mode():
                row["feature_distance"] = float(feature(recombine(L_work, ab), work))
        if lite2 is not None:
            lite2.update(pred[None], full)
        rows.append(row)
    table = pd.DataFrame(rows)
    metrics = {k: float(table[k].mean()) for k in METRIC_KEYS if k in table}
    metrics.update(dict.fromkeys(DISTRIBUTION_KEYS))
    if lite2 is not None:
        metrics.update(lite2.compute())
    elif distribution:
        metrics["feature_distribution_note"] = f"not computed: the {split} split has fewer than 2 images"
    metrics.update(num_images=len(table), n_samples=n_samples, temperature=temperature, split=split,
                   checkpoint=checkpoint, psnr_convention="RGB, 8-bit range (MAX=255), capped at 100 dB",
                   selection_split_reused=split != "test",
                   selection_note="" if split == "test" else
                   f"the {split} split was used for {'training' if split == 'train' else 'selection'}")
    return write_results(output_dir, table, metrics)


def color_datamodule_from_checkpoint(ckpt: dict, overrides: dict | None = None) -> ColorizationDataModule:
    """Rebuild the run's data module from a checkpoint, with ``overrides`` applied."""
    return datamodule_from_checkpoint(ckpt, ColorizationDataModule, overrides)
