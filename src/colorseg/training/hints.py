"""Colour hints simulated from the ground truth for training (Zhang et al. 2017, "Real-Time
User-Guided Image Colorization with Learned Deep Priors").

Per image: with probability ``zero_prob`` no hints; otherwise ``1 + Geometric(geometric_p)``
hints (failures before the first success, mean ``1 / geometric_p``; Zhang: p = 1/8). Each hint
is a square patch of random side ``min_patch … max_patch`` pixels (Zhang: 1 … 9) at a uniformly
random position inside the image, whose value is the mean ground-truth ab over the patch. (Zhang
drew the positions from a Gaussian around the image centre; uniform positions serve hints
anywhere in the image.)

The hint map is (B, 3, H, W) = (a, b, mask) in ab_norm (:data:`~colorseg.models.cvae.HINT_CHANNELS`),
zero where there is no hint; where patches overlap the later one wins. Drawing is two steps, so
tests can check the map against the patches: :func:`sample_hint_patches` (random, on the
generator's device, one host synchronisation), then :func:`render_hints` (deterministic, a fixed
number of tensor operations whatever the number of hints).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from colorseg.errors import ConfigError
from colorseg.models.cvae import HINT_CHANNELS


def check_hint_options(zero_prob: float, geometric_p: float, max_patch: int, min_patch: int = 1) -> None:
    """ConfigError naming the option for values outside their ranges."""
    if not 0.0 <= zero_prob <= 1.0:
        raise ConfigError(f"hint_zero_prob must be in [0, 1], got {zero_prob}")
    if not 0.0 < geometric_p <= 1.0:
        raise ConfigError(f"hint_geometric_p must be in (0, 1], got {geometric_p}")
    if not (isinstance(max_patch, int) and isinstance(min_patch, int) and 1 <= min_patch <= max_patch):
        raise ConfigError(f"hint patch sides must be integers with 1 <= min <= max, got {min_patch}..{max_patch}")


def sample_hint_patches(batch: int, height: int, width: int, zero_prob: float = 0.3, geometric_p: float = 0.125,
                        max_patch: int = 9, min_patch: int = 1, n_hints: int | None = None,
                        generator: torch.Generator | None = None,
                        device: torch.device | str | None = None) -> torch.Tensor:
    """Random hint patches for ``batch`` images of ``height`` × ``width``: a long tensor (N, 4) of
    rows (image, top, left, side), in drawing order (images ascending).

    ``n_hints`` fixes the number of hints per image (no zero-hint images, no geometric draw).
    Random numbers come from ``generator`` (on its device) or torch's global RNG on ``device``.
    Patch sides are clipped to the image.
    """
    check_hint_options(zero_prob, geometric_p, max_patch, min_patch)
    if generator is not None:
        device = generator.device
    device = torch.device(device or "cpu")
    kw = {"generator": generator, "device": device}
    if n_hints is None:
        zero = torch.rand(batch, **kw) < zero_prob
        u = torch.rand(batch, **kw).clamp_min(1e-12)
        # inverse-CDF draw of the failures before the first success; p = 1 gives 0 (log1p(-1) = -inf)
        failures = torch.floor(torch.log(u) / math.log1p(-geometric_p)) if geometric_p < 1 else torch.zeros_like(u)
        counts = torch.where(zero, 0, 1 + failures.long())
    else:
        if n_hints < 0:
            raise ConfigError(f"n_hints must be >= 0, got {n_hints}")
        counts = torch.full((batch,), int(n_hints), dtype=torch.long, device=device)
    images = torch.repeat_interleave(torch.arange(batch, device=device), counts)
    u = torch.rand(len(images), 3, **kw)
    hi = min(max_patch, height, width)
    lo = min(min_patch, hi)
    side = lo + torch.floor(u[:, 0] * (hi - lo + 1)).long().clamp_max(hi - lo)
    top = torch.floor(u[:, 1] * (height - side + 1)).long().clamp_max(height - side)
    left = torch.floor(u[:, 2] * (width - side + 1)).long().clamp_max(width - side)
    return torch.stack([images, top, left, side], 1)


def render_hints(ab: torch.Tensor, patches: torch.Tensor) -> torch.Tensor:
    """The hint map (B, 3, H, W) of ``patches`` (rows image, top, left, side) over ground truth
    ``ab`` (B, 2, H, W) ab_norm: each patch holds its mean ab and mask 1; later patches win.

    Patch means come from a float64 summed-area table (exact to float32 rounding); coverage from
    one scatter (``amax`` of the patch order), deterministic on every device.
    """
    b, _, h, w = ab.shape
    hints = ab.new_zeros(b, HINT_CHANNELS, h, w)
    if len(patches) == 0:
        return hints
    patches = patches.to(ab.device)
    img, top, left, side = patches.unbind(1)
    sat = F.pad(ab.double().cumsum(-2).cumsum(-1), (1, 0, 1, 0))  # (B, 2, H + 1, W + 1)
    bottom, right = top + side, left + side
    sums = (sat[img, :, bottom, right] - sat[img, :, top, right] - sat[img, :, bottom, left]
            + sat[img, :, top, left])  # (N, 2)
    means = (sums / (side * side)[:, None]).to(ab.dtype)
    # every patch's pixels (up to the largest side squared), flattened over (B, H, W)
    s_max = int(side.max())
    offsets = torch.arange(s_max, device=ab.device)
    dy, dx = offsets[:, None].expand(s_max, s_max).reshape(-1), offsets[None, :].expand(s_max, s_max).reshape(-1)
    valid = (dy[None] < side[:, None]) & (dx[None] < side[:, None])  # (N, s_max²)
    flat = (img[:, None] * h + top[:, None] + dy[None]) * w + left[:, None] + dx[None]
    flat = torch.where(valid, flat, b * h * w)  # slots outside a patch go to one spare entry (no sync)
    order = torch.arange(len(patches), device=ab.device)[:, None].expand_as(flat)
    last = torch.full((b * h * w + 1,), -1, dtype=torch.long, device=ab.device)
    last = last.scatter_reduce(0, flat.reshape(-1), order.reshape(-1), reduce="amax")[:-1]
    covered = last >= 0
    values = means[last.clamp_min(0)] * covered[:, None]  # (B·H·W, 2)
    hints[:, :2] = values.view(b, h, w, 2).permute(0, 3, 1, 2)
    hints[:, 2] = covered.view(b, h, w).to(ab.dtype)
    return hints


def sample_hints(ab: torch.Tensor, zero_prob: float = 0.3, geometric_p: float = 0.125, max_patch: int = 9,
                 min_patch: int = 1, n_hints: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Random ground-truth hints for ``ab`` (B, 2, H, W): the hint map (B, 3, H, W) on ab's device
    (see :func:`sample_hint_patches` and :func:`render_hints`)."""
    patches = sample_hint_patches(ab.shape[0], ab.shape[-2], ab.shape[-1], zero_prob, geometric_p, max_patch,
                                  min_patch, n_hints, generator, ab.device)
    return render_hints(ab, patches)
