"""`colorseg <task> fit`: LightningCLI with run directories, checkpoints and loggers.

A run directory holds ``config.yaml`` (fully resolved), ``checkpoints/best.ckpt`` (best by the
model's ``monitor`` metric) and ``checkpoints/last.ckpt``, ``logs/version_N/metrics.csv`` (one
CSV per fit invocation, so resumed runs keep their history) and ``tensorboard/``.
Resume an interrupted run with ``--ckpt_path last`` and the same ``--run_dir``.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import yaml
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from colorseg.data.io import atomic_write
from colorseg.training.callbacks import ThroughputMonitor

RUN_DIR_ENV = "COLORSEG_RUN_DIR"  # lets DDP worker processes find the parent's run directory


class ColorsegCLI(LightningCLI):
    """LightningCLI that links data metadata into the model and manages the run directory."""

    task = "segment"
    links: tuple[str, ...] = ()  # data-module attributes copied into the model's arguments

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="run directory (default: runs/<task>/<config name>-<time>)")
        for attr in self.links:
            parser.link_arguments("data", f"model.{attr}", apply_on="instantiate",
                                  compute_fn=lambda dm, a=attr: getattr(dm, a))

    def before_instantiate_classes(self) -> None:
        cfg = self.config[self.subcommand]
        run_dir = cfg.get("run_dir") or os.environ.get(RUN_DIR_ENV)
        if not run_dir:
            configs = cfg.get("config") or []
            stem = Path(str(configs[0])).stem if configs else self.task
            run_dir = str(Path("runs") / self.task / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}")
        cfg["run_dir"] = run_dir
        os.environ[RUN_DIR_ENV] = run_dir
        self.run_dir = Path(run_dir)

    def _instantiate_trainer(self, config: dict, callbacks: list):
        run_dir = self.run_dir
        monitor = self.model.hparams.get("monitor", "val/loss")
        mode = "min" if "loss" in monitor else "max"
        callbacks = list(callbacks) + [
            ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best", monitor=monitor, mode=mode,
                            save_top_k=1, enable_version_counter=False),
            # a second callback, because Lightning only refreshes save_last when top-k saved
            ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", monitor=None,
                            save_top_k=1, enable_version_counter=False),
            LearningRateMonitor(logging_interval="epoch"),
            ThroughputMonitor(run_dir),
        ]
        config = dict(config)
        config["default_root_dir"] = str(run_dir)
        config["logger"] = [CSVLogger(str(run_dir), name="logs"),
                            TensorBoardLogger(str(run_dir), name="tensorboard", default_hp_metric=False)]
        return super()._instantiate_trainer(config, callbacks)

    def before_fit(self) -> None:
        if self.trainer.is_global_zero:
            text = self.parser.dump(self.config, skip_none=False)
            # the subcommand's config alone, so `fit -c config.yaml` reproduces the run
            resolved = yaml.safe_load(text)[self.subcommand]
            resolved.pop("config", None)
            atomic_write(self.run_dir / "config.yaml",
                         lambda p: p.write_text(yaml.safe_dump(resolved, sort_keys=False)))

    def after_fit(self) -> None:
        if self.trainer.is_global_zero:
            print(f"run directory: {self.run_dir}")
        os.environ.pop(RUN_DIR_ENV, None)


TASK_LINKS = {"segment": ("class_names", "class_colors", "in_channels", "ignore_index"),
              "colorize": ("image_size",)}


def run_fit(model_class, datamodule_class, args: list[str], task: str) -> Path:
    """Parse LightningCLI-style ``args`` (``-c CONFIG``, ``--trainer.max_epochs=5`` …) and fit."""
    cli_class = type(f"{task.title()}CLI", (ColorsegCLI,), {"task": task, "links": TASK_LINKS[task]})
    # we pass the already-split command line on purpose; Lightning warns when sys.argv is also set
    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    try:
        cli = cli_class(model_class, datamodule_class, args=["fit", *args], save_config_callback=None,
                        seed_everything_default=0)
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
    return cli.run_dir
