"""Lab handling and colour data: round trip, recombination, sources, grayscale skipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from colorseg.data.color_datasets import ColorDataset, resize_short_side
from colorseg.data.color_sources import (
    SYN_CIRCLE_BLUE,
    SYN_CIRCLE_RED,
    build_color_source,
    is_grayscale,
    make_color_sample,
)
from colorseg.data.lab import lab_norm_to_rgb, recombine, rgb_to_lab_norm
from colorseg.errors import ConfigError, DataError
from colorseg.training.color_datamodule import ColorizationDataModule


def test_lab_round_trip_within_tolerance() -> None:
    rgb = torch.rand(2, 3, 17, 23)
    L, ab = rgb_to_lab_norm(rgb)
    assert L.shape == (2, 1, 17, 23) and ab.shape == (2, 2, 17, 23)
    assert L.min() >= -1 - 1e-5 and L.max() <= 1 + 1e-5 and ab.abs().max() <= 1.2
    assert torch.allclose(lab_norm_to_rgb(L, ab), rgb, atol=2e-3)


def test_gray_has_zero_ab() -> None:
    gray = torch.rand(1, 1, 8, 8).expand(-1, 3, -1, -1)
    _, ab = rgb_to_lab_norm(gray)
    assert ab.abs().max() < 1e-3


def test_recombine_keeps_full_resolution_detail() -> None:
    rgb = torch.rand(1, 3, 40, 60)
    L, ab = rgb_to_lab_norm(rgb)
    ab_low = torch.nn.functional.interpolate(ab, size=(10, 15), mode="bilinear", align_corners=False)
    out = recombine(L, ab_low)
    assert out.shape == (1, 3, 40, 60)
    L_out, _ = rgb_to_lab_norm(out)
    assert (L_out - L).abs().mean() < 0.02  # lightness (detail) is the original's, up to gamut clipping


def test_synthetic_circles_have_two_colours_of_equal_lightness() -> None:
    assert SYN_CIRCLE_RED[0] == SYN_CIRCLE_BLUE[0]
    a = make_color_sample(0, 3)
    assert np.array_equal(a, make_color_sample(0, 3)) and a.shape == (64, 64, 3)
    hues = set()
    for i in range(30):
        im = make_color_sample(0, i)
        r, b = im[..., 0], im[..., 2]
        hues |= {"red"} if ((r > 0.6) & (b < 0.4)).sum() > 20 else set()
        hues |= {"blue"} if ((b > 0.6) & (r < 0.3)).sum() > 20 else set()
    assert hues == {"red", "blue"}


def test_folder_source_skips_gray_and_thumbs(tmp_path) -> None:
    rng = np.random.default_rng(0)
    (tmp_path / "sub").mkdir()
    for i in range(6):
        Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8)).save(tmp_path / "sub" / f"c{i}.png")
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(tmp_path / "g.png")
    (tmp_path / "Thumbs.db").write_bytes(b"x")
    dm = ColorizationDataModule(source="folder", root=str(tmp_path), image_size=16, val_fraction=0.2,
                                test_fraction=0.2)
    with pytest.warns(UserWarning, match="skipped 1 grayscale-only image"):
        images = [dm.load_split(s)[0] for s in ("train", "val", "test")]
    assert sum(len(x) for x in images) == 6


def test_grayscale_only_training_folder_is_an_error(tmp_path) -> None:
    for i in range(4):
        Image.fromarray(np.full((10, 10), 30 * i, np.uint8)).save(tmp_path / f"g{i}.png")
    dm = ColorizationDataModule(source="folder", root=str(tmp_path), image_size=8, val_fraction=0.0,
                                test_fraction=0.0)
    with pytest.raises(DataError, match="grayscale"), pytest.warns(UserWarning):
        dm.load_split("train")


def test_corrupt_colour_file_named(tmp_path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    dm = ColorizationDataModule(source="folder", root=str(tmp_path), image_size=8, val_fraction=0.0,
                                test_fraction=0.0)
    with pytest.raises(DataError, match="bad.jpg"):
        dm.load_split("train")


def test_bsds500_layout(tmp_path) -> None:
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        d = tmp_path / "images" / split
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray((np.random.rand(12, 18, 3) * 255).astype(np.uint8)).save(d / f"{split}{i}.jpg")
        (d / "Thumbs.db").write_bytes(b"x")
    splits = build_color_source("bsds500", tmp_path).splits()
    assert len(splits["train"]) == 5 and len(splits["test"]) == 2 and splits["val"] == []
    dm = ColorizationDataModule(source="bsds500", root=str(tmp_path), image_size=8, val_from_train=1)
    assert len(dm.load_split("train")[0]) == 4 and len(dm.load_split("val")[0]) == 1


def test_unknown_source_and_missing_root() -> None:
    with pytest.raises(ConfigError, match="unknown colour data source"):
        build_color_source("nope")
    with pytest.raises(ConfigError, match="needs data.root"):
        build_color_source("folder")


def test_color_dataset_crops_and_eval_sizes() -> None:
    images = [np.random.rand(30, 50, 3).astype(np.float32)]
    train = ColorDataset(images, ["a"], image_size=16, train=True, repeats=3)
    assert len(train) == 3 and train[0]["rgb"].shape == (3, 16, 16)
    ev = ColorDataset(images, ["a"], image_size=16, train=False)[0]
    assert ev["rgb"].shape == (3, 16, 27) and ev["rgb_full"].shape == (3, 30, 50)
    assert resize_short_side(torch.rand(3, 40, 20), 10).shape == (3, 20, 10)
    assert is_grayscale(np.repeat(np.random.rand(4, 4, 1), 3, axis=2))


@pytest.mark.skipif(not (__import__("pathlib").Path(__file__).resolve().parents[3] / "shared/data/bsds500").is_dir(),
                    reason="../shared/data/bsds500 not present")
def test_real_bsds500_counts() -> None:
    root = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared/data/bsds500"
    splits = build_color_source("bsds500", root).splits()
    assert len(splits["train"]) == 300 and len(splits["test"]) == 200
