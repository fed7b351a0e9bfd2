"""Tiny data sets for the data doctor tests, generated in tmp_path (no shared data)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

RGB_PALETTE = {0: (0, 0, 0), 1: (220, 20, 60), 2: (0, 90, 200)}


def label_mask(seed: int, h: int = 48, w: int = 64, values: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    """Background ``values[0]`` with one rectangle per further value, placed by ``seed``."""
    rng = np.random.default_rng([seed, 1])
    mask = np.full((h, w), values[0], dtype=np.uint8)
    for k, v in enumerate(values[1:]):
        top, left = int(rng.integers(2, h // 2 - 2)), int(rng.integers(2 + k * w // 3, w // 2 + k * w // 5))
        mask[top:top + h // 3, left:left + w // 4] = v
    return mask


def photo(seed: int, h: int = 48, w: int = 64, mask: np.ndarray | None = None) -> np.ndarray:
    """A textured RGB uint8 image whose coarse structure (and so its perceptual hash) depends on
    ``seed``; brighter where ``mask`` is non-zero."""
    rng = np.random.default_rng([seed, 2])
    coarse = rng.integers(0, 200, (6, 8, 3))
    img = np.kron(coarse, np.ones((h // 6 + 1, w // 8 + 1, 1)))[:h, :w] + rng.integers(0, 30, (h, w, 3))
    if mask is not None:
        img = img * 0.6 + 60 * (mask[..., None] > 0)
    return np.clip(img, 0, 255).astype(np.uint8)


def gray_photo(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    """A photo with three equal channels (stored as RGB)."""
    return np.repeat(photo(seed, h, w)[..., :1], 3, axis=2)


def save(path: Path, array: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path


def jpeg_roundtrip(array: np.ndarray, quality: int = 75) -> np.ndarray:
    """``array`` after JPEG compression at ``quality`` (decoded again)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def write_folder(root: Path, n: int = 6, values: tuple[int, ...] = (0, 1, 2), mask_ext: str = ".png",
                 colour: bool = False, quality: int = 75) -> Path:
    """``root/images/s<i>.png`` + ``root/masks/s<i><mask_ext>``; ``colour`` stores masks as RGB through
    :data:`RGB_PALETTE`; a ``.jpg`` mask is saved with JPEG ``quality``."""
    for i in range(n):
        mask = label_mask(i, values=values)
        save(root / "images" / f"s{i}.png", photo(i, mask=mask))
        stored = np.array([RGB_PALETTE[v] for v in range(max(RGB_PALETTE) + 1)], np.uint8)[mask] if colour else mask
        kw = {"quality": quality} if mask_ext == ".jpg" else {}
        save(root / "masks" / f"s{i}{mask_ext}", stored, **kw)
    return root


def write_camvid(root: Path, n: int = 3, values: tuple[int, ...] = tuple(range(12))) -> Path:
    """SegNet layout: every split holds ``n`` pairs; each mask holds all ``values`` in stripes."""
    for split in ("train", "val", "test"):
        for i in range(n):
            mask = np.repeat(np.array(values, np.uint8), 6)[None, :].repeat(30, 0)
            mask = np.roll(mask, i, axis=1)
            seed = hash((split, i)) % 1000
            save(root / split / f"{split}_{i}.png", photo(seed, *mask.shape, mask=mask))
            save(root / f"{split}annot" / f"{split}_{i}.png", mask)
    return root


def write_isbi(root: Path, n: int = 4) -> Path:
    """ISBI 2012 layout: gray slices and 0/255 labels."""
    for i in range(n):
        mask = (label_mask(i, values=(0, 1)) > 0).astype(np.uint8) * 255
        save(root / "train" / "image" / f"{i}.png", photo(i, mask=mask)[..., 0])
        save(root / "train" / "label" / f"{i}.png", mask)
    return root


def write_photos(root: Path, n: int = 6, gray: tuple[int, ...] = ()) -> Path:
    """A colorization folder of ``n`` JPEG photos; the indices in ``gray`` are grayscale-only."""
    for i in range(n):
        save(root / "photos" / f"p{i}.png", gray_photo(100 + i) if i in gray else photo(100 + i))
    return root


def write_messy_folder(root: Path) -> Path:
    """The README's example: 8 binary (0/255) pairs with planted problems (an image without mask, a
    mask without image, a corrupt image, an empty mask, one image copied into the val split)."""
    import shutil

    root = write_folder(root, n=8, values=(0, 255))
    (root / "masks" / "s3.png").unlink()
    save(root / "masks" / "old_7.png", label_mask(7, values=(0, 255)))
    (root / "images" / "s5.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    save(root / "masks" / "s6.png", np.zeros((48, 64), np.uint8))
    shutil.copy(root / "images" / "s0.png", root / "images" / "s0_copy.png")
    shutil.copy(root / "masks" / "s0.png", root / "masks" / "s0_copy.png")
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("s0\ns1\ns2\ns4\ns5\ns6\n")
    (root / "splits" / "val.txt").write_text("s0_copy\ns7\n")
    return root
