"""Export a checkpoint to ONNX or TorchScript, for deployment without colorseg or Lightning.

The exported graphs (float32; batch B, height H and width W are all dynamic; any H, W works,
odd ones included: the network pads to a multiple of ``2**depth`` inside and crops back):

* ``segment``: ``image`` (B, C, H, W) in [0, 1] → ``probs`` (B, K, H, W), softmax over the K
  classes. The normalisation ``(image - mean) / std`` is part of the graph; scale 8-bit images
  by 1/255 (16-bit by 1/65535) before calling it.
* ``colorize``: ``L`` (B, 1, H, W) normalised lightness (the first output of
  :func:`colorseg.data.lab.rgb_to_lab_norm`) → ``ab`` (B, 2, H, W) normalised chroma, the
  deterministic prediction (prior mean), as :class:`~colorseg.inference.colorizer.Colorizer`.
* ``colorize`` with ``sampling=True`` (VAEs only): ``L`` and ``noise`` standard normal, (B, latent_dim)
  for a global latent or (B, latent_dim, ⌈H/s⌉, ⌈W/s⌉) for a spatial one (s = ``latent_stride``)
  → ``ab`` = decode(prior_mu + noise · prior_std); scale ``noise`` by a temperature.
* ``colorize`` models trained with colour hints take one more, last, input ``hints`` (B, 3, H, W):
  (a, b, mask) with ab in ab_norm and zero where there is no hint (all zero: no hints); see
  :func:`colorseg.inference.hints.hints_to_tensor` for placing a user's hints.

Each file carries the preprocessing it expects as metadata (ONNX ``metadata_props``; TorchScript
extra file ``colorseg.json``): task, class names (JSON), input channels, working image size,
normalisation and colorseg version. Every export is checked against PyTorch on a batch of 3
at 37×53 (not the 2×48×40 it was traced at) and refused when they differ by more than
:data:`TOLERANCE`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from colorseg import __version__
from colorseg.checkpoint import (
    colorization_model_from_checkpoint,
    load_checkpoint,
    read_task,
    segmentation_model_from_checkpoint,
)
from colorseg.data.files import atomic_write, display_path
from colorseg.errors import ColorsegError, ConfigError
from colorseg.models.cvae import ConditionalVAE
from colorseg.models.unet import UNet

FORMATS = ("onnx", "torchscript")
DEFAULT_OPSET = 18
TOLERANCE = 1e-4  # max |exported - PyTorch| accepted by the post-export check
TRACE_SIZE = (2, 48, 40)  # (B, H, W) of the example input the graph is traced with
CHECK_SIZE = (3, 37, 53)  # (B, H, W) of the check input: another batch, odd sizes
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")


class SegmentGraph(nn.Module):
    """image (B, C, H, W) in [0, 1] → probs (B, K, H, W): the U-Net (normalisation inside), softmax."""

    def __init__(self, net: UNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image).softmax(1)


class ColorizeGraph(nn.Module):
    """L_norm (B, 1, H, W) [, hints (B, 3, H, W)] → ab_norm (B, 2, H, W) at the prior mean (deterministic)."""

    def __init__(self, net: ConditionalVAE) -> None:
        super().__init__()
        self.net = net

    def forward(self, L: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(L, hints=hints)["ab"]


class ColorizeSamplingGraph(nn.Module):
    """L_norm (B, 1, H, W), noise (B, latent_dim[, h, w]) [, hints (B, 3, H, W)] → ab_norm (B, 2, H, W)
    decoded at z = prior_mu + noise · prior_std (``noise`` standard normal; scale it for a temperature)."""

    def __init__(self, net: ConditionalVAE) -> None:
        super().__init__()
        self.net = net

    def forward(self, L: torch.Tensor, noise: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        return self.net.decode_noise(L, noise, hints)


def build_graph(ckpt_path: str | Path, sampling: bool = False) -> tuple[nn.Module, dict]:
    """The export wrapper of a checkpoint (eval mode, no gradients) and its metadata dict."""
    task = read_task(ckpt_path)
    ckpt = load_checkpoint(ckpt_path, task)
    hp = ckpt["hyper_parameters"]
    meta: dict = {"task": task, "colorseg_version": __version__, "checkpoint": Path(ckpt_path).name}
    name = display_path(ckpt_path)
    if task == "segment":
        if sampling:
            raise ConfigError(f"--sampling applies to colorize VAE checkpoints; {name} is a segment checkpoint")
        model = segmentation_model_from_checkpoint(ckpt)
        graph: nn.Module = SegmentGraph(model.net)
        names = list(model.class_names)
        meta.update(class_names=names, class_colors=hp.get("class_colors"), in_channels=model.in_channels,
                    image_size=None, encoder=model.config.encoder,
                    mean=[float(v) for v in model.net.mean.flatten()], std=[float(v) for v in model.net.std.flatten()],
                    inputs={"image": "(B, C, H, W) float32 in [0, 1]; (x - mean) / std is applied inside"},
                    outputs={"probs": f"(B, {len(names)}, H, W) softmax over class_names"})
    else:
        kind = hp["kind"]
        if kind == "gray":
            raise ConfigError(f"{name} is a 'gray' colorizer (ab = 0): it has no network to export")
        module = colorization_model_from_checkpoint(ckpt)
        if sampling and not module.net.latent_dim:
            raise ConfigError(f"--sampling needs a VAE colorizer with a latent; {name} is kind {kind!r} with "
                              "latent_dim 0 (deterministic, nothing to sample): export it without --sampling")
        graph = ColorizeSamplingGraph(module.net) if sampling else ColorizeGraph(module.net)
        latent = module.net.latent_dim
        layout = module.net.config.latent_layout
        meta.update(class_names=None, in_channels=1, image_size=int(hp["image_size"]), kind=kind,
                    latent_dim=latent, latent_layout=layout, latent_stride=module.net.size_multiple,
                    sampling=sampling, hints=module.hints,
                    inputs={"L": "(B, 1, H, W) float32 L_norm = L / 50 - 1 (colorseg.data.lab.rgb_to_lab_norm); "
                                 "image_size is the short side the model was trained at"},
                    outputs={"ab": "(B, 2, H, W) float32 ab_norm = ab / 110 in (-1, 1)"})
        if sampling:
            shape = f"(B, {latent})" if layout == "global" else \
                f"(B, {latent}, ceil(H / {module.net.size_multiple}), ceil(W / {module.net.size_multiple}))"
            meta["inputs"]["noise"] = f"{shape} float32 standard normal, times a temperature"
        if module.hints:
            meta["inputs"]["hints"] = ("(B, 3, H, W) float32 colour hints (a, b, mask): ab_norm = ab / 110 of the "
                                       "hinted colour and mask 1 where hinted, all zero elsewhere (zeros: no hints)")
    return graph.eval().requires_grad_(False), meta


def example_inputs(graph: nn.Module, meta: dict, size: tuple[int, int, int]) -> tuple[torch.Tensor, ...]:
    """Random inputs for ``graph`` of batch/height/width ``size`` (fixed seed)."""
    b, h, w = size
    gen = torch.Generator().manual_seed(0)
    if meta["task"] == "segment":
        return (torch.rand(b, meta["in_channels"], h, w, generator=gen),)
    L = torch.rand(b, 1, h, w, generator=gen) * 2 - 1
    inputs: tuple[torch.Tensor, ...] = (L,)
    if isinstance(graph, ColorizeSamplingGraph):
        if meta.get("latent_layout", "global") == "global":
            inputs += (torch.randn(b, meta["latent_dim"], generator=gen),)
        else:
            s = meta["latent_stride"]
            inputs += (torch.randn(b, meta["latent_dim"], -(-h // s), -(-w // s), generator=gen),)
    if meta.get("hints"):  # sparse hints: ~10 % of the pixels
        mask = (torch.rand(b, 1, h, w, generator=gen) < 0.1).float()
        inputs += (torch.cat([(torch.rand(b, 2, h, w, generator=gen) - 0.5) * mask, mask], 1),)
    return inputs


def _check_output(output: Path) -> None:
    """Fail early, naming the path, when ``output`` cannot be written (folders are made later)."""
    name = display_path(output)
    if output.is_dir():
        raise ConfigError(f"output {name} is a folder; give a file name (e.g. model.onnx)")
    parent = output.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot write output {name}: {display_path(parent)} is not a folder")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"cannot write output {name}: {display_path(parent)} is not writable")


def _require_onnx() -> None:
    missing = [p for p in ONNX_PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise ColorsegError(f"ONNX export needs {', '.join(missing)}: pip install 'colorseg[export]'")


def _export_onnx(graph: nn.Module, meta: dict, tmp: Path, opset: int) -> None:
    example = example_inputs(graph, meta, TRACE_SIZE)
    batch, height, width = (torch.export.Dim(n) for n in ("batch", "height", "width"))
    dynamic = {"image": {0: batch, 2: height, 3: width}, "L": {0: batch, 2: height, 3: width}, "noise": {0: batch},
               "hints": {0: batch, 2: height, 3: width}}
    if meta.get("latent_layout") == "spatial":  # the latent grid follows the image: own dims (resized inside)
        dynamic["noise"] = {0: batch, 2: torch.export.Dim("latent_height"), 3: torch.export.Dim("latent_width")}
    names = list(meta["inputs"])
    quiet = logging.getLogger("torch.onnx._internal.exporter._registration")  # "torchvision is not installed"
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.onnx.export(graph, example, input_names=names, output_names=list(meta["outputs"]),
                                        opset_version=opset, dynamic_shapes={n: dynamic[n] for n in names},
                                        dynamo=True, verbose=False)
    finally:
        quiet.setLevel(level)
    for key, value in _metadata_props(meta).items():
        program.model.metadata_props[key] = value
    out = program.model.graph.outputs[0]  # name the cropped output's sizes like the input's
    out.shape = type(out.shape)(["batch", out.shape[1], "height", "width"])
    program.save(str(tmp), external_data=False)


def _metadata_props(meta: dict) -> dict[str, str]:
    """String key/values: the main fields one by one, and the whole metadata as JSON."""
    props = {k: json.dumps(meta[k]) if not isinstance(meta[k], str) else meta[k]
             for k in ("task", "class_names", "in_channels", "image_size", "colorseg_version")}
    props["colorseg"] = json.dumps(meta)
    return props


def _export_torchscript(graph: nn.Module, meta: dict, tmp: Path) -> None:
    with warnings.catch_warnings():
        # the U-Net's "skip and upsampled sizes differ?" test is always False after padding to a
        # multiple of 2**depth, so freezing it in the trace is exact (checked after export)
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(graph, example_inputs(graph, meta, TRACE_SIZE), check_trace=False)
    torch.jit.save(traced, str(tmp), _extra_files={"colorseg.json": json.dumps(meta)})


def run_exported(path: str | Path, fmt: str, inputs: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Run an exported file (onnxruntime on CPU, or ``torch.jit.load``) on ``inputs``."""
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
        return torch.from_numpy(session.run(None, feeds)[0])
    return torch.jit.load(str(path))(*inputs)


def export_model(ckpt_path: str | Path, fmt: str, output: str | Path, sampling: bool = False,
                 opset: int = DEFAULT_OPSET) -> Path:
    """Export a ``segment`` or ``colorize`` checkpoint to ``output`` (see module docstring).

    Args:
        ckpt_path: colorseg checkpoint (the task is read from it).
        fmt: ``"onnx"`` (dynamo exporter, opset ``opset``) or ``"torchscript"`` (``torch.jit.trace``).
        output: file to write; written atomically (a temporary file in its folder, then renamed).
        sampling: colorize VAEs only: export the sampling graph (inputs ``L`` and ``noise``).

    Returns the output path. Raises ConfigError for an unknown format, a gray colorizer, sampling
    without a latent, or an unwritable output; CheckpointError for a bad checkpoint; ColorsegError
    when the ONNX packages are missing or the exported graph disagrees with PyTorch.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "onnx":
        _require_onnx()
    output = Path(output)
    _check_output(output)
    graph, meta = build_graph(ckpt_path, sampling)
    meta["format"] = fmt
    check_inputs = example_inputs(graph, meta, CHECK_SIZE)
    with torch.no_grad():
        expected = graph(*check_inputs)

    def write(tmp: Path) -> None:
        with torch.no_grad():
            if fmt == "onnx":
                _export_onnx(graph, meta, tmp, opset)
            else:
                _export_torchscript(graph, meta, tmp)
            diff = float((run_exported(tmp, fmt, check_inputs) - expected).abs().max())
        if not diff <= TOLERANCE:
            raise ColorsegError(f"the exported {fmt} graph differs from PyTorch by {diff:.3g} (> {TOLERANCE}) "
                                f"at batch {CHECK_SIZE[0]}, size {CHECK_SIZE[1]}x{CHECK_SIZE[2]}; nothing written")

    try:
        return atomic_write(output, write)
    except OSError as exc:
        raise ConfigError(f"cannot write output {display_path(output)}: {exc.strerror or exc}") from exc
