"""Inference speed benchmark for both models: latency, throughput, memory, achieved GFLOP/s.

    python benchmarks/inference.py [--sizes 256 512 2048] [--huge 8192] [--folder-images 48]
                                   [--variants eager channels_last bf16 compiled onnxruntime]

Architectures are those of the benchmark configs (``configs/segment/isbi2012.yaml``: U-Net depth
4, width 16, 1 channel in, 2 classes; ``configs/colorize/bsds500.yaml``: CVAE depth 4, width 24,
latent 8); weights are random (speed does not depend on them). Reported, on this machine:

* ``conv_peak_gflops``: the best measured throughput of a plain 3×3 convolution (several
  channel counts, both memory formats), measured in the same run: the yardstick.
* per model, variant and size: network latency (the network alone on an S×S input; for the
  colorizer that is the cost of working at resolution S), its FLOPs (``FlopCounterMode``) and
  the achieved GFLOP/s and fraction of the conv peak;
* end to end: ``Segmenter.predict`` / ``Colorizer.colorize`` latency on S×S images and on an
  8192² image (tiled segmentation), each 8192² run in a fresh process for its peak RSS;
* folder throughput (images/s) of ``segment predict`` / ``colorize predict`` on generated images.

Writes ``benchmarks/results/inference.json``, then regenerates the README tables (``benchmarks/tables.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import write_json

VARIANTS = ("eager", "channels_last", "bf16", "compiled", "onnxruntime")


def timed(fn, repeats: int, min_seconds: float = 0.5) -> float:
    """Median seconds per call after one warm-up; repeats until ``min_seconds`` or ``repeats``."""
    fn()
    times: list[float] = []
    while len(times) < repeats or (sum(times) < min_seconds and len(times) < 50):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


@torch.inference_mode()
def conv_peak() -> dict:
    """Best GFLOP/s of a 3×3 convolution over a few shapes and both memory formats."""
    best = {"gflops": 0.0}
    for channels, size, batch in ((32, 256, 4), (64, 128, 8), (128, 64, 8), (256, 32, 16)):
        for fmt in (torch.contiguous_format, torch.channels_last):
            conv = torch.nn.Conv2d(channels, channels, 3, padding=1).to(memory_format=fmt)
            x = torch.randn(batch, channels, size, size).contiguous(memory_format=fmt)
            flops = 2 * channels * channels * 9 * size * size * batch
            gflops = flops / timed(lambda conv=conv, x=x: conv(x), 5) / 1e9
            if gflops > best["gflops"]:
                best = {"gflops": gflops, "channels": channels, "size": size, "batch": batch,
                        "channels_last": fmt is torch.channels_last}
    return best


def build_modules() -> dict[str, tuple[torch.nn.Module, str]]:
    """{name: (LightningModule in eval mode, task)} with the benchmark configs' architectures."""
    from colorseg.training.colorizer_module import ColorizerModule
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    seg = SegmenterModule(class_names=["membrane", "cell"], in_channels=1, depth=4, base_width=16).eval()
    col = ColorizerModule(kind="vae", latent_dim=8, base_width=24, depth=4, image_size=96,
                          perceptual_weight=0).eval()
    return {"segmenter": (seg, "segment"), "colorizer": (col, "colorize")}


def count_flops(net: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops()


def variant_runner(variant: str, module, task: str, x: torch.Tensor, tmp: Path):
    """A zero-argument callable running the network on ``x`` the way ``variant`` says (None: unavailable).

    ``onnxruntime`` runs the graph ``colorseg export`` writes (segmenter: normalisation + U-Net +
    softmax; colorizer: the deterministic L → ab path).
    """
    net = module.net
    if variant == "onnxruntime":
        try:
            import onnxruntime as ort
        except ImportError:
            return None
        path = tmp / f"{task}.onnx"
        if not path.exists():
            from colorseg.checkpoint import checkpoint_metadata
            from colorseg.inference.export import export_model

            ckpt = tmp / f"{task}.ckpt"
            torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                        "colorseg": checkpoint_metadata(task)}, ckpt)
            export_model(ckpt, "onnx", path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x.numpy()}
        return lambda: session.run(None, feed)
    fmt = torch.channels_last if variant in ("channels_last", "compiled") else torch.contiguous_format
    model = net.to(memory_format=fmt)
    xin = x.contiguous(memory_format=fmt)
    if variant == "compiled":
        model = torch.compile(model)

    @torch.inference_mode()
    def call():
        if variant == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(xin)
        return model(xin)

    return call


def bench_networks(sizes: list[int], variants: list[str], peak: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (module, task) in build_modules().items():
            net = module.net
            for size in sizes:
                x = torch.rand(1, 1, size, size)
                flops = count_flops(net, x)
                for variant in variants:
                    runner = variant_runner(variant, module, task, x, Path(tmp))
                    if runner is None:
                        print(f"  {name} {variant}: unavailable, skipped")
                        continue
                    seconds = timed(runner, 3 if size <= 512 else 2)
                    gflops = flops / seconds / 1e9
                    rows.append({"model": name, "variant": variant, "size": size, "seconds": seconds,
                                 "gflop": flops / 1e9, "gflops": gflops, "fraction_of_peak": gflops / peak})
                    print(f"  {name:9s} {variant:13s} {size:5d}²  {seconds * 1e3:9.1f} ms  {gflops:6.1f} GFLOP/s")
                net.to(memory_format=torch.contiguous_format)
    return rows


END_TO_END = """
import json, sys, time, numpy as np, torch
from colorseg.inference.colorizer import Colorizer
from colorseg.inference.segmenter import Segmenter
from colorseg.inference.tiling import TileConfig
from colorseg.training.colorizer_module import ColorizerModule
from colorseg.training.segmenter_module import SegmenterModule
model, size, channels_last = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
torch.manual_seed(0)
rng = np.random.default_rng(0)
if model == "segmenter":
    m = SegmenterModule(class_names=["membrane", "cell"], in_channels=1, depth=4, base_width=16)
    runner = Segmenter(m.to_model(), tiling=TileConfig(tile=512, overlap=64, batch_size=2), channels_last=channels_last)
    image = rng.integers(0, 256, (size, size), dtype=np.uint8)
    fn = lambda: runner.predict(image)
else:
    m = ColorizerModule(kind="vae", latent_dim=8, base_width=24, depth=4, image_size=96, perceptual_weight=0)
    runner = Colorizer(m.to_model())
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    fn = lambda: runner.colorize(image)
if size <= 2048:
    fn()
t0 = time.perf_counter(); fn(); seconds = time.perf_counter() - t0
# VmHWM: this process's own peak (ru_maxrss would carry the parent's size over the exec)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "peak_rss_mib": hwm / 1024}))
"""


def bench_end_to_end(model: str, size: int, channels_last: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", END_TO_END, model, str(size), "1" if channels_last else "0"],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {model:9s} end-to-end {size:5d}²  {result['seconds']:8.2f} s  peak {result['peak_rss_mib']:.0f} MiB")
    return {"model": model, "size": size, **result}


def bench_folder(model: str, n_images: int) -> dict:
    """images/s of batch prediction over generated images of mixed sizes (256–768 px)."""
    from PIL import Image

    from colorseg.inference.colorize_folder import colorize_folder
    from colorseg.inference.colorizer import Colorizer
    from colorseg.inference.predict_folder import predict_folder
    from colorseg.inference.segmenter import Segmenter
    from colorseg.training.colorizer_module import ColorizerModule
    from colorseg.training.segmenter_module import SegmenterModule

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i in range(n_images):
            h, w = (int(v) for v in rng.integers(256, 769, 2))
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(src / f"{i:04d}.png")
        torch.manual_seed(0)
        if model == "segmenter":
            seg = Segmenter(SegmenterModule(class_names=["a", "b"], in_channels=1, depth=4, base_width=16).to_model())
            summary = predict_folder(seg, src, Path(tmp) / "out", progress=False)
        else:
            col = Colorizer(ColorizerModule(kind="vae", latent_dim=8, base_width=24, depth=4, image_size=96,
                                            perceptual_weight=0).to_model())
            summary = colorize_folder(col, src, Path(tmp) / "out", progress=False)
    print(f"  {model:9s} folder of {n_images}: {summary.images_per_s:.2f} images/s")
    return {"model": model, "images": n_images, "images_per_s": summary.images_per_s, "failed": len(summary.failed)}


def milliseconds(row: dict) -> str:
    return f"{row['seconds'] * 1e3:.0f} ms"


def percent_range(rows: list[dict]) -> str:
    fractions = [100 * r["fraction_of_peak"] for r in rows]
    return f"{min(fractions):.0f}–{max(fractions):.0f} %"


def speedups(result: dict, variant: str) -> list[tuple[float, dict]]:
    """(eager seconds / ``variant`` seconds, the variant's row) for every model and size."""
    eager = {(r["model"], r["size"]): r["seconds"] for r in result["networks"] if r["variant"] == "eager"}
    return [(eager[r["model"], r["size"]] / r["seconds"], r) for r in result["networks"]
            if r["variant"] == variant and (r["model"], r["size"]) in eager]


def huge_end_to_end(result: dict) -> str:
    """The largest end-to-end size: seconds and peak memory of both models."""
    size = max(r["size"] for r in result["end_to_end"])
    rows = {r["model"]: r for r in result["end_to_end"] if r["size"] == size}
    return (f"one {size}² image is segmented (tiled, eager NCHW) in {rows['segmenter']['seconds']:.0f} s with a "
            f"{rows['segmenter']['peak_rss_mib'] / 1024:.1f} GiB peak and colourised in "
            f"{rows['colorizer']['seconds']:.0f} s with {rows['colorizer']['peak_rss_mib'] / 1024:.1f} GiB")


def render_reading(result: dict) -> str:
    """benchmarks/README.md's "reading it" bullets, figures from ``result`` (any subset of variants)."""
    nets = result["networks"]
    by_variant = "; ".join(f"{v} {percent_range([r for r in nets if r['variant'] == v])}" for v in result["variants"])
    lines = [f"- Fraction of the 3×3-conv peak over all network rows: {by_variant}."]
    if cl := sorted(speedups(result, "channels_last"), key=lambda x: x[0]):
        lines.append(f"- Channels-last alone is {cl[0][0]:.1f}–{cl[-1][0]:.1f}× as fast as eager NCHW.")
    if bf16 := speedups(result, "bf16"):
        best, where = max(bf16, key=lambda x: x[0])
        lines.append(f"- bf16 autocast helps most on the {where['model']} at {where['size']}² ({best:.1f}×).")
    largest = max(result["sizes"])
    if eager := [r for r in nets if r["variant"] == "eager" and r["size"] == largest]:
        lines.append(f"- At {largest}² eager reaches {percent_range(eager)} of the peak.")
    return "\n".join(lines + [f"- End to end, {huge_end_to_end(result)}."])


def render_summary(result: dict) -> str:
    """README.md's summary: the segmenter network at each size, and the largest end-to-end run."""
    peak = result["conv_peak"]["gflops"]
    lines = [(f"Inference (`benchmarks/inference.py`, {result['threads']} threads; 3×3-conv peak measured in the "
             f"same run: {peak:.0f} GFLOP/s). Segmenter network (U-Net depth 4, width 16) on one image:"), "",
             "| size | " + " | ".join(result["variants"]) + " |", "|---|" + "---|" * len(result["variants"])]
    keyed = {(r["size"], r["variant"]): r for r in result["networks"] if r["model"] == "segmenter"}
    for size in result["sizes"]:
        cells = [("–" if (r := keyed.get((size, v))) is None else f"{milliseconds(r)} ({r['fraction_of_peak']:.0%})")
                 for v in result["variants"]]
        lines.append(f"| {size}² | " + " | ".join(cells) + " |")
    return "\n".join(lines + ["", f"End to end, {huge_end_to_end(result)}."])


def render_table(result: dict) -> str:
    peak = result["conv_peak"]["gflops"]
    lines = [(f"Measured on {result['machine']}, {result['threads']} threads, torch {result['torch']}. "
              f"3×3-conv peak measured in the same run: **{peak:.1f} GFLOP/s**."
              + (f" 1-minute load average at the start: {result['load_average_1min_at_start']:.1f}."
                 if "load_average_1min_at_start" in result else "")), "",
             "| model | size | " + " | ".join(result["variants"]) + " |",
             "|---|---|" + "---|" * len(result["variants"])]
    keyed = {(r["model"], r["size"], r["variant"]): r for r in result["networks"]}
    for model in ("segmenter", "colorizer"):
        for size in result["sizes"]:
            cells = []
            for v in result["variants"]:
                r = keyed.get((model, size, v))
                cells.append("–" if r is None else
                             f"{milliseconds(r)}, {r['gflops']:.1f} GFLOP/s ({r['fraction_of_peak']:.0%})")
            lines.append(f"| {model} network | {size}² | " + " | ".join(cells) + " |")
    lines += ["", "| end to end (eager, fresh process) | size | seconds | peak RSS |", "|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['size']}² | {r['seconds']:.2f} | {r['peak_rss_mib']:.0f} MiB |"
              for r in result["end_to_end"]]
    lines += ["", "| folder prediction | images | images/s |", "|---|---|---|"]
    lines += [f"| {r['model']} | {r['images']} (256–768 px) | {r['images_per_s']:.2f} |" for r in result["folders"]]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 2048])
    ap.add_argument("--huge", type=int, default=8192, help="end-to-end size for the tiled run (0: skip)")
    ap.add_argument("--folder-images", type=int, default=48)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    args = ap.parse_args()
    print(f"threads: {torch.get_num_threads()}")
    peak = conv_peak()
    print(f"3x3 conv peak: {peak['gflops']:.1f} GFLOP/s ({peak})")
    result = {"machine": f"{os.cpu_count()} CPU cores", "threads": torch.get_num_threads(),
              "load_average_1min_at_start": os.getloadavg()[0],
              "torch": torch.__version__, "conv_peak": peak, "sizes": args.sizes, "variants": args.variants,
              "networks": bench_networks(args.sizes, args.variants, peak["gflops"])}
    sizes = [*args.sizes, *([args.huge] if args.huge else [])]
    result["end_to_end"] = [bench_end_to_end(m, s, False) for m in ("segmenter", "colorizer") for s in sizes]
    result["folders"] = [bench_folder(m, args.folder_images) for m in ("segmenter", "colorizer")]
    write_json(RESULTS / "inference.json", result)
    print(render_table(result))
    import tables

    tables.update()


if __name__ == "__main__":
    main()
