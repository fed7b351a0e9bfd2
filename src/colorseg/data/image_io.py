"""Image and mask decoding/encoding with explicit, dtype-based conversion (the image codecs).

Images are returned as ``float32`` arrays of shape ``(H, W, C)`` in ``[0, 1]``. The scale is decided
from the stored dtype, never from the values: ``uint8`` / 255, ``uint16`` / 65535, ``bool`` as 0/1,
floats must already lie in ``[0, 1]``. EXIF orientation is applied to JPEG/TIFF/PNG photos.
Masks are returned as ``int64`` arrays ``(H, W)`` of the stored values (palette PNGs: the indices).
File-system helpers (listing, atomic writes, the pixel limit) live in :mod:`colorseg.data.files`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from colorseg.data.files import (
    IMAGE_EXTENSIONS,
    MAX_PIXELS_ENV,
    atomic_write,
    check_image_file,
    display_path,
    max_pixels_limit,
)
from colorseg.errors import DataError

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit with a clear message

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as PIL's "L"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")  # PIL modes read_image gives 1 channel


def _is_tiff(path: Path) -> bool:
    """True when the file starts with a TIFF signature (classic or BigTIFF): tifffile reads it."""
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in _TIFF_MAGIC
    except OSError as exc:
        raise DataError(f"cannot read image {display_path(path)}: {exc.strerror or exc}") from exc


def _read_raw(path: Path, max_pixels: int | None) -> tuple[np.ndarray, str]:
    """Decode a file into its stored array and PIL mode ("" for TIFF read by tifffile).

    The format is decided by the file's content, not its extension (a JPEG named ``.png`` reads).
    """
    check_image_file(path)
    max_pixels = max_pixels_limit() if max_pixels is None else max_pixels
    name = display_path(path)
    if _is_tiff(path):
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                shape = tif.pages[0].shape
                if int(np.prod(shape[:2])) > max_pixels:
                    raise DataError(f"{name}: {shape[1]}x{shape[0]} pixels exceeds the limit {max_pixels} "
                                    f"(decompression-bomb guard; raise it with {MAX_PIXELS_ENV})")
                arr = tif.asarray(key=0)
            return arr, ""
        except DataError:
            raise
        except Exception as exc:  # tifffile raises many types on corrupt files
            raise DataError(f"cannot read image {name}: {exc}") from exc
    try:
        with Image.open(path) as im:
            if im.width * im.height > max_pixels:
                raise DataError(f"{name}: {im.width}x{im.height} pixels exceeds the limit {max_pixels} "
                                f"(decompression-bomb guard; raise it with {MAX_PIXELS_ENV})")
            if _is_png16_rgb(path, im):
                return _read_png16(path), "RGB16"
            im = ImageOps.exif_transpose(im)
            im.load()
            return _pil_to_array(im), im.mode
    except DataError:
        raise
    except UnidentifiedImageError as exc:
        raise DataError(f"cannot read image {name}: not a recognised image format "
                        f"({', '.join(IMAGE_EXTENSIONS)})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise DataError(f"cannot read image {name}: {exc}") from exc


def _is_png16_rgb(path: Path, im: Image.Image) -> bool:
    """PIL decodes 16-bit RGB(A) PNGs to 8 bits; detect them to read with pypng instead."""
    if im.format != "PNG":
        return False
    with open(path, "rb") as fh:
        head = fh.read(33)
    bit_depth, color_type = head[24], head[25]
    return bit_depth == 16 and color_type in (2, 6)


def _read_png16(path: Path) -> np.ndarray:
    import png

    try:
        width, height, rows, info = png.Reader(filename=str(path)).read()
        planes = info["planes"]
        return np.vstack([np.asarray(r, dtype=np.uint16) for r in rows]).reshape(height, width, planes)
    except png.Error as exc:
        raise DataError(f"cannot read image {display_path(path)}: {exc}") from exc


def _pil_to_array(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L"):
        return np.asarray(im, dtype=np.uint16)
    if im.mode == "I" and im.format == "PNG":  # 16-bit gray PNG decoded as int32
        return np.asarray(im).astype(np.uint16)
    if im.mode == "1":
        return np.asarray(im, dtype=bool)
    if im.mode == "CMYK":
        return np.asarray(im.convert("RGB"))
    return np.asarray(im)


def to_float(arr: np.ndarray, path: str | Path = "<array>") -> np.ndarray:
    """Scale by dtype to float32 in [0, 1]: uint8/255, uint16/65535, bool 0/1, floats as-is."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        out = arr.astype(np.float32)
        if out.size and (not np.isfinite(out).all() or out.min() < 0 or out.max() > 1):
            raise DataError(f"{path}: floating-point image values must lie in [0, 1]")
        return out
    raise DataError(f"{path}: unsupported pixel type {arr.dtype} (use 8/16-bit integer or float)")


def convert_channels(img: np.ndarray, channels: int | None, path: str | Path = "<array>") -> np.ndarray:
    """(H, W[, C]) float → (H, W, channels). RGBA drops alpha; RGB→gray uses BT.601 luma."""
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise DataError(f"{path}: expected a 2-D image, got array of shape {img.shape}")
    c = img.shape[2]
    if c == 4:
        img, c = img[:, :, :3], 3
    elif c == 2:  # gray + alpha
        img, c = img[:, :, :1], 1
    if c not in (1, 3):
        raise DataError(f"{path}: unsupported channel count {c}")
    if channels is None or channels == c:
        return np.ascontiguousarray(img)
    if channels == 3:
        return np.repeat(img, 3, axis=2)
    if channels == 1:
        return (img @ _LUMA)[:, :, None].astype(np.float32)
    raise DataError(f"channels must be 1 or 3, got {channels}")


def read_image(path: str | Path, channels: int | None = None, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as float32 ``(H, W, C)`` in [0, 1].

    Args:
        path: PNG, JPEG, TIFF or BMP file (8/16-bit, gray, RGB, RGBA, palette, CMYK).
        channels: 1 or 3 to convert, None to keep 1 (gray) or 3 (colour).
        max_pixels: refuse images with more pixels than this (decompression bombs); default
            :func:`~colorseg.data.files.max_pixels_limit` (``$COLORSEG_MAX_PIXELS`` or :data:`~colorseg.data.files.MAX_PIXELS`).

    Raises DataError naming the file when it is missing, empty, not an image, corrupt or too large.
    """
    path = Path(path)
    arr, mode = _read_raw(path, max_pixels)
    name = display_path(path)
    if mode == "P":  # palette image used as a picture: expand through its palette
        with Image.open(path) as im:
            arr = np.asarray(ImageOps.exif_transpose(im).convert("RGBA"))
    if arr.ndim == 3 and arr.shape[2] > 4 or arr.ndim > 3:
        raise DataError(f"{name}: unsupported image array shape {arr.shape}")
    if arr.size == 0:
        raise DataError(f"{name}: image has no pixels")
    return convert_channels(to_float(arr, name), channels, name)


def probe_image(path: str | Path) -> tuple[int, int, int]:
    """``(height, width, channels)`` of an image as :func:`read_image` returns it (EXIF orientation
    applied; channels 1 or 3), from the file header only, without decoding the pixels.

    Raises DataError naming the file when it is missing, empty or not a readable image.
    """
    path = Path(path)
    check_image_file(path)
    name = display_path(path)
    if _is_tiff(path):  # read_image uses tifffile for TIFF (no EXIF orientation)
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                return int(page.imagelength), int(page.imagewidth), 1 if page.samplesperpixel <= 2 else 3
        except Exception as exc:  # tifffile raises many types on corrupt files
            raise DataError(f"cannot read image {name}: {exc}") from exc
    try:
        with Image.open(path) as im:
            w, h = im.size
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # transposing orientations swap the sides
                w, h = h, w
            return h, w, 1 if im.mode in _GRAY_MODES else 3
    except UnidentifiedImageError as exc:
        raise DataError(f"cannot read image {name}: not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"cannot read image {name}: {exc}") from exc


def image_mode(path: str | Path) -> str | None:
    """PIL's mode of an image file from its header (``"L"``, ``"RGB"``, ``"P"``, ``"1"`` …), or None
    when PIL cannot open it (a TIFF only tifffile reads, a broken file: reading it says why)."""
    try:
        with Image.open(path) as im:
            return im.mode
    except (OSError, ValueError, SyntaxError):
        return None


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(..., 3+) colours (uint8 values) → (...) uint32 ``0xRRGGBB``, alpha dropped: one integer per
    colour of a colour-coded mask."""
    c = np.asarray(rgb)[..., :3].astype(np.uint32)
    return (c[..., 0] << 16) | (c[..., 1] << 8) | c[..., 2]


def unpack_rgb(value: int) -> tuple[int, int, int]:
    """``0xRRGGBB`` → ``(R, G, B)`` (the inverse of :func:`pack_rgb` for one colour)."""
    value = int(value)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def read_mask_raw(path: str | Path, max_pixels: int | None = None) -> tuple[np.ndarray, str]:
    """Read a mask's stored values as they are, colour masks included: ``(array, mode)``.

    The array is ``(H, W)`` or ``(H, W, C)`` of an integer dtype (1-bit masks as ``uint8`` 0/1):
    palette PNGs give their indices, colour-coded (RGB/RGBA) masks their colours, unrefused. This
    is the reader for diagnosing masks (``colorseg data check``); training reads masks with
    :func:`read_mask`, which refuses colour masks. ``mode`` is the file's PIL mode (``""`` for a
    TIFF, read with tifffile; ``"RGB16"`` for a 16-bit RGB(A) PNG).

    Raises DataError naming the file when it is missing, empty, not an image, corrupt, too large
    (``max_pixels``, as for :func:`read_image`) or holds non-integer values.
    """
    path = Path(path)
    arr, mode = _read_raw(path, max_pixels)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{display_path(path)}: mask must hold integer class indices, got {arr.dtype}")
    return arr, mode


def read_mask(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """Read a label mask as int64 ``(H, W)`` of stored values (palette PNG: indices).

    An RGB(A) mask is accepted only when all colour channels are equal (a gray mask saved as
    RGB); a true colour mask raises DataError, since class indices are expected
    (:func:`read_mask_raw` reads it without refusing).
    """
    path = Path(path)
    arr, _ = read_mask_raw(path, max_pixels)
    if arr.ndim == 3:
        if arr.shape[2] == 1 or (arr.shape[2] in (3, 4) and (arr[:, :, :3] == arr[:, :, :1]).all()):
            arr = arr[:, :, 0]
        else:
            raise DataError(
                f"{display_path(path)}: mask is a colour (RGB) image; expected one channel of class indices "
                "(save masks as 8-bit gray or palette PNGs)"
            )
    return arr.astype(np.int64)


def save_png(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 (H, W) or (H, W, 3) array as PNG, atomically."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise ValueError(f"save_png expects uint8, got {arr.dtype}")
    return atomic_write(path, lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))
