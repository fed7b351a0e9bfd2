"""Augmentation keeps image and mask aligned; padding becomes ignore; random scale + crop."""

from __future__ import annotations

import pytest
import torch

from colorseg.data.transforms import (
    AugmentConfig,
    SegmentationAugment,
    build_augment,
    random_scale_crop,
)

IGNORE = 255
NO_INTENSITY = {"brightness_p": 0, "contrast_p": 0, "gamma_p": 0, "noise_p": 0, "blur_p": 0}
ALL_GEOMETRIC = {"hflip_p": 1, "vflip_p": 1, "rot90_p": 1, "rotate_p": 1, "rotate_degrees": 25, "elastic_p": 1}
NO_GEOMETRIC = {"hflip_p": 0, "vflip_p": 0, "rot90_p": 0, "rotate_p": 0, "elastic_p": 0}


def _blocks_mask(b: int, h: int, w: int) -> torch.Tensor:
    """Asymmetric layout of classes 0..3, so flips/rotations are visible."""
    mask = torch.zeros(b, h, w, dtype=torch.long)
    mask[:, h // 10: h // 2, w // 10: 3 * w // 5] = 1
    mask[:, 3 * h // 5: 9 * h // 10, w // 4: 9 * w // 10] = 2
    mask[:, 2 * h // 3:, : w // 6] = 3
    return mask


@pytest.mark.parametrize("channels", [1, 3])
def test_geometric_transforms_keep_image_and_mask_aligned(channels: int) -> None:
    torch.manual_seed(0)
    num_classes = 4
    aug = SegmentationAugment(AugmentConfig(**ALL_GEOMETRIC, **NO_INTENSITY), ignore_index=IGNORE)
    mask = _blocks_mask(4, 128, 128)
    image = (mask.float() / num_classes)[:, None].repeat(1, channels, 1, 1)
    out_image, out_mask = aug(image, mask)
    assert out_image.shape == image.shape and out_mask.shape == mask.shape
    assert out_mask.dtype == torch.long
    valid = out_mask != IGNORE
    assert valid.float().mean() > 0.5
    assert not torch.equal(out_mask, mask)  # something actually moved
    for c in range(channels):
        scaled = out_image[:, c] * num_classes
        decoded = scaled.round().long()
        mismatch = (decoded != out_mask)[valid].float().mean().item()
        assert mismatch < 0.03, f"channel {c}: {mismatch:.3%} of pixels disagree"
        # pixels not blended by interpolation (away from class edges) agree almost everywhere
        pure = valid & ((scaled - decoded).abs() < 0.05)
        assert pure.float().sum() > 0.8 * valid.float().sum()
        assert (decoded != out_mask)[pure].float().mean().item() < 0.01


def test_alignment_check_detects_a_misaligned_pair() -> None:
    """Sanity check of the measure above: a mask flipped alone disagrees on many pixels."""
    mask = _blocks_mask(1, 96, 96)
    decoded = ((mask.float() / 4) * 4).round().long()
    assert (decoded != mask.flip(-1)).float().mean() > 0.2


@pytest.mark.parametrize("name", ["hflip_p", "vflip_p", "rot90_p"])
def test_exact_transforms_are_pixel_exact(name: str) -> None:
    torch.manual_seed(1)
    cfg = AugmentConfig(**{**NO_GEOMETRIC, name: 1.0}, **NO_INTENSITY)
    mask = _blocks_mask(2, 32, 32)  # square: 90° rotations stay inside the frame
    image = torch.rand(2, 3, 32, 32)
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    assert (out_mask != IGNORE).all()
    for b in range(2):
        candidates = [(image[b].flip(-1), mask[b].flip(-1)), (image[b].flip(-2), mask[b].flip(-2))]
        candidates += [(torch.rot90(image[b], k, (1, 2)), torch.rot90(mask[b], k, (0, 1)))
                       for k in (1, 2, 3)]
        assert any(torch.allclose(out_image[b], ci, atol=1e-5) and torch.equal(out_mask[b], cm)
                   for ci, cm in candidates)


def test_padded_pixels_become_ignore() -> None:
    torch.manual_seed(2)
    cfg = AugmentConfig(**{**NO_GEOMETRIC, "rotate_p": 1.0, "rotate_degrees": 40}, **NO_INTENSITY)
    mask = torch.full((4, 40, 40), 2, dtype=torch.long)
    image = torch.ones(4, 1, 40, 40)
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    outside = out_image[:, 0] == 0  # purely padding
    inside = out_image[:, 0] == 1  # purely image
    assert outside.sum() > 20
    assert (out_mask[outside] == IGNORE).all()
    assert (out_mask[inside] == 2).all()
    assert set(out_mask.unique().tolist()) == {2, IGNORE}
    # the centre never leaves the frame
    assert (out_mask[:, 20, 20] == 2).all()


def test_rot90_on_non_square_pads_with_ignore() -> None:
    torch.manual_seed(3)
    cfg = AugmentConfig(**{**NO_GEOMETRIC, "rot90_p": 1.0}, **NO_INTENSITY)
    mask = torch.ones(8, 21, 35, dtype=torch.long)
    image = torch.ones(8, 3, 21, 35)
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    assert out_mask.shape == (8, 21, 35) and out_image.shape == (8, 3, 21, 35)
    assert set(out_mask.unique().tolist()) == {1, IGNORE}  # 90°/270° turns leave uncovered bands
    for b in range(8):
        ignored = out_mask[b] == IGNORE
        assert (ignored[out_image[b, 0] == 0]).all()  # pure padding is ignored
        assert not ignored[out_image[b, 0] == 1].any()  # pure image is kept
        assert ignored.float().mean() in (0.0, pytest.approx(1 - 21 / 35, abs=0.06))


def test_masks_stay_integer_within_classes_and_ignore() -> None:
    torch.manual_seed(4)
    cfg = AugmentConfig(**ALL_GEOMETRIC)  # intensity on too, default probabilities
    cfg.brightness_p = cfg.contrast_p = cfg.gamma_p = cfg.noise_p = cfg.blur_p = 1.0
    mask = torch.randint(0, 5, (3, 33, 33))
    mask[:, :3] = IGNORE
    before = mask.clone()
    image = torch.rand(3, 3, 33, 33)
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    assert out_mask.dtype == torch.long
    assert set(out_mask.unique().tolist()) <= {0, 1, 2, 3, 4, IGNORE}
    assert torch.equal(mask, before)  # input not modified in place
    assert out_image.min() >= 0 and out_image.max() <= 1


def test_intensity_transforms_leave_mask_untouched() -> None:
    torch.manual_seed(5)
    cfg = AugmentConfig(**NO_GEOMETRIC, brightness_p=1, contrast_p=1, gamma_p=1, noise_p=1,
                        blur_p=1)
    mask = _blocks_mask(2, 24, 24)
    image = torch.rand(2, 1, 24, 24) * 0.8 + 0.1
    out_image, out_mask = SegmentationAugment(cfg, IGNORE)(image, mask)
    assert torch.equal(out_mask, mask)
    assert not torch.allclose(out_image, image, atol=1e-3)
    assert out_image.min() >= 0 and out_image.max() <= 1


def test_build_augment_enabled_flag() -> None:
    assert build_augment(AugmentConfig(enabled=False), IGNORE) is None
    assert build_augment(None, IGNORE) is None
    aug = build_augment(AugmentConfig(), 7)
    assert isinstance(aug, SegmentationAugment) and aug.ignore_index == 7


def test_all_probabilities_zero_is_identity() -> None:
    aug = SegmentationAugment(AugmentConfig(**NO_GEOMETRIC, **NO_INTENSITY), IGNORE)
    image, mask = torch.rand(2, 3, 10, 12), torch.randint(0, 3, (2, 10, 12))
    out_image, out_mask = aug(image, mask)
    assert torch.equal(out_mask, mask) and torch.allclose(out_image, image)


# --------------------------------------------------------------------------- random_scale_crop


@pytest.mark.parametrize("channels", [1, 3])
def test_random_scale_crop_is_a_window_of_the_input(channels: int) -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(channels, 30, 40)
    mask = torch.randint(0, 4, (30, 40))
    out_image, out_mask = random_scale_crop(image, mask, 16, (1.0, 1.0), IGNORE, generator=g)
    assert out_image.shape == (channels, 16, 16) and out_mask.shape == (16, 16)
    hits = [(t, l) for t in range(30 - 15) for l in range(40 - 15)
            if torch.equal(image[:, t:t + 16, l:l + 16], out_image)]
    assert len(hits) == 1
    t, l = hits[0]
    assert torch.equal(mask[t:t + 16, l:l + 16], out_mask)


def test_random_scale_crop_pads_when_crop_is_larger() -> None:
    image = torch.rand(3, 10, 12)
    mask = torch.randint(0, 3, (10, 12))
    out_image, out_mask = random_scale_crop(image, mask, 16, (1.0, 1.0), IGNORE)
    assert out_image.shape == (3, 16, 16) and out_mask.shape == (16, 16)
    assert torch.equal(out_image[:, :10, :12], image) and torch.equal(out_mask[:10, :12], mask)
    assert (out_mask[10:] == IGNORE).all() and (out_mask[:, 12:] == IGNORE).all()
    assert (out_image[:, 10:] == 0).all() and (out_image[:, :, 12:] == 0).all()


def test_random_scale_crop_rescales() -> None:
    g = torch.Generator().manual_seed(1)
    image = torch.rand(1, 40, 40)
    mask = torch.zeros(40, 40, dtype=torch.long)
    mask[:, 20:] = 2
    out_image, out_mask = random_scale_crop(image, mask, 24, (0.5, 0.5), IGNORE, generator=g)
    assert out_image.shape == (1, 24, 24) and out_mask.shape == (24, 24)
    # 40 * 0.5 = 20 pixels of content, the rest is padding
    assert torch.equal(out_mask[:20, :10], torch.zeros(20, 10, dtype=torch.long))
    assert (out_mask[:20, 10:20] == 2).all()
    assert (out_mask[20:] == IGNORE).all() and (out_mask[:, 20:] == IGNORE).all()
    assert set(out_mask.unique().tolist()) == {0, 2, IGNORE}


def test_random_scale_crop_seeded_and_scaled_up() -> None:
    image, mask = torch.rand(3, 20, 20), torch.randint(0, 3, (20, 20))
    a = random_scale_crop(image, mask, 12, (1.2, 2.0), IGNORE,
                          generator=torch.Generator().manual_seed(9))
    b = random_scale_crop(image, mask, 12, (1.2, 2.0), IGNORE,
                          generator=torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].shape == (3, 12, 12) and a[1].shape == (12, 12) and a[1].dtype == torch.long
    assert set(a[1].unique().tolist()) <= {0, 1, 2}  # scaled up: no padding, nearest labels
