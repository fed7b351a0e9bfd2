"""ThroughputMonitor: training batches are charged the wall time since the previous batch ended
(data loading included), validation passes are not."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, Dataset

from colorseg.training.callbacks import ThroughputMonitor

TRAIN_ITEMS, BATCH, LOAD_S = 8, 2, 0.05  # 4 batches of 2 items; each item takes 50 ms to load
VAL_S = 1.0  # each validation pass (one item) takes 1 s


class SlowDataset(Dataset):
    def __init__(self, n: int, seconds: float) -> None:
        self.n, self.seconds = n, seconds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict:
        time.sleep(self.seconds)
        return {"image": torch.full((3,), float(index))}


class TinyModule(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(3, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch["image"]).square().mean()

    def validation_step(self, batch, batch_idx):
        self.layer(batch["image"])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def test_throughput_counts_loading_and_not_validation(tmp_path: Path) -> None:
    monitor = ThroughputMonitor(tmp_path)
    trainer = pl.Trainer(accelerator="cpu", max_epochs=1, val_check_interval=2, num_sanity_val_steps=0,
                         callbacks=[monitor], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    t0 = time.perf_counter()
    trainer.fit(TinyModule(), DataLoader(SlowDataset(TRAIN_ITEMS, LOAD_S), batch_size=BATCH),
                DataLoader(SlowDataset(1, VAL_S), batch_size=1))
    wall = time.perf_counter() - t0
    result = json.loads((tmp_path / "throughput.json").read_text())
    loading = TRAIN_ITEMS * LOAD_S  # 0.4 s of loading in the 4 training batches
    assert result["images"] == TRAIN_ITEMS and result["steps"] == TRAIN_ITEMS // BATCH
    assert wall >= loading + 2 * VAL_S  # validation ran twice: after batch 2 (mid-epoch) and 4
    # loading is charged (timing the optimisation step alone would give a few ms) ...
    assert result["seconds"] >= loading
    # ... and the mid-epoch validation pass (1 s) is not charged to batch 3: a few ms per step remain
    assert result["seconds"] < loading + 0.5 * VAL_S
    assert result["images_per_s"] == TRAIN_ITEMS / result["seconds"]
    assert result["images_per_s"] <= TRAIN_ITEMS / loading
