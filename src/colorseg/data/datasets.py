"""Torch datasets over a :class:`~colorseg.data.sources.Source` and a padding collate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from colorseg.data.label_checks import label_counts
from colorseg.data.sources import Sample, Source
from colorseg.data.transforms import random_scale_crop


class SegmentationDataset(Dataset):
    """Items ``{"image": (C, H, W) float [0, 1], "mask": (H, W) long, "name": str, "size": (H, W)}``.

    With ``crop_size`` set (training), each item is a random rescaled crop and the set is
    repeated ``repeats`` times per epoch (small sets such as ISBI's 24 slices). Loaded pairs are
    cached in memory when ``cache`` is True.
    """

    def __init__(self, source: Source, samples: Sequence[Sample], crop_size: int | None = None,
                 scale_range: tuple[float, float] = (1.0, 1.0), repeats: int = 1, cache: bool = True) -> None:
        self.source = source
        self.samples = list(samples)
        self.crop_size = crop_size
        self.scale_range = tuple(scale_range)
        self.repeats = max(1, int(repeats))
        self.cache = cache
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.samples) * self.repeats

    def load_pair(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Validated (image (H, W, C), mask (H, W)) of sample ``index``."""
        if index in self._cache:
            return self._cache[index]
        pair = self.source.load(self.samples[index])
        if self.cache:
            self._cache[index] = pair
        return pair

    def preload(self) -> None:
        """Load (and so validate) every sample now: a bad file fails before training starts,
        not halfway through an epoch. Only with the cache on (otherwise it would read twice)."""
        if self.cache:
            for i in range(len(self.samples)):
                self.load_pair(i)

    def label_counts(self) -> dict[int, int]:
        """Pixel count per label value over the whole (uncropped) masks of this split."""
        return label_counts(self.load_pair(i)[1] for i in range(len(self.samples)))

    def __getitem__(self, index: int) -> dict:
        i = index % len(self.samples)
        image_np, mask_np = self.load_pair(i)
        image = torch.from_numpy(image_np.transpose(2, 0, 1).copy())
        mask = torch.from_numpy(mask_np.copy())  # items never share memory with the cache
        if self.crop_size:
            image, mask = random_scale_crop(image, mask, self.crop_size, self.scale_range,
                                            self.source.ignore_index)
        size = tuple(mask.shape)
        return {"image": image, "mask": mask, "name": self.samples[i].name, "size": size}


def pad_collate(items: list[dict], ignore_index: int = 255) -> dict:
    """Stack items of different sizes by padding right/bottom (image 0, mask ``ignore_index``).

    Returns ``image`` (B, C, Hmax, Wmax), ``mask`` (B, Hmax, Wmax), ``name`` list, ``size``
    (B, 2) long of the unpadded sizes.
    """
    hmax = max(it["image"].shape[-2] for it in items)
    wmax = max(it["image"].shape[-1] for it in items)
    images, masks = [], []
    for it in items:
        h, w = it["image"].shape[-2:]
        images.append(F.pad(it["image"], (0, wmax - w, 0, hmax - h), value=0.0))
        masks.append(F.pad(it["mask"], (0, wmax - w, 0, hmax - h), value=ignore_index))
    return {"image": torch.stack(images), "mask": torch.stack(masks),
            "name": [it["name"] for it in items],
            "size": torch.tensor([list(it["size"]) for it in items], dtype=torch.long)}
