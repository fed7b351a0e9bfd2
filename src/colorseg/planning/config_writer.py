"""A :class:`~colorseg.planning.rules.Plan` → a commented LightningCLI YAML config, and the
terminal summary.

Every value is preceded by a comment saying why it was chosen (the rule's reason); the header
holds the data fingerprint, the estimates and the assumptions to confirm. The file is plain ASCII
(readers with any locale can load it) and loads with ``colorseg segment fit -c FILE``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml

from colorseg.data.files import atomic_write_text
from colorseg.planning.rules import Choice, Plan

WIDTH = 100
_ASCII = str.maketrans({"²": "^2", "≤": "<=", "≥": ">=", "√": "sqrt", "°": " deg", "±": "+/-", "…": "...",
                        "→": "->", "×": "x", "–": "-", "—": "-", "’": "'", "µ": "u"})


def ascii_text(text: str) -> str:
    """``text`` with the typographic characters the rules use spelled in ASCII."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def yaml_value(value: Any) -> str:
    """One value as inline (flow) YAML: ``bf16-mixed``, ``'00:00:30:00'``, ``[0.75, 1.25]``,
    ``{0: 0, 255: 1}``, ``null``."""
    text = yaml.safe_dump({"v": value}, default_flow_style=True, width=10 ** 9, sort_keys=False).strip()
    if not (text.startswith("{v: ") and text.endswith("}")):  # pragma: no cover - PyYAML's flow format
        raise ValueError(f"cannot write {value!r} inline")
    return text[4:-1]


def _comment(text: str, indent: int) -> list[str]:
    pad = " " * indent
    return [f"{pad}# {line}" for line in textwrap.wrap(ascii_text(text), WIDTH - indent - 2,
                                                       break_on_hyphens=False)]


def _tree(choices: list[Choice]) -> dict:
    tree: dict = {}
    for c in choices:
        node = tree
        *parents, leaf = c.key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = c
    return tree


def _render(node: dict, indent: int) -> list[str]:
    lines: list[str] = []
    for key, child in node.items():
        if isinstance(child, dict):
            lines.append(" " * indent + f"{key}:")
            lines += _render(child, indent + 2)
            continue
        if child.reason:
            lines += _comment(child.reason, indent)
        lines.append(" " * indent + f"{key}: {ascii_text(yaml_value(child.value))}")
    return lines


def render_yaml(plan: Plan, command: str = "") -> str:
    """The commented YAML text of ``plan`` (``command``: how it was planned, for the header)."""
    lines = _comment("Planned by `colorseg segment plan` from the data's fingerprint. Each value below says why "
                     "it was chosen; edit freely, then train with `colorseg segment fit -c THIS_FILE`.", 0)
    if command:
        lines += ["# Planned with:", f"#   {ascii_text(command)}"]  # one line, to copy
    for text in [*plan.notes, *(f"PLEASE CONFIRM: {c}" for c in plan.confirm),
                 *(f"WARNING: {w}" for w in plan.warnings)]:
        lines.append("#")
        lines += _comment(text, 0)
    lines.append("")
    lines += _render(_tree(plan.choices), 0)
    return "\n".join(lines) + "\n"


def write_plan(plan: Plan, path: str | Path, command: str = "") -> Path:
    """Write ``plan`` as commented YAML to ``path`` (atomically); returns the path."""
    text = render_yaml(plan, command)
    return atomic_write_text(path, text)  # plain ASCII (ascii_text), readable by everyone


def summarize(plan: Plan, path: str | Path | None = None) -> str:
    """A few lines for the terminal: what was planned, the estimates, what to confirm."""
    v = plan.value
    est = plan.estimates
    sizes = est["split_sizes"]
    weights = " with class weights" if _has(plan, "model.class_weights") else ""
    enc = v("model.encoder") + (" (ImageNet)" if v("model.encoder_weights") == "imagenet" else " (from scratch)")
    val = (f"every {v('trainer.check_val_every_n_epoch')} epoch(s)" if _has(plan, "trainer.check_val_every_n_epoch")
           and v("trainer.check_val_every_n_epoch") else f"every {v('trainer.val_check_interval')} steps")
    crop = v("data.crop_size")
    model = (f"Model: {enc}, {v('trainer.precision')}, loss {v('model.loss')}{weights}, lr {v('model.lr')}, "
             f"{v('model.scheduler')} schedule.")
    training = (f"Training: {'whole images' if crop is None else f'{crop}x{crop} crops'}, batch "
                f"{v('data.batch_size')}, max_time {v('trainer.max_time')}: ~{est['steps']:,} steps "
                f"(~{est['epochs']:.0f} epochs at {est['samples_per_s']:.1f} samples/s, {est['threads']} thread(s)), "
                f"validation {val}; estimated peak memory {est['peak_mib'] / 1024:.1f} GiB.")
    lines = [plan.notes[0], plan.notes[1],
             f"Splits: {sizes['train']} train / {sizes['val']} validation / {sizes['test']} test.", model, training]
    if _has(plan, "data.mask_value_map"):
        lines.append(f"Mask values: mask_value_map {yaml_value(v('data.mask_value_map'))}.")
    lines += [f"Please confirm: {c}" for c in plan.confirm]
    lines += [f"Warning: {w}" for w in plan.warnings]
    if path is not None:
        lines.append(f"Wrote {path} (each value's reason is in its comments); train with "
                     f"`colorseg segment fit -c {path}`.")
    return "\n".join(lines)


def _has(plan: Plan, key: str) -> bool:
    return any(c.key == key for c in plan.choices)
