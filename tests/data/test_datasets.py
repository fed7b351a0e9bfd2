"""SegmentationDataset items (full images, crops, repeats, cache) and the padding collate."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from colorseg.data.datasets import SegmentationDataset, pad_collate
from colorseg.data.sources import build_source


def _folder_source(root: Path, **kw):
    return build_source("folder", root=root, class_names=["bg", "a", "b"], **kw)


def test_item_keys_shapes_dtypes_and_values(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset)
    ds = SegmentationDataset(src, src.pool())
    assert len(ds) == 6
    item = ds[3]
    assert set(item) == {"image", "mask", "name", "size"}
    assert item["image"].shape == (3, 36, 40) and item["image"].dtype == torch.float32
    assert item["mask"].shape == (36, 40) and item["mask"].dtype == torch.int64
    assert item["name"] == "img_3" and item["size"] == (36, 40)
    stored = np.asarray(Image.open(folder_dataset / "images" / "img_3.png")) / 255.0
    np.testing.assert_allclose(item["image"].numpy(), stored.transpose(2, 0, 1), atol=1e-6)
    stored_mask = np.asarray(Image.open(folder_dataset / "masks" / "img_3.png"))
    np.testing.assert_array_equal(item["mask"].numpy(), stored_mask)


def test_gray_items(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset, in_channels=1)
    item = SegmentationDataset(src, src.pool())[0]
    assert item["image"].shape == (1, 36, 40)


@pytest.mark.parametrize("channels", [1, 3])
def test_crops(folder_dataset: Path, channels: int) -> None:
    src = _folder_source(folder_dataset, in_channels=channels)
    ds = SegmentationDataset(src, src.pool(), crop_size=16, scale_range=(0.8, 1.25))
    torch.manual_seed(0)
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (channels, 16, 16) and item["mask"].shape == (16, 16)
        assert item["size"] == (16, 16) and item["mask"].dtype == torch.int64
        assert set(item["mask"].unique().tolist()) <= {0, 1, 2}  # 16 < 36 * 0.8: no padding
        assert 0 <= item["image"].min() and item["image"].max() <= 1


def test_crop_without_scaling_is_a_window(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset)
    full = SegmentationDataset(src, src.pool())[2]
    torch.manual_seed(1)
    crop = SegmentationDataset(src, src.pool(), crop_size=20)[2]
    hits = [(t, l) for t in range(36 - 19) for l in range(40 - 19)
            if torch.equal(full["image"][:, t:t + 20, l:l + 20], crop["image"])]
    assert len(hits) == 1
    t, l = hits[0]
    assert torch.equal(full["mask"][t:t + 20, l:l + 20], crop["mask"])


def test_crop_larger_than_image_pads_with_ignore(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset, ignore_index=99)
    item = SegmentationDataset(src, src.pool(), crop_size=48)[0]
    assert item["image"].shape == (3, 48, 48) and item["size"] == (48, 48)
    assert (item["mask"][36:] == 99).all() and (item["mask"][:, 40:] == 99).all()
    assert (item["image"][:, 36:] == 0).all() and (item["image"][:, :, 40:] == 0).all()
    assert set(item["mask"][:36, :40].unique().tolist()) == {0, 1, 2}


def test_repeats(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset)
    ds = SegmentationDataset(src, src.pool()[:4], repeats=3)
    assert len(ds) == 12
    assert [ds[i]["name"] for i in range(12)] == [f"img_{i % 4}" for i in range(12)]
    assert torch.equal(ds[1]["image"], ds[9]["image"])
    assert len(SegmentationDataset(src, src.pool(), repeats=0)) == 6  # at least once


class _CountingSource:
    """Wraps a source and counts load() calls."""

    def __init__(self, src) -> None:
        self.src, self.calls = src, 0
        self.ignore_index = src.ignore_index

    def load(self, sample):
        self.calls += 1
        return self.src.load(sample)


@pytest.mark.parametrize("cache, expected_calls", [(True, 2), (False, 6)])
def test_cache(folder_dataset: Path, cache: bool, expected_calls: int) -> None:
    counting = _CountingSource(_folder_source(folder_dataset))
    ds = SegmentationDataset(counting, counting.src.pool()[:2], cache=cache)
    first = [ds[i] for i in range(2)]
    for _ in range(2):
        again = [ds[i] for i in range(2)]
        for a, b in zip(first, again):
            assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    assert counting.calls == expected_calls


def test_cache_picks_up_nothing_stale_between_datasets(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset)
    a = SegmentationDataset(src, src.pool()[:1])
    b = SegmentationDataset(src, src.pool()[1:2])
    assert a[0]["name"] == "img_0" and b[0]["name"] == "img_1"
    assert not torch.equal(a[0]["image"], b[0]["image"])


def test_synthetic_source_dataset() -> None:
    src = build_source("synthetic_em", num_images=3, image_size=24, seed=1)
    ds = SegmentationDataset(src, src.pool())
    item = ds[2]
    assert item["image"].shape == (1, 24, 24) and item["mask"].shape == (24, 24)
    image, mask = src.load(src.pool()[2])
    np.testing.assert_array_equal(item["image"].numpy()[0], image[:, :, 0])
    np.testing.assert_array_equal(item["mask"].numpy(), mask)


# --------------------------------------------------------------------------- pad_collate


def _item(name: str, c: int, h: int, w: int, fill: float, label: int) -> dict:
    return {"image": torch.full((c, h, w), fill),
            "mask": torch.full((h, w), label, dtype=torch.long),
            "name": name, "size": (h, w)}


def test_pad_collate_pads_and_records_sizes() -> None:
    items = [_item("a", 3, 5, 7, 0.5, 1), _item("b", 3, 8, 4, 0.25, 2), _item("c", 3, 8, 7, 1.0, 0)]
    batch = pad_collate(items, ignore_index=77)
    assert batch["image"].shape == (3, 3, 8, 7) and batch["mask"].shape == (3, 8, 7)
    assert batch["mask"].dtype == torch.long
    assert batch["name"] == ["a", "b", "c"]
    assert batch["size"].dtype == torch.long
    assert batch["size"].tolist() == [[5, 7], [8, 4], [8, 7]]
    for i, it in enumerate(items):
        h, w = it["size"]
        assert torch.equal(batch["image"][i, :, :h, :w], it["image"])
        assert torch.equal(batch["mask"][i, :h, :w], it["mask"])
        pad = torch.ones(8, 7, dtype=torch.bool)
        pad[:h, :w] = False
        assert (batch["mask"][i][pad] == 77).all()
        assert (batch["image"][i][:, pad] == 0).all()
    assert pad_collate(items)["mask"][0, 7, 0] == 255  # default ignore_index


def test_pad_collate_in_a_dataloader(folder_dataset: Path) -> None:
    src = _folder_source(folder_dataset)
    ds = SegmentationDataset(src, src.pool()[:3])
    # make sizes differ: a second source with a smaller image
    small = folder_dataset / "small"
    small_img = np.zeros((20, 30, 3), np.uint8)
    for sub in ("images", "masks"):
        (small / sub).mkdir(parents=True)
    Image.fromarray(small_img).save(small / "images" / "s.png")
    Image.fromarray(np.ones((20, 30), np.uint8)).save(small / "masks" / "s.png")
    small_src = _folder_source(small)
    items = [ds[0], SegmentationDataset(small_src, small_src.pool())[0], ds[1]]
    collate = partial(pad_collate, ignore_index=src.ignore_index)
    loader = DataLoader(items, batch_size=3, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["image"].shape == (3, 3, 36, 40)
    assert batch["size"].tolist() == [[36, 40], [20, 30], [36, 40]]
    assert (batch["mask"][1, 20:] == 255).all() and (batch["mask"][1, :20, :30] == 1).all()
    assert batch["name"] == ["img_0", "s", "img_1"]
