"""The shared cosine learning-rate schedule."""

from __future__ import annotations

import itertools
import math
import time

import lightning.pytorch as pl
import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.training.schedules import budget_cosine, cosine_factor, trainer_budget_cosine


def test_cosine_warms_up_linearly_then_decays_to_the_floor() -> None:
    assert [cosine_factor(s, 100, warmup=4) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert cosine_factor(4, 100, warmup=4) == pytest.approx(1.0)
    assert cosine_factor(52, 100, warmup=4, floor=0.1) == pytest.approx(0.55)  # half way: mid of [floor, 1]
    assert cosine_factor(100, 100, floor=0.05) == pytest.approx(0.05)
    assert cosine_factor(500, 100, floor=0.05) == pytest.approx(0.05)  # held after the end


def test_budget_cosine_follows_steps_or_time_whichever_is_further() -> None:
    clock = {"t": 0.0}
    steps_only = budget_cosine(100, None, None, warmup=4, floor=0.1)
    assert [steps_only(s) for s in (0, 4, 52, 100, 500)] == pytest.approx(
        [cosine_factor(s, 100, warmup=4, floor=0.1) for s in (0, 4, 52, 100, 500)])
    both = budget_cosine(100, lambda: clock["t"], 60.0, floor=0.0)
    assert both(10) == pytest.approx(cosine_factor(10, 100))  # time at 0 s: steps lead
    clock["t"] = 30.0
    assert both(10) == pytest.approx(0.5)  # half the time spent: half way down, whatever the steps
    clock["t"] = 90.0
    assert both(10) == pytest.approx(0.0)  # over time: held at the floor
    time_only = budget_cosine(math.inf, lambda: clock["t"], 180.0, warmup=2, floor=0.02)
    assert time_only(0) == pytest.approx(0.5)  # warm-up by steps first
    assert time_only(5) == pytest.approx(0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_budget_cosine_without_any_budget_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_time"):
        budget_cosine(math.inf, None, None)


class _TinyModule(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.lrs: list[float] = []

    def training_step(self, batch, batch_idx):
        time.sleep(0.02)
        self.lrs.append(self.optimizers().param_groups[0]["lr"])
        return self.layer(batch[0]).pow(2).mean()

    def train_dataloader(self):
        data = torch.utils.data.TensorDataset(torch.randn(8, 2))
        return torch.utils.data.DataLoader(data, batch_size=2)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=1.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, trainer_budget_cosine(self.trainer, floor=0.05))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def test_cosine_over_a_wall_clock_budget_reaches_its_floor_when_training_ends(tmp_path) -> None:
    module = _TinyModule()
    trainer = pl.Trainer(max_time={"seconds": 2}, max_epochs=-1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path, accelerator="cpu")
    trainer.fit(module)
    lrs = module.lrs
    assert len(lrs) > 20
    assert lrs[0] == pytest.approx(1.0, abs=0.02)
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(lrs))  # decreasing with time
    assert lrs[len(lrs) // 2] == pytest.approx(0.5, abs=0.15)  # about half way down at half time
    assert lrs[-1] < 0.1  # the end of the budget is the end of the schedule
    # the schedule is a closure: checkpoints hold no trainer
    state = trainer.lr_scheduler_configs[0].scheduler.state_dict()
    assert state["lr_lambdas"] == [None]
