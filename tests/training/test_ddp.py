"""Two-process DDP on CPU (gloo): the same command line scales to GPUs and nodes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")


def test_ddp_two_processes_on_cpu(tmp_path: Path) -> None:
    run_dir = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("COLORSEG_RUN_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "colorseg", "segment", "fit", "-c", TINY, "--run_dir", str(run_dir),
         "--trainer.strategy=ddp", "--trainer.devices=2", "--trainer.accelerator=cpu",
         "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "world_size: 2" in proc.stderr + proc.stdout or "MEMBER: 2/2" in proc.stderr + proc.stdout
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "runs").exists()  # both ranks used the parent's run directory
