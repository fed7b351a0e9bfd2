"""`colorseg <task> fit`: LightningCLI with run directories, checkpoints and loggers.

A run directory holds ``config.yaml`` (fully resolved), ``checkpoints/best.ckpt`` (best by the
model's ``monitor`` metric) and ``checkpoints/last.ckpt``, ``logs/version_N/metrics.csv`` (one
CSV per fit invocation, so resumed runs keep their history) and ``tensorboard/``.
Resume an interrupted run with ``--ckpt_path last`` and the same ``--run_dir``.

Reliability: checkpoints are written atomically (:class:`~colorseg.training.checkpoint_io.AtomicCheckpointIO`)
and carry the random generator states (:class:`~colorseg.training.callbacks.RandomStateCheckpoint`),
so a run killed at any moment resumes from its last complete epoch and, in deterministic mode,
ends with the same weights and metrics as an uninterrupted run. A user error (bad data or
config) leaves no half-made run directory behind; a non-finite loss stops the run and keeps the
last good checkpoint, whose epoch and step the error message names.
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from pathlib import Path

import torch
import yaml
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.plugins.io import CheckpointIO

from colorseg.checkpoint import check_weights, load_checkpoint
from colorseg.data.files import atomic_write, display_path
from colorseg.errors import ColorsegError, ConfigError, DataError
from colorseg.training.callbacks import RandomStateCheckpoint, ThroughputMonitor
from colorseg.training.checkpoint_io import AtomicCheckpointIO

RUN_DIR_ENV = "COLORSEG_RUN_DIR"  # lets DDP worker processes find the parent's run directory


class ColorsegCLI(LightningCLI):
    """LightningCLI that links data metadata into the model and manages the run directory."""

    task = "segment"
    links: tuple[str, ...] = ()  # data-module attributes copied into the model's arguments
    run_dir_path: Path | None = None  # set per invocation (on the per-call subclass) for run_fit
    created_run_dir: bool = False  # True when this invocation made the run directory

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="run directory (default: runs/<task>/<config name>-<time>)")
        parser.add_argument("--overwrite", type=bool, default=False,
                            help="start afresh in a run directory that already holds checkpoints")
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
        type(self).run_dir_path = self.run_dir
        old = sorted((self.run_dir / "checkpoints").glob("*.ckpt"))
        if old and not cfg.get("ckpt_path") and not cfg.get("overwrite"):
            raise ConfigError(f"run directory {display_path(self.run_dir)} already holds checkpoints "
                              f"({', '.join(p.name for p in old)}) that a new run would overwrite: resume it "
                              "with --ckpt_path last, choose another --run_dir, or pass --overwrite=true")
        type(self).created_run_dir = _make_writable_dir(self.run_dir)

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
            RandomStateCheckpoint(),
        ]
        config = dict(config)
        plugins = config.get("plugins") or []
        plugins = list(plugins) if isinstance(plugins, (list, tuple)) else [plugins]
        if not any(isinstance(p, CheckpointIO) for p in plugins):
            plugins.append(AtomicCheckpointIO())
        config["plugins"] = plugins
        config["default_root_dir"] = str(run_dir)
        config["logger"] = [CSVLogger(str(run_dir), name="logs"),
                            TensorBoardLogger(str(run_dir), name="tensorboard", default_hp_metric=False)]
        return super()._instantiate_trainer(config, callbacks)

    def before_fit(self) -> None:
        self._check_resume_checkpoint()
        if self.trainer.is_global_zero:
            AtomicCheckpointIO.remove_stale_temporaries(self.run_dir / "checkpoints")
            text = self.parser.dump(self.config, skip_none=False)
            # the subcommand's config alone, so `fit -c config.yaml` reproduces the run
            resolved = yaml.safe_load(text)[self.subcommand]
            resolved.pop("config", None)
            atomic_write(self.run_dir / "config.yaml",
                         lambda p: p.write_text(yaml.safe_dump(resolved, sort_keys=False)))

    def _check_resume_checkpoint(self) -> None:
        """Vet the ``--ckpt_path`` checkpoint like any other (safe load, task, format, metadata,
        weights against this run's model) before Lightning loads it: a clear error, not a traceback."""
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if not ckpt_path or ckpt_path in ("best", "hpc", "registry"):
            return
        path = self.run_dir / "checkpoints" / "last.ckpt" if ckpt_path == "last" else Path(ckpt_path)
        if ckpt_path == "last" and not path.is_file():
            return  # nothing to resume: Lightning warns and starts from scratch
        ckpt = load_checkpoint(path, self.task)
        check_weights(self.model.state_dict(), ckpt["state_dict"], display_path(path))

    def after_fit(self) -> None:
        if self.trainer.is_global_zero:
            print(f"run directory: {self.run_dir}")
        os.environ.pop(RUN_DIR_ENV, None)


TASK_LINKS = {"segment": ("class_names", "class_colors", "in_channels", "ignore_index"),
              "colorize": ("image_size",)}


def run_fit(model_class, datamodule_class, args: list[str], task: str) -> Path:
    """Parse LightningCLI-style ``args`` (``-c CONFIG``, ``--trainer.max_epochs=5`` …) and fit."""
    check_config_files(args)
    cli_class = type(f"{task.title()}CLI", (ColorsegCLI,), {"task": task, "links": TASK_LINKS[task]})
    # we pass the already-split command line on purpose; Lightning warns when sys.argv is also set
    warnings.filterwarnings("ignore", message=".*LightningCLI's args parameter.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    try:
        cli = cli_class(model_class, datamodule_class, args=["fit", *args], save_config_callback=None,
                        seed_everything_default=0)
    except ColorsegError:
        if cli_class.created_run_dir:
            _remove_unused_run_dir(cli_class.run_dir_path)
        raise
    except FloatingPointError as exc:
        raise FloatingPointError(f"{exc}; {describe_last_checkpoint(cli_class.run_dir_path)}") from exc
    finally:
        os.environ.pop(RUN_DIR_ENV, None)
    return cli.run_dir


def check_config_files(args: list[str]) -> None:
    """Each ``-c/--config FILE`` must exist and be a YAML mapping; ConfigError names the file and
    the line otherwise (jsonargparse's own message omits the file name for YAML syntax errors)."""
    files = []
    for i, tok in enumerate(args):
        if tok in ("-c", "--config") and i + 1 < len(args):
            files.append(args[i + 1])
        elif tok.startswith("--config="):
            files.append(tok.split("=", 1)[1])
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"config file not found: {display_path(path)}")
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {display_path(path)} is not valid YAML: "
                              f"{' '.join(str(exc).split())}") from exc
        if content is not None and not isinstance(content, dict):
            raise ConfigError(f"config file {display_path(path)} must hold a mapping of sections "
                              f"(trainer:, model:, data:), got {type(content).__name__}")


def _make_writable_dir(path: Path) -> bool:
    """Create ``path`` if needed (True when created) or raise DataError naming it."""
    existed = path.is_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create run directory {display_path(path)}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataError(f"run directory is not writable: {display_path(path)}")
    return not existed


def _remove_unused_run_dir(run_dir: Path | None) -> None:
    """Delete a run directory this invocation created, unless it already holds a checkpoint."""
    if run_dir is None or not run_dir.is_dir() or any(run_dir.rglob("*.ckpt")):
        return
    shutil.rmtree(run_dir, ignore_errors=True)


def describe_last_checkpoint(run_dir: Path | None) -> str:
    """"last good checkpoint kept: …/last.ckpt (epoch E, step S)" or that there is none."""
    last = run_dir / "checkpoints" / "last.ckpt" if run_dir else None
    if last is None or not last.is_file():
        return "no checkpoint had been written"
    try:
        ckpt = torch.load(last, map_location="cpu", weights_only=True)
        return (f"last good checkpoint kept: {display_path(last)} (epoch {ckpt['epoch']}, "
                f"step {ckpt['global_step']})")
    except Exception:  # noqa: BLE001 - only for the message
        return f"last checkpoint: {display_path(last)}"
