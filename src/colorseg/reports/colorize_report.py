"""HTML report of a colorization run: samples, colourfulness, ab statistics, latent space, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from colorseg.checkpoint import colorization_model_from_checkpoint, load_checkpoint
from colorseg.data.files import atomic_write
from colorseg.data.lab import recombine, rgb_to_lab_norm, to_gray
from colorseg.evaluation.colorization import split_data_from_checkpoint
from colorseg.inference.colorizer import Colorizer
from colorseg.metrics.registry import COLORIZATION_METRICS, COLORIZATION_SUMMARY
from colorseg.reports import colorization_plots
from colorseg.reports import plots_common as plots
from colorseg.reports.html import HtmlReport
from colorseg.reports.run_data import RunData, flatten, hardware, read_results_table, report_title, selection_warning

SUMMARY_KEYS = COLORIZATION_SUMMARY


def _np(rgb: torch.Tensor) -> np.ndarray:
    return rgb.permute(1, 2, 0).float().cpu().numpy()


@torch.inference_mode()
def sample_grid(colorizer: Colorizer, dataset, n_grid: int = 4, n_samples: int = 4, seed: int = 0):
    """Rows (gray input, ground truth, prediction, ``n_samples`` samples) for the first ``n_grid``
    images of ``dataset``, and their names: the only model outputs a report computes itself."""
    gen = torch.Generator().manual_seed(seed)
    rows, names = [], []
    for i in range(min(len(dataset), n_grid)):
        item = dataset[i]
        L, _ = rgb_to_lab_norm(item["rgb"][None])
        rgb = _np(item["rgb"])
        pred = recombine(L, colorizer.predict_ab(L))[0]
        sampled = colorizer.colorize_tensor(L, L, n_samples, 1.0, gen, deterministic=False)
        rows.append([to_gray(rgb), rgb, _np(pred)] + [_np(x) for x in sampled])  # gray: the L the model sees
        names.append(item["name"])
    return rows, names


def evaluation_tables(run: RunData) -> dict:
    """What the evaluation wrote for the analysis sections (see :mod:`colorseg.evaluation.colorization`):
    ``pixels`` (ab_pixels.csv) and ``latent`` (latent.csv, merged with each image's GT colourfulness),
    each None when absent."""
    pixels = read_results_table(run, "ab_pixels.csv")
    latent = read_results_table(run, "latent.csv")
    if latent is not None and "gt_colorfulness" in run.per_image:
        cf = run.per_image[["name", "gt_colorfulness"]].astype({"name": str})
        latent = latent.astype({"name": str}).merge(cf, on="name", how="left")
    return {"pixels": pixels, "latent": latent}


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
    tables = evaluation_tables(run)
    pixels, latent = tables["pixels"], tables["latent"]
    ckpt = load_checkpoint(run.checkpoint, "colorize")  # once, for the sample grid only
    grid, grid_names = sample_grid(Colorizer(colorization_model_from_checkpoint(ckpt)),
                                   split_data_from_checkpoint(ckpt).dataset(m.get("split", "test")),
                                   n_samples=n_samples)
    report = HtmlReport(report_title(f"Colorization report: {run.name}", m))
    report.section("Summary")
    if selection_warning(m):
        report.text(selection_warning(m))
    report.key_values({"run directory": str(run.run_dir), "checkpoint": str(run.checkpoint),
                       "model kind": run.config.get("model", {}).get("kind"),
                       "encoder": f"{run.config.get('model', {}).get('encoder', 'unet')} "
                                  f"({run.config.get('model', {}).get('encoder_weights', 'none')} weights)",
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
                       "GT |ab| mean (Lab units)": m.get("gt_ab_magnitude")})
    report.section("Learning curves")
    if len(run.log):
        report.figure(plots.learning_curves(run.log), "Each loss term and validation metric, train vs val")
    report.section("Samples")
    if grid:
        titles = ["gray input", "ground truth", "prediction (prior mean)"] + [f"sample {i + 1}"
                                                                              for i in range(n_samples)]
        report.figure(plots.image_grid(grid, titles, grid_names),
                      "Deterministic prediction and samples from the learned prior (temperature 1)")
    report.section("Colourfulness and colour statistics")
    report.figure(plots.scatter(run.per_image["gt_colorfulness"], run.per_image["colorfulness"],
                                "ground-truth colourfulness", "output colourfulness", "Colourfulness per image",
                                diagonal=True), "Points under the diagonal are washed out")
    missing = ("The evaluation results hold no {} (written by an older colorseg): re-run "
               "`colorseg colorize test` on this run to add it.")
    if pixels is not None and len(pixels):
        report.figure(colorization_plots.ab_histograms(pixels[["pred_a", "pred_b"]].to_numpy(),
                                                       pixels[["gt_a", "gt_b"]].to_numpy()),
                      "ab distribution: prediction vs truth (pixels sampled by the evaluation)")
    elif pixels is None:
        report.text(missing.format("ab pixel table (ab_pixels.csv)"))
    report.figure(plots.histogram(run.per_image["psnr"], COLORIZATION_METRICS["psnr"].label, "Per-image PSNR"), "")
    report.section("Latent space")
    n_eval = int(m.get("n_samples") or 0)
    if latent is not None and len(latent):
        mu = latent.filter(regex=r"^mu_\d+$").to_numpy(float)
        kl = latent.filter(regex=r"^kl_\d+$").to_numpy(float)
        for name, pts in latent_projections(mu).items():
            report.figure(plots.embedding_scatter(pts, latent["gt_colorfulness"].to_numpy(float),
                                                  f"{name} of prior means", "GT colourfulness"), "")
        per_dim = kl.mean(0)
        report.figure(plots.bar(per_dim, [f"z{i}" for i in range(len(per_dim))], "mean KL (nats)",
                                f"KL per latent dimension: {(per_dim > 0.01).sum()} of {len(per_dim)} active"),
                      "Active units: dimensions whose posterior departs from the prior (KL > 0.01)")
        if n_eval > 1 and pixels is not None:
            report.figure(colorization_plots.calibration_plot(pixels["spread"].to_numpy(), pixels["error"].to_numpy()),
                          f"Calibration: spread of the evaluation's {n_eval} samples vs the actual ab error of "
                          "the prediction")
    elif "latent_dim" not in m:
        report.text(missing.format("latent statistics (latent.csv)"))
    else:
        report.text("This model has no latent variable (regression or gray baseline).")
    report.section("Configuration")
    report.key_values(flatten(run.config))
    tables_dir.mkdir(parents=True, exist_ok=True)
    for name, df in {"per_image.csv": run.per_image, "learning_curves.csv": run.log}.items():
        atomic_write(tables_dir / name, lambda p, df=df: df.to_csv(p, index=False))
    if latent is not None and len(latent):
        kl_mean = latent.filter(regex=r"^kl_\d+$").to_numpy(float).mean(0)
        kl_df = pd.DataFrame({"dim": range(len(kl_mean)), "mean_kl": kl_mean})
        atomic_write(tables_dir / "kl_per_dim.csv", lambda p: kl_df.to_csv(p, index=False))
    return report.save(output)
