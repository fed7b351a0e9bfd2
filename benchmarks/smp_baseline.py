"""Peer baseline: a from-scratch segmentation_models_pytorch U-Net (resnet34).

Trains ``smp.Unet("resnet34", encoder_weights=None)`` on CPU for a fixed
wall-clock budget and evaluates it on held-out images, writing one JSON file.
It is self-contained (no dependency on colorseg) and meant to run from its own
virtual environment, e.g.::

    /work/smp-venv/bin/python benchmarks/smp_baseline.py --dataset isbi2012 \
        --budget-seconds 600 --output benchmarks/results/smp_isbi2012.json

Data sets (read-only, under ``--data-root``):

* ``isbi2012``: ``isbi2012/train/{image,label}/{0..29}.png``; train on slices
  0-23, evaluate on 24-29. Classes 0 = membrane (label 0), 1 = cell (255).
* ``camvid``: SegNet layout ``camvid/{train,trainannot,test,testannot}``;
  train on train, evaluate on test. Labels 0..10, 11 = void (ignored).
"""
import argparse
import json
import os
import random
import resource
import time
from pathlib import Path

import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.measure import label as cc_label
from skimage.metrics import adapted_rand_error

CAMVID_CLASSES = ["Sky", "Building", "Pole", "Road", "Pavement", "Tree",
                  "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist"]
ISBI_CLASSES = ["membrane", "cell"]
IGNORE = 11  # CamVid void; never produced for ISBI


def _read(path):
    return np.array(Image.open(path))


def load_dataset(name, root):
    """Return (train_x, train_y, test_x, test_y, class_names, split, cfg).

    Images are float32 arrays (N, C, H, W) in [0, 1]; labels int64 (N, H, W).
    """
    root = Path(root)
    if name == "isbi2012":
        d = root / "isbi2012" / "train"
        x = np.stack([_read(d / "image" / f"{i}.png") for i in range(30)])[:, None]
        y = (np.stack([_read(d / "label" / f"{i}.png") for i in range(30)]) > 127)
        x, y = x.astype(np.float32) / 255.0, y.astype(np.int64)
        cfg = {"batch": 4, "crop": (256, 256)}
        return (x[:24], y[:24], x[24:], y[24:], ISBI_CLASSES,
                "train slices 0-23, eval slices 24-29", cfg)
    if name == "camvid":
        d = root / "camvid"

        def load(split):
            files = sorted(p.name for p in (d / split).glob("*.png"))
            x = np.stack([_read(d / split / f) for f in files]).transpose(0, 3, 1, 2)
            y = np.stack([_read(d / (split + "annot") / f) for f in files])
            return x.astype(np.float32) / 255.0, y.astype(np.int64)

        trx, try_ = load("train")
        tex, tey = load("test")
        # full 180x240 frames, padded to 192x256 (image reflect, label void)
        cfg = {"batch": 8, "crop": None}
        return (trx, try_, tex, tey, CAMVID_CLASSES,
                f"train ({len(trx)} images), eval test ({len(tex)} images)", cfg)
    raise ValueError(name)


def pad32(x, y=None):
    """Pad (C, H, W) image with reflect (and label with IGNORE) to multiples of 32."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % 32, (-w) % 32
    x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="reflect")
    if y is None:
        return x
    return x, np.pad(y, ((0, ph), (0, pw)), constant_values=IGNORE)


def sample_batch(x, y, cfg, rng):
    """Random crop (or full padded frame) plus random horizontal/vertical flips."""
    xs, ys = [], []
    for _ in range(cfg["batch"]):
        i = rng.integers(len(x))
        if cfg["crop"] is not None:
            ch, cw = cfg["crop"]
            r = rng.integers(x.shape[2] - ch + 1)
            c = rng.integers(x.shape[3] - cw + 1)
            xi, yi = x[i, :, r:r + ch, c:c + cw], y[i, r:r + ch, c:c + cw]
        else:
            xi, yi = pad32(x[i], y[i])
        if rng.random() < 0.5:
            xi, yi = xi[:, :, ::-1], yi[:, ::-1]
        if rng.random() < 0.5:
            xi, yi = xi[:, ::-1, :], yi[::-1, :]
        xs.append(np.ascontiguousarray(xi))
        ys.append(np.ascontiguousarray(yi))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def train(model, x, y, cfg, budget, seed):
    """Adam(1e-3) + cross-entropy until the wall-clock budget is spent."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < budget:
        xb, yb = sample_batch(x, y, cfg, rng)
        loss = F.cross_entropy(model(xb), yb, ignore_index=IGNORE)
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        if steps % 20 == 0:
            print(f"step {steps} loss {loss.item():.4f} "
                  f"t={time.perf_counter() - t0:.0f}s", flush=True)
    return steps, time.perf_counter() - t0


@torch.no_grad()
def evaluate(model, x, y, n_classes, isbi):
    """Dataset-level confusion matrix metrics (+ for ISBI, scikit-image's adapted Rand error on
    4-connected cell regions, as colorseg.metrics.regions: not the ISBI leaderboard's Rand score)."""
    model.eval()
    conf = np.zeros((n_classes, n_classes), np.int64)
    infer_s, are = [], []
    model(torch.from_numpy(np.ascontiguousarray(pad32(x[0])))[None])  # warm-up call, not timed
    for xi, yi in zip(x, y):
        h, w = xi.shape[-2:]
        t = time.perf_counter()
        logits = model(torch.from_numpy(np.ascontiguousarray(pad32(xi)))[None])
        pred = logits[0, :, :h, :w].argmax(0).numpy()
        infer_s.append(time.perf_counter() - t)
        valid = yi != IGNORE
        conf += np.bincount(n_classes * yi[valid] + pred[valid],
                            minlength=n_classes ** 2).reshape(n_classes, n_classes)
        if isbi:
            gt_cc = cc_label(yi == 1, connectivity=1)
            pr_cc = cc_label(pred == 1, connectivity=1)
            are.append(float(adapted_rand_error(gt_cc, pr_cc)[0]))
    tp = np.diag(conf).astype(np.float64)
    fp, fn = conf.sum(0) - tp, conf.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
    out = {"iou": iou, "dice": dice, "pixel_accuracy": float(tp.sum() / conf.sum()),
           "inference_seconds_per_image": float(np.mean(infer_s))}
    if isbi:
        out["adapted_rand_error"] = float(np.mean(are))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", required=True, choices=["isbi2012", "camvid"])
    ap.add_argument("--budget-seconds", type=float, required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--data-root", default="/work/shared/data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)

    trx, tr_y, tex, te_y, names, split, cfg = load_dataset(args.dataset, args.data_root)
    model = smp.Unet("resnet34", encoder_weights=None,
                     in_channels=trx.shape[1], classes=len(names))
    steps, train_s = train(model, trx, tr_y, cfg, args.budget_seconds, args.seed)
    m = evaluate(model, tex, te_y, len(names), args.dataset == "isbi2012")

    crops = steps * cfg["batch"]
    # epochs-equivalent counts passes over the training pixels: a 256x256
    # ISBI crop is 1/4 of a 512x512 slice; CamVid trains on full frames.
    crop_frac = (float(np.prod(cfg["crop"])) / float(np.prod(trx.shape[2:]))
                 if cfg["crop"] else 1.0)
    result = {
        "tool": "segmentation_models_pytorch Unet resnet34 (from scratch)",
        "smp_version": smp.__version__,
        "torch_version": torch.__version__,
        "dataset": args.dataset,
        "split": split,
        "budget_seconds": args.budget_seconds,
        "train_seconds": train_s,
        "train_images_per_s": crops / train_s,  # wall clock incl. batch sampling (data loading)
        "threads": torch.get_num_threads(),
        "steps": steps,
        "batch_size": cfg["batch"],
        "train_crop": list(cfg["crop"]) if cfg["crop"] else "full frame padded to 192x256",
        "epochs_equivalent": crops * crop_frac / len(trx),
        "wall_seconds": time.perf_counter() - t_start,
        "inference_seconds_per_image": m["inference_seconds_per_image"],
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "per_class": {n: {"iou": float(m["iou"][k]), "dice": float(m["dice"][k])}
                      for k, n in enumerate(names)},
        "mean_iou": float(np.nanmean(m["iou"])),
        "mean_dice": float(np.nanmean(m["dice"])),
        "pixel_accuracy": m["pixel_accuracy"],
    }
    if "adapted_rand_error" in m:
        result["adapted_rand_error"] = m["adapted_rand_error"]

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
