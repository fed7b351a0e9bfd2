"""SegmenterModule: the U-Net, its loss, optimiser and validation metrics under Lightning.

The module's hyper-parameters hold everything needed to use a checkpoint without its config:
architecture (encoder included), class names and colours, ignore index and input normalisation;
:func:`colorseg.checkpoint.segmentation_model_from_checkpoint` rebuilds the plain model from them.
"""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch

from colorseg.checkpoint import SegmentationModel, checkpoint_metadata, unet_config_from_hparams, upgrade_state_dict
from colorseg.errors import ConfigError
from colorseg.losses.segmentation import SegmentationLoss
from colorseg.metrics.confusion import compute_confusion, nanmean, scores_from_confusion
from colorseg.models.unet import UNet
from colorseg.training.checkpoint_io import check_finite_weights
from colorseg.training.distributed import gather_by_name
from colorseg.training.encoder_tuning import EncoderTuning
from colorseg.training.schedules import trainer_budget_cosine

SCHEDULERS = ("cosine", "plateau", "none")


class SegmenterModule(pl.LightningModule):
    """U-Net segmenter.

    Args:
        class_names, class_colors, in_channels, ignore_index: set from the data by the CLI.
        mean, std: input normalisation ``(x - mean) / std`` applied inside the model, for images
            scaled to [0, 1] by dtype (one value, or one per channel); None: the encoder's own
            (0.5 / 0.25 for ``unet``, the ImageNet weights' for pretrained encoders). The resolved
            values are saved in the checkpoint.
        encoder, encoder_weights (``imagenet`` | ``none``), decoder_channels: see
            :mod:`colorseg.models.encoders`; depth, base_width, norm, upsample, dropout: see
            :class:`~colorseg.models.unet.UNetConfig` (depth/base_width/dropout: ``unet`` only).
        encoder_lr_scale: the encoder's learning rate is ``lr * encoder_lr_scale`` (e.g. 0.1 for a
            pretrained encoder). freeze_encoder_epochs / freeze_encoder_steps: the encoder gets no
            updates (and its BatchNorm statistics stay fixed) for the first N epochs / steps.
            freeze_encoder_bn: keep the encoder's BatchNorm running statistics fixed throughout
            (useful with small batches). See :class:`~colorseg.training.encoder_tuning.EncoderTuning`.
        channels_last: train in channels-last memory format (faster convolutions on CPU, see
            ``benchmarks/encoders.py``); bf16 autocast is Lightning's ``--trainer.precision=bf16-mixed``.
        loss: ``ce`` | ``dice`` | ``dice_ce`` | ``focal`` | ``lovasz`` | ``lovasz_ce``; class_weights
            (one per class), focal_gamma.
        lr, weight_decay: AdamW. scheduler: ``cosine`` (over the training budget: max_steps / max_epochs or
            max_time, whichever ends first, see :func:`~colorseg.training.schedules.budget_cosine`),
            ``plateau`` (on the monitored validation metric) or ``none``; warmup_steps linear warm-up.

    Validation logs, once per epoch: ``val/<loss term>`` (mean over validation images of each
    image's loss), ``val/mean_iou``, ``val/mean_dice`` (NaN-means over the classes present in
    ground truth or prediction), ``val/pixel_accuracy`` and ``val/iou_<class>`` for every declared
    class (NaN when the class is in neither ground truth nor prediction, so no column goes
    missing), all from the confusion counts summed over the validation set. Under DDP each image
    is counted once, not once per process that validated it (see
    :mod:`colorseg.training.distributed`); :attr:`val_confusion` holds the summed counts.
    """

    def __init__(self, class_names: list[str] = ("background", "foreground"),
                 class_colors: list[tuple[int, int, int]] | None = None, in_channels: int = 3,
                 ignore_index: int = 255, mean: float | list[float] | None = None,
                 std: float | list[float] | None = None, encoder: str = "unet", encoder_weights: str = "none",
                 decoder_channels: list[int] | None = None,
                 depth: int = 4, base_width: int = 32, norm: str = "batch", upsample: str = "transpose",
                 dropout: float = 0.0, loss: str = "dice_ce", class_weights: list[float] | None = None,
                 focal_gamma: float = 2.0, lr: float = 1e-3, weight_decay: float = 1e-4,
                 scheduler: str = "cosine", warmup_steps: int = 0, encoder_lr_scale: float = 1.0,
                 freeze_encoder_epochs: int = 0, freeze_encoder_steps: int = 0, freeze_encoder_bn: bool = False,
                 channels_last: bool = False, monitor: str = "val/mean_iou") -> None:
        super().__init__()
        if scheduler not in SCHEDULERS:
            raise ConfigError(f"unknown scheduler {scheduler!r}; choose one of {', '.join(SCHEDULERS)}")
        class_names = list(class_names)
        if class_colors is not None:
            class_colors = [tuple(int(v) for v in c) for c in class_colors]
        self.save_hyperparameters({**locals_without_self(locals()), "class_names": class_names,
                                   "class_colors": class_colors})
        self.net = UNet(unet_config_from_hparams(dict(self.hparams), pretrained=True))
        # the normalisation actually used, so the checkpoint states it (None meant "the encoder's")
        self.hparams.mean = [round(float(v), 6) for v in self.net.mean.flatten()]
        self.hparams.std = [round(float(v), 6) for v in self.net.std.flatten()]
        self.tuning = EncoderTuning(self.net.encoder, encoder_lr_scale, freeze_encoder_epochs, freeze_encoder_steps,
                                    freeze_encoder_bn)
        self.criterion = SegmentationLoss(loss, ignore_index, class_weights, focal_gamma)
        self.val_confusion: np.ndarray | None = None  # (K, K) counts of the last validation epoch
        self._val_records: dict[str, dict] = {}

    @property
    def num_classes(self) -> int:
        return len(self.hparams.class_names)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float in [0, 1] → logits (B, K, H, W) (normalisation inside the net)."""
        if self.hparams.get("channels_last"):
            image = image.contiguous(memory_format=torch.channels_last)
        return self.net(image)

    def on_fit_start(self) -> None:
        if self.hparams.get("channels_last"):
            self.net.to(memory_format=torch.channels_last)

    def to_model(self) -> SegmentationModel:
        """The plain model for inference (shares this module's network, no copy)."""
        hp = self.hparams
        return SegmentationModel(self.net, hp.class_names, hp.class_colors, hp.ignore_index)

    def train(self, mode: bool = True):
        super().train(mode)
        if hasattr(self, "tuning"):
            self.tuning.apply_bn_mode()  # frozen encoder BatchNorm stays in eval mode
        return self

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        self.tuning.update(self.current_epoch, self.global_step)

    def _loss_terms(self, logits: torch.Tensor, mask: torch.Tensor, stage: str) -> dict[str, torch.Tensor]:
        terms = self.criterion(logits, mask)
        for name, value in terms.items():
            if not torch.isfinite(value):
                raise FloatingPointError(f"{stage} loss term {name!r} is {value.item()} at step "
                                         f"{self.global_step} (epoch {self.current_epoch})")
        return terms

    def _common_step(self, batch: dict, stage: str) -> dict[str, torch.Tensor]:
        """Logits and loss terms of a batch, logged per step and per epoch as ``{stage}/{name}``."""
        logits = self(batch["image"])
        terms = self._loss_terms(logits, batch["mask"], stage)
        for name, value in terms.items():
            self.log(f"{stage}/{name}", value, prog_bar=name == "loss", on_step=True, on_epoch=True,
                     batch_size=logits.shape[0])
        terms["logits"] = logits
        return terms

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._common_step(batch, "train")["loss"]

    def on_validation_epoch_start(self) -> None:
        self._val_records = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Records each image's confusion counts and loss terms under its name (reduced at epoch end)."""
        logits = self(batch["image"])
        confusion = compute_confusion(logits.argmax(1), batch["mask"], self.num_classes,
                                      self.hparams.ignore_index).cpu().numpy()
        for i, name in enumerate(batch["name"]):
            terms = self._loss_terms(logits[i:i + 1], batch["mask"][i:i + 1], "val")
            self._val_records[str(name)] = {"confusion": confusion[i],
                                            "terms": {k: float(v) for k, v in terms.items()}}

    def on_validation_epoch_end(self) -> None:
        records = gather_by_name(self._val_records)  # all processes, each image once
        self._val_records = {}
        total = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)
        for record in records.values():
            total += record["confusion"]
        self.val_confusion = total
        if records:
            for term in next(iter(records.values()))["terms"]:
                value = float(np.mean([r["terms"][term] for r in records.values()]))
                self.log(f"val/{term}", value, prog_bar=term == "loss", sync_dist=False)
        scores = scores_from_confusion(total)
        self.log("val/mean_iou", float(nanmean(scores["iou"])), prog_bar=True, sync_dist=False)
        self.log("val/mean_dice", float(nanmean(scores["dice"])), sync_dist=False)
        self.log("val/pixel_accuracy", float(scores["pixel_accuracy"]), sync_dist=False)
        for k, name in enumerate(self.hparams.class_names):
            self.log(f"val/iou_{name}", float(scores["iou"][k]), sync_dist=False)  # NaN: class absent

    def configure_optimizers(self):
        hp = self.hparams
        opt = torch.optim.AdamW(self.tuning.param_groups(self.net, hp.lr), lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.scheduler == "none":
            return opt
        if hp.scheduler == "plateau":
            mode = "min" if "loss" in hp.monitor else "max"
            sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=5)
            every = self.trainer.check_val_every_n_epoch or 1  # step only when validation ran
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": hp.monitor,
                                                        "frequency": every, "strict": False}}
        factor = trainer_budget_cosine(self.trainer, warmup=max(0, hp.warmup_steps), floor=0.02)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # a model whose weights went NaN/inf must not overwrite the last good checkpoint
        check_finite_weights(checkpoint["state_dict"], self.global_step)
        checkpoint["colorseg"] = checkpoint_metadata("segment")

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # resuming from an older checkpoint layout: rename its weights before Lightning loads them
        fmt = (checkpoint.get("colorseg") or {}).get("format", 1)
        checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"], fmt)


def locals_without_self(values: dict) -> dict:
    """Constructor arguments from ``locals()`` (drops ``self`` and ``__class__``)."""
    return {k: v for k, v in values.items() if k not in ("self", "__class__")}
