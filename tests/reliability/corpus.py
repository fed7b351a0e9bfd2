"""A corpus of good-but-unusual and bad input files, generated on demand (no committed binaries).

Each :class:`Case` writes one file (or link) into a folder and says what reading it must give:
``shape`` — the ``read_image(path)`` shape — for files that must be accepted, or ``error`` — a
fragment of the :class:`~colorseg.errors.DataError` message (which must also name the file) —
for files that must be refused. ``mask`` is the same for ``read_mask``.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: a name that is not valid UTF-8 (Latin-1 "café"), as the str Python uses for it
NON_UTF8_NAME = os.fsdecode(b"caf\xe9.png")


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Path], Path]
    shape: tuple[int, ...] | None = None  # read_image shape when accepted
    error: str | None = None  # message fragment when refused
    mask_shape: tuple[int, ...] | None = None  # read_mask shape when accepted as a mask
    mask_error: str | None = None  # read_mask message fragment when refused

    @property
    def ok(self) -> bool:
        return self.error is None


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3)).astype(np.uint8)


def _save(folder: Path, name: str, arr: np.ndarray, mode: str | None = None, **kwargs) -> Path:
    path = folder / name
    Image.fromarray(arr, mode).save(path, **kwargs) if mode else Image.fromarray(arr).save(path, **kwargs)
    return path


def _write(folder: Path, name: str, data: bytes) -> Path:
    (folder / name).write_bytes(data)
    return folder / name


def _truncated(folder: Path, name: str, fmt: str) -> Path:
    full = folder / f"full_{name}"
    Image.fromarray(_rgb(64, 64)).save(full, format=fmt)
    data = full.read_bytes()
    full.unlink()
    path = folder / name
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt_png(folder: Path) -> Path:
    """Valid header, garbage in the middle of the compressed pixel data."""
    path = _save(folder, "corrupt.png", _rgb(64, 64))
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 40: idat + 200] = bytes(160)
    path.write_bytes(bytes(data))
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(folder: Path, name: str = "bomb.png", side: int = 100_000) -> Path:
    """A PNG whose header claims ``side``×``side`` pixels (10 gigapixels), in a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit gray
    idat = zlib.compress(b"\x00" * (side + 1) * 4)  # a few rows; decoding would need far more
    path = folder / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
                     + _png_chunk(b"IEND", b""))
    return path


def _gray16(folder: Path) -> Path:
    arr = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500).astype(np.uint16)
    import png

    path = folder / "gray16.png"
    with open(path, "wb") as fh:
        png.Writer(10, 12, greyscale=True, bitdepth=16).write(fh, arr.tolist())
    return path


def _rgb16(folder: Path) -> Path:
    import png

    arr = np.random.default_rng(1).integers(0, 65536, size=(6, 7, 3)).astype(np.uint16)
    path = folder / "rgb16.png"
    with open(path, "wb") as fh:
        png.Writer(7, 6, greyscale=False, bitdepth=16).write(fh, arr.reshape(6, -1).tolist())
    return path


def _cmyk(folder: Path) -> Path:
    path = folder / "cmyk.jpg"
    Image.fromarray(_rgb(16, 16)).convert("CMYK").save(path, quality=95)
    return path


def _palette(folder: Path) -> Path:
    idx = np.array([[0, 1, 2, 1], [2, 1, 0, 0], [1, 1, 1, 2]], dtype=np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (253 * 3))
    path = folder / "palette.png"
    im.save(path)
    return path


def _exif_rotated(folder: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise
    path = folder / "exif_rotated.jpg"
    Image.fromarray(_rgb(16, 32)).save(path, exif=exif, quality=95)
    return path


def _named(name: str, maker: Callable[[Path, str], Path]) -> Callable[[Path], Path]:
    return lambda folder: maker(folder, name)


def _symlink_loop(folder: Path) -> Path:
    """``loop.png`` → ``loop2.png`` → ``loop.png``: opening it fails with ELOOP."""
    (folder / "loop.png").symlink_to("loop2.png")
    (folder / "loop2.png").symlink_to("loop.png")
    return folder / "loop.png"


def _dangling(folder: Path) -> Path:
    (folder / "dangling.png").symlink_to("does_not_exist.png")
    return folder / "dangling.png"


def _rgb_mask(folder: Path) -> Path:
    arr = np.zeros((8, 8, 3), np.uint8)
    arr[:4] = (255, 0, 0)
    arr[4:] = (0, 0, 255)
    return _save(folder, "rgb_mask.png", arr)


def _gray_as_rgb_mask(folder: Path) -> Path:
    arr = np.repeat((np.arange(64).reshape(8, 8) % 3).astype(np.uint8)[..., None], 3, axis=2)
    return _save(folder, "gray_as_rgb.png", arr)


CASES: list[Case] = [
    # ---- refused: broken files
    Case("truncated_png", _named("truncated.png", lambda f, n: _truncated(f, n, "PNG")),
         error="cannot read image", mask_error="cannot read image"),
    Case("truncated_jpeg", _named("truncated.jpg", lambda f, n: _truncated(f, n, "JPEG")),
         error="cannot read image", mask_error="cannot read image"),
    Case("corrupt_png", _corrupt_png, error="cannot read image", mask_error="cannot read image"),
    Case("zero_byte", _named("empty.png", lambda f, n: _write(f, n, b"")),
         error="empty file", mask_error="empty file"),
    Case("text_named_png", _named("notes.png", lambda f, n: _write(f, n, b"not an image\n")),
         error="not a recognised image", mask_error="not a recognised image"),
    Case("decompression_bomb", bomb_png, error="exceeds the limit", mask_error="exceeds the limit"),
    Case("symlink_loop", _symlink_loop, error="symbolic link", mask_error="symbolic link"),
    Case("dangling_symlink", _dangling, error="not found", mask_error="not found"),
    # ---- accepted: unusual but valid files
    Case("jpeg_named_png", _named("really_a_jpeg.png", lambda f, n: _save(f, n, _rgb(10, 12), format="JPEG")),
         shape=(10, 12, 3), mask_error="colour (RGB)"),
    Case("png_named_tif", _named("really_a_png.tif", lambda f, n: _save(f, n, _rgb(9, 5), format="PNG")),
         shape=(9, 5, 3), mask_error="colour (RGB)"),
    Case("tiff_named_png", _named("really_a_tiff.png",
                                  lambda f, n: _save(f, n, np.full((6, 4), 3, np.uint8), format="TIFF")),
         shape=(6, 4, 1), mask_shape=(6, 4)),
    Case("gray_16bit", _gray16, shape=(12, 10, 1), mask_shape=(12, 10)),
    Case("rgb_16bit", _rgb16, shape=(6, 7, 3), mask_error="colour (RGB)"),
    Case("cmyk_jpeg", _cmyk, shape=(16, 16, 3), mask_error="colour (RGB)"),
    Case("palette", _palette, shape=(3, 4, 3), mask_shape=(3, 4)),
    Case("rgba", _named("rgba.png", lambda f, n: _save(f, n, np.dstack([_rgb(5, 6), np.full((5, 6), 9, np.uint8)]),
                                                       "RGBA")),
         shape=(5, 6, 3), mask_error="colour (RGB)"),
    Case("one_pixel", _named("one.png", lambda f, n: _save(f, n, np.array([[7]], np.uint8))),
         shape=(1, 1, 1), mask_shape=(1, 1)),
    Case("very_wide", _named("wide.png", lambda f, n: _save(f, n, np.zeros((3, 100_000), np.uint8))),
         shape=(3, 100_000, 1), mask_shape=(3, 100_000)),
    Case("exif_rotated", _exif_rotated, shape=(32, 16, 3), mask_error="colour (RGB)"),
    Case("non_utf8_name", _named(NON_UTF8_NAME, lambda f, n: _save(f, n, _rgb(4, 4))),
         shape=(4, 4, 3), mask_error="colour (RGB)"),
    Case("space_in_name", _named("my photo 1.png", lambda f, n: _save(f, n, np.ones((4, 5), np.uint8))),
         shape=(4, 5, 1), mask_shape=(4, 5)),
    Case("rgb_mask", _rgb_mask, shape=(8, 8, 3), mask_error="colour (RGB)"),
    Case("gray_saved_as_rgb_mask", _gray_as_rgb_mask, shape=(8, 8, 3), mask_shape=(8, 8)),
]

BY_NAME = {c.name: c for c in CASES}


def make_case(case: Case | str, folder: Path) -> Path:
    """Write one case into ``folder`` (created) and return the path to read."""
    case = BY_NAME[case] if isinstance(case, str) else case
    folder.mkdir(parents=True, exist_ok=True)
    return case.make(folder)


def make_corpus(folder: Path, cases: list[Case] | None = None) -> dict[str, Path]:
    """Every case (or ``cases``) in one folder: case name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {c.name: c.make(folder) for c in (CASES if cases is None else cases)}
