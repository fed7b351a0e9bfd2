"""Names, display colours and accepted values of the label values a source declares."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colorseg.data.sources import default_colors


@dataclass
class ClassInfo:
    """Per stored mask value: display name and colour; ``allowed`` are the values the source's
    loader accepts (None: not declared, as for ``folder`` before ``data.class_names``), ``ignore``
    its ignore value, ``classes`` the declared class names (label order)."""

    names: dict[int, str]
    colors: dict[int, tuple[int, int, int]]
    allowed: set[int] | None = None
    ignore: int | None = None
    classes: list[str] | None = None
    value_map: dict[int, int] | None = None

    def name(self, value: int) -> str:
        return self.names.get(int(value), f"value {int(value)}")


def class_info(source: str, root: Path, label_values: list[int], ignore_candidate: int | None = None) -> ClassInfo:
    """What ``source`` declares (camvid, isbi2012: built-in classes), else names ``value v`` and
    distinct colours for the values found (``ignore_candidate`` shown gray)."""
    from colorseg.data.sources import build_source

    if source in ("camvid", "isbi2012"):
        src = build_source(source, root)
        names, colors = {}, {}
        stored = src.mask_value_map or {k: k for k in range(src.num_classes)}
        for value, label in stored.items():
            names[value] = src.class_names[label]
            colors[value] = tuple(src.class_colors[label])
        if src.ignore_index not in stored:
            names[src.ignore_index] = "void (ignored)"
            colors[src.ignore_index] = (0, 0, 0)
        ignore = None if src.ignore_index in stored else src.ignore_index  # a mapped value is a class
        return ClassInfo(names, colors, set(stored) | {src.ignore_index}, ignore, list(src.class_names),
                         src.mask_value_map)
    values = [v for v in label_values if v != ignore_candidate]
    palette = default_colors(len(values))
    names = {v: f"value {v}" for v in values}
    colors = {v: tuple(palette[i]) for i, v in enumerate(values)}
    if ignore_candidate is not None and ignore_candidate in label_values:
        names[ignore_candidate] = f"value {ignore_candidate} (ignore?)"
        colors[ignore_candidate] = (128, 128, 128)
    return ClassInfo(names, colors, ignore=ignore_candidate)

