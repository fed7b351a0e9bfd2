"""Rebuilding plain ``nn.Module`` s (no Lightning) and their preprocessing from a loaded checkpoint.

A checkpoint's hyper-parameters describe the model (:mod:`colorseg.checkpoint.loading` checks
them); these functions build it with random weights (never downloading pretrained ones: the
checkpoint holds every weight), check the saved weights against it (names, shapes, finite values)
and load them strictly.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from colorseg.data.files import display_path
from colorseg.errors import CheckpointError, ColorsegError, ConfigError
from colorseg.models.cvae import NO_HINTS_MESSAGE, ConditionalVAE, CVAEConfig
from colorseg.models.unet import UNet, UNetConfig

MODEL_PREFIX = "net."  # the LightningModules keep the model under ``net``


def constructor_kwargs(hparams: dict, cls) -> dict:
    """The saved hyper-parameters that ``cls.__init__`` accepts (drops LightningCLI's private keys)."""
    params = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in dict(hparams).items() if k in params}


def check_weights(expected: dict[str, torch.Tensor], saved: dict, name: str = "checkpoint") -> None:
    """Saved weights must match the model built from the hyper-parameters: same names, shapes,
    floating types, and finite values. Raises CheckpointError listing the first differences."""
    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing weights {missing[:5]}" + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else ""))
    if unexpected:
        problems.append(f"unexpected weights {unexpected[:5]}"
                        + (f" (+{len(unexpected) - 5} more)" if len(unexpected) > 5 else ""))
    for key, ref in expected.items():
        value = saved.get(key)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor):
            problems.append(f"{key} is a {type(value).__name__}, not a tensor")
        elif value.shape != ref.shape:
            problems.append(f"{key} has shape {tuple(value.shape)}, the model needs {tuple(ref.shape)}")
        elif value.is_floating_point() and not bool(torch.isfinite(value).all()):
            problems.append(f"{key} holds NaN or infinite values")
        if len(problems) >= 6:
            break
    if problems:
        raise CheckpointError(f"{name}: weights do not fit the model described by its hyper-parameters: "
                              + "; ".join(problems))


def _model_state(ckpt: dict, prefix: str = MODEL_PREFIX) -> dict:
    """The model's weights: the state dict entries under ``prefix``, prefix removed (buffers of
    the training module outside the model, e.g. loss weights, are dropped)."""
    return {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}


def _load_into(model: nn.Module, state: dict, name: str) -> nn.Module:
    check_weights(model.state_dict(), state, name)
    model.load_state_dict(state)
    return model.eval()


class SegmentationModel(nn.Module):
    """A trained segmentation network and what it needs at inference time.

    ``forward``: (B, in_channels, H, W) in [0, 1] → logits (B, K, H, W) (normalisation inside).
    Attributes: ``class_names``, ``class_colors`` (RGB triples or None), ``in_channels``,
    ``ignore_index``, ``size_multiple`` (inputs are padded to it inside), ``config`` (UNetConfig).
    """

    def __init__(self, net: UNet, class_names: list[str], class_colors=None, ignore_index: int = 255) -> None:
        super().__init__()
        self.net = net
        self.class_names = list(class_names)
        self.class_colors = [tuple(int(v) for v in c) for c in class_colors] if class_colors else None
        self.ignore_index = int(ignore_index)

    @property
    def in_channels(self) -> int:
        return self.net.config.in_channels

    @property
    def size_multiple(self) -> int:
        return self.net.size_multiple

    @property
    def config(self) -> UNetConfig:
        return self.net.config

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


def unet_config_from_hparams(hp: dict, pretrained: bool = False) -> UNetConfig:
    """The U-Net a segmentation module's hyper-parameters describe (``encoder_weights`` only when
    ``pretrained``: rebuilding a checkpoint never downloads or reads ImageNet weights)."""
    values = {**hp, "num_classes": len(hp["class_names"])}
    if not pretrained:
        values["encoder_weights"] = "none"
    return UNetConfig.from_dict(values)


def segmentation_model_from_checkpoint(ckpt: dict) -> SegmentationModel:
    """Rebuild a loaded ``segment`` checkpoint (:func:`~colorseg.checkpoint.load_checkpoint`) as a
    :class:`SegmentationModel` in eval mode; weights checked and loaded strictly."""
    name = display_path(getattr(ckpt, "path", "checkpoint"))
    hp = ckpt["hyper_parameters"]
    try:
        net = UNet(unet_config_from_hparams(hp))
    except (ColorsegError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: its hyper-parameters do not build a model: {exc}") from exc
    _load_into(net, _model_state(ckpt), name)
    return SegmentationModel(net, hp["class_names"], hp.get("class_colors"), hp.get("ignore_index", 255)).eval()


class ColorizationModel(nn.Module):
    """A trained colorizer: L_norm → ab_norm at the working resolution ``image_size`` (short side).

    ``kind``: ``vae`` | ``regression`` | ``gray`` (``net`` is None: ab = 0).
    ``forward(L, hints=None)``: L_norm (B, 1, H, W) → {"ab": (B, 2, H, W)}, deterministic (the prior mean).
    ``sample(L, n, temperature, generator, hints=None)``: (B, 1, H, W) → (B, n, 2, H, W).
    ``hints``: whether the model takes colour hints, (B, 3, H, W) maps (see
    :class:`~colorseg.models.cvae.ConditionalVAE`); hints given to a model without them raise ConfigError.
    """

    def __init__(self, net: ConditionalVAE | None, kind: str, image_size: int) -> None:
        super().__init__()
        self.net = net
        self.kind = kind
        self.image_size = int(image_size)

    @property
    def latent_dim(self) -> int:
        return 0 if self.net is None else self.net.latent_dim

    @property
    def hints(self) -> bool:
        return self.net is not None and self.net.hints

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if self.net is None:
            if hints is not None:
                raise ConfigError(NO_HINTS_MESSAGE)
            return {"ab": L.new_zeros(L.shape[0], 2, *L.shape[-2:])}
        return self.net(L, hints=hints)

    def sample(self, L: torch.Tensor, n_samples: int = 1, temperature: float = 1.0,
               generator: torch.Generator | None = None, hints: torch.Tensor | None = None) -> torch.Tensor:
        if self.net is None:
            if hints is not None:
                raise ConfigError(NO_HINTS_MESSAGE)
            return L.new_zeros(L.shape[0], n_samples, 2, *L.shape[-2:])
        return self.net.sample(L, n_samples, temperature, generator, hints)


def cvae_config_from_hparams(hp: dict, pretrained: bool = False) -> CVAEConfig:
    """The network a colorization module's hyper-parameters describe (see
    :func:`unet_config_from_hparams` for ``pretrained``). Checkpoints from before colour hints
    have no ``hints`` hyper-parameter: they build a model without hints."""
    values = {k: hp[k] for k in ("latent_dim", "base_width", "depth", "norm", "posterior_width", "encoder",
                                 "encoder_weights", "decoder_channels", "latent_layout", "head",
                                 "annealed_mean_temperature", "hints") if k in hp}
    if hp.get("kind", "vae") != "vae":
        values["latent_dim"] = 0
    if not pretrained:
        values["encoder_weights"] = "none"
    return CVAEConfig(**values)


def colorization_model_from_checkpoint(ckpt: dict) -> ColorizationModel:
    """Rebuild a loaded ``colorize`` checkpoint as a :class:`ColorizationModel` in eval mode."""
    name = display_path(getattr(ckpt, "path", "checkpoint"))
    hp = ckpt["hyper_parameters"]
    net = None
    if hp["kind"] != "gray":
        try:
            net = ConditionalVAE(cvae_config_from_hparams(hp))
        except (ColorsegError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{name}: its hyper-parameters do not build a model: {exc}") from exc
        _load_into(net, _model_state(ckpt), name)
    return ColorizationModel(net, hp["kind"], hp["image_size"]).eval()


def module_from_checkpoint(ckpt: dict, module_class):
    """Rebuild a training module (any class built from the saved hyper-parameters, e.g. a
    LightningModule passed in by training code) with its weights checked and loaded strictly."""
    name = display_path(getattr(ckpt, "path", "checkpoint"))
    try:
        module = module_class(**constructor_kwargs(ckpt["hyper_parameters"], module_class))
    except (ColorsegError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: its hyper-parameters do not build a model: {exc}") from exc
    check_weights(module.state_dict(), ckpt["state_dict"], name)
    module.load_state_dict(ckpt["state_dict"])
    return module


def datamodule_from_checkpoint(ckpt: dict, datamodule_class, overrides: dict | None = None):
    """Rebuild the training run's data module from a checkpoint, with ``overrides`` applied."""
    hp = constructor_kwargs(ckpt.get("datamodule_hyper_parameters") or {}, datamodule_class)
    hp.update(overrides or {})
    return datamodule_class(**hp)


def model_from_checkpoint(ckpt: dict) -> SegmentationModel | ColorizationModel:
    """The plain model of a loaded checkpoint of either task."""
    task = ckpt["colorseg"]["task"]
    return segmentation_model_from_checkpoint(ckpt) if task == "segment" else colorization_model_from_checkpoint(ckpt)
