"""Property tests (hypothesis): transforms keep image and mask aligned, for any size and seed.

Each image pixel holds its own position (a unique id, or row/column coordinates), so after a
transform the image says where every output pixel came from; the mask there must hold the
source mask's value at that place.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from colorseg.data.transforms import AugmentConfig, SegmentationAugment, random_scale_crop

SETTINGS = settings(max_examples=40, deadline=None)
IGNORE = 255
NO_INTENSITY = {"brightness_p": 0, "contrast_p": 0, "gamma_p": 0, "noise_p": 0, "blur_p": 0}
EXACT_ONLY = {"rotate_p": 0, "elastic_p": 0}


def _masks(b: int, h: int, w: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, (b, h, w), generator=g)


def _id_image(b: int, channels: int, h: int, w: int) -> torch.Tensor:
    """(B, C, H, W): pixel (y, x) holds (y·W + x + 1) / (H·W + 1), exact in float32 for these sizes."""
    ids = (torch.arange(h * w, dtype=torch.float64).view(h, w) + 1) / (h * w + 1)
    return ids.float()[None, None].expand(b, channels, h, w).clone()


def _coordinate_image(b: int, h: int, w: int) -> torch.Tensor:
    """(B, 2, H, W): channel 0 / 1 hold each pixel's row / column, mapped into (0, 1)."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    return torch.stack([(yy + 1) / (h + 1), (xx + 1) / (w + 1)])[None].expand(b, 2, h, w).clone()


def _assert_mask_near_sampled_place(image: torch.Tensor, mask: torch.Tensor, src_mask: torch.Tensor,
                                    tol: float) -> None:
    """Where the mask is kept, its label occurs in the source within ``tol`` pixels (per axis) of
    the place the (interpolated) coordinate image says the pixel was sampled from."""
    h, w = src_mask.shape
    y = image[0] * (h + 1) - 1
    x = image[1] * (w + 1) - 1
    valid = mask != IGNORE
    assert (y[valid] > -tol).all() and (x[valid] > -tol).all()  # kept pixels come from inside the image
    for py, px, label in zip(y[valid].tolist(), x[valid].tolist(), mask[valid].tolist()):
        y0, y1 = max(0, math.ceil(py - tol)), math.floor(py + tol) + 1
        x0, x1 = max(0, math.ceil(px - tol)), math.floor(px + tol) + 1
        assert (src_mask[y0:y1, x0:x1] == label).any(), (py, px, label)


@SETTINGS
@given(h=st.integers(2, 40), w=st.integers(2, 40), channels=st.sampled_from([1, 3]), k=st.integers(2, 6),
       p=st.tuples(*[st.sampled_from([0.0, 0.5, 1.0])] * 3), seed=st.integers(0, 2**16))
def test_flips_and_rot90_move_image_and_mask_together(h, w, channels, k, p, seed) -> None:
    """Pixel-exact for any frame (a quarter turn of a non-square frame crops/pads by whole pixels)."""
    torch.manual_seed(seed)
    cfg = AugmentConfig(hflip_p=p[0], vflip_p=p[1], rot90_p=p[2], **EXACT_ONLY, **NO_INTENSITY)
    mask = _masks(3, h, w, k, seed)
    image = _id_image(3, channels, h, w)
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    assert out_image.shape == image.shape and out_mask.shape == mask.shape
    assert torch.equal(out_image[:, :1].expand_as(out_image), out_image)  # channels moved together
    ids = (out_image[:, 0].double() * (h * w + 1)).round().long() - 1  # −1: padding (image 0)
    valid = out_mask != IGNORE
    assert (ids[valid] >= 0).all()  # every kept mask pixel came from inside the image
    src = mask.view(3, -1).gather(1, ids.clamp(min=0).view(3, -1)).view(3, h, w)
    assert torch.equal(out_mask[valid], src[valid])
    if h == w or p[2] == 0:  # no 90° turn of a non-square frame: nothing is padded
        assert valid.all()


@SETTINGS
@given(h=st.integers(1, 40), w=st.integers(1, 40), crop=st.integers(1, 32), channels=st.sampled_from([1, 3]),
       seed=st.integers(0, 2**16))
def test_random_crop_takes_the_same_window_from_both(h, w, crop, channels, seed) -> None:
    mask = _masks(1, h, w, 4, seed)[0]
    image = _id_image(1, channels, h, w)[0]
    g = torch.Generator().manual_seed(seed)
    out_image, out_mask = random_scale_crop(image, mask, crop, (1.0, 1.0), IGNORE, generator=g)
    assert out_image.shape == (channels, crop, crop) and out_mask.shape == (crop, crop)
    ids = (out_image[0].double() * (h * w + 1)).round().long() - 1
    inside = ids >= 0
    assert torch.equal(inside, out_mask != IGNORE)  # padding: image 0 and mask ignore, together
    assert torch.equal(out_mask[inside], mask.view(-1)[ids[inside]])
    if inside.any():  # a window: consecutive source rows and columns
        ys, xs = torch.div(ids[inside], w, rounding_mode="floor"), ids[inside] % w
        rows, cols = inside.nonzero().unbind(1)
        assert torch.equal(ys - rows, (ys - rows)[:1].expand_as(ys))
        assert torch.equal(xs - cols, (xs - cols)[:1].expand_as(xs))


@SETTINGS
@given(h=st.integers(2, 40), w=st.integers(2, 40), crop=st.integers(2, 32),
       scale=st.tuples(st.floats(0.5, 1.0), st.floats(1.0, 2.0)), seed=st.integers(0, 2**16))
def test_rescaled_crop_keeps_mask_within_half_a_pixel_of_the_image(h, w, crop, scale, seed) -> None:
    """Bilinear image and nearest-neighbour mask sample the same place to within half a source pixel."""
    mask = _masks(1, h, w, 4, seed)[0]
    g = torch.Generator().manual_seed(seed)
    out_image, out_mask = random_scale_crop(_coordinate_image(1, h, w)[0], mask, crop, scale, IGNORE, generator=g)
    _assert_mask_near_sampled_place(out_image, out_mask, mask, tol=0.51)
