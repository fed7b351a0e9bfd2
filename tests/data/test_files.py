"""File-system helpers: image listing, image-file names, atomic writes, the pixel limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorseg.data.files import (
    MAX_PIXELS,
    MAX_PIXELS_ENV,
    atomic_write,
    atomic_write_text,
    check_image_file,
    is_image_file,
    list_images,
    max_pixels_limit,
)
from colorseg.errors import ConfigError, DataError


def test_list_images_sorted_and_skips_junk(tmp_path: Path) -> None:
    for name in ("b.png", "a.JPG", "c.tif"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "Thumbs.db").write_bytes(b"junk")
    (tmp_path / ".hidden.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "sub.png").mkdir()  # a folder with an image-like name
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.tif"]


def test_list_images_recursive(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.png").write_bytes(b"x")
    (tmp_path / "y.png").write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path, recursive=True)] == ["x.png", "y.png"]
    assert [p.name for p in list_images(tmp_path)] == ["y.png"]


def test_list_images_empty_or_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "Thumbs.db").write_bytes(b"junk")
    with pytest.raises(DataError, match="empty"):
        list_images(tmp_path / "empty")
    with pytest.raises(DataError, match="missing"):
        list_images(tmp_path / "missing")


@pytest.mark.parametrize(
    "name, expected",
    [("a.png", True), ("A.PNG", True), ("x.jpeg", True), ("x.tiff", True), ("x.bmp", True),
     ("Thumbs.db", False), (".DS_Store", False), ("._a.png", False), ("a.txt", False),
     ("png", False)],
)
def test_is_image_file(name: str, expected: bool) -> None:
    assert is_image_file(name) is expected


def test_atomic_write_cleans_up_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out" / "result.png"

    def failing(tmp: Path) -> None:
        tmp.write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, failing)
    assert list((tmp_path / "out").iterdir()) == []


def test_atomic_write_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    atomic_write(target, lambda tmp: tmp.write_bytes(b"new"))
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_atomic_write_durable_writes_the_content(tmp_path: Path) -> None:
    target = atomic_write(tmp_path / "sub" / "d.txt", lambda tmp: tmp.write_text("ok"), durable=True)
    assert target.read_text() == "ok"
    assert [p.name for p in target.parent.iterdir()] == ["d.txt"]


def test_atomic_write_text_is_readable_by_everyone(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "sub" / "t.txt", "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n" and (target.stat().st_mode & 0o777) == 0o644
    atomic_write_text(target, "new", durable=True)
    assert target.read_text() == "new" and [p.name for p in target.parent.iterdir()] == ["t.txt"]


def test_max_pixels_limit_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_PIXELS_ENV, raising=False)
    assert max_pixels_limit() == MAX_PIXELS
    monkeypatch.setenv(MAX_PIXELS_ENV, "1e6")
    assert max_pixels_limit() == 1_000_000
    monkeypatch.setenv(MAX_PIXELS_ENV, "-3")
    with pytest.raises(ConfigError, match=MAX_PIXELS_ENV):
        max_pixels_limit()


def test_check_image_file_sizes_and_refuses(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"12345")
    assert check_image_file(tmp_path / "a.png") == 5
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        check_image_file(tmp_path / "empty.png")
    with pytest.raises(DataError, match="not found"):
        check_image_file(tmp_path / "missing.png")
    with pytest.raises(DataError, match="not a regular file"):
        check_image_file(tmp_path)


def test_atomic_write_gives_a_shareable_file_or_keeps_the_old_mode(tmp_path: Path) -> None:
    """Outputs (predictions, released weights, reports) are 0644 like a plain write, not the
    temporary file's 0600; replacing a file keeps the mode its owner gave it."""
    target = atomic_write(tmp_path / "w.bin", lambda tmp: tmp.write_bytes(b"x"))
    assert (target.stat().st_mode & 0o777) == 0o644
    target.chmod(0o600)
    atomic_write(target, lambda tmp: tmp.write_bytes(b"y"))
    assert target.read_bytes() == b"y" and (target.stat().st_mode & 0o777) == 0o600
