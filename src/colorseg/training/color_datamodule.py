"""ColorizationDataModule: colour images → cached arrays → crops at working resolution."""

from __future__ import annotations

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader

from colorseg.data.color_datasets import ColorDataset
from colorseg.data.lab import rgb_to_lab_norm
from colorseg.data.split_datasets import ColorSplits
from colorseg.errors import ConfigError
from colorseg.losses.ab_regression import AB_BINS, ab_bin_index


def _eval_collate(items: list[dict]) -> dict:
    if len(items) != 1:
        raise ConfigError("evaluation batches hold whole images of different sizes: use eval_batch_size=1")
    it = items[0]
    return {"rgb": it["rgb"][None], "rgb_full": it["rgb_full"][None], "name": [it["name"]]}


class ColorizationDataModule(pl.LightningDataModule):
    """Data for the colorizer.

    Args:
        source: ``synthetic`` | ``folder`` | ``bsds500``; root: its folder (not for synthetic).
        image_size: working resolution (training crop side; evaluation short side).
        max_zoom: training images are resized to a random short side in [image_size, image_size·max_zoom].
        val_from_train: when the source has no validation split (BSDS500), hold out this many
            training images (seeded) for validation; the test split is never used for selection.
        extra_train_roots: folders whose images (recursive) join the training pool (before the
            validation hold-out), e.g. BSDS500 + an ImageNet sample; the test split stays the source's.
        num_images, synthetic_size, seed, val_fraction, test_fraction: synthetic / folder splits.
    """

    def __init__(self, source: str = "synthetic", root: str | None = None, image_size: int = 64,
                 max_zoom: float = 1.25, batch_size: int = 16, num_workers: int = 0, repeats: int = 1,
                 val_from_train: int = 20, num_images: int = 256, synthetic_size: int = 64, seed: int = 0,
                 val_fraction: float = 0.1, test_fraction: float = 0.1,
                 extra_train_roots: list[str] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        # the splits themselves are built by data code that evaluation shares (colorseg.data.split_datasets)
        self.splits = ColorSplits(source=source, root=root, image_size=image_size, max_zoom=max_zoom,
                                  repeats=repeats, val_from_train=val_from_train, num_images=num_images,
                                  synthetic_size=synthetic_size, seed=seed, val_fraction=val_fraction,
                                  test_fraction=test_fraction, extra_train_roots=extra_train_roots)
        self.source = self.splits.source

    @property
    def image_size(self) -> int:
        """Working resolution (linked into the model, stored in checkpoints)."""
        return int(self.hparams.image_size)

    def load_split(self, split: str) -> tuple[list[np.ndarray], list[str]]:
        """Decoded colour images (H, W, 3) and names of a split (grayscale-only ones dropped)."""
        return self.splits.load_split(split)

    def dataset(self, split: str) -> ColorDataset:
        return self.splits.dataset(split)

    def ab_histogram(self, max_pixels: int = 2_000_000) -> torch.Tensor:
        """Counts of training ab values over the AB_BINS² grid (for rarity weighting)."""
        images, _ = self.load_split("train")
        counts = torch.zeros(AB_BINS * AB_BINS)
        per_image = max(1, max_pixels // max(1, len(images)))
        rng = np.random.default_rng(0)
        for im in images:
            flat = im.reshape(-1, 3)
            pick = flat[rng.choice(len(flat), size=min(per_image, len(flat)), replace=False)]
            rgb = torch.from_numpy(np.ascontiguousarray(pick, dtype=np.float32)).T[None, :, :, None]
            _, ab = rgb_to_lab_norm(rgb)
            counts += torch.bincount(ab_bin_index(ab).flatten(), minlength=AB_BINS * AB_BINS).float()
        return counts

    def train_dataloader(self) -> DataLoader:
        hp = self.hparams
        return DataLoader(self.dataset("train"), batch_size=hp.batch_size, shuffle=True, drop_last=False,
                          num_workers=hp.num_workers, persistent_workers=hp.num_workers > 0)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("val"), batch_size=1, collate_fn=_eval_collate)

    def test_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset("test"), batch_size=1, collate_fn=_eval_collate)
