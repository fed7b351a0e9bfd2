"""Checkpoints without Lightning: safe loading and validation (:mod:`.loading`), upgrades of older
layouts (:mod:`.upgrade`), rebuilding the plain model with its preprocessing (:mod:`.rebuild`), and
released models (:mod:`.release`: slim checkpoints, the built-in weights, downloads by URL + SHA-256).

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
from colorseg.checkpoint.release import (
    builtin_checkpoint,
    download_checkpoint,
    resolve_checkpoint,
    sha256_file,
    slim_checkpoint,
)
from colorseg.checkpoint.upgrade import upgrade_state_dict

__all__ = [
    "CHECKPOINT_FORMAT", "TASKS", "ColorizationModel", "LoadedCheckpoint", "SegmentationModel", "builtin_checkpoint",
    "check_weights", "checkpoint_metadata", "colorization_model_from_checkpoint", "constructor_kwargs",
    "cvae_config_from_hparams", "datamodule_from_checkpoint", "download_checkpoint", "load_checkpoint",
    "model_from_checkpoint", "module_from_checkpoint", "read_task", "resolve_checkpoint",
    "segmentation_model_from_checkpoint", "sha256_file", "slim_checkpoint", "unet_config_from_hparams",
    "upgrade_state_dict", "validate_hyperparameters",
]
