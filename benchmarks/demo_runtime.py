"""Wall-clock time of ``colorseg demo`` on this machine, for the README.

    python benchmarks/demo_runtime.py [--full]

Runs ``colorseg demo --quick`` (``--full``: the full demo) into a temporary folder in a fresh
process, and records its wall-clock seconds, the CPU count, ``OMP_NUM_THREADS`` and the 1-minute
load average at the start under ``quick`` / ``full`` in ``benchmarks/results/demo.json`` (the
other mode's entry is kept). Then regenerates the README tables (``benchmarks/tables.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from segment import REPO, write_json


def measure(full: bool, keep: Path | None = None) -> dict:
    """Time one demo run; its output goes to a temporary folder, or to ``keep`` (to look at it)."""
    args = [] if full else ["--quick"]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="colorseg-demo-") as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "colorseg", "demo", "--output", str(keep or tmp), *args], cwd=REPO,
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    return {"command": " ".join(["colorseg demo", *args]), "seconds": seconds, "cpus": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_average_1min_at_start": load,
            "date": datetime.date.today().isoformat()}


def render(result: dict) -> str:
    """One sentence per measured mode (full first)."""
    lines = []
    for mode in ("full", "quick"):
        if mode in result:
            r = result[mode]
            threads = f", `OMP_NUM_THREADS={r['omp_num_threads']}`" if r["omp_num_threads"] else ""
            lines.append(f"`{r['command']}` took {r['seconds']:.0f} s here ({r['date']}; {r['cpus']} CPU cores"
                         f"{threads}; 1-minute load average {r['load_average_1min_at_start']:.1f} at the start).")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="time the full demo instead of --quick")
    ap.add_argument("--keep", type=Path, default=None, help="write the demo's output here instead of a temp folder")
    args = ap.parse_args()
    path = RESULTS / "demo.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    result["full" if args.full else "quick"] = measure(args.full, args.keep)
    write_json(path, result)
    print(render(result))
    import tables

    tables.update()


if __name__ == "__main__":
    main()
