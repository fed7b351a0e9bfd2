"""Training and validation memory per encoder, batch size and precision: the memory model of
``colorseg segment plan``.

    python benchmarks/train_memory.py [--encoders unet efficientnet_lite0 ...] [--crop 160]

``benchmarks/results/batch_memory.json`` measures *prediction* memory against the number of
images; the planner needs *training* memory against the batch. For every encoder (the U-Net of
the segmentation configs: 11 classes, RGB; ``unet`` at depth 4, width 16 as
``configs/segment/isbi2012.yaml``; random weights, as memory does not depend on them) and for
bf16 autocast + channels-last and plain fp32, a fresh process:

* ``train``: builds the ``SegmenterModule`` and AdamW, records its resident size, then runs 3
  training steps (forward, Dice + CE, backward, step) at batch 2 and then at batch 8 of
  ``crop``² crops, recording the peak resident size (``ru_maxrss``) after each;
* ``eval``: the validation forward pass (no gradients) of one 512² and then one 1024² image.

Per-pixel costs are the slopes between the two sizes, the rest is the intercept (interpreter,
torch, Lightning, model, optimizer). Writes ``benchmarks/results/train_memory.json``; run it
alone with ``OMP_NUM_THREADS=1`` (the resident size of a process does not depend on others, but
its speed does). ``benchmarks/plan.py --update-evidence`` copies the slopes into the planner's
evidence file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import write_json

ENCODERS = ("unet", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "vgg16")
PRECISIONS = ("bf16-mixed", "32")
UNET_WIDTH = 16


def peak_mib() -> float:
    """This process's peak resident size so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(encoder: str, precision: str, mode: str, crop: int) -> dict:
    """One measurement in this (fresh) process; see the module docstring."""
    import torch

    from colorseg.losses.segmentation import SegmentationLoss
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    bf16 = precision.startswith("bf16")
    module = SegmenterModule(class_names=[f"c{i}" for i in range(11)], in_channels=3, encoder=encoder,
                             depth=4, base_width=UNET_WIDTH, channels_last=bf16)
    net = module.net.to(memory_format=torch.channels_last) if bf16 else module.net
    fmt = torch.channels_last if bf16 else torch.contiguous_format
    out: dict = {"encoder": encoder, "precision": precision, "channels_last": bf16, "mode": mode}
    if mode == "train":
        opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
        loss_fn = SegmentationLoss("dice_ce", ignore_index=255)
        out["base_mib"] = peak_mib()
        net.train()
        for batch in (2, 8):
            x = torch.rand(batch, 3, crop, crop).contiguous(memory_format=fmt)
            y = torch.randint(0, 11, (batch, crop, crop))
            for _ in range(3):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    logits = net(x)
                loss = loss_fn(logits.float(), y)["loss"]
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            out[f"peak_mib_batch{batch}"] = peak_mib()
        out["crop"] = crop
        pixels = 6 * crop * crop  # batch 8 minus batch 2
        out["train_mib_per_mpx"] = (out["peak_mib_batch8"] - out["peak_mib_batch2"]) / pixels * 1e6
        out["train_intercept_mib"] = out["peak_mib_batch2"] - out["train_mib_per_mpx"] * 2 * crop * crop / 1e6
    else:
        out["base_mib"] = peak_mib()
        net.eval()
        for side in (512, 1024):
            x = torch.rand(1, 3, side, side).contiguous(memory_format=fmt)
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                net(x)
            out[f"peak_mib_{side}"] = peak_mib()
        out["eval_mib_per_mpx"] = (out["peak_mib_1024"] - out["peak_mib_512"]) / (1024 ** 2 - 512 ** 2) * 1e6
    return out


def measure(encoders: list[str], crop: int) -> dict:
    """Every (encoder, precision, mode) in a fresh process; returns the results document."""
    import torch

    rows: dict[tuple[str, str], dict] = {}
    for encoder in encoders:
        for precision in PRECISIONS:
            row = rows.setdefault((encoder, precision), {"encoder": encoder, "precision": precision,
                                                         "channels_last": precision.startswith("bf16")})
            for mode in ("train", "eval"):
                cmd = [sys.executable, __file__, "--child", encoder, precision, mode, "--crop", str(crop)]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"measurement failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                result.pop("mode")
                row.update(result)
                print(json.dumps(result), flush=True)
    return {"what": "peak resident size of a fresh process: SegmenterModule + AdamW, 3 training steps at batch 2 "
                    f"then 8 of {crop}x{crop} crops (Dice + CE); separately, the no-gradient forward of one 512x512 "
                    "then one 1024x1024 image",
            "model": f"U-Net, 11 classes, RGB, random weights; unet encoder depth 4, width {UNET_WIDTH}",
            "crop": crop, "unet_base_width": UNET_WIDTH,
            "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or torch.get_num_threads(),
            "torch_version": torch.__version__, "rows": list(rows.values())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=list(ENCODERS))
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--child", nargs=3, metavar=("ENCODER", "PRECISION", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, crop=args.crop)))
        return
    result = measure(args.encoders, args.crop)
    write_json(RESULTS / "train_memory.json", result)
    print(f"wrote {RESULTS / 'train_memory.json'}")


if __name__ == "__main__":
    main()
