"""Mirror padding, in one place: the U-Net's pad to a size multiple and the tiler's mirrored reads.

Both reflect without repeating the edge pixel (−1 → 1, n → n − 2), as ``F.pad(mode="reflect")``
and the U-Net paper's overlap-tile strategy.
"""

from __future__ import annotations

import numpy as np
import torch


def mirror_index(idx: np.ndarray, n: int) -> np.ndarray:
    """Indices outside [0, n) mirrored back inside, at any distance (period 2(n − 1)); n = 1 → 0."""
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def _pad_index(size, multiple: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Source rows (or columns) of one side padded to ``multiple``: (reflect, replicate) index vectors.

    The reflect vector has negative entries when the pad is not smaller than ``size``."""
    i = torch.arange((size + multiple - 1) // multiple * multiple, device=device)
    return torch.where(i < size, i, 2 * (size - 1) - i), i.clamp(max=size - 1)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (..., H, W) at the bottom and right up to multiples of ``multiple``.

    Reflect padding, or replicate when the image is too small to reflect (a pad not smaller than
    its side), exactly as ``F.pad(x, (0, pw, 0, ph), mode=...)``. Written as an index gather with no
    Python branch on the size (unlike :func:`mirror_index`), so ``torch.jit.trace`` and
    ``torch.export`` (ONNX) keep H and W dynamic; the padded size ``ceil(H / multiple) * multiple``
    is visibly a multiple, so the decoder's size checks need no guards.
    """
    h, w = x.shape[-2:]
    if isinstance(h, int) and isinstance(w, int) and h % multiple == 0 and w % multiple == 0:
        return x  # eager (concrete sizes), nothing to pad: no copy
    rows_reflect, rows_replicate = _pad_index(h, multiple, x.device)
    cols_reflect, cols_replicate = _pad_index(w, multiple, x.device)
    reflect = (rows_reflect[-1] >= 0) & (cols_reflect[-1] >= 0)  # the last index is the smallest
    rows = torch.where(reflect, rows_reflect, rows_replicate)
    cols = torch.where(reflect, cols_reflect, cols_replicate)
    return x.index_select(-2, rows).index_select(-1, cols)
