"""The training classes of each task, and ``fit`` by task name (used by the CLI and the demo)."""

from __future__ import annotations

from colorseg.errors import ConfigError

TASKS = ("segment", "colorize")


def task_classes(task: str) -> tuple[type, type]:
    """(LightningModule, LightningDataModule) of ``task``, imported on demand (keeps ``--help`` fast)."""
    if task == "segment":
        from colorseg.training.datamodule import SegmentationDataModule
        from colorseg.training.segmenter_module import SegmenterModule

        return SegmenterModule, SegmentationDataModule
    if task == "colorize":
        from colorseg.training.color_datamodule import ColorizationDataModule
        from colorseg.training.colorizer_module import ColorizerModule

        return ColorizerModule, ColorizationDataModule
    raise ConfigError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def fit_task(task: str, args: list[str]) -> None:
    """Train ``task`` with LightningCLI arguments ``args`` (``-c CONFIG``, ``--trainer.*``, ``--run_dir`` …);
    see :func:`colorseg.training.fit.run_fit`."""
    from colorseg.training.fit import run_fit

    model_class, datamodule_class = task_classes(task)
    run_fit(model_class, datamodule_class, args, task=task)
