"""Fine-tuning controls for pretrained encoders: a lower learning rate, a frozen start, frozen BatchNorm."""

from __future__ import annotations

from torch import nn

from colorseg.errors import ConfigError


class EncoderTuning:
    """What users of pretrained encoders expect (segmentation_models_pytorch / timm practice).

    Args:
        encoder: the model's encoder module.
        lr_scale: the encoder's parameter group gets ``lr * lr_scale`` (1: same as the decoder;
            0 < scale; use :attr:`freeze_epochs`/:attr:`freeze_steps` to stop updates entirely).
        freeze_epochs, freeze_steps: no encoder updates (``requires_grad`` off, BatchNorm in eval
            mode so its running statistics stay the pretrained ones) while the epoch is below
            ``freeze_epochs`` or the optimizer step below ``freeze_steps``; then it trains.
        freeze_bn: keep the encoder's BatchNorm layers in eval mode for the whole run (running
            mean/var fixed; their affine weights still train when the encoder does).
    """

    def __init__(self, encoder: nn.Module, lr_scale: float = 1.0, freeze_epochs: int = 0, freeze_steps: int = 0,
                 freeze_bn: bool = False) -> None:
        if not lr_scale > 0:
            raise ConfigError(f"encoder_lr_scale must be positive, got {lr_scale}")
        if freeze_epochs < 0 or freeze_steps < 0:
            raise ConfigError(f"freeze_encoder_epochs/steps must be >= 0, got {freeze_epochs}/{freeze_steps}")
        self.encoder = encoder
        self.lr_scale = float(lr_scale)
        self.freeze_epochs = int(freeze_epochs)
        self.freeze_steps = int(freeze_steps)
        self.freeze_bn = bool(freeze_bn)
        self.frozen = False

    def param_groups(self, model: nn.Module, lr: float) -> list[dict]:
        """Optimizer groups: the encoder's parameters at ``lr * lr_scale``, all others at ``lr``."""
        encoder_ids = {id(p) for p in self.encoder.parameters()}
        rest = [p for p in model.parameters() if id(p) not in encoder_ids]
        groups = [{"params": rest, "lr": lr, "name": "decoder"}]
        if encoder_ids:
            groups.append({"params": list(self.encoder.parameters()), "lr": lr * self.lr_scale, "name": "encoder"})
        return groups

    def should_freeze(self, epoch: int, step: int) -> bool:
        return epoch < self.freeze_epochs or step < self.freeze_steps

    def update(self, epoch: int, step: int) -> None:
        """Freeze or unfreeze the encoder for the coming optimizer step."""
        frozen = self.should_freeze(epoch, step)
        if frozen != self.frozen:
            self.frozen = frozen
            self.encoder.requires_grad_(not frozen)
            if not frozen:  # drop stale zero grads so AdamW does not count them as steps
                for p in self.encoder.parameters():
                    p.grad = None
                if not self.freeze_bn:  # BatchNorm back to the encoder's mode (train during fitting)
                    for m in self.encoder.modules():
                        if isinstance(m, nn.modules.batchnorm._BatchNorm):
                            m.train(self.encoder.training)
        self.apply_bn_mode()

    def apply_bn_mode(self) -> None:
        """BatchNorm layers of the encoder to eval mode while frozen or when ``freeze_bn``."""
        if self.frozen or self.freeze_bn:
            for m in self.encoder.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
