"""ColorizationDataModule: colour images → cached arrays (or files streamed by the loader
workers) → crops at working resolution."""

from __future__ import annotations

import warnings

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from colorseg.data.color_datasets import to_uint8
from colorseg.data.color_sources import is_grayscale
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
        preload: True (default): decode every image of a split into memory when the split is first
            used (grayscale-only images dropped up front). False: stream, for folders too large
            for memory (ImageNet): the datasets hold file paths only and the DataLoader workers
            decode each file per item; validation / test images are the same as preloaded ones
            (their grayscale-only images are found by reading them once), a grayscale-only
            training image is replaced by the next one when it comes up (counted, with warnings:
            :class:`~colorseg.data.color_datasets.ColorFileDataset`); an unreadable file stops
            the run with an error naming it (possibly mid-epoch). See
            :class:`~colorseg.data.split_datasets.ColorSplits`.
        batch_size: training batch per process (under DDP the global batch is this × processes).
        num_workers: DataLoader worker processes for training, and when streaming also for
            validation / test (preloaded evaluation images are decoded already).
        persistent_workers: keep the workers alive between epochs (only with num_workers > 0).
        pin_memory: page-locked batches for faster host → GPU copies (GPU training only).
        histogram_images: when streaming, the training ab histogram (for ``rarity_weighting``) is
            counted over this many training files, chosen with a fixed seed (the same files in
            every process, so every DDP rank gets the same weights), grayscale-only ones left
            out; a preloaded split counts all of its images.
    """

    def __init__(self, source: str = "synthetic", root: str | None = None, image_size: int = 64,
                 max_zoom: float = 1.25, batch_size: int = 16, num_workers: int = 0, repeats: int = 1,
                 val_from_train: int = 20, num_images: int = 256, synthetic_size: int = 64, seed: int = 0,
                 val_fraction: float = 0.1, test_fraction: float = 0.1,
                 extra_train_roots: list[str] | None = None, preload: bool = True,
                 persistent_workers: bool = True, pin_memory: bool = False, histogram_images: int = 2000) -> None:
        super().__init__()
        if histogram_images < 1:
            raise ConfigError(f"data.histogram_images must be at least 1, got {histogram_images}")
        self.save_hyperparameters()
        # the splits themselves are built by data code that evaluation shares (colorseg.data.split_datasets)
        self.splits = ColorSplits(source=source, root=root, image_size=image_size, max_zoom=max_zoom,
                                  repeats=repeats, val_from_train=val_from_train, num_images=num_images,
                                  synthetic_size=synthetic_size, seed=seed, val_fraction=val_fraction,
                                  test_fraction=test_fraction, extra_train_roots=extra_train_roots,
                                  preload=preload)
        self.source = self.splits.source
        self.gray_skipped = 0  # streaming: grayscale-only images replaced in this process's training batches

    @property
    def image_size(self) -> int:
        """Working resolution (linked into the model, stored in checkpoints)."""
        return int(self.hparams.image_size)

    def load_split(self, split: str) -> tuple[list[np.ndarray], list[str]]:
        """Decoded colour images (H, W, 3) and names of a split (grayscale-only ones dropped).
        Decodes the whole split into memory, also when streaming."""
        return self.splits.load_split(split)

    def dataset(self, split: str) -> Dataset:
        return self.splits.dataset(split)

    def _histogram_images(self):
        """The images the ab histogram counts: the preloaded training split, or (streaming)
        ``histogram_images`` seeded training files, decoded one at a time, grayscale-only ones left out."""
        if self.splits.preload:
            images, _ = self.load_split("train")
            return len(images), iter(images)
        table = self.splits.sample_tables()["train"]
        n = min(int(self.hparams.histogram_images), len(table))
        picked = np.sort(np.random.default_rng(self.hparams.seed).choice(len(table), size=n, replace=False))
        images = (table[int(i)].load() for i in picked)
        # quantized as the streamed training items see them
        return n, (to_uint8(im).astype(np.float32) / 255.0 for im in images if not is_grayscale(im))

    def ab_histogram(self, max_pixels: int = 2_000_000) -> torch.Tensor:
        """Counts of training ab values over the AB_BINS² grid (for rarity weighting): up to
        ``max_pixels`` seeded pixels spread over the images; when streaming, over
        ``histogram_images`` seeded training files only (1.2 M ImageNet photos are not read for it)."""
        n_images, images = self._histogram_images()
        counts = torch.zeros(AB_BINS * AB_BINS)
        per_image = max(1, max_pixels // max(1, n_images))
        rng = np.random.default_rng(0)
        for im in images:
            flat = im.reshape(-1, 3)
            pick = flat[rng.choice(len(flat), size=min(per_image, len(flat)), replace=False)]
            rgb = torch.from_numpy(np.ascontiguousarray(pick, dtype=np.float32)).T[None, :, :, None]
            _, ab = rgb_to_lab_norm(rgb)
            counts += torch.bincount(ab_bin_index(ab).flatten(), minlength=AB_BINS * AB_BINS).float()
        return counts

    def _loader(self, dataset: Dataset, train: bool) -> DataLoader:
        hp = self.hparams
        workers = hp.num_workers if train or not self.splits.preload else 0
        options = {"num_workers": workers, "persistent_workers": bool(hp.persistent_workers) and workers > 0,
                   "pin_memory": bool(hp.pin_memory)}
        if train:
            return DataLoader(dataset, batch_size=hp.batch_size, shuffle=True, drop_last=False, **options)
        return DataLoader(dataset, batch_size=1, collate_fn=_eval_collate, **options)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("train"), train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("val"), train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("test"), train=False)

    def on_before_batch_transfer(self, batch, dataloader_idx: int):
        # streamed training batches say how many grayscale-only images their items replaced
        if isinstance(batch, dict) and "gray_skipped" in batch:
            self.gray_skipped += int(torch.as_tensor(batch.pop("gray_skipped")).sum())
        return batch

    def teardown(self, stage: str) -> None:
        if stage == "fit" and self.gray_skipped:
            warnings.warn(f"{self.gray_skipped} grayscale-only training image(s) were replaced by the next image "
                          "in this process's training batches (streaming: data.preload=false)", stacklevel=2)
            self.gray_skipped = 0

