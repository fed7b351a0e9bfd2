"""Torch datasets for colorization: RGB at working resolution (training crops / whole images).

Two ways to hold a split: :class:`ColorDataset` keeps every image decoded in memory (uint8), and
:class:`ColorFileDataset` keeps only the file paths (:class:`ColorSampleTable`) and decodes each
file in ``__getitem__``, so DataLoader workers do the decoding and memory does not grow with the
images (a folder the size of ImageNet streams). Both give the same items for the same image.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, get_worker_info

from colorseg.data.color_sources import ColorSample, is_grayscale
from colorseg.errors import DataError


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    """float (H, W, 3) in [0, 1] → uint8 (memory-light cache)."""
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def resize_short_side(rgb: torch.Tensor, short: int) -> torch.Tensor:
    """(C, H, W) → (C, h, w) with min(h, w) == short, aspect kept (antialiased bilinear)."""
    h, w = rgb.shape[-2:]
    scale = short / min(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return rgb
    return F.interpolate(rgb[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0].clamp(0, 1)


def color_item(image: np.ndarray, name: str, image_size: int, train: bool, max_zoom: float) -> dict:
    """One item of a colour image (uint8 (H, W, 3)): see :class:`ColorDataset`."""
    full = torch.from_numpy(image.transpose(2, 0, 1).copy()).float() / 255.0
    if not train:
        return {"rgb": resize_short_side(full, image_size), "rgb_full": full, "name": name}
    short = int(torch.randint(image_size, int(image_size * max_zoom) + 1, (1,)))
    rgb = resize_short_side(full, short)
    h, w = rgb.shape[-2:]
    top = int(torch.randint(0, h - image_size + 1, (1,)))
    left = int(torch.randint(0, w - image_size + 1, (1,)))
    rgb = rgb[:, top:top + image_size, left:left + image_size]
    if torch.rand(1) < 0.5:
        rgb = rgb.flip(-1)
    return {"rgb": rgb.contiguous(), "name": name}


class ColorDataset(Dataset):
    """Items ``{"rgb": (3, H, W) float [0, 1], "name": str}`` (plus ``"rgb_full"`` when evaluating).

    Training (``train=True``): resize so the short side is a random value in
    [image_size, image_size * max_zoom], random ``image_size``² crop, random horizontal flip.
    Evaluation: whole image resized so its short side is ``image_size``, and the original
    full-resolution image as ``rgb_full`` (outputs are recombined at full size).
    """

    def __init__(self, images: list[np.ndarray], names: list[str], image_size: int = 128,
                 train: bool = True, max_zoom: float = 1.25, repeats: int = 1) -> None:
        self.images = [to_uint8(im) if im.dtype != np.uint8 else im for im in images]
        self.names = list(names)
        self.image_size, self.train, self.max_zoom = image_size, train, max_zoom
        self.repeats = max(1, int(repeats)) if train else 1

    def __len__(self) -> int:
        return len(self.images) * self.repeats

    def __getitem__(self, index: int) -> dict:
        i = index % len(self.images)
        return color_item(self.images[i], self.names[i], self.image_size, self.train, self.max_zoom)


class _Strings:
    """Many strings packed into one bytes object plus an offset array: a few bytes of overhead
    per string and no Python object per string (forked DataLoader workers share the pages instead
    of copying them as reference counts and the garbage collector touch per-object headers)."""

    def __init__(self, strings: Sequence[str]) -> None:
        encoded = [os.fsencode(s) for s in strings]
        self.blob = b"".join(encoded)
        self.offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in encoded], out=self.offsets[1:])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return os.fsdecode(self.blob[self.offsets[i]:self.offsets[i + 1]])

    def nbytes(self) -> int:
        return len(self.blob) + self.offsets.nbytes


class ColorSampleTable:
    """A split's samples, compactly: names and file paths packed (see :class:`_Strings`, about 100
    bytes per ImageNet file); generated samples (the synthetic source: small by nature) are kept
    as they are. ``table[i]`` is the :class:`~colorseg.data.color_sources.ColorSample`."""

    def __init__(self, samples: Sequence[ColorSample]) -> None:
        self._generated: list[ColorSample] | None = None
        if any(s.path is None for s in samples):
            self._generated = list(samples)
            self._names = self._paths = None
        else:
            self._names = _Strings([s.name for s in samples])
            self._paths = _Strings([str(s.path) for s in samples])

    def __len__(self) -> int:
        return len(self._generated) if self._generated is not None else len(self._names)

    def __getitem__(self, i: int) -> ColorSample:
        if self._generated is not None:
            return self._generated[i]
        return ColorSample(self._names[i], Path(self._paths[i]))

    def __iter__(self) -> Iterator[ColorSample]:
        return (self[i] for i in range(len(self)))

    def name(self, i: int) -> str:
        return self._generated[i].name if self._generated is not None else self._names[i]

    def subset(self, indices: Sequence[int]) -> ColorSampleTable:
        return ColorSampleTable([self[i] for i in indices])

    def nbytes(self) -> int:
        """Bytes held for the file samples (0 for generated ones)."""
        return 0 if self._generated is not None else self._names.nbytes() + self._paths.nbytes()


class ColorFileDataset(Dataset):
    """:class:`ColorDataset`'s items, read from disk: the dataset holds a :class:`ColorSampleTable`
    (paths and names only) and each ``__getitem__`` decodes its file
    (:func:`~colorseg.data.image_io.read_image`); images are quantized to uint8 first, as the
    in-memory dataset stores them, so both give identical tensors for the same file.

    Grayscale-only images (only known once read) in a training dataset (``train=True``) are
    replaced by the next colour image in the table (index + 1, wrapping around; deterministic);
    each training item carries ``"gray_skipped"``: 1 when it replaces a grayscale-only image, else
    0 (summed over batches by the data module). Every process (each DataLoader worker)
    remembers the grayscale-only images it found, so it reads each of them once, and warns at its
    1st, 10th, 100th … one with the count so far. Evaluation datasets get tables already cleared of
    grayscale-only images (:class:`~colorseg.data.split_datasets.ColorSplits` reads them once).

    A file that cannot be read raises :class:`~colorseg.errors.DataError` naming it (as everywhere
    in colorseg: a broken data set stops the run rather than silently training on less; in a
    DataLoader worker the error reaches the main process as the same error type, with the
    worker's traceback in its message).
    """

    def __init__(self, table: ColorSampleTable | Sequence[ColorSample], image_size: int = 128,
                 train: bool = True, max_zoom: float = 1.25, repeats: int = 1, split: str = "train") -> None:
        self.table = table if isinstance(table, ColorSampleTable) else ColorSampleTable(table)
        if not len(self.table):
            raise DataError(f"the {split} split is empty")
        self.image_size, self.train, self.max_zoom, self.split = image_size, train, max_zoom, split
        self.repeats = max(1, int(repeats)) if train else 1
        self._gray: set[int] = set()  # grayscale-only images this process found

    def __len__(self) -> int:
        return len(self.table) * self.repeats

    @property
    def gray_found(self) -> int:
        """Grayscale-only images this process (this worker) has found so far."""
        return len(self._gray)

    def _load(self, i: int) -> np.ndarray:
        try:
            return self.table[i].load()
        except DataError as exc:
            raise DataError(f"{exc} (streaming the {self.split} split, data.preload=false, reads each file when "
                            "it is first used: remove or replace this file and resume)") from exc

    def _read(self, i: int) -> np.ndarray:
        image = self._load(i)
        return image if image.dtype == np.uint8 else to_uint8(image)

    def _note_gray(self, i: int) -> None:
        self._gray.add(i)
        count = len(self._gray)
        if count == 10 ** round(math.log10(count)):
            worker = get_worker_info()
            where = f"DataLoader worker {worker.id}" if worker is not None else "this process"
            warnings.warn(f"skipped grayscale-only {self.split} image {self.table.name(i)} (no colour to learn "
                          f"from) and used the next image instead; {where} has found {count} such image(s) "
                          "so far", stacklevel=3)

    def _colour_image(self, i: int) -> tuple[int, np.ndarray]:
        """(index, uint8 image) of the first colour image from ``i`` on."""
        n = len(self.table)
        for step in range(n):
            j = (i + step) % n
            if j in self._gray:
                continue
            image = self._load(j)
            if not is_grayscale(image):
                return j, (image if image.dtype == np.uint8 else to_uint8(image))
            self._note_gray(j)
        raise DataError(f"no colour images to {self.split} on: all {n} images are grayscale")

    def __getitem__(self, index: int) -> dict:
        i = index % len(self.table)
        if not self.train:
            return color_item(self._read(i), self.table.name(i), self.image_size, False, self.max_zoom)
        j, image = self._colour_image(i)
        item = color_item(image, self.table.name(j), self.image_size, True, self.max_zoom)
        item["gray_skipped"] = int(j != i)
        return item
