"""Checks on the labels a split really holds, before any training step.

A class with no pixels cannot be learned, and a metric averaged over the classes present can
read 1.000 while a declared class is silently missing (e.g. 0/255 binary masks whose 255 is the
ignore index: every foreground pixel is ignored and the model learns to paint background).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from colorseg.errors import DataError


def label_counts(masks: Iterable[np.ndarray]) -> dict[int, int]:
    """Pixel count per label value over ``masks`` (each (H, W) integer), ignore values included."""
    total: dict[int, int] = {}
    for mask in masks:
        values, counts = np.unique(np.asarray(mask), return_counts=True)
        for v, c in zip(values.tolist(), counts.tolist()):
            total[int(v)] = total.get(int(v), 0) + int(c)
    return total


def describe_counts(counts: dict[int, int], ignore_index: int) -> str:
    """``"0: 1,204 px, 255: 310 px (ignore_index)"``."""
    return ", ".join(f"{v}: {c:,} px" + (" (ignore_index)" if v == ignore_index else "")
                     for v, c in sorted(counts.items()))


def missing_classes(counts: dict[int, int], class_names: list[str]) -> list[int]:
    """Labels ``0..K-1`` that have no pixel in ``counts``."""
    return [k for k in range(len(class_names)) if counts.get(k, 0) == 0]


def check_training_labels(counts: dict[int, int], class_names: list[str], ignore_index: int,
                          num_masks: int, mask_value_map: dict[int, int] | None = None) -> None:
    """Raise DataError when a declared class has no pixel in the training masks.

    ``counts`` are label counts after ``mask_value_map`` was applied. When the ignore value holds
    pixels while a class is missing (the 0/255 case), the message proposes the
    ``--data.mask_value_map`` that maps it to the missing class.
    """
    missing = missing_classes(counts, class_names)
    if not missing:
        return
    names = ", ".join(f"{class_names[k]!r} (label {k})" for k in missing)
    msg = (f"declared class {names} has no pixels in the {num_masks} training masks, so it cannot be "
           f"learned; the masks hold {describe_counts(counts, ignore_index)}.")
    if counts.get(ignore_index, 0) and not mask_value_map and len(missing) == 1:
        present = sorted(v for v in counts if v != ignore_index)
        proposal = {**{v: v for v in present}, ignore_index: missing[0]}
        text = "{" + ", ".join(f"{k}: {v}" for k, v in proposal.items()) + "}"
        msg += (f" If {ignore_index} marks {class_names[missing[0]]!r} (e.g. 0/255 binary masks), "
                f"pass --data.mask_value_map='{text}'; if {ignore_index} really means 'ignore', "
                f"remove the class from data.class_names.")
    else:
        msg += " Check data.class_names, data.mask_value_map and data.ignore_index."
    raise DataError(msg)


def absent_classes_note(counts: dict[int, int], class_names: list[str], split: str) -> str | None:
    """A warning line when declared classes have no pixels in ``split`` (None when all are present):
    its mean IoU then averages over fewer classes than were declared."""
    missing = missing_classes(counts, class_names)
    if not missing:
        return None
    return (f"the {split} split has no pixels of {', '.join(class_names[k] for k in missing)}: "
            f"its mean IoU/Dice average over the {len(class_names) - len(missing)} classes present")
