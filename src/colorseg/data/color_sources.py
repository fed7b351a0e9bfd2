"""Colour-image sources for colorization: any folder, the BSDS500 layout, and synthetic data.

* ``folder``: every image under ``ROOT`` (recursive; non-images such as ``Thumbs.db`` skipped).
  Grayscale-only images cannot teach colour: they are skipped for training with one warning
  that counts them, and a folder with no colour image is an error.
* ``bsds500``: ``ROOT/images/{train,val,test}/*.jpg``; train on train + val, test on test.
* ``synthetic``: generated, seeded. Squares are always green and the background is always
  yellowish, but the circles of an image are **all red or all blue, at random, with the same
  lightness**, so the gray input cannot tell which: a regressor averages them to a dull
  colour, a VAE can sample either.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from scipy import ndimage

from colorseg.data.files import list_images
from colorseg.data.image_io import read_image
from colorseg.errors import ConfigError, DataError

COLOR_SOURCE_KINDS = ("folder", "bsds500", "synthetic")

# Lab colours of the synthetic set: (L, a, b). Circle colours share L so gray cannot tell them apart.
SYN_BACKGROUND = (75.0, -5.0, 35.0)
SYN_SQUARE = (52.0, -45.0, 35.0)
SYN_CIRCLE_RED = (55.0, 62.0, 45.0)
SYN_CIRCLE_BLUE = (55.0, 10.0, -55.0)


@dataclass(frozen=True)
class ColorSample:
    """One colour image: a file, or a generator returning (H, W, 3) float RGB."""

    name: str
    path: Path | None = None
    generate: object = None

    def load(self) -> np.ndarray:
        if self.generate is not None:
            return self.generate()
        return read_image(self.path, channels=3)


def is_grayscale(rgb: np.ndarray, tol: float = 1.0 / 255) -> bool:
    """True when all three channels are equal within ``tol`` everywhere."""
    return bool(np.abs(rgb - rgb[..., :1]).max() <= tol)


def make_color_sample(seed: int, index: int, size: int = 64) -> np.ndarray:
    """Synthetic colour image (H, W, 3) float RGB in [0, 1] (see module docstring)."""
    rng = np.random.default_rng([seed, index, 7])
    h = w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lab = np.empty((h, w, 3), dtype=np.float64)
    lab[:] = SYN_BACKGROUND
    texture = ndimage.gaussian_filter(rng.standard_normal((h, w)), 2.0)
    lab[..., 0] += 6 * texture / (np.abs(texture).max() + 1e-8) + 10 * (yy / h - 0.5)
    circle_colour = SYN_CIRCLE_RED if rng.random() < 0.5 else SYN_CIRCLE_BLUE
    for _ in range(int(rng.integers(2, 5))):
        r = rng.uniform(0.1, 0.2) * size
        cy, cx = rng.uniform(r, h - r, size=2)
        if rng.random() < 0.5:
            region = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
            colour = SYN_SQUARE
        else:
            region = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
            colour = circle_colour
        lab[region] = colour
        lab[region, 0] += 3 * np.sin(xx[region] / 2.0)  # texture in L only
    from colorseg.data.lab import lab_to_rgb_array  # torch: imported only to make samples, so that listing
    # photos (the data doctor, the planner through it) does not load it

    return lab_to_rgb_array(lab).astype(np.float32)


@dataclass
class ColorSource:
    """Base: ``splits()`` maps "train"/"val"/"test" to samples (val may be empty)."""

    def splits(self) -> dict[str, list[ColorSample]]:
        raise NotImplementedError


def _samples_from(folder: Path, recursive: bool) -> list[ColorSample]:
    files = list_images(folder, recursive=recursive)
    return [ColorSample(str(p.relative_to(folder).with_suffix("")), p) for p in files]


def color_samples_under(folder: Path, prefix: str = "") -> list[ColorSample]:
    """Every image under ``folder`` (recursive), named by its relative path without suffix,
    behind ``prefix/`` when given (keeps names from several folders apart)."""
    samples = _samples_from(Path(folder), recursive=True)
    if prefix:
        samples = [ColorSample(f"{prefix}/{s.name}", s.path) for s in samples]
    return samples


@dataclass
class FolderColorSource(ColorSource):
    """All images under ``root`` (recursive); split by seeded fractions."""

    root: Path = Path(".")
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 0

    def splits(self) -> dict[str, list[ColorSample]]:
        samples = _samples_from(Path(self.root), recursive=True)
        order = np.random.default_rng(self.seed).permutation(len(samples))
        n_test = round(self.test_fraction * len(samples))
        n_val = round(self.val_fraction * len(samples))
        pick = lambda idx: [samples[i] for i in sorted(idx)]
        return {"test": pick(order[:n_test]), "val": pick(order[n_test:n_test + n_val]),
                "train": pick(order[n_test + n_val:])}


@dataclass
class BSDS500Source(ColorSource):
    """BSDS500 photographs: train = train + val folders, test = test folder."""

    root: Path = Path("../shared/data/bsds500")

    def splits(self) -> dict[str, list[ColorSample]]:
        images = Path(self.root) / "images"
        train = _samples_from(images / "train", False) + _samples_from(images / "val", False)
        return {"train": train, "val": [], "test": _samples_from(images / "test", False)}


@dataclass
class SyntheticColorSource(ColorSource):
    """Generated ambiguous-colour images (see module docstring)."""

    num_images: int = 256
    image_size: int = 64
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.1

    def splits(self) -> dict[str, list[ColorSample]]:
        samples = [ColorSample(f"synthetic_{i:04d}", generate=partial(make_color_sample, self.seed, i,
                                                                       self.image_size))
                   for i in range(self.num_images)]
        n_test = max(1, round(self.test_fraction * self.num_images))
        n_val = max(1, round(self.val_fraction * self.num_images))
        return {"test": samples[:n_test], "val": samples[n_test:n_test + n_val],
                "train": samples[n_test + n_val:]}


def build_color_source(kind: str, root: str | Path | None = None, num_images: int = 256,
                       image_size: int = 64, seed: int = 0, val_fraction: float = 0.1,
                       test_fraction: float = 0.1) -> ColorSource:
    """A source by name (one of :data:`COLOR_SOURCE_KINDS`); ConfigError for unknown names."""
    if kind not in COLOR_SOURCE_KINDS:
        raise ConfigError(f"unknown colour data source {kind!r}; choose one of {', '.join(COLOR_SOURCE_KINDS)}")
    if kind != "synthetic" and root is None:
        raise ConfigError(f"colour data source {kind!r} needs data.root")
    if kind == "folder":
        return FolderColorSource(Path(root), val_fraction, test_fraction, seed)
    if kind == "bsds500":
        return BSDS500Source(Path(root))
    return SyntheticColorSource(num_images, image_size, seed, val_fraction, test_fraction)


def drop_grayscale(samples: list[ColorSample], loaded: list[np.ndarray], split: str) -> tuple[list, list]:
    """Remove grayscale-only images (one warning with the count); error if none is left."""
    keep = [i for i, im in enumerate(loaded) if not is_grayscale(im)]
    dropped = len(samples) - len(keep)
    if dropped:
        warnings.warn(f"skipped {dropped} grayscale-only image(s) of {len(samples)} in the {split} split "
                      "(they carry no colour to learn from)", stacklevel=2)
    if samples and not keep:
        where = samples[0].path.parent if samples[0].path is not None else "the data"
        raise DataError(f"no colour images to {split} on: all {len(samples)} images in {where} are grayscale")
    return [samples[i] for i in keep], [loaded[i] for i in keep]
