"""File-system helpers: printable paths, image listing, atomic writes (of text too), the pixel limit.

Image decoding lives in :mod:`colorseg.data.image_io`; this module knows file names, folders and
bytes on disk, never pixels.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from colorseg.errors import ConfigError, DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MAX_PIXELS = 2**28  # decompression-bomb guard (~268 MP); per call, or COLORSEG_MAX_PIXELS
MAX_PIXELS_ENV = "COLORSEG_MAX_PIXELS"


def display_path(path: str | Path) -> str:
    """A path printable on any terminal (undecodable bytes of non-UTF-8 names shown as \\x..)."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")


def max_pixels_limit() -> int:
    """The pixel limit: ``$COLORSEG_MAX_PIXELS`` when set, else :data:`MAX_PIXELS`."""
    value = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not value:
        return MAX_PIXELS
    try:
        limit = int(float(value))
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ConfigError(f"{MAX_PIXELS_ENV} must be a positive number of pixels, got {value!r}")
    return limit


def is_image_file(path: str | Path) -> bool:
    """True for a regular file with a known image extension (``Thumbs.db`` etc. are not)."""
    p = Path(path)
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def walk_files(folder: str | Path) -> list[Path]:
    """Every non-directory entry under ``folder`` (files and file links, broken ones included).

    Directory symlinks are followed, but each real directory is visited once (no loops).
    """
    entries, seen = [], set()
    for root, dirs, names in os.walk(folder, followlinks=True):
        st = os.stat(root)
        if (st.st_dev, st.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        entries += [Path(root) / n for n in names]
    return entries


def list_images(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Sorted image files in ``folder``; raises DataError if it is missing or holds none.

    ``recursive`` follows directory symlinks but visits each real directory once (no loops).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"folder not found: {display_path(folder)}")
    candidates = walk_files(folder) if recursive else list(folder.iterdir())
    files = []
    for p in candidates:
        if not is_image_file(p):
            continue
        if p.is_symlink() and not p.exists():
            check_image_file(p)  # a broken or looping link is an error, not a file to skip silently
        if p.is_file():
            files.append(p)
    files.sort()
    if not files:
        raise DataError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in folder: {display_path(folder)}")
    return files


def check_image_file(path: Path) -> int:
    """Size in bytes of a readable regular file, or a DataError saying what is wrong with it."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"cannot read image {display_path(path)}: symbolic link loop") from exc
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            what = "broken symbolic link, target not found" if path.is_symlink() else "image file not found"
            raise DataError(f"{what}: {display_path(path)}") from exc
        raise DataError(f"cannot read image {display_path(path)}: {exc.strerror or exc}") from exc
    if not os.path.isfile(path):
        raise DataError(f"not a regular file: {display_path(path)}")
    if st.st_size == 0:
        raise DataError(f"cannot read image {display_path(path)}: empty file (0 bytes)")
    return st.st_size


TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write_fn, durable: bool = False) -> Path:
    """Call ``write_fn(tmp_path)`` then rename onto ``path``: readers never see partial files.

    The temporary file (``.<name>.<random>.tmp<suffix>``, same folder) is removed
    when ``write_fn`` fails. ``durable`` also flushes the file and the folder to disk (fsync)
    before and after the rename, so a crash or power cut leaves the old or the new file, whole.
    The result is readable by everyone (0644, as a plain ``open(…, "w")`` under the usual umask;
    the temporary file is created 0600), or keeps the mode of the file it replaces.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # hidden, same folder (atomic rename), and ending in the target's suffix (writers that pick
    # the format from the extension keep working)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX + path.suffix)
    os.close(fd)
    try:
        write_fn(Path(tmp))
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.is_file() else 0o644)
        if durable:
            fsync(tmp)
        os.replace(tmp, path)
        if durable:
            fsync(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, durable: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` with :func:`atomic_write`."""

    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=durable)


def fsync(path: str | Path) -> None:
    """Flush a file or folder to disk (``os.fsync`` on a read-only descriptor)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
