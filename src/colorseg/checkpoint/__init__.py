"""Checkpoints without Lightning: safe loading and validation (:mod:`.loading`), upgrades of older
layouts (:mod:`.upgrade`), and rebuilding the plain model with its preprocessing (:mod:`.rebuild`).

Training, inference, export, evaluation and reports all go through here; nothing in this package
imports Lightning or :mod:`colorseg.training`.
"""

from colorseg.checkpoint.loading import (
    CHECKPOINT_FORMAT,
    TASKS,
    LoadedCheckpoint,
    checkpoint_metadata,
    load_checkpoint,
    read_task,
    validate_hyperparameters,
)
from colorseg.checkpoint.rebuild import (
    ColorizationModel,
    SegmentationModel,
    check_weights,
    colorization_model_from_checkpoint,
    constructor_kwargs,
    cvae_config_from_hparams,
    datamodule_from_checkpoint,
    model_from_checkpoint,
    module_from_checkpoint,
    segmentation_model_from_checkpoint,
    unet_config_from_hparams,
)
from colorseg.checkpoint.upgrade import upgrade_state_dict

__all__ = [
    "CHECKPOINT_FORMAT", "TASKS", "ColorizationModel", "LoadedCheckpoint", "SegmentationModel", "check_weights",
    "checkpoint_metadata", "colorization_model_from_checkpoint", "constructor_kwargs", "cvae_config_from_hparams",
    "datamodule_from_checkpoint", "load_checkpoint", "model_from_checkpoint", "module_from_checkpoint", "read_task",
    "segmentation_model_from_checkpoint", "unet_config_from_hparams", "upgrade_state_dict",
    "validate_hyperparameters",
]
