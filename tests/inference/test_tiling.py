"""Tiled inference: matches whole-image prediction, any size, bounded memory, TTA."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from colorseg.errors import ConfigError
from colorseg.inference.segmenter import Segmenter
from colorseg.inference.tiling import TileConfig, apply_tta, blend_window, predict_tiled
from colorseg.models.padding import mirror_index
from colorseg.training.segmenter_module import SegmenterModule


def _to_tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


@pytest.mark.parametrize("blend", ["gaussian", "cosine", "constant"])
@pytest.mark.parametrize("shape", [(203, 301), (64, 200), (1, 130), (50, 50)])
def test_pointwise_model_tiled_equals_whole(blend, shape) -> None:
    """With a per-pixel model, any blend of overlapping windows must reproduce the whole image."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 1)

    def probs(x):
        return conv(x).softmax(1)

    image = np.random.default_rng(0).random((*shape, 3)).astype(np.float32)
    labels, tiled = predict_tiled(probs, image, _to_tensor, 4, TileConfig(tile=48, overlap=16, blend=blend,
                                                                             batch_size=3), 16, True)
    with torch.no_grad():
        whole = probs(_to_tensor(image)[None])[0].numpy()
    assert tiled.shape == (4, *shape) and labels.dtype == np.uint8
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    assert np.array_equal(labels, whole.argmax(0))


def test_unet_tiled_matches_whole_image() -> None:
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["a", "b", "c"], in_channels=3, depth=2, base_width=8)
    image = np.random.default_rng(1).integers(0, 256, (150, 230, 3), dtype=np.uint8)
    tiled_mask, tiled = Segmenter(module.to_model(), tiling=TileConfig(tile=96, overlap=48)).predict(image, return_probs=True)
    whole_mask, whole = Segmenter(module.to_model(), tiling=TileConfig(tile=1024)).predict(image, return_probs=True)
    assert (tiled_mask == whole_mask).mean() > 0.995
    assert np.abs(tiled - whole).mean() < 1e-3
    np.testing.assert_allclose(tiled.sum(0), 1.0, atol=1e-5)


def test_mirror_index_reflects_without_repeating_the_edge() -> None:
    assert mirror_index(np.arange(-3, 8), 5).tolist() == [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1]
    assert mirror_index(np.arange(-20, 20), 3).min() >= 0 and mirror_index(np.arange(-20, 20), 3).max() <= 2
    assert mirror_index(np.arange(-2, 3), 1).tolist() == [0] * 5


@pytest.mark.parametrize("kind", ["gaussian", "cosine", "constant"])
def test_blend_window_is_positive_symmetric_and_peaks_at_one(kind) -> None:
    w = blend_window(32, kind)
    assert w.shape == (32, 32) and w.min() > 0 and w.max() == pytest.approx(1.0)
    assert torch.allclose(w, w.flip(0)) and torch.allclose(w, w.T)
    if kind != "constant":
        assert w[0, 0] < w[16, 16]


@pytest.mark.parametrize("tta", ["hflip", "flips", "d4"])
def test_tta_undoes_its_transforms(tta) -> None:
    """An equivariant (per-pixel) model gives the same output with and without TTA."""
    conv = torch.nn.Conv2d(1, 2, 1)
    x = torch.rand(2, 1, 12, 17)
    with torch.no_grad():
        np.testing.assert_allclose(apply_tta(conv, x, tta).numpy(), conv(x).numpy(), atol=1e-6)


def test_hflip_tta_averages_the_image_and_its_mirror_only() -> None:
    """hflip: the mean of the prediction and the un-mirrored prediction of the mirror; no
    vertical flips (a model that knows up from down must never see the image upside down)."""
    calls = []

    def predict(x: torch.Tensor) -> torch.Tensor:
        calls.append(x.clone())
        return torch.cumsum(x, -2)  # depends on up/down and left/right

    x = torch.rand(1, 1, 6, 9)
    out = apply_tta(predict, x, "hflip")
    assert len(calls) == 2 and torch.equal(calls[1], x.flip(-1))
    torch.testing.assert_close(out, (torch.cumsum(x, -2) + torch.cumsum(x.flip(-1), -2).flip(-1)) / 2)


def test_tta_is_used_by_segmenter_and_stays_a_distribution() -> None:
    torch.manual_seed(0)
    module = SegmenterModule(class_names=["a", "b"], in_channels=1, depth=2, base_width=4)
    image = np.random.default_rng(0).random((40, 52)).astype(np.float32)
    _, plain = Segmenter(module.to_model()).predict(image, return_probs=True)
    _, tta = Segmenter(module.to_model(), tiling=TileConfig(tta="d4")).predict(image, return_probs=True)
    assert not np.allclose(plain, tta)
    np.testing.assert_allclose(tta.sum(0), 1.0, atol=1e-5)


@pytest.mark.parametrize("kwargs, word", [({"tile": 4}, "tile"), ({"overlap": 600}, "overlap"),
                                          ({"blend": "box"}, "blend"), ({"tta": "rot"}, "tta"),
                                          ({"batch_size": 0}, "batch_size")])
def test_bad_tile_config_names_the_value(kwargs, word) -> None:
    with pytest.raises(ConfigError, match=word):
        TileConfig(**kwargs)


def test_8192_image_segments_in_bounded_memory() -> None:
    """An 8192×8192 image is tiled automatically; the whole process peaks well under 2 GiB."""
    code = textwrap.dedent("""
        import numpy as np, torch
        from colorseg.inference.segmenter import Segmenter
        from colorseg.inference.tiling import TileConfig
        from colorseg.training.segmenter_module import SegmenterModule
        torch.manual_seed(0)
        module = SegmenterModule(class_names=["a", "b"], in_channels=1, depth=2, base_width=2)
        image = np.random.default_rng(0).integers(0, 256, (8192, 8192), dtype=np.uint8)
        mask = Segmenter(module.to_model(), tiling=TileConfig(tile=512, overlap=64, batch_size=2)).predict(image)
        assert mask.shape == (8192, 8192) and mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        # VmHWM is this process's own peak (ru_maxrss would include pytest's size across the exec)
        print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False,
                         env={"OMP_NUM_THREADS": "2", "PATH": ""})
    assert out.returncode == 0, out.stderr
    peak_mib = int(out.stdout.split()[-1]) / 1024
    assert peak_mib < 2048, f"peak RSS {peak_mib:.0f} MiB"


def test_argmax_classes_matches_torch_argmax_including_ties() -> None:
    from colorseg.inference.tiling import argmax_classes

    p = torch.randint(0, 3, (5, 13, 17)).float()  # many ties
    assert torch.equal(argmax_classes(p).long(), p.argmax(0))


def test_recombine_rows_matches_whole_image_recombine() -> None:
    from colorseg.data.lab import recombine
    from colorseg.inference import colorizer

    torch.manual_seed(0)
    for h, w, lh, lw in ((1030, 701, 96, 65), (37, 53, 96, 137), (5, 1300, 96, 96)):
        L = torch.rand(1, 1, h, w) * 2 - 1
        ab = (torch.rand(3, 2, lh, lw) * 2 - 1) * 0.5
        expected = recombine(L.expand(3, -1, -1, -1), ab).permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(colorizer.recombine_rows(L, ab), expected, atol=1e-3)


def test_evaluation_tiles_images_larger_than_the_tile() -> None:
    from colorseg.evaluation.segmentation import predict_labels

    torch.manual_seed(0)
    module = SegmenterModule(class_names=["a", "b"], in_channels=1, depth=2, base_width=4)
    image = torch.rand(1, 70, 90)
    tiled = Segmenter(module.to_model(), tiling=TileConfig(tile=32, overlap=8))
    labels = predict_labels(tiled, image)
    assert labels.shape == (1, 70, 90) and labels.dtype == torch.int64
    assert np.array_equal(labels[0].numpy(), tiled.predict(image[0].numpy()))
    whole = Segmenter(module.to_model())
    assert torch.equal(predict_labels(whole, image), whole.predict_tensor(image[None]).argmax(1))


def test_thin_images_use_short_windows() -> None:
    """A 3×5000 strip needs ~13 small windows, not 512² ones filled with mirrored rows."""
    conv = torch.nn.Conv2d(1, 2, 1)
    shapes = []

    def probs(x):
        shapes.append(tuple(x.shape[-2:]))
        return conv(x).softmax(1)

    image = np.random.default_rng(0).random((3, 5000, 1)).astype(np.float32)
    _, tiled = predict_tiled(probs, image, _to_tensor, 2, TileConfig(tile=512, overlap=128), 16, True)
    with torch.no_grad():
        whole = probs(_to_tensor(image)[None])[0].numpy()
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
    window_shapes = set(shapes[:-1])
    assert window_shapes == {(144, 512)} and len(shapes) - 1 <= 16
