"""Per-encoder speed on this machine: parameters, inference latency at 512², training samples/s.

    python benchmarks/encoders.py [--encoders unet efficientnet_lite0 ...] [--threads 2] [--compile]

For every registered encoder, the segmentation U-Net of the CamVid benchmark (3 channels in, 11
classes; ``unet``: depth 4, width 24 as ``configs/segment/camvid.yaml``) with random weights:

* inference: network latency on one 512×512 image, eager fp32, channels-last, and ONNX Runtime
  (``colorseg export`` of the same network; the median of repeated calls after a warm-up);
* training: samples/s of forward + backward + AdamW step at batch 8 × 160×160 (the CamVid crop),
  fp32, channels-last, and bf16 autocast on CPU; with ``--compile`` also ``torch.compile`` for
  EfficientNet-Lite0, with its compile time (does it pay back within a 30-minute budget?).

Writes ``benchmarks/results/encoders.json`` and regenerates the README tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import write_json

CLASSES = [f"c{i}" for i in range(11)]


def median_seconds(fn, repeats: int = 5, min_seconds: float = 2.0) -> float:
    fn()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < 30):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def build(encoder: str):
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    return SegmenterModule(class_names=CLASSES, in_channels=3, encoder=encoder, depth=4, base_width=24)


@torch.inference_mode()
def inference_ms(module, variant: str, tmp: Path) -> float:
    x = torch.rand(1, 3, 512, 512)
    net = module.net.eval()
    if variant == "eager":
        return 1000 * median_seconds(lambda: net(x))
    if variant == "channels_last":
        cl = net.to(memory_format=torch.channels_last)
        xc = x.contiguous(memory_format=torch.channels_last)
        out = 1000 * median_seconds(lambda: cl(xc))
        net.to(memory_format=torch.contiguous_format)
        return out
    import onnxruntime as ort

    from colorseg.checkpoint import checkpoint_metadata
    from colorseg.inference.export import export_model

    ckpt = tmp / "m.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "colorseg": checkpoint_metadata("segment")}, ckpt)
    path = export_model(ckpt, "onnx", tmp / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x.numpy()}
    return 1000 * median_seconds(lambda: session.run(None, feed))


def training_samples_per_s(module, variant: str, steps: int = 6) -> dict:
    net = module.net.train()
    batch = 8
    x = torch.rand(batch, 3, 160, 160)
    y = torch.randint(0, len(CLASSES), (batch, 160, 160))
    if variant in ("channels_last", "compiled"):
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    forward = net
    compile_s = None
    if variant == "compiled":
        forward = torch.compile(net)
        t0 = time.perf_counter()
        torch.nn.functional.cross_entropy(forward(x), y).backward()
        compile_s = time.perf_counter() - t0
        opt.zero_grad()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant == "bf16"):
            loss = torch.nn.functional.cross_entropy(forward(x).float(), y)
        loss.backward()
        opt.step()
        opt.zero_grad()

    seconds = median_seconds(step, repeats=steps, min_seconds=4.0)
    net.to(memory_format=torch.contiguous_format)
    return {"samples_per_s": batch / seconds, "compile_seconds": compile_s}


def bench(encoders: list[str], with_compile: bool) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in encoders:
            module = build(name)
            row = {"encoder": name, "parameters_m": sum(p.numel() for p in module.net.parameters()) / 1e6,
                   "encoder_parameters_m": sum(p.numel() for p in module.net.encoder.parameters()) / 1e6,
                   "size_multiple": module.net.size_multiple}
            for variant in ("eager", "channels_last", "onnxruntime"):
                row[f"infer_ms_512_{variant}"] = inference_ms(module, variant, Path(tmp))
            for variant in ("fp32", "channels_last", "bf16"):
                row[f"train_samples_per_s_{variant}"] = training_samples_per_s(build(name), variant)["samples_per_s"]
            if with_compile and name == "efficientnet_lite0":
                r = training_samples_per_s(build(name), "compiled")
                row["train_samples_per_s_compiled"], row["compile_seconds"] = r["samples_per_s"], r["compile_seconds"]
            print(json.dumps(row), flush=True)
            rows.append(row)
    return {"threads": torch.get_num_threads(), "torch_version": torch.__version__,
            "input": "inference 1×3×512×512; training batch 8×3×160×160, 11 classes", "rows": rows}


def render_table(result: dict) -> str:
    """Markdown table of results/encoders.json."""
    head = ("| encoder | parameters (M) | of which encoder | size multiple | 512² eager (ms) | 512² channels-last (ms) | "
            "512² ONNX Runtime (ms) | train samples/s fp32 | channels-last | bf16 autocast |")
    lines = [f"{result['threads']} thread(s), torch {result['torch_version']}; {result['input']}; random weights.\n",
             head, "|" + "---|" * 10]
    for r in result["rows"]:
        lines.append(f"| {r['encoder']} | {r['parameters_m']:.1f} | {r['encoder_parameters_m']:.1f} | "
                     f"{r['size_multiple']} | {r['infer_ms_512_eager']:.0f} | {r['infer_ms_512_channels_last']:.0f} | "
                     f"{r['infer_ms_512_onnxruntime']:.0f} | {r['train_samples_per_s_fp32']:.1f} | "
                     f"{r['train_samples_per_s_channels_last']:.1f} | {r['train_samples_per_s_bf16']:.1f} |")
    compiled = [r for r in result["rows"] if "compile_seconds" in r]
    for r in compiled:
        lines.append(f"\n`torch.compile` ({r['encoder']}): {r['train_samples_per_s_compiled']:.1f} samples/s after "
                     f"{r['compile_seconds']:.0f} s of compilation.")
    return "\n".join(lines)


def main() -> None:
    from colorseg.models.encoders import ENCODERS

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=list(ENCODERS))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile training for efficientnet_lite0")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = bench(args.encoders, args.compile)
    write_json(RESULTS / "encoders.json", result)
    import tables

    tables.update()
    print(render_table(result))


if __name__ == "__main__":
    main()
