"""Mask diagnosis on arrays (pure numpy / scipy, no files): value histograms, stray values left by
JPEG compression or interpolated resizing, 0/255 binary masks, colour-coded (RGB) masks and a
proposed palette for them, gaps in the label values, empty masks.

A *label value* forms regions: some of its pixels are interior (their 3×3 neighbourhood holds
that value only). A *stray value* (almost) never does: it sits on the edges between label
regions, as the ringing of JPEG compression or the blend of bilinear resizing leaves it. Over a
data set, values whose interior share is below :data:`STRAY_INTERIOR_SHARE` are stray; several
of them (:data:`MIN_STRAY_VALUES`) mean the masks were compressed or resized lossily.
Colour masks are handled the same way on packed ``0xRRGGBB`` values.

Where a value sits is summarised too, for planning training settings (``colorseg segment plan``):
its mean row (0 = top, 1 = bottom: sky above road means the images have an up direction) and its
*boundary* share (pixels with a 4-neighbour of another value: near 1 for thin structures such as
poles or membranes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from colorseg.data.image_io import pack_rgb, unpack_rgb

STRAY_INTERIOR_SHARE = 0.02  # a label value has at least 2 % of its pixels inside regions
MIN_STRAY_VALUES = 3  # "many rare values": one thin class alone is not compression noise
JPEG_SIGNATURE = b"\xff\xd8\xff"
BINARY_VALUES = (0, 255)


def mask_plane(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    """A decoded mask array → (2-D plane of values, is_colour).

    Gray masks (H, W), (H, W, 1) and colour arrays whose channels are all equal (a gray mask saved
    as RGB, which ``read_mask`` accepts) give their stored values; true colour masks (H, W, 3/4)
    give packed ``0xRRGGBB`` values and ``is_colour=True``. Other shapes raise ValueError.
    """
    a = np.asarray(arr)
    if a.ndim == 2:
        return a, False
    if a.ndim == 3 and a.shape[2] == 1:
        return a[..., 0], False
    if a.ndim == 3 and a.shape[2] in (3, 4):
        if (a[..., :3] == a[..., :1]).all():
            return a[..., 0], False
        if a.dtype != np.uint8:
            a = (a >> 8).astype(np.uint8) if a.dtype == np.uint16 else a.astype(np.uint8)
        return pack_rgb(a), True
    raise ValueError(f"expected a mask of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}")


@dataclass
class MaskStats:
    """Per value of one mask (``values`` sorted): pixel count, interior pixel count, the sum of its
    pixels' row positions (0 = top row, 1 = bottom row) and its boundary pixel count (pixels with a
    4-neighbour of another value)."""

    values: np.ndarray
    counts: np.ndarray
    interior: np.ndarray
    row_sums: np.ndarray
    boundary: np.ndarray
    is_colour: bool = False

    @property
    def num_pixels(self) -> int:
        return int(self.counts.sum())

    def count_of(self, value: int) -> int:
        i = np.searchsorted(self.values, value)
        return int(self.counts[i]) if i < len(self.values) and self.values[i] == value else 0


def _boundary_pixels(plane: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another value (bool, the plane's shape)."""
    edge = np.zeros(plane.shape, dtype=bool)
    vert = plane[1:] != plane[:-1]
    horiz = plane[:, 1:] != plane[:, :-1]
    edge[1:] |= vert
    edge[:-1] |= vert
    edge[:, 1:] |= horiz
    edge[:, :-1] |= horiz
    return edge


def mask_stats(plane: np.ndarray, is_colour: bool = False) -> MaskStats:
    """Value histogram, interior and boundary counts and row sums of a 2-D mask plane (see the
    module docstring)."""
    plane = np.asarray(plane)
    if plane.ndim != 2:
        raise ValueError(f"mask_stats expects a 2-D plane, got shape {plane.shape}")
    values, inverse, counts = np.unique(plane, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    inside = ndimage.maximum_filter(plane, size=3) == ndimage.minimum_filter(plane, size=3)
    in_values, in_counts = np.unique(plane[inside], return_counts=True)
    interior = np.zeros_like(counts)
    interior[np.searchsorted(values, in_values)] = in_counts
    h, w = plane.shape
    row_pos = np.broadcast_to((np.arange(h, dtype=np.float64) / max(h - 1, 1))[:, None], (h, w))
    row_sums = np.bincount(inverse, weights=row_pos.ravel(), minlength=len(values))
    boundary = np.bincount(inverse, weights=_boundary_pixels(plane).ravel(), minlength=len(values))
    return MaskStats(values.astype(np.int64), counts.astype(np.int64), interior.astype(np.int64), row_sums,
                     boundary.astype(np.int64), is_colour)


@dataclass
class ValueHistogram:
    """Per value over many masks: pixels, interior pixels, the number of masks holding it, the sum
    of its row positions and its boundary pixels (see :class:`MaskStats`)."""

    pixels: dict[int, int] = field(default_factory=dict)
    interior: dict[int, int] = field(default_factory=dict)
    masks: dict[int, int] = field(default_factory=dict)
    row_sums: dict[int, float] = field(default_factory=dict)
    boundary: dict[int, int] = field(default_factory=dict)

    def add(self, stats: MaskStats) -> None:
        for v, c, i, r, b in zip(stats.values.tolist(), stats.counts.tolist(), stats.interior.tolist(),
                                 stats.row_sums.tolist(), stats.boundary.tolist()):
            self.pixels[v] = self.pixels.get(v, 0) + c
            self.interior[v] = self.interior.get(v, 0) + i
            self.masks[v] = self.masks.get(v, 0) + 1
            self.row_sums[v] = self.row_sums.get(v, 0.0) + r
            self.boundary[v] = self.boundary.get(v, 0) + b

    @classmethod
    def of(cls, stats: Iterable[MaskStats]) -> ValueHistogram:
        hist = cls()
        for s in stats:
            hist.add(s)
        return hist

    @property
    def total(self) -> int:
        return sum(self.pixels.values())

    def values(self) -> list[int]:
        return sorted(self.pixels)

    def frequencies(self) -> dict[int, float]:
        """Share of all pixels per value (sums to 1; empty when there are no pixels)."""
        total = self.total
        return {v: self.pixels[v] / total for v in self.values()} if total else {}

    def mean_rows(self) -> dict[int, float]:
        """Mean row position per value (0 = top row, 1 = bottom row)."""
        return {v: self.row_sums[v] / self.pixels[v] for v in self.values()}

    def boundary_shares(self) -> dict[int, float]:
        """Share of each value's pixels that have a 4-neighbour of another value."""
        return {v: self.boundary[v] / self.pixels[v] for v in self.values()}

    def mask_shares(self, n_masks: int) -> dict[int, float]:
        """Share of ``n_masks`` masks holding each value."""
        return {v: self.masks[v] / n_masks for v in self.values()}


def stray_values(hist: ValueHistogram, min_interior_share: float = STRAY_INTERIOR_SHARE) -> list[int]:
    """Values that (almost) never form regions: interior share below ``min_interior_share``."""
    return [v for v in hist.values() if hist.interior[v] < min_interior_share * hist.pixels[v]]


def label_values(hist: ValueHistogram, min_interior_share: float = STRAY_INTERIOR_SHARE) -> list[int]:
    """Values that form regions (the complement of :func:`stray_values`)."""
    stray = set(stray_values(hist, min_interior_share))
    return [v for v in hist.values() if v not in stray]


def has_edge_artifacts(hist: ValueHistogram, min_stray: int = MIN_STRAY_VALUES) -> bool:
    """True when at least ``min_stray`` values live only on region edges (JPEG / resizing noise)."""
    return len(stray_values(hist)) >= min_stray


def is_jpeg_bytes(head: bytes) -> bool:
    """True when a file's first bytes are a JPEG signature (``FF D8 FF``)."""
    return bytes(head[:3]) == JPEG_SIGNATURE


def is_binary_0_255(values: Iterable[int]) -> bool:
    """True for the label values of 0/255 binary masks: 255 present, nothing but 0 and 255."""
    vals = {int(v) for v in values}
    return 255 in vals and vals <= set(BINARY_VALUES)


def value_gaps(values: Iterable[int], ignore: Iterable[int] = ()) -> list[int]:
    """Label values missing from ``0..max`` (``ignore`` values left out), e.g. {0, 2, 5} → [1, 3, 4]."""
    vals = {int(v) for v in values} - {int(v) for v in ignore}
    if not vals:
        return []
    return [v for v in range(max(vals) + 1) if v not in vals]


def consecutive_value_map(values: Iterable[int], ignore: Iterable[int] = ()) -> dict[int, int]:
    """Stored value → consecutive label 0..K-1 in value order (``ignore`` values kept as they are)."""
    ignored = {int(v) for v in ignore}
    kept = sorted({int(v) for v in values} - ignored)
    out = {v: i for i, v in enumerate(kept)}
    out.update({v: v for v in sorted(ignored & {int(v) for v in values})})
    return out


def format_value_map(mapping: dict[int, int]) -> str:
    """``{0: 0, 255: 1}`` as the text ``--data.mask_value_map`` takes."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


@dataclass(frozen=True)
class PaletteEntry:
    """One colour of a proposed palette: the colour, a class name, its label index and pixel count."""

    rgb: tuple[int, int, int]
    name: str
    index: int
    pixels: int


def propose_palette(colour_pixels: dict[int, int],
                    known: Sequence[tuple[tuple[int, int, int], str]] = ()) -> list[PaletteEntry]:
    """A label index per colour (``colour_pixels``: packed ``0xRRGGBB`` → pixels).

    When every colour is in ``known`` (e.g. the CamVid palette, in label order), the whole known
    palette is returned in its order with its names (absent colours with 0 pixels, so line *i* of
    the palette file stays label *i*). Otherwise black, if present, becomes 0 ``background`` and the other colours follow
    by decreasing pixel count, named ``class_1``, ``class_2``, ….
    """
    colours = {unpack_rgb(v): int(n) for v, n in colour_pixels.items()}
    known_rgb = [tuple(int(c) for c in rgb) for rgb, _ in known]
    if known_rgb and set(colours) <= set(known_rgb):
        return [PaletteEntry(rgb, _palette_name(known[i][1]), i, colours.get(rgb, 0))
                for i, rgb in enumerate(known_rgb)]
    order = sorted(colours, key=lambda rgb: (rgb != (0, 0, 0), -colours[rgb], rgb))
    return [PaletteEntry(rgb, "background" if rgb == (0, 0, 0) else f"class_{i}", i, colours[rgb])
            for i, rgb in enumerate(order)]


def _palette_name(name: str) -> str:
    """A name that stays one token of a palette line for every reader of ``R G B name`` files
    (:func:`colorseg.formats.palette.read_palette` splits CSV at commas, labelmaps at colons and
    drops comments after '#')."""
    return re.sub(r"[\s,:#]+", "_", str(name)) or "class"


def format_palette(entries: Sequence[PaletteEntry]) -> str:
    """Palette file text: one ``R G B name`` line per colour, in label order (CamVid
    ``label_colors.txt`` style: line *i* is label *i*)."""
    return "".join(f"{e.rgb[0]} {e.rgb[1]} {e.rgb[2]} {e.name}\n" for e in sorted(entries, key=lambda e: e.index))
