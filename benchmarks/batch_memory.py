"""Load test: batch prediction over thousands of mixed-size images runs in flat memory.

    python benchmarks/batch_memory.py [--counts 200 2000] [--min-size 64] [--max-size 1024] [--workers 2]

Generates N images of random sizes (sides uniform in [min, max], JPEG and PNG, gray and RGB;
the first image is max×max so every run meets the largest size at once) in a temporary folder,
writes a small untrained segmentation checkpoint (U-Net depth 2, width 8, 3 classes: speed and
memory do not depend on the weights), and runs ``colorseg segment predict`` on the first N
images in a fresh process for each N. It records the process's peak RSS (``os.wait4``), its RSS
sampled during the run (should stay level: no growth per image), wall time and images/s (the
summary's, i.e. without interpreter start-up). Writes ``benchmarks/results/batch_memory.json``
and regenerates the README tables (``benchmarks/tables.py``).
Run with ``OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"


def make_images(folder: Path, n: int, min_size: int, max_size: int, seed: int = 0) -> list[Path]:
    """``n`` smooth images with a few shapes (JPEG/PNG, gray/RGB), sides in [min_size, max_size]."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        h, w = (max_size, max_size) if i == 0 else rng.integers(min_size, max_size + 1, size=2)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = (yy / h * 120 + xx / w * 80 + rng.integers(0, 50)).astype(np.float32)
        img = np.repeat(base[..., None], 3, axis=2) + rng.integers(-20, 20, size=3)
        for _ in range(rng.integers(2, 6)):  # rectangles of random colour
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            img[y0: y0 + rng.integers(8, h // 2 + 9), x0: x0 + rng.integers(8, w // 2 + 9)] = rng.integers(0, 256, 3)
        img = np.clip(img, 0, 255).astype(np.uint8)
        gray = i % 5 == 4
        im = Image.fromarray(img[..., 0] if gray else img)
        path = folder / f"img_{i:05d}.{'png' if i % 3 == 0 else 'jpg'}"
        im.save(path, quality=90) if path.suffix == ".jpg" else im.save(path)
        paths.append(path)
    return paths


def make_checkpoint(path: Path) -> Path:
    """A small untrained segmentation checkpoint, as ``colorseg segment fit`` writes it."""
    import torch

    from colorseg.checkpoint import checkpoint_metadata
    from colorseg.training.segmenter_module import SegmenterModule

    torch.manual_seed(0)
    module = SegmenterModule(class_names=["background", "a", "b"], in_channels=3, depth=2, base_width=8)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams),
                "colorseg": checkpoint_metadata("segment")}, path)
    return path


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_predict(ckpt: Path, inputs: Path, output: Path, workers: int, log: Path, sample_s: float = 0.5) -> dict:
    """``colorseg segment predict`` in a fresh process: peak RSS, sampled RSS, wall, images/s."""
    cmd = [sys.executable, "-m", "colorseg", "segment", "predict", "--ckpt", str(ckpt), "--input", str(inputs),
           "--output", str(output), "--workers", str(workers)]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    samples: list[tuple[float, float]] = []
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            rss = _rss_mib(proc.pid)
            if rss is not None:
                samples.append((round(time.perf_counter() - t0, 2), round(rss, 1)))
            time.sleep(sample_s)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"predict failed ({proc.returncode}), see {log}:\n{text[-2000:]}")
    match = re.search(r"done (\d+), skipped (\d+), failed (\d+) in ([\d.]+) s \(([\d.]+) images/s\)", text)
    if not match:
        raise SystemExit(f"no summary line in {log}")
    done, _, failed, seconds, ips = match.groups()
    rss = [r for _, r in samples]
    # RSS at 25/50/75/100 % of the run: level when nothing accumulates per image
    quartiles = [rss[min(len(rss) - 1, int(q * len(rss)))] for q in (0.25, 0.5, 0.75, 1.0)] if rss else []
    return {"images": int(done), "failed": int(failed), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "rss_at_25_50_75_100_percent_mib": quartiles, "wall_s": round(wall, 1), "predict_s": float(seconds),
            "images_per_s": float(ips), "rss_samples_s_mib": samples[:: max(1, len(samples) // 60)]}


def bench(counts: list[int], min_size: int, max_size: int, workers: int) -> dict:
    """Generate max(counts) images once; predict the first N of them for each N."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="colorseg-load-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        paths = make_images(root / "all", max(counts), min_size, max_size)
        gen_s = time.perf_counter() - t0
        pixels = []
        for p in paths:
            with Image.open(p) as im:
                pixels.append(im.width * im.height)
        ckpt = make_checkpoint(root / "tiny.ckpt")
        runs = {}
        for n in counts:
            subset = root / f"in_{n}"
            subset.mkdir(exist_ok=True)
            for p in paths[:n]:
                link = subset / p.name
                if not link.exists():
                    os.link(p, link)
            result = run_predict(ckpt, subset, root / f"out_{n}", workers, root / f"predict_{n}.log")
            result["megapixels"] = round(sum(pixels[:n]) / 1e6, 1)
            result["megapixels_per_s"] = round(result["megapixels"] / result["predict_s"], 2)
            runs[str(n)] = result
            print(f"N={n}: peak RSS {result['peak_rss_mib']} MiB, {result['images_per_s']:.1f} images/s "
                  f"({result['megapixels_per_s']} MP/s), wall {result['wall_s']} s", flush=True)
    first, last = runs[str(counts[0])], runs[str(counts[-1])]
    growth = (last["peak_rss_mib"] - first["peak_rss_mib"]) / max(1, counts[-1] - counts[0])
    import torch

    return {
        "what": "colorseg segment predict over a folder of generated mixed-size images, fresh process per N",
        "model": "U-Net depth 2, base width 8, 3 classes, RGB (untrained; speed and memory do not depend on weights)",
        "images": f"sides uniform in [{min_size}, {max_size}] (first image {max_size}x{max_size}); "
                  "2/3 JPEG, 1/3 PNG; 1 in 5 gray; outputs: label PNG + overlay PNG per image",
        "workers": workers, "generate_s": round(gen_s, 1),
        "runs": runs,
        "peak_rss_growth_kib_per_image": round(growth * 1024, 2),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
    }


def render_table(result: dict) -> str:
    """README.md's load table: peak and quartile RSS and throughput per image count, and the peak's growth."""
    def gib(mib: float) -> str:
        return f"{mib / 1024:.2f}"

    m = result["machine"]
    lines = [(f"{m['cpus']} CPUs, `OMP_NUM_THREADS={m['OMP_NUM_THREADS']}`, torch {m['torch']}, "
             f"{result['workers']} loader workers:"), "",
             "| images | peak RSS | RSS at 25 / 50 / 75 / 100 % of the run | throughput |", "|---|---|---|---|"]
    for n, r in result["runs"].items():
        quartiles = " / ".join(gib(x) for x in r["rss_at_25_50_75_100_percent_mib"])
        lines.append(f"| {int(n):,} | {gib(r['peak_rss_mib'])} GiB | {quartiles} GiB | "
                     f"{r['images_per_s']:.1f} images/s ({r['megapixels_per_s']:.2f} MP/s) |")
    first, *_, last = result["runs"].values()
    lines += ["", (f"{last['images'] / first['images']:.0f} times the images raise the peak by "
              f"{gib(last['peak_rss_mib'] - first['peak_rss_mib'])} GiB "
              f"({result['peak_rss_growth_kib_per_image']:.0f} KiB per extra image).")]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--min-size", type=int, default=64)
    parser.add_argument("--max-size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "batch_memory.json")
    args = parser.parse_args()
    result = bench(sorted(args.counts), args.min_size, args.max_size, args.workers)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, args.output)
    print(f"wrote {args.output}: peak RSS growth {result['peak_rss_growth_kib_per_image']} KiB/image")
    if args.output == RESULTS / "batch_memory.json":
        sys.path.insert(0, str(HERE))
        import tables

        tables.update()


if __name__ == "__main__":
    main()
