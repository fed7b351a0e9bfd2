"""ColorizerModule: conditional VAE (or a baseline) predicting ab from L under Lightning.

Loss = recon(ab) [+ rarity weights] + β(step)·KL(q(z|L,ab) ‖ p(z|L)) [free bits]
       + λ·perceptual(RGB(L, ab_pred), RGB).
recon is L1/Huber on ab for the regression head, and (rarity-weighted) cross-entropy over the ab
bins for the classification head (``head="classification"``; ab_pred is then its annealed mean). Each term is logged as ``{stage}/{name}``.

``kind``: ``vae`` (default), ``regression`` (same decoder, no latent), ``gray`` (ab = 0,
nothing to train). The VAE without perceptual loss is ``perceptual_weight=0``.

Colour hints (``hints=True``, Zhang et al. 2017): the network also reads a hint map (a, b, mask);
training hints are simulated from the ground truth on the fly (:mod:`colorseg.training.hints`:
no hints with probability ``hint_zero_prob``, else 1 + Geometric(``hint_geometric_p``) patches of
side 1 … ``hint_max_patch`` px at working resolution holding the mean true ab). The posterior
and the KL are unchanged; hint VAEs add ``hint_prior_weight`` × ``prior_recon``: the recon loss of
the prediction decoded at the prior mean of p(z | L, hints) (the inference path) over the images
that have hints (see :meth:`ColorizerModule._prior_recon`: without it the decoder takes colour from
the posterior's z and ignores the hints). Validation loss terms and metrics are the hint-free
quality (zero hints); hint models also log
``val/psnr_10_hints``: the PSNR with 10 ground-truth hints (5 × 5 px patches, the placement of
:func:`colorseg.inference.hints.hints_to_tensor`), drawn with a fixed seed per image name.

Validation logs, once per epoch, means over validation images: ``val/<term>`` (each image's loss
terms), ``val/psnr`` and ``val/colorfulness`` (of the deterministic prediction, the prior mean).
Under DDP each image is counted once, not once per process that validated it (see
:mod:`colorseg.training.distributed`).
"""

from __future__ import annotations

import zlib

import lightning.pytorch as pl
import numpy as np
import torch

from colorseg.checkpoint import ColorizationModel, checkpoint_metadata, cvae_config_from_hparams, upgrade_state_dict
from colorseg.data.lab import lab_norm_to_rgb, rgb_to_lab_norm
from colorseg.errors import ConfigError
from colorseg.inference.hints import HINT_PATCH
from colorseg.losses.ab_regression import AB_BINS, bin_classification_loss, rarity_weights, recon_loss
from colorseg.losses.kl import kl_diag_gaussians, kl_weight, kl_with_free_bits
from colorseg.metrics.colorization import colorfulness, psnr
from colorseg.models.cvae import ConditionalVAE
from colorseg.training.checkpoint_io import check_finite_weights
from colorseg.training.distributed import gather_by_name
from colorseg.training.encoder_tuning import EncoderTuning
from colorseg.training.hints import check_hint_options, sample_hints
from colorseg.training.schedules import trainer_budget_cosine

KINDS = ("vae", "regression", "gray")
VAL_HINTS = 10  # hints per image for val/psnr_10_hints
VAL_HINT_PATCH = HINT_PATCH  # their patch side (px at working resolution), as the Colorizer places a user's hint


class ColorizerModule(pl.LightningModule):
    """See module docstring. ``image_size`` (working resolution) is set from the data by the CLI.

    ``encoder`` / ``encoder_weights`` / ``decoder_channels``: the L encoder from
    :mod:`colorseg.models.encoders` (``unet`` from scratch, or ``efficientnet_lite0``/``lite1``
    with ``imagenet`` weights); ``encoder_lr_scale``, ``freeze_encoder_epochs``,
    ``freeze_encoder_steps``, ``freeze_encoder_bn`` as for the segmenter
    (:class:`~colorseg.training.encoder_tuning.EncoderTuning`). ``latent_layout`` (global |
    spatial), ``head`` (regression | classification), ``annealed_mean_temperature``: see
    :class:`~colorseg.models.cvae.CVAEConfig`. ``hints``, ``hint_zero_prob``, ``hint_geometric_p``,
    ``hint_max_patch``, ``hint_prior_weight``: colour hints (module docstring).
    """

    def __init__(self, kind: str = "vae", latent_dim: int = 8, base_width: int = 32, depth: int = 4,
                 norm: str = "batch", posterior_width: int = 16, encoder: str = "unet",
                 encoder_weights: str = "none", decoder_channels: list[int] | None = None,
                 encoder_lr_scale: float = 1.0, freeze_encoder_epochs: int = 0, freeze_encoder_steps: int = 0,
                 freeze_encoder_bn: bool = False, latent_layout: str = "global", head: str = "regression",
                 annealed_mean_temperature: float = 0.38, hints: bool = False, hint_zero_prob: float = 0.3,
                 hint_geometric_p: float = 0.125, hint_max_patch: int = 9, hint_prior_weight: float = 1.0,
                 image_size: int = 64,
                 recon: str = "l1", rarity_weighting: bool = False, rarity_lambda: float = 0.5,
                 beta: float = 0.002, kl_annealing: str = "linear", kl_warmup_steps: int = 500,
                 kl_cycle_steps: int = 2000, free_bits: float = 0.0,
                 perceptual_weight: float = 0.05, perceptual_backbone: str = "efficientnet_lite0",
                 perceptual_pretrained: bool = True, lr: float = 1e-3, weight_decay: float = 0.0,
                 scheduler: str = "cosine", monitor: str = "val/loss") -> None:
        super().__init__()
        if kind not in KINDS:
            raise ConfigError(f"unknown colorizer kind {kind!r}; choose one of {', '.join(KINDS)}")
        if scheduler not in ("cosine", "none"):
            raise ConfigError(f"unknown scheduler {scheduler!r}; choose cosine or none")
        kl_weight(0, beta, kl_annealing)  # validates the schedule name
        check_hint_options(hint_zero_prob, hint_geometric_p, hint_max_patch)
        if not hint_prior_weight >= 0:
            raise ConfigError(f"hint_prior_weight must be >= 0, got {hint_prior_weight}")
        if hints and kind == "gray":
            raise ConfigError("kind 'gray' has no network (ab = 0): it cannot take colour hints")
        self.save_hyperparameters()
        self.net = None
        self.tuning = None
        if kind != "gray":
            self.net = ConditionalVAE(cvae_config_from_hparams(dict(self.hparams), pretrained=True))
            self.tuning = EncoderTuning(self.net.encoder, encoder_lr_scale, freeze_encoder_epochs,
                                        freeze_encoder_steps, freeze_encoder_bn)
        self.register_buffer("ab_weights", torch.zeros(AB_BINS * AB_BINS))
        self._perceptual = None
        self._val_records: dict[str, dict[str, float]] = {}

    # ------------------------------------------------------------------ model
    @property
    def perceptual(self):
        """Frozen feature loss, built lazily (kept out of the state dict: weights come from the package)."""
        if self._perceptual is None and self.hparams.perceptual_weight > 0:
            from colorseg.losses.perceptual import PerceptualLoss

            self._perceptual = PerceptualLoss(backbone=self.hparams.perceptual_backbone,
                                              pretrained=self.hparams.perceptual_pretrained).to(self.device)
        return self._perceptual

    def forward(self, L: torch.Tensor, ab: torch.Tensor | None = None,
                hints: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """L_norm (B, 1, H, W) [+ hint map (B, 3, H, W)] → {"ab": (B, 2, H, W), …}; deterministic in eval mode."""
        if self.net is None:
            return {"ab": torch.zeros(L.shape[0], 2, *L.shape[-2:], device=L.device, dtype=L.dtype)}
        return self.net(L, ab, hints)

    def sample(self, L: torch.Tensor, n_samples: int = 1, temperature: float = 1.0,
               generator: torch.Generator | None = None, hints: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 1, H, W) → (B, n_samples, 2, H, W) ab_norm samples from the prior."""
        if self.net is None:
            return torch.zeros(L.shape[0], n_samples, 2, *L.shape[-2:], device=L.device)
        return self.net.sample(L, n_samples, temperature, generator, hints)

    def training_hints(self, ab: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Random ground-truth hints for a training batch (see :mod:`colorseg.training.hints`)."""
        hp = self.hparams
        return sample_hints(ab, hp.hint_zero_prob, hp.hint_geometric_p, hp.hint_max_patch, generator=generator)

    @staticmethod
    def validation_hints(ab: torch.Tensor, name: str) -> torch.Tensor:
        """:data:`VAL_HINTS` ground-truth hints of one image (1, 2, H, W), fixed by its name."""
        generator = torch.Generator().manual_seed(zlib.crc32(str(name).encode()))
        return sample_hints(ab, min_patch=VAL_HINT_PATCH, max_patch=VAL_HINT_PATCH, n_hints=VAL_HINTS,
                            generator=generator)

    # --------------------------------------------------------------- training
    def setup(self, stage: str) -> None:
        hp = self.hparams
        if stage == "fit" and hp.rarity_weighting and self.ab_weights.sum() == 0 and self.trainer is not None:
            self.ab_weights.copy_(rarity_weights(self.trainer.datamodule.ab_histogram(), hp.rarity_lambda))

    def _common_step(self, batch: dict, stage: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """(loss terms, model outputs + ``L``) of a batch; training terms are logged here."""
        hp = self.hparams
        rgb = batch["rgb"]
        L, ab = rgb_to_lab_norm(rgb)
        # hints only in training: validation terms are the hint-free quality
        hints = self.training_hints(ab) if hp.hints and stage == "train" and self.net is not None else None
        prior_decode = hints is not None and hp.hint_prior_weight > 0 and self.net.latent_dim > 0
        out = self.net(L, ab, hints, prior_decode=True) if prior_decode else self(L, ab, hints)
        # loss arithmetic in float32 also under bf16 autocast (bf16 rounding made small KLs negative)
        f32 = {k: v.float() for k, v in out.items()}
        weights = self.ab_weights if hp.rarity_weighting else None
        terms = {"recon": self._recon(f32.get("ab_logits"), f32["ab"], ab, weights)}
        loss = terms["recon"]
        if "prior_ab" in out:
            terms["prior_recon"] = self._prior_recon(f32, ab, hints)
            loss = loss + hp.hint_prior_weight * terms["prior_recon"]
        if "post_mu" in out:
            kl = kl_with_free_bits(kl_diag_gaussians(f32["post_mu"], f32["post_logvar"], f32["prior_mu"],
                                                     f32["prior_logvar"]), hp.free_bits)
            beta = kl_weight(self.global_step, hp.beta, hp.kl_annealing, hp.kl_warmup_steps, hp.kl_cycle_steps)
            terms["kl"], terms["kl_weight"] = kl, torch.tensor(beta)
            loss = loss + beta * kl
        if self.perceptual is not None and self.net is not None:
            terms["perceptual"] = self.perceptual(lab_norm_to_rgb(L, out["ab"]), rgb)
            loss = loss + hp.perceptual_weight * terms["perceptual"]
        terms["loss"] = loss
        for name, value in terms.items():
            if not torch.isfinite(value):
                raise FloatingPointError(f"{stage} loss term {name!r} is {value.item()} at step {self.global_step} "
                                         f"(epoch {self.current_epoch})")
            if stage == "train":  # validation terms are recorded per image and reduced at epoch end
                self.log(f"{stage}/{name}", value, prog_bar=name == "loss", on_step=True, on_epoch=True,
                         batch_size=rgb.shape[0])
        out["L"] = L
        return terms, out

    def _prior_recon(self, f32: dict[str, torch.Tensor], ab: torch.Tensor, hints: torch.Tensor) -> torch.Tensor:
        """Hint VAEs: the reconstruction loss of the inference path (decoded at the prior mean of
        p(z | L, hints)) over the images that have hints, times their fraction of the batch. Never
        rarity-weighted: the prior mean answers an ambiguous question (a few hints leave most of
        the image open), and rarity weights turn that answer into a saturated average. With them,
        the built-in recipe's hint-free validation output went from colourfulness 24 / 22.7 dB (no
        hints in training) to 42 / 19.4 dB after 295 steps; the posterior path keeps them.

        Without it the decoder takes every colour from the posterior's z in training and learns to
        ignore the hints, and the prior, trained by the KL alone, learns to read them too slowly:
        prior-mean predictions did not follow hints at all after 2,500 steps on the synthetic set.
        Images without hints are left out, so their prior mean is not pulled to the average colour.
        """
        hinted = hints[:, 2].flatten(1).amax(1) > 0
        if not bool(hinted.any()):
            return f32["prior_ab"].sum() * 0.0  # keeps the graph (DDP: every parameter gets a gradient)
        logits = f32.get("prior_ab_logits")
        logits = None if logits is None else logits[hinted]
        return hinted.float().mean() * self._recon(logits, f32["prior_ab"][hinted], ab[hinted], None)

    def _recon(self, logits: torch.Tensor | None, ab_pred: torch.Tensor, ab: torch.Tensor,
               weights: torch.Tensor | None) -> torch.Tensor:
        """The reconstruction term: cross-entropy over ab bins for the classification head
        (``logits`` given), else L1/Huber on ab (``hparams.recon``); rarity ``weights`` or None."""
        if logits is not None:
            return bin_classification_loss(logits, ab, weights)
        return recon_loss(ab_pred, ab, self.hparams.recon, weights)

    def training_step(self, batch: dict, batch_idx: int):
        if self.net is None:
            return None  # the gray baseline has nothing to learn
        return self._common_step(batch, "train")[0]["loss"]

    def on_validation_epoch_start(self) -> None:
        self._val_records = {}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        """Records each image's loss terms, PSNR and colourfulness under its name."""
        for i, name in enumerate(batch["name"]):
            rgb = batch["rgb"][i:i + 1]
            terms, out = self._common_step({"rgb": rgb}, "val")
            prior_ab = self(out["L"])["ab"]  # deterministic prediction (prior mean), as at inference
            pred = lab_norm_to_rgb(out["L"], prior_ab)[0].permute(1, 2, 0).float().cpu().numpy()
            target = rgb[0].permute(1, 2, 0).float().cpu().numpy()
            record = {k: float(v) for k, v in terms.items()}
            record["psnr"], record["colorfulness"] = float(psnr(pred, target)), float(colorfulness(pred))
            if self.hparams.hints:
                hinted_ab = self(out["L"], hints=self.validation_hints(rgb_to_lab_norm(rgb)[1], name))["ab"]
                hinted = lab_norm_to_rgb(out["L"], hinted_ab)[0].permute(1, 2, 0).float().cpu().numpy()
                record["psnr_10_hints"] = float(psnr(hinted, target))
            self._val_records[str(name)] = record

    def on_validation_epoch_end(self) -> None:
        records = gather_by_name(self._val_records)  # all processes, each image once
        self._val_records = {}
        if not records:
            return
        for key in next(iter(records.values())):
            value = float(np.mean([r[key] for r in records.values()]))
            self.log(f"val/{key}", value, prog_bar=key == "loss", sync_dist=False)

    def configure_optimizers(self):
        if self.net is None:
            return None
        hp = self.hparams
        opt = torch.optim.AdamW(self.tuning.param_groups(self.net, hp.lr), lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.scheduler == "none":
            return opt
        sched = torch.optim.lr_scheduler.LambdaLR(opt, trainer_budget_cosine(self.trainer, floor=0.05))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # a model whose weights went NaN/inf must not overwrite the last good checkpoint
        check_finite_weights(checkpoint["state_dict"], self.global_step)
        checkpoint["colorseg"] = checkpoint_metadata("colorize")

    def to_model(self) -> ColorizationModel:
        """The plain model for inference (shares this module's network, no copy)."""
        return ColorizationModel(self.net, self.hparams.kind, self.hparams.image_size)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        # resuming from an older checkpoint layout: rename its weights before Lightning loads them
        fmt = (checkpoint.get("colorseg") or {}).get("format", 1)
        checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"], fmt)

    def train(self, mode: bool = True):
        super().train(mode)
        if getattr(self, "tuning", None) is not None:
            self.tuning.apply_bn_mode()  # frozen encoder BatchNorm stays in eval mode
        return self

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self.tuning is not None:
            self.tuning.update(self.current_epoch, self.global_step)
