"""HTML report of a colorization run: samples, colourfulness, ab statistics, latent space, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from colorseg.data.files import atomic_write
from colorseg.data.lab import recombine, rgb_to_lab_norm, to_gray
from colorseg.inference.colorizer import Colorizer
from colorseg.losses.kl import kl_diag_gaussians
from colorseg.metrics.colorization import colorfulness
from colorseg.metrics.registry import COLORIZATION_METRICS, COLORIZATION_SUMMARY
from colorseg.reports import colorization_plots
from colorseg.reports import plots_common as plots
from colorseg.reports.html import HtmlReport
from colorseg.reports.run_data import RunData, flatten, hardware, report_title, selection_warning
from colorseg.training.checkpoint import load_checkpoint
from colorseg.training.evaluate_color import color_datamodule_from_checkpoint

AB = 110.0  # ab_norm → Lab units
SUMMARY_KEYS = COLORIZATION_SUMMARY


def _np(rgb: torch.Tensor) -> np.ndarray:
    return rgb.permute(1, 2, 0).float().cpu().numpy()


@torch.inference_mode()
def analyse(run: RunData, n_grid: int = 4, n_samples: int = 4, max_images: int = 200, seed: int = 0) -> dict:
    """Model outputs over the evaluated split (normally test): grids, ab pixels, latent statistics
    and calibration data."""
    col = Colorizer.from_checkpoint(run.checkpoint)
    dataset = color_datamodule_from_checkpoint(load_checkpoint(run.checkpoint, "colorize")).dataset(
        run.test_metrics.get("split", "test"))
    net = col.module.net
    gen = torch.Generator().manual_seed(seed)
    out = {"grid": [], "grid_names": [], "pred_ab": [], "gt_ab": [], "prior_mu": [], "kl": [], "gt_cf": [],
           "spread": [], "error": []}
    for i in range(min(len(dataset), max_images)):
        item = dataset[i]
        work = item["rgb"][None]
        L, ab = rgb_to_lab_norm(work)
        pred_ab = col.module(L)["ab"]
        samples = col.module.sample(L, n_samples, 1.0, gen)[0]  # (N, 2, h, w)
        rng = np.random.default_rng(i)
        pix = rng.choice(L.numel(), size=min(2000, L.numel()), replace=False)
        out["pred_ab"].append(pred_ab.reshape(2, -1)[:, pix].T.numpy() * AB)
        out["gt_ab"].append(ab.reshape(2, -1)[:, pix].T.numpy() * AB)
        spread = samples.std(0).norm(dim=0).reshape(-1)[pix] * AB if n_samples > 1 else torch.zeros(len(pix))
        out["spread"].append(spread.numpy())
        out["error"].append((pred_ab - ab)[0].norm(dim=0).reshape(-1)[pix].numpy() * AB)
        rgb = _np(work[0])
        out["gt_cf"].append(colorfulness(rgb))
        if net is not None and net.latent_dim:
            skips = net.encode(L)
            mu_p, lv_p = net.prior_params(skips)
            mu_q, lv_q = net.posterior_params(L, ab)
            out["prior_mu"].append(mu_p[0].numpy())
            out["kl"].append(kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p)[0].numpy())
        if len(out["grid"]) < n_grid:
            gray = to_gray(rgb)  # the L the model sees, shown with ab = 0
            pred = recombine(L, pred_ab)[0]
            sampled = col.colorize_tensor(L, L, n_samples, 1.0, gen, deterministic=False)
            out["grid"].append([gray, rgb, _np(pred)] + [_np(s) for s in sampled])
            out["grid_names"].append(item["name"])
    for key in ("pred_ab", "gt_ab", "spread", "error"):
        out[key] = np.concatenate(out[key]) if out[key] else np.zeros((0,))
    return out


def latent_projections(prior_mu: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """PCA and t-SNE of latent means (N, D) → {"PCA": (N, 2), "t-SNE": (N, 2)} (N ≥ 3)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    out = {}
    if prior_mu.shape[1] >= 2:
        out["PCA"] = PCA(n_components=2, random_state=seed).fit_transform(prior_mu)
        if len(prior_mu) >= 5:
            perplexity = float(min(30, len(prior_mu) - 1) / 1.5)
            out["t-SNE"] = TSNE(n_components=2, perplexity=perplexity, random_state=seed,
                                init="pca").fit_transform(prior_mu)
    return out


def render_colorize_report(run: RunData, output: Path, n_samples: int = 4) -> Path:
    """Write ``output`` (HTML) and the CSV tables behind it into ``<output stem>_tables/``."""
    tables_dir = output.parent / f"{output.stem}_tables"
    m = run.test_metrics
    data = analyse(run, n_samples=n_samples)
    report = HtmlReport(report_title(f"Colorization report: {run.name}", m))
    report.section("Summary")
    if selection_warning(m):
        report.text(selection_warning(m))
    report.key_values({"run directory": str(run.run_dir), "checkpoint": str(run.checkpoint),
                       "model kind": run.config.get("model", {}).get("kind"),
                       **{COLORIZATION_METRICS[k].label: m.get(k) for k in SUMMARY_KEYS},
                       "test images": m.get("num_images"), "samples per image": m.get("n_samples")})
    report.text(f"PSNR convention: {m.get('psnr_convention', 'RGB, 8-bit range')}. The oracle best-of-N PSNR "
                "picks each image's best sample with the ground truth; compare it with the mean single-sample "
                "PSNR. The perceptual-loss distance is measured with the network the VAE's perceptual loss trains "
                "on; the Fréchet distance and KID use EfficientNet-Lite2, which no loss uses.")
    if m.get("feature_distribution_note"):
        report.text(f"Fréchet distance / KID: {m['feature_distribution_note']}.")
    report.section("Timing and hardware")
    report.key_values({**{f"training {k}": v for k, v in (run.throughput or {}).items()}, **hardware()})
    report.section("Data set")
    data_cfg = run.config.get("data", {})
    report.key_values({"source": data_cfg.get("source"), "root": data_cfg.get("root"),
                       "working resolution": data_cfg.get("image_size"), "test images": m.get("num_images"),
                       "mean GT colourfulness": m.get("gt_colorfulness"),
                       "GT |ab| mean (Lab units)": float(np.linalg.norm(data["gt_ab"], axis=1).mean())
                       if len(data["gt_ab"]) else None})
    report.section("Learning curves")
    if len(run.log):
        report.figure(plots.learning_curves(run.log), "Each loss term and validation metric, train vs val")
    report.section("Samples")
    if data["grid"]:
        titles = ["gray input", "ground truth", "prediction (prior mean)"] + [f"sample {i + 1}"
                                                                              for i in range(n_samples)]
        report.figure(plots.image_grid(data["grid"], titles, data["grid_names"]),
                      "Deterministic prediction and samples from the learned prior (temperature 1)")
    report.section("Colourfulness and colour statistics")
    report.figure(plots.scatter(run.per_image["gt_colorfulness"], run.per_image["colorfulness"],
                                "ground-truth colourfulness", "output colourfulness", "Colourfulness per image",
                                diagonal=True), "Points under the diagonal are washed out")
    if len(data["pred_ab"]):
        report.figure(colorization_plots.ab_histograms(data["pred_ab"], data["gt_ab"]), "ab distribution: prediction vs truth")
    report.figure(plots.histogram(run.per_image["psnr"], COLORIZATION_METRICS["psnr"].label, "Per-image PSNR"), "")
    report.section("Latent space")
    if data["prior_mu"]:
        mu, kl = np.stack(data["prior_mu"]), np.stack(data["kl"])
        for name, pts in latent_projections(mu).items():
            report.figure(plots.embedding_scatter(pts, np.asarray(data["gt_cf"]), f"{name} of prior means",
                                                  "GT colourfulness"), "")
        per_dim = kl.mean(0)
        report.figure(plots.bar(per_dim, [f"z{i}" for i in range(len(per_dim))], "mean KL (nats)",
                                f"KL per latent dimension: {(per_dim > 0.01).sum()} of {len(per_dim)} active"),
                      "Active units: dimensions whose posterior departs from the prior (KL > 0.01)")
        if n_samples > 1:
            report.figure(colorization_plots.calibration_plot(data["spread"], data["error"]),
                          "Calibration: spread of the samples vs the actual ab error of the prediction")
    else:
        report.text("This model has no latent variable (regression or gray baseline).")
    report.section("Configuration")
    report.key_values(flatten(run.config))
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, df in {"per_image.csv": run.per_image, "learning_curves.csv": run.log}.items():
        atomic_write(tables_dir / name, lambda p, df=df: df.to_csv(p, index=False))
    if data["prior_mu"]:
        kl_df = pd.DataFrame({"dim": range(len(data["kl"][0])), "mean_kl": np.stack(data["kl"]).mean(0)})
        atomic_write(tables_dir / "kl_per_dim.csv", lambda p: kl_df.to_csv(p, index=False))
    return report.save(output)
