"""`colorseg colorize test`: evaluate a colorization checkpoint → metrics.json + per_image.csv.

Outputs are produced at the input's full resolution (ab predicted at working resolution,
upsampled, recombined with the original L) and compared with the original colour image.
``metrics.json`` keys, means over images unless said otherwise (labels:
:data:`colorseg.metrics.registry.COLORIZATION_METRICS`):

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

Conventions: see :mod:`colorseg.metrics.colorization` (RGB, 8-bit range, PSNR capped at 100 dB).

What reports analyse is written here too, so they never re-run the model over the split
(``metrics["tables"]`` lists the files):

* ``ab_pixels.csv``: for up to ``ANALYSIS_IMAGES`` images, ``PIXELS_PER_IMAGE`` seeded pixels at
  the working resolution: ``pred_a``, ``pred_b`` (deterministic prediction), ``gt_a``, ``gt_b``,
  ``spread`` (norm of the per-channel standard deviation of the ``n_samples`` sampled ab) and
  ``error`` (norm of prediction − truth), all in Lab units;
* ``latent.csv`` (models with a latent variable): per image (same images) ``name``, the prior
  means ``mu_0`` … and the KL of the posterior from the prior per dimension ``kl_0`` … (nats).
  ``metrics.json`` adds ``latent_dim`` and ``gt_ab_magnitude`` (mean |ab| of the sampled
  ground-truth pixels, Lab units).

The evaluated split is rebuilt from the checkpoint's data options with data code only
(:class:`~colorseg.data.split_datasets.ColorSplits`): no Lightning, no training code. With
``input_dir`` (``colorize test --input DIR``) every colour image under a folder is the test split
instead, so any checkpoint (a released or built-in one, whose training data is elsewhere) can be
evaluated on any photos; without it, a checkpoint whose data folder is missing here is refused
with that suggestion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from colorseg.checkpoint import colorization_model_from_checkpoint, load_checkpoint
from colorseg.data.files import display_path
from colorseg.data.lab import recombine, rgb_to_lab_norm
from colorseg.data.split_datasets import ColorSplits, option_names
from colorseg.errors import ConfigError, DataError
from colorseg.evaluation.segmentation import write_results
from colorseg.inference.colorizer import Colorizer
from colorseg.losses.kl import kl_diag_gaussians
from colorseg.metrics import colorization as cm
from colorseg.metrics.feature_distribution import FeatureDistribution
from colorseg.metrics.registry import COLORIZATION_DISTRIBUTION, COLORIZATION_IMAGE_METRICS

METRIC_KEYS = COLORIZATION_IMAGE_METRICS
DISTRIBUTION_KEYS = (*COLORIZATION_DISTRIBUTION, "feature_distribution_note")
#: ``--data.KEY`` overrides ``colorize test`` accepts: the options that decide the evaluated data.
DATA_OPTIONS = frozenset(option_names(ColorSplits))
AB = 110.0  # ab_norm → Lab units (colorseg.data.lab)
ANALYSIS_IMAGES = 200  # images whose pixels / latents go into ab_pixels.csv and latent.csv
PIXELS_PER_IMAGE = 500


def _numpy(rgb: torch.Tensor) -> np.ndarray:
    return rgb.permute(1, 2, 0).float().cpu().numpy()


def _latent_row(colorizer: Colorizer, L: torch.Tensor, ab: torch.Tensor) -> dict | None:
    """Prior means and per-dimension KL(posterior ‖ prior) of one image (None without a latent);
    for a spatial latent, the prior mean averaged and the KL summed over latent positions."""
    net = getattr(getattr(colorizer, "module", None), "net", None)
    if net is None or not getattr(net, "latent_dim", 0):
        return None
    with torch.inference_mode():
        mu_p, lv_p = net.prior_params(net.encode(L))
        mu_q, lv_q = net.posterior_params(L, ab)
        kl = kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p)[0]
    if kl.dim() == 3:  # spatial latent (D, h, w): prior mean averaged, KL summed over positions
        mu_p, kl = mu_p.mean((-2, -1)), kl.sum((-2, -1))
    return {**{f"mu_{d}": float(v) for d, v in enumerate(mu_p[0].cpu())},
            **{f"kl_{d}": float(v) for d, v in enumerate(kl.cpu())}}


def _pixel_rows(index: int, ab_pred: torch.Tensor, ab_gt: torch.Tensor, ab_samples: torch.Tensor) -> pd.DataFrame:
    """``PIXELS_PER_IMAGE`` seeded pixels (seed = image index) of one image, in Lab units."""
    pred, gt = ab_pred.reshape(2, -1).cpu(), ab_gt.reshape(2, -1).cpu()
    pix = np.random.default_rng(index).choice(pred.shape[1], size=min(PIXELS_PER_IMAGE, pred.shape[1]),
                                              replace=False)
    spread = (ab_samples.std(0).norm(dim=0).reshape(-1).cpu()[pix] if len(ab_samples) > 1
              else torch.zeros(len(pix)))
    return pd.DataFrame({"pred_a": pred[0, pix] * AB, "pred_b": pred[1, pix] * AB,
                         "gt_a": gt[0, pix] * AB, "gt_b": gt[1, pix] * AB, "spread": spread * AB,
                         "error": (pred - gt)[:, pix].norm(dim=0) * AB})


def evaluate_colorizer(colorizer: Colorizer, data: ColorSplits, output_dir: str | Path,
                       split: str = "test", n_samples: int = 8, temperature: float = 1.0, seed: int = 0,
                       feature_backbone: str | None = "efficientnet_lite0", distribution: bool = True,
                       progress: bool = True, checkpoint: str = "") -> dict:
    """Evaluate on ``split`` and write ``metrics.json``, ``per_image.csv`` and the analysis tables
    (see module docstring). ``data``: the splits (:func:`split_data_from_checkpoint`; a training
    data module works too).

    ``feature_backbone``: the perceptual-loss backbone for ``feature_distance`` (None: skip);
    ``distribution``: compute the Lite2 Fréchet distance and KID (False: skip).
    """
    feature = None
    if feature_backbone:
        from colorseg.losses.perceptual import PerceptualLoss

        feature = PerceptualLoss(backbone=feature_backbone).to(colorizer.device)
    dataset = data.dataset(split)
    lite2 = FeatureDistribution(device=colorizer.device) if distribution and len(dataset) >= 2 else None
    generator = torch.Generator(device=colorizer.device).manual_seed(seed)
    rows, pixels, latents = [], [], []
    for i in tqdm(range(len(dataset)), desc=f"test ({split})", unit="img", disable=not progress):
        item = dataset[i]
        full = item["rgb_full"][None].to(colorizer.device)
        work = item["rgb"][None].to(colorizer.device)
        L_full, (L_work, ab_gt) = rgb_to_lab_norm(full)[0], rgb_to_lab_norm(work)
        ab = colorizer.predict_ab(L_work)  # deterministic (prior mean), reused below
        pred = recombine(L_full, ab)[0]
        # as Colorizer.colorize_tensor, keeping the sampled ab for the spread
        ab_samples = colorizer.predict_ab(L_work, n_samples, temperature, generator, deterministic=False)
        with torch.inference_mode():
            samples = recombine(L_full.expand(len(ab_samples), -1, -1, -1), ab_samples)
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
        if i < ANALYSIS_IMAGES:
            pixels.append(_pixel_rows(i, ab, ab_gt, ab_samples))
            latent = _latent_row(colorizer, L_work, ab_gt)
            if latent is not None:
                latents.append({"name": item["name"], **latent})
        rows.append(row)
    table = pd.DataFrame(rows)
    tables = {"ab_pixels.csv": pd.concat(pixels, ignore_index=True) if pixels else
              pd.DataFrame(columns=["pred_a", "pred_b", "gt_a", "gt_b", "spread", "error"])}
    if latents:
        tables["latent.csv"] = pd.DataFrame(latents)
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
                   f"the {split} split was used for {'training' if split == 'train' else 'selection'}",
                   latent_dim=sum(c.startswith("mu_") for c in tables["latent.csv"]) if latents else 0,
                   gt_ab_magnitude=float(np.hypot(tables["ab_pixels.csv"]["gt_a"], tables["ab_pixels.csv"]["gt_b"]).mean())
                   if pixels else None)
    return write_results(output_dir, table, metrics, tables)


#: Options that make every colour image under ``--input DIR`` the test split (the checkpoint's
#: own data paths, extra training folders included, are not read).
INPUT_FOLDER_OVERRIDES = {"source": "folder", "val_fraction": 0.0, "test_fraction": 1.0, "val_from_train": 0,
                          "extra_train_roots": None}


def _check_data_present(options: dict, name: str) -> None:
    """DataError suggesting ``--input`` when the data a checkpoint was trained on (a folder or
    BSDS500 root) is not on this machine, e.g. for a released or built-in model."""
    source = options.get("source", "synthetic")
    root = options.get("root")
    if source != "synthetic" and (root is None or not Path(root).is_dir()):
        raise DataError(f"{name} was trained on {source} data at {root}, which is not found here: evaluate it "
                        "on a folder of your colour photos instead (colorize test --input DIR; Python: "
                        "input_dir=DIR), or point --data.root at a copy of that data")


def split_data_from_checkpoint(ckpt: dict, overrides: dict | None = None, input_dir: str | Path | None = None
                               ) -> ColorSplits:
    """The training run's colour splits, rebuilt from a checkpoint's data options with
    ``overrides`` applied (data code only: no data module, no Lightning).

    ``input_dir``: instead, every colour image under that folder (recursive; grayscale-only ones
    skipped with a warning) is the ``test`` split, at the model's working resolution.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - DATA_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown data option {unknown[0]!r}; known: {', '.join(sorted(DATA_OPTIONS))}")
    if input_dir is not None:
        clash = sorted(set(overrides) & {"source", "root", *INPUT_FOLDER_OVERRIDES})
        if clash:
            raise ConfigError(f"--input DIR decides the evaluated data; drop --data.{clash[0]}")
        if not Path(input_dir).is_dir():
            raise DataError(f"--input must be a folder of colour images: {display_path(input_dir)}")
        overrides.setdefault("image_size", ckpt["hyper_parameters"]["image_size"])  # the model's working size
        overrides.update(INPUT_FOLDER_OVERRIDES, root=str(input_dir))
    return ColorSplits.from_options(ckpt.get("datamodule_hyper_parameters"), overrides)


def evaluate_checkpoint(path: str | Path, output_dir: str | Path, split: str = "test", n_samples: int = 8,
                        temperature: float = 1.0, overrides: dict | None = None, device: str = "cpu",
                        progress: bool = True, input_dir: str | Path | None = None) -> dict:
    """``colorize test``: evaluate a checkpoint on ``split`` of its data (with ``overrides``) →
    ``metrics.json``, ``per_image.csv`` and the analysis tables (loads the checkpoint once).

    ``input_dir``: evaluate on every colour image under that folder instead (the ``test`` split;
    see :func:`split_data_from_checkpoint`), so any checkpoint, a released one included, can be
    measured on any photos. Without it, a checkpoint whose data folder is not on this machine
    (a released model's) is refused with a DataError suggesting ``--input``.
    """
    if input_dir is not None and split != "test":
        raise ConfigError(f"--input DIR is evaluated as the test split; --split {split} does not apply")
    ckpt = load_checkpoint(path, task="colorize")
    if input_dir is None:
        _check_data_present({**(ckpt.get("datamodule_hyper_parameters") or {}), **(overrides or {})},
                            display_path(path))
    data = split_data_from_checkpoint(ckpt, overrides, input_dir)
    colorizer = Colorizer(colorization_model_from_checkpoint(ckpt), device=device)
    return evaluate_colorizer(colorizer, data, output_dir, split=split,
                              n_samples=n_samples, temperature=temperature, progress=progress,
                              checkpoint=str(path))
