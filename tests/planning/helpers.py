"""Hand-built fingerprints and generated folders for the planning tests (no shared data)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from colorseg.data.doctor.fingerprint import SizeStats
from colorseg.planning.fingerprint import Fingerprint, SplitFingerprint
from tests.conftest import write_pair


def split(n: int, h: int, w: int, h_range: tuple[int, int] | None = None,
          w_range: tuple[int, int] | None = None) -> SplitFingerprint:
    """``n`` images of median ``h`` x ``w`` (optionally with a min-max range)."""
    hr, wr = h_range or (h, h), w_range or (w, w)
    return SplitFingerprint(n, SizeStats(float(h), *hr), SizeStats(float(w), *wr), n * h * w)


def fingerprint(counts: dict[int, int], rows: dict[int, float] | None = None,
                boundary: dict[int, float] | None = None, channels: int = 3, source: str = "folder",
                splits: dict[str, SplitFingerprint] | None = None, names: list[str] | None = None,
                numbered: bool = False, **extra) -> Fingerprint:
    """A fingerprint with the given mask value counts; rows default to mid-height, boundaries to 0.1."""
    splits = splits or {"pool": split(100, 256, 256)}
    n_pool = (splits.get("train") or splits["pool"]).n_images
    names = names or ([str(i) for i in range(n_pool)] if numbered else [f"img_{i:03d}" for i in range(n_pool)])
    conventions = {"folder": (255, None, None),
                   "camvid": (11, None, ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol",
                                         "Fence", "Car", "Pedestrian", "Bicyclist")),
                   "isbi2012": (255, {0: 0, 255: 1}, ("membrane", "cell"))}[source]
    fp = Fingerprint(source=source, root="/data/x", splits=splits,
                     predefined_splits=tuple(k for k in splits if k != "pool"), pool_names=tuple(names),
                     numbered_sequence=numbered, channels=channels, images_gray_as_rgb=0, images_scanned=n_pool,
                     masks_scanned=min(n_pool, 200), masks_total=n_pool, value_counts=dict(sorted(counts.items())),
                     value_rows={v: (rows or {}).get(v, 0.5) for v in counts},
                     value_boundary={v: (boundary or {}).get(v, 0.1) for v in counts},
                     value_images={v: 1.0 for v in counts}, source_ignore_index=conventions[0],
                     source_value_map=conventions[1], source_class_names=conventions[2])
    return replace(fp, **extra) if extra else fp


def street_fingerprint() -> Fingerprint:
    """CamVid-like: RGB 240x180 street scenes, predefined splits, sky on top, road at the bottom,
    thin poles, void 11."""
    counts = {0: 175, 1: 242, 2: 10, 3: 331, 4: 47, 5: 101, 6: 12, 7: 12, 8: 61, 9: 7, 10: 3, 11: 41}
    rows = {0: 0.16, 1: 0.33, 2: 0.42, 3: 0.82, 4: 0.71, 5: 0.31, 6: 0.38, 7: 0.55, 8: 0.6, 9: 0.55, 10: 0.61}
    boundary = {2: 0.87, 9: 0.48}
    splits = {"train": split(367, 180, 240), "val": split(101, 180, 240), "test": split(233, 180, 240)}
    return fingerprint({k: v * 10_000 for k, v in counts.items()}, rows, boundary, channels=3, source="camvid",
                       splits=splits)


def em_fingerprint(source: str = "folder") -> Fingerprint:
    """ISBI-like: 30 gray 512x512 slices named 0..29, 0/255 masks, 22 % membrane, no up direction."""
    return fingerprint({0: 1_727_250, 255: 6_137_070}, {0: 0.5, 255: 0.49}, {0: 0.26, 255: 0.07}, channels=1,
                       source=source, splits={"pool": split(30, 512, 512)}, numbered=True)


def binary_folder(root: Path, n: int = 12, size: int = 48, foreground: int = 255, rgb: bool = True) -> Path:
    """``n`` photos with a bright square, masks saved as 0/``foreground``."""
    rng = np.random.default_rng(1)
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        mask[6 + i % 5: size // 2 + i % 5, 8: size // 2 + 8] = foreground
        shape = (size, size, 3) if rgb else (size, size)
        extra = (mask > 0) * 150 if not rgb else (mask[..., None] > 0) * 150
        image = (rng.integers(0, 60, shape, dtype=np.uint8) + extra).astype(np.uint8)
        write_pair(root, f"p{i:02d}", image, mask)
    return root


def index_folder(root: Path, n: int = 8, size: int = 40, classes: int = 3, rgb: bool = True) -> Path:
    """``n`` images with ``classes`` class-index regions (0 background, 1.. stripes)."""
    rng = np.random.default_rng(2)
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        for k in range(1, classes):
            mask[k * 6: k * 6 + 5, 4 + i: 30 + i] = k
        shape = (size, size, 3) if rgb else (size, size)
        image = rng.integers(0, 255, shape, dtype=np.uint8)
        write_pair(root, f"img_{i}", image, mask)
    return root
