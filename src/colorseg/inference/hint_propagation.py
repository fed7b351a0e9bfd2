"""Edge-aware propagation of what the network missed at the user's colour hints.

A hint colorizer learns to spread hints (Zhang et al. 2017), but its output at a hinted pixel is
often still short of the hinted colour. This step measures that shortfall, the residual
``hint ab − predicted ab`` at every hinted working-resolution pixel, and adds it to the
prediction with a joint-bilateral weight: pixels near a hint *and* of similar lightness get
(most of) its residual, pixels across a lightness edge or far away keep the network's colour.

For a pixel p, with hinted pixels q (weights ``k(p, q) = exp(-|p - q|² / 2σ_s²) ·
exp(-(L(p) - L(q))² / 2σ_L²)``, σ_s in working pixels = ``sigma_space`` × the working short side,
σ_L = ``sigma_light`` in CIE L units)::

    Δab(p) = strength · Σ_q k(p, q) · r(q) / max(A, Σ_q k(p, q))

``A`` is the area of one hint patch (``patch``²), so a lone hint corrects its own patch fully and
fades with distance and lightness difference; where several hints overlap their residuals are
averaged. No hints: no change. The defaults were chosen on the built-in recipe's validation split
(``benchmarks/colorize_hints.py --propagation-study``), never on the test photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from colorseg.data.lab import L_SCALE
from colorseg.errors import ConfigError

CHUNK = 256  # hinted pixels per step (bounds the (hinted × pixels) weight matrix)


@dataclass(frozen=True)
class HintPropagation:
    """Settings of :func:`propagate_hints` (see module docstring); ``strength`` 0 turns it off."""

    # chosen on the built-in recipe's validation split (97 colour photos, mean PSNR over 1, 5, 10, 20
    # ground-truth hints): sigma_space 0.4 and sigma_light 10 beat their neighbours 0.2 / 0.8 and 5 / 20
    # (results/colorize_hints_propagation_val.json)
    sigma_space: float = 0.4
    sigma_light: float = 10.0
    strength: float = 1.0

    def __post_init__(self) -> None:
        for name in ("sigma_space", "sigma_light"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise ConfigError(f"hint propagation {name} must be a positive number, got {value!r}")
        if not (isinstance(self.strength, (int, float)) and 0 <= self.strength <= 1):
            raise ConfigError(f"hint propagation strength must be in [0, 1], got {self.strength!r}")


NO_PROPAGATION = HintPropagation(strength=0.0)


@torch.inference_mode()
def propagate_hints(ab: torch.Tensor, L_norm: torch.Tensor, hints: torch.Tensor | None, patch: int,
                    settings: HintPropagation = HintPropagation()) -> torch.Tensor:
    """Predicted ab_norm (N, 2, h, w) + working L_norm (1, 1, h, w) + hint map (1, 3, h, w)
    (a, b, mask) → ab_norm (N, 2, h, w) with the residuals at the hints propagated (module
    docstring). ``ab`` itself when there are no hints or ``strength`` is 0."""
    if hints is None or settings.strength == 0:
        return ab
    mask = hints[0, 2] > 0.5
    if not bool(mask.any()):
        return ab
    n, _, h, w = ab.shape
    ys, xs = torch.nonzero(mask, as_tuple=True)  # hinted pixels (P,)
    residual = hints[0, :2, ys, xs][None] - ab[:, :, ys, xs]  # (N, 2, P)
    light = (L_norm[0, 0].float() * L_SCALE)  # CIE L (up to a constant shift: only differences matter)
    sigma_s = settings.sigma_space * min(h, w)
    gy = torch.arange(h, device=ab.device, dtype=torch.float32)
    gx = torch.arange(w, device=ab.device, dtype=torch.float32)
    flat_light = light.reshape(-1)
    num = ab.new_zeros(n, 2, h * w, dtype=torch.float32)
    den = ab.new_zeros(h * w, dtype=torch.float32)
    for start in range(0, len(ys), CHUNK):
        qy, qx = ys[start: start + CHUNK].float(), xs[start: start + CHUNK].float()
        # separable spatial Gaussian: (Q, h) × (Q, w) → (Q, h·w)
        wy = torch.exp(-(gy[None] - qy[:, None]) ** 2 / (2 * sigma_s ** 2))
        wx = torch.exp(-(gx[None] - qx[:, None]) ** 2 / (2 * sigma_s ** 2))
        spatial = (wy[:, :, None] * wx[:, None, :]).reshape(len(qy), -1)
        q_light = light[ys[start: start + CHUNK], xs[start: start + CHUNK]]
        k = spatial * torch.exp(-(flat_light[None] - q_light[:, None]) ** 2 / (2 * settings.sigma_light ** 2))
        num += torch.einsum("ncq,qp->ncp", residual[:, :, start: start + CHUNK].float(), k)
        den += k.sum(0)
    delta = num / den.clamp_min(float(patch * patch))
    return ab + settings.strength * delta.view(n, 2, h, w).to(ab.dtype)
