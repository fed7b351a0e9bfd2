"""Regenerate every block between ``<!-- name:start -->`` and ``<!-- name:end -->`` in README.md and
benchmarks/README.md from ``benchmarks/results/*.json``.

    python benchmarks/tables.py           # rewrite the blocks (both files written atomically)
    python benchmarks/tables.py --check   # exit 1 and print a diff where a block differs from the JSON

Each block name has one renderer in :data:`BLOCKS`; the tables come from the benchmark scripts'
render functions, the prose blocks ("reading the figures", headline, demo runtime) from the
renderers here. A block whose JSON file is missing, an unknown block name or a marker without its
partner is an error that names the file.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import batch_memory
import colorize
import colorize_ablation
import colorize_hints
import demo_runtime
import encoders
import inference
import segment

REPO, RESULTS = segment.REPO, segment.RESULTS
READMES = (REPO / "README.md", HERE / "README.md")
MARKER = re.compile(r"<!-- (\w+):(start|end) -->")
DATASETS = {"isbi2012": "ISBI 2012", "camvid": "CamVid"}
PEER_SELECTION = "no selection: evaluated at the end of its budget"
COLORIZE_SELECTION = "last checkpoint, no selection; λ = 0.5 chosen with test figures in view"
COLORIZE_NAMES = {"vae": "VAE", "regression": "regression", "no_perceptual": "VAE without perceptual loss",
                  "gray": "gray", "regression_rarity": "regression + rarity weighting"}


class TableError(Exception):
    """A README block cannot be regenerated (missing JSON or key, bad markers)."""


def load(name: str) -> dict:
    path = RESULTS / name
    if not path.exists():
        raise TableError(f"{path.relative_to(REPO)} is missing: run the benchmark that writes it")
    return json.loads(path.read_text())


def field(result: dict, key: str, name: str):
    if key not in result:
        raise TableError(f"benchmarks/results/{name} has no '{key}'")
    return result[key]


# ------------------------------------------------------------------------------ segmentation

def segment_pair(dataset: str) -> tuple[dict, dict]:
    return load(f"colorseg_{dataset}.json"), load(f"smp_{dataset}.json")


def segment_table() -> str:
    for dataset in DATASETS:
        segment_pair(dataset)  # segment.render_table skips missing files silently
    return segment.render_table()


THIN_CLASSES = ("Pole", "SignSymbol", "Fence", "Pedestrian", "Bicyclist")
TARGETS = {"camvid": 0.55, "isbi2012": 0.82}  # mean IoU targets of the encoder issue


def encoder_variants(dataset: str) -> list[dict]:
    """colorseg runs with a pretrained encoder on ``dataset`` (results/colorseg-<variant>_<dataset>.json)."""
    runs = [json.loads(p.read_text()) for p in sorted(RESULTS.glob(f"colorseg-*_{dataset}.json"))]
    return [r for run in runs for r in (run, *([with_tta(run)] if "tta" in run else []))]


def with_tta(run: dict) -> dict:
    """A run's figures with test-time augmentation (same checkpoint), as a variant of its own."""
    tta = run["tta"]
    out = {**run, "tool": f"{run['tool']} + {tta['mode']} TTA", "val_mean_iou": tta["val_mean_iou"],
           "mean_iou": tta["mean_iou"], "mean_dice": tta["mean_dice"], "per_class": tta["per_class"]}
    if "adapted_rand_error" in tta:
        out["adapted_rand_error"] = tta["adapted_rand_error"]
    return out


def best_by_validation(variants: list[dict]) -> dict | None:
    """The variant with the highest validation mean IoU (never chosen by test)."""
    scored = [v for v in variants if v.get("val_mean_iou") is not None]
    return max(scored, key=lambda v: v["val_mean_iou"]) if scored else None


def encoder_reading() -> str:
    lines = []
    for dataset, title in DATASETS.items():
        scratch, peer = segment_pair(dataset)
        variants = encoder_variants(dataset)
        if not variants:
            continue
        best = best_by_validation(variants)
        lines.append(f"- **{title}** ({variants[0]['split']}), from scratch: test mean IoU {scratch['mean_iou']:.3f} "
                     f"({scratch['budget_seconds'] / 60:.0f} min); {peer['tool']}: {peer['mean_iou']:.3f}.")
        for v in variants:
            thin = ", ".join(f"{c} {v['per_class'][c]['iou']:.3f}" for c in THIN_CLASSES if c in v["per_class"])
            lines.append(f"  - {v['tool']}, {v['budget_seconds'] / 60:.0f} min, {v.get('threads', '?')} thread(s), "
                         f"{v['steps']} steps ({v['train_images_per_s']:.1f} samples/s): validation mean IoU "
                         f"{v['val_mean_iou']:.3f}, test mean IoU **{v['mean_iou']:.3f}**"
                         + rand_error(v) + (f"; thin classes: {thin}" if thin else "") + ".")
        if best is not None:
            target = TARGETS[dataset]
            verdict = "met" if best["mean_iou"] >= target else "not met"
            lines.append(f"  - Chosen on validation: {best['tool']}; its test mean IoU {best['mean_iou']:.3f} "
                         f"against the target {target:.2f}: **{verdict}**.")
    return "\n".join(lines)


def rand_error(r: dict) -> str:
    return f", adapted Rand error {r['adapted_rand_error']:.3f}" if "adapted_rand_error" in r else ""


def class_differences(ours: dict, peer: dict, most: int = 4) -> str:
    diffs = sorted(((ours["per_class"][c]["iou"] - peer["per_class"][c]["iou"], c) for c in ours["per_class"]),
                   reverse=True)

    def listed(items) -> str:
        return ", ".join(f"{c} ({ours['per_class'][c]['iou']:.3f} vs {peer['per_class'][c]['iou']:.3f})"
                         for _, c in items) or "none"

    return (f"per-class IoU ahead for colorseg: {listed([d for d in diffs if d[0] > 0][:most])}; "
            f"ahead for smp: {listed([d for d in reversed(diffs) if d[0] < 0][:most])}")


def segment_reading() -> str:
    lines = []
    for dataset, title in DATASETS.items():
        ours, peer = segment_pair(dataset)
        unlearned = [c for c, v in peer["per_class"].items() if v["iou"] < 0.01]
        lines.append(
            f"- **{title}, {ours['budget_seconds'] / 60:.0f} min** (smp: {peer['budget_seconds'] / 60:.0f} min; "
            f"threads per tool: {ours.get('threads', '?')} and {peer.get('threads', '?')}): "
            f"mean IoU {ours['mean_iou']:.3f} (colorseg) vs {peer['mean_iou']:.3f} (smp), "
            f"a difference of {ours['mean_iou'] - peer['mean_iou']:+.3f}"
            + (f"; adapted Rand error (lower is better) {ours['adapted_rand_error']:.3f} vs "
               f"{peer['adapted_rand_error']:.3f}" if "adapted_rand_error" in ours else "")
            + f"; {class_differences(ours, peer)}"
            + (f"; classes smp scores below 0.01 IoU: {', '.join(unlearned)}" if unlearned else "")
            + f". colorseg trains {ours['train_images_per_s'] / peer['train_images_per_s']:.2f}× as many samples "
            f"per second ({ours['train_images_per_s']:.1f} vs {peer['train_images_per_s']:.1f}) with "
            f"{ours['peak_rss_mib'] / peer['peak_rss_mib']:.2f}× the peak memory; inference "
            f"{ours['inference_seconds_per_image']:.3f} vs {peer['inference_seconds_per_image']:.3f} s per image.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ colorization

PUBLISHED_COLORIZE = ("vae", "regression", "gray")  # the models rerun under the current protocol


def colorize_results() -> dict[str, dict]:
    return {model: load(f"colorize_{model}.json") for model in PUBLISHED_COLORIZE}


def colour_summary(r: dict) -> str:
    fd = "" if r.get("fd_lite2") is None else f", Fréchet distance (Lite2) {r['fd_lite2']:.1f}"
    return (f"PSNR {r['psnr']:.2f} dB, colourfulness {r['colorfulness']:.1f} "
            f"(\\|ΔCF\\| {r['delta_colorfulness']:.1f}){fd}")


def colorize_table() -> str:
    return colorize.render_table(colorize_results())


def temperature_table() -> str:
    load("colorize_temperature.json")  # render_temperature_table prints a hint instead
    return colorize.render_temperature_table()


def colorize_reading() -> str:
    r = colorize_results()
    vae, reg, gray = r["vae"], r["regression"], r["gray"]
    n = vae["n_samples"]

    def better(a: float, b: float, lower: bool = False) -> str:
        return "VAE" if (a < b if lower else a > b) else "regression"

    t = load("colorize_temperature.json")
    best_t = max(t["rows"], key=lambda x: x["best_of_n_psnr"])
    return "\n".join([
        (f"- Training: {vae['steps']} (VAE) and {reg['steps']} (regression) optimizer steps in "
        f"{vae['budget_seconds'] / 60:.0f} min each, trained at the same time with "
        f"{vae.get('threads', 1)} thread each."),
        (f"- **VAE vs `regression`** (same decoder, no latent, plain L1), deterministic outputs: PSNR "
        f"{vae['psnr']:.2f} vs {reg['psnr']:.2f} dB ({vae['psnr'] - reg['psnr']:+.2f}, higher: "
        f"{better(vae['psnr'], reg['psnr'])}); colourfulness {vae['colorfulness']:.1f} vs {reg['colorfulness']:.1f} "
        f"(ground truth {vae['gt_colorfulness']:.1f}; per-image |ΔCF| {vae['delta_colorfulness']:.1f} vs "
        f"{reg['delta_colorfulness']:.1f}, closer: {better(vae['delta_colorfulness'], reg['delta_colorfulness'], True)})."),
        (f"- Independent of every training loss (Lite2 features, {vae['feature_distribution_images']} test photos): "
        f"Fréchet distance {vae['fd_lite2']:.1f} vs {reg['fd_lite2']:.1f} (gray input: {gray['fd_lite2']:.1f}), "
        f"KID ×10³ {1e3 * vae['kid_lite2']:.2f} vs {1e3 * reg['kid_lite2']:.2f} (gray: {1e3 * gray['kid_lite2']:.2f}); "
        f"lower: {better(vae['fd_lite2'], reg['fd_lite2'], True)} (Fréchet), "
        f"{better(vae['kid_lite2'], reg['kid_lite2'], True)} (KID). With {vae['feature_distribution_images']} "
        "photos, fewer than the 1,280 feature dimensions, the Fréchet distance is biased upward: compare it only "
        "within this table."),
        (f"- The perceptual-loss distance (Lite0) is the VAE's training objective, not evidence: "
        f"{vae['feature_distance']:.3f} vs {reg['feature_distance']:.3f}."),
        (f"- Sampling: the VAE's single samples score {vae['mean_sample_psnr']:.2f} dB on average "
        f"({vae['mean_sample_psnr'] - vae['psnr']:+.2f} dB against its deterministic output), colourfulness "
        f"{vae['sample_colorfulness']:.1f}; the **oracle** best of {n} samples, picked with the ground truth, "
        f"reaches {vae['best_of_n_psnr']:.2f} dB ({vae['best_of_n_psnr'] - vae['mean_sample_psnr']:+.2f} dB over a "
        f"single sample): an upper bound for a user who picks by eye, not a score the model achieves alone. "
        f"Sample diversity {vae['diversity']:.1f} ab units."),
        (f"- Sampling temperature (validation split, table below): the oracle best-of-{n} PSNR is highest at "
        f"T = {best_t['temperature']:g} ({best_t['best_of_n_psnr']:.2f} dB); at T = {t['rows'][-1]['temperature']:g} "
        f"the sampled colourfulness is {t['rows'][-1]['sample_colorfulness']:.1f}."),
        (f"- Every learned model stays far below the ground truth's colourfulness ({vae['gt_colorfulness']:.1f}) "
        "and the figure shows sepia or bluish casts rather than object colours: both train from scratch on "
        "280 photos for half an hour of one CPU thread.")])


def builtin_card() -> str:
    """The built-in model's measured figures (model card): results/colorize_builtin.json (the shipped
    half-precision file on BSDS500 test) and results/colorize_default.json (its training run)."""
    b, gray = load("colorize_builtin.json"), load("colorize_gray.json")
    d = load(f"colorize_{b.get('source_model', 'default')}.json")
    threads = d.get("threads") or "?"
    kid = f"{1e3 * b['kid_lite2']:.2f} ± {1e3 * b['kid_lite2_std']:.2f}"
    return "\n".join([
        "| | built-in model | gray input (no colour) |", "|---|---|---|",
        f"| PSNR (dB, RGB 8-bit) | {b['psnr']:.2f} | {gray['psnr']:.2f} |",
        f"| SSIM | {b['ssim']:.3f} | {gray['ssim']:.3f} |",
        f"| colourfulness (ground truth {b['gt_colorfulness']:.1f}) | {b['colorfulness']:.1f} | {gray['colorfulness']:.1f} |",
        f"| per-image \\|ΔCF\\| | {b['delta_colorfulness']:.1f} | {gray['delta_colorfulness']:.1f} |",
        f"| Fréchet distance (Lite2, {b['feature_distribution_images']} photos) | {b['fd_lite2']:.1f} | {gray['fd_lite2']:.1f} |",
        f"| KID ×10³ (Lite2) | {kid} | {1e3 * gray['kid_lite2']:.2f} ± {1e3 * gray['kid_lite2_std']:.2f} |",
        (f"| mean single-sample PSNR / oracle best-of-{b['n_samples']} (dB) | {b['mean_sample_psnr']:.2f} / "
        f"{b['best_of_n_psnr']:.2f} | |"),
        f"| sample diversity (ab units) | {b['diversity']:.1f} | |",
        "",
        (f"- Test set: {b['split']}; never used for a choice. Checkpoint: best validation PSNR "
        f"({d['max_steps']} steps, validated every second epoch on 100 held-out pool photos)."),
        (f"- Training: {d['wall_seconds'] / 60:.0f} min wall-clock on this machine's CPU "
        f"(`OMP_NUM_THREADS={threads}`, bf16 autocast), {d['max_steps']} steps of 16 crops of "
        f"{d['working_resolution']} px."),
        (f"- Shipped file: `{b['file']}`, {b['bytes'] / 1e6:.1f} MB, float16, SHA-256 `{b['sha256'][:16]}…`; "
        f"half precision costs {b['half_precision_psnr_cost_db']:+.3f} dB PSNR on the validation split "
        f"({b['val_psnr_full_precision']:.3f} → {b['val_psnr_half_precision']:.3f} dB, {b['val_images']} photos)."),
        f"- Speed: {b['inference_seconds_481x321']:.2f} s per 481×321 photo (deterministic output, CPU)."])


# ------------------------------------------------------------------------------ README.md

def headline() -> str:
    rows = ["| task, budget | data (split) | colorseg | peer / baseline | checkpoint selection |",
            "|---|---|---|---|---|"]
    for dataset, title in DATASETS.items():
        ours, peer = segment_pair(dataset)
        best = best_by_validation(encoder_variants(dataset))
        pretrained = (f"; {best['tool']} (chosen on validation among this round's encoder, precision, schedule, "
                      f"class-weight, augmentation, loss, TTA and ensemble variants): mean IoU "
                      f"{best['mean_iou']:.3f}{rand_error(best)}" if best else "")
        rows.append(
            f"| segmentation, {ours['budget_seconds'] / 60:.0f} min | {title} ({ours['split']}) | "
            f"from scratch: mean IoU {ours['mean_iou']:.3f}{rand_error(ours)}{pretrained} | "
            f"{peer['tool']}: mean IoU {peer['mean_iou']:.3f}"
            f"{rand_error(peer)} | colorseg: {field(ours, 'selection', f'colorseg_{dataset}.json')}; "
            f"smp: {peer.get('selection', PEER_SELECTION)} |")
    r = colorize_results()
    vae = r["vae"]
    baselines = "; ".join(f"{COLORIZE_NAMES[m]}: {colour_summary(x)}" for m, x in r.items() if m != "vae")
    rows.append(
        f"| colorization, {vae['budget_seconds'] / 60:.0f} min | BSDS500 ({vae['split']}) | "
        f"VAE: {colour_summary(vae)}; "
        f"mean single-sample PSNR {vae['mean_sample_psnr']:.2f} dB, oracle best-of-{vae['n_samples']} "
        f"{vae['best_of_n_psnr']:.2f} dB | {baselines} | "
        f"{vae.get('selection', COLORIZE_SELECTION)} |")
    b, d = load("colorize_builtin.json"), load("colorize_default.json")
    rows.append(
        f"| colorization, built-in model ({d['wall_seconds'] / 60:.0f} min training, {d['max_steps']} steps) | "
        f"BSDS500 test (200; trained on BSDS500 train+val + the ImageNet sample) | built-in: {colour_summary(b)}; "
        f"mean single-sample PSNR {b['mean_sample_psnr']:.2f} dB | gray: {colour_summary(r['gray'])} | "
        "best validation PSNR (100 held-out pool photos); design chosen by an ablation on the same validation photos |")
    return "\n".join(rows)


BLOCKS = {
    "segment": segment_table,
    "segment_reading": segment_reading,
    "segment_cv": segment.render_cv_table,
    "colorize": colorize_table,
    "colorize_reading": colorize_reading,
    "colorize_ablation": colorize_ablation.render_table,
    "builtin_card": builtin_card,
    "colorize_hints": lambda: colorize_hints.render_table(load("colorize_hints.json")),
    "colorize_hints_patch": lambda: colorize_hints.render_patch_study(load("colorize_hints_patch_val.json")),
    "colorize_hints_propagation": lambda: colorize_hints.render_propagation_study(
        load("colorize_hints_propagation_val.json")),
    "temperature": temperature_table,
    "inference": lambda: inference.render_table(load("inference.json")),
    "inference_reading": lambda: inference.render_reading(load("inference.json")),
    "headline": headline,
    "inference_summary": lambda: inference.render_summary(load("inference.json")),
    "batch_memory": lambda: batch_memory.render_table(load("batch_memory.json")),
    "demo": lambda: demo_runtime.render(load("demo.json")),
    "encoders": lambda: encoders.render_table(load("encoders.json")),
    "encoder_reading": encoder_reading,
    "encoders_speed": lambda: encoders.render_table(load("encoders.json")),
}


# ------------------------------------------------------------------------------ blocks

def blocks(text: str, where: str) -> list[tuple[str, int, int]]:
    """(name, start of the content, end of the content) of every marker pair, in order."""
    found, open_ = [], None
    for m in MARKER.finditer(text):
        name, kind = m.groups()
        line = text.count("\n", 0, m.start()) + 1
        if kind == "start":
            if open_:
                raise TableError(f"{where}:{line}: '{name}:start' inside the open block '{open_[0]}'")
            open_ = (name, m.end())
        elif not open_ or open_[0] != name:
            raise TableError(f"{where}:{line}: '{name}:end' without '{name}:start'")
        else:
            found.append((name, open_[1], m.start()))
            open_ = None
    if open_:
        raise TableError(f"{where}: '{open_[0]}:start' without '{open_[0]}:end'")
    for name, _, _ in found:
        if name not in BLOCKS:
            raise TableError(f"{where}: no renderer for block '{name}' (add it to BLOCKS in benchmarks/tables.py)")
    return found


def regenerate(text: str, where: str, rendered: dict[str, str]) -> str:
    """``text`` with every block's content replaced by its renderer's output."""
    out, pos = [], 0
    for name, start, end in blocks(text, where):
        if name not in rendered:
            try:
                rendered[name] = BLOCKS[name]()
            except KeyError as err:
                raise TableError(f"{where}: block '{name}': key {err} missing in its JSON") from err
        out += [text[pos:start], f"\n{rendered[name]}\n"]
        pos = end
    return "".join(out) + text[pos:]


def expected() -> dict[Path, tuple[str, str]]:
    """{README: (current text, regenerated text)}; every block in BLOCKS must appear somewhere."""
    rendered: dict[str, str] = {}
    result = {}
    for path in READMES:
        text = path.read_text()
        result[path] = (text, regenerate(text, str(path.relative_to(REPO)), rendered))
    if missing := set(BLOCKS) - set(rendered):
        raise TableError(f"no markers for block(s) {', '.join(sorted(missing))} in README.md or benchmarks/README.md")
    return result


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def update() -> None:
    """Rewrite the READMEs whose blocks differ from the JSON (what the benchmark scripts call last)."""
    for path, (old, new) in expected().items():
        if old != new:
            write_atomic(path, new)
            print(f"tables: rewrote {path.relative_to(REPO)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 with a diff if a block differs")
    args = ap.parse_args(argv)
    try:
        if not args.check:
            update()
            return 0
        pages = expected()
    except TableError as err:
        print(f"tables: error: {err}", file=sys.stderr)
        return 2
    for path, (old, new) in pages.items():
        name = str(path.relative_to(REPO))
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), name,
                                                   f"{name} (from the JSON)"))
    return int(any(old != new for old, new in pages.values()))


if __name__ == "__main__":
    sys.exit(main())
