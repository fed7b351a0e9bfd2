"""Bad input corpus (generated in tmp_path): readers, folder sources, ``fit``, batch ``predict``.

Every refused input gives a DataError / ConfigError whose message names the file or key; the
CLI prints one line (no traceback), exits 2 for user errors (1 when batch prediction skipped
and reported some files), and leaves no partial output behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from corpus import CASES, NON_UTF8_NAME, bomb_png, make_case, make_corpus
from PIL import Image

from colorseg.cli import main
from colorseg.data.files import MAX_PIXELS_ENV, display_path, list_images
from colorseg.data.image_io import read_image, read_mask
from colorseg.data.sources import FolderSource
from colorseg.errors import ConfigError, DataError

TINY = str(Path(__file__).resolve().parents[2] / "configs" / "segment" / "synthetic_tiny.yaml")
IDS = [c.name for c in CASES]


def _names_file(message: str, path: Path) -> bool:
    return display_path(path.name) in message


# ------------------------------------------------------------------------------ readers

@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_read_image(case, tmp_path: Path) -> None:
    path = make_case(case, tmp_path)
    if case.ok:
        assert read_image(path).shape == case.shape
        return
    with pytest.raises(DataError) as info:
        read_image(path)
    assert case.error in str(info.value) and _names_file(str(info.value), path)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_read_mask(case, tmp_path: Path) -> None:
    path = make_case(case, tmp_path)
    if case.mask_error is None:
        mask = read_mask(path)
        assert mask.shape == case.mask_shape and mask.dtype == np.int64
        return
    with pytest.raises(DataError) as info:
        read_mask(path)
    assert case.mask_error in str(info.value) and _names_file(str(info.value), path)


def test_pixel_limit_is_configurable(tmp_path: Path, monkeypatch) -> None:
    wide = make_case("very_wide", tmp_path)  # 300,000 pixels
    monkeypatch.setenv(MAX_PIXELS_ENV, "200000")
    with pytest.raises(DataError, match=f"wide.png: 100000x3 pixels exceeds the limit 200000.*{MAX_PIXELS_ENV}"):
        read_image(wide)
    assert read_image(wide, max_pixels=300_000).shape == (3, 100_000, 1)  # an explicit limit wins
    monkeypatch.setenv(MAX_PIXELS_ENV, "lots")
    with pytest.raises(ConfigError, match=MAX_PIXELS_ENV):
        read_image(wide)


def test_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    """The header claims 10 gigapixels: refusing must not allocate them (it would take 10 GB)."""
    import resource

    path = bomb_png(tmp_path)
    assert path.stat().st_size < 2000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match="100000x100000 pixels exceeds the limit"):
        read_image(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_folder_listing_reports_symlink_loops(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    make_case("space_in_name", folder)
    (folder / "loop_dir").symlink_to(".")  # a directory loop: ignored (not recursive)
    assert [p.name for p in list_images(folder)] == ["my photo 1.png"]
    assert [p.name for p in list_images(folder, recursive=True)] == ["my photo 1.png"]  # loop visited once
    make_case("symlink_loop", folder)
    with pytest.raises(DataError, match=r"loop2?\.png: symbolic link loop"):
        list_images(folder)


# ------------------------------------------------------------------------ folder sources

def _folder(root: Path, n: int = 4, size: tuple[int, int] = (24, 20)) -> Path:
    rng = np.random.default_rng(0)
    for d in ("images", "masks"):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        mask = np.zeros(size, np.uint8)
        mask[4:12, 3:9] = 1
        mask[14:, 10:] = 2
        Image.fromarray((rng.random((*size, 3)) * 255).astype(np.uint8)).save(root / "images" / f"s{i}.png")
        Image.fromarray(mask).save(root / "masks" / f"s{i}.png")
    return root


def _break(root: Path, how: str) -> Path:
    """Damage sample s1 in one way; returns the file the error must name."""
    mask_path = root / "masks" / "s1.png"
    if how == "mask_values_outside_classes":
        mask = np.asarray(Image.open(mask_path)).copy()
        mask[0, :3] = (3, 7, 9)
        Image.fromarray(mask).save(mask_path)
    elif how == "mask_wrong_size":
        Image.fromarray(np.zeros((10, 10), np.uint8)).save(mask_path)
    elif how == "rgb_mask":
        Image.fromarray(np.dstack([np.zeros((24, 20), np.uint8), np.full((24, 20), 200, np.uint8),
                                   np.zeros((24, 20), np.uint8)])).save(mask_path)
    elif how == "truncated_image":
        data = (root / "images" / "s1.png").read_bytes()
        (root / "images" / "s1.png").write_bytes(data[: len(data) // 3])
        return root / "images" / "s1.png"
    elif how == "image_without_mask":
        mask_path.unlink()
        return root / "images" / "s1.png"
    elif how == "symlink_loop_image":
        (root / "images" / "s1.png").unlink()
        (root / "images" / "s1.png").symlink_to("s1.png")
        return root / "images" / "s1.png"
    else:
        raise AssertionError(how)
    return mask_path


SOURCE_BREAKS = {"mask_values_outside_classes": "outside the declared classes", "mask_wrong_size": "size mismatch",
                 "rgb_mask": "colour (RGB)", "truncated_image": "cannot read image",
                 "image_without_mask": "image without mask", "symlink_loop_image": "symbolic link loop"}


@pytest.mark.parametrize("how", list(SOURCE_BREAKS))
def test_folder_source_names_the_bad_file(how: str, tmp_path: Path) -> None:
    root = _folder(tmp_path / "data")
    bad = _break(root, how)
    source = FolderSource(class_names=["bg", "a", "b"], in_channels=3, root=root)
    with pytest.raises(DataError) as info:
        for sample in source.pool():
            source.load(sample)
    assert SOURCE_BREAKS[how] in str(info.value) and bad.name in str(info.value)


def test_folder_source_with_unusual_names(tmp_path: Path) -> None:
    """Spaces and non-UTF-8 bytes in names: pairs are found and loaded."""
    root = _folder(tmp_path / "data", n=2)
    for d in ("images", "masks"):
        os.rename(root / d / "s0.png", root / d / NON_UTF8_NAME)
        os.rename(root / d / "s1.png", root / d / "my scan 1.png")
    source = FolderSource(class_names=["bg", "a", "b"], in_channels=3, root=root)
    pool = source.pool()
    assert sorted(s.name for s in pool) == sorted([Path(NON_UTF8_NAME).stem, "my scan 1"])
    for sample in pool:
        image, mask = source.load(sample)
        assert image.shape == (24, 20, 3) and mask.max() == 2


FIT_FOLDER = ["--data.source=folder", "--data.class_names=[bg, a, b]", "--data.val_fraction=0.25",
              "--trainer.enable_progress_bar=false", "--trainer.max_epochs=1"]


@pytest.mark.parametrize("how", ["mask_values_outside_classes", "rgb_mask", "symlink_loop_image"])
def test_fit_on_bad_folder_exits_2_and_leaves_nothing(how: str, tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "data")
    bad = _break(root, how)
    run_dir = tmp_path / "run"
    code = main(["segment", "fit", "-c", TINY, "--run_dir", str(run_dir), f"--data.root={root}", *FIT_FOLDER])
    err = capsys.readouterr().err
    assert code == 2
    assert SOURCE_BREAKS[how] in err and bad.name in err and "Traceback" not in err
    assert not run_dir.exists()  # no half-made run directory


def test_fit_on_good_folder_with_unusual_names(tmp_path: Path, capsys) -> None:
    root = _folder(tmp_path / "data")
    os.rename(root / "images" / "s0.png", root / "images" / NON_UTF8_NAME)
    os.rename(root / "masks" / "s0.png", root / "masks" / NON_UTF8_NAME)
    run_dir = tmp_path / "run"
    assert main(["segment", "fit", "-c", TINY, "--run_dir", str(run_dir), f"--data.root={root}", *FIT_FOLDER]) == 0
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    tables = ""
    for split in ("train", "val", "test"):  # the odd name lands in one of them, each written readably
        out = tmp_path / f"eval_{split}"
        assert main(["segment", "test", "--ckpt", str(run_dir / "checkpoints" / "last.ckpt"), "--output", str(out),
                     "--split", split]) == 0
        tables += (out / "per_image.csv").read_text(encoding="utf-8", errors="replace")
    assert tables.count("caf") == 1


# ----------------------------------------------------------------------- output folders

def _not_writable_targets(tmp_path: Path) -> list[Path]:
    """Output folders that cannot be made: a path under a regular file and a regular file itself
    (for root too), and a read-only folder's child (not for root: root ignores permission bits)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    targets = [blocker / "out", blocker]
    if os.geteuid() != 0:
        ro = tmp_path / "read_only"
        ro.mkdir()
        ro.chmod(0o500)
        targets.append(ro / "out")
    return targets


def test_predict_to_unwritable_folder(segment_ckpt: Path, tmp_path: Path, capsys) -> None:
    inputs = tmp_path / "in"
    make_case("space_in_name", inputs)
    for target in _not_writable_targets(tmp_path):
        code = main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(inputs),
                     "--output", str(target)])
        err = capsys.readouterr().err
        assert code == 2 and str(target) in err and "Traceback" not in err
        assert not target.is_dir()
    assert (tmp_path / "a_file").read_text() == "x"  # the blocking file was left as it was


def test_fit_to_unwritable_run_dir(tmp_path: Path, capsys) -> None:
    for target in _not_writable_targets(tmp_path):
        code = main(["segment", "fit", "-c", TINY, "--run_dir", str(target), "--trainer.enable_progress_bar=false"])
        err = capsys.readouterr().err
        assert code == 2 and "run directory" in err and str(target) in err and "Traceback" not in err
        assert not target.is_dir()
    assert (tmp_path / "a_file").read_text() == "x"


# -------------------------------------------------------------------------------- configs

@pytest.mark.parametrize("yaml_text, key", [
    ("model:\n  depthh: 3\n", "depthh"),  # unknown key
    ("data:\n  batch_size: four\n", "batch_size"),  # wrong type
    ("trainer:\n  max_epochs: [1, 2]\n", "max_epochs"),  # wrong type
    ("bogus_section: 1\n", "bogus_section"),  # unknown top-level key
    ("model:\n  scheduler: warp\n", "scheduler"),  # right type, invalid value
    ("data:\n  val_fraction: 1.5\n", "val_fraction"),  # out of range
])
def test_bad_config_exits_2_naming_the_key(yaml_text: str, key: str, tmp_path: Path, capsys) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    run_dir = tmp_path / "run"
    code = main(["segment", "fit", "-c", TINY, "-c", str(config), "--run_dir", str(run_dir),
                 "--trainer.enable_progress_bar=false"])
    err = capsys.readouterr().err
    assert code == 2
    assert key in err and "Traceback" not in err
    assert not run_dir.exists()


@pytest.mark.parametrize("content", [None, "model: [unclosed\n"])
def test_missing_or_unparsable_config_file(content, tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.yaml"
    if content is not None:
        config.write_text(content)
    code = main(["segment", "fit", "-c", str(config), "--run_dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "config.yaml" in err and "Traceback" not in err


# -------------------------------------------------------------------- batch prediction

def _assert_no_partial_files(out: Path) -> None:
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or ".tmp" in p.name]
    assert not leftovers, leftovers


# the 3x100000 image has its own (slow) test: tiling it takes ~20 s on one CPU core
FAST_CASES = [c for c in CASES if c.name != "very_wide"]


def test_segment_predict_over_the_corpus(segment_ckpt: Path, tmp_path: Path, capsys) -> None:
    inputs = tmp_path / "in"
    paths = make_corpus(inputs, FAST_CASES)
    (inputs / "sub").mkdir()
    (inputs / "sub" / "back_to_top").symlink_to("..")  # a directory symlink loop
    out = tmp_path / "out"
    code = main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(inputs), "--output", str(out),
                 "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 1  # some inputs failed; they are reported, the rest is written
    assert "Traceback" not in captured.err + captured.out
    summary = captured.out
    for case in FAST_CASES:
        path = paths[case.name]
        label = out / f"{Path(path.name).stem}.png"
        if case.ok:
            assert label.is_file(), case.name
            assert np.asarray(Image.open(label)).shape == case.shape[:2], case.name
            assert (out / f"{Path(path.name).stem}_overlay.png").is_file()
        elif case.name not in ("symlink_loop", "dangling_symlink"):
            assert f"failed: {display_path(path)}" in summary, case.name
            assert not label.exists(), case.name
    n_ok = sum(c.ok for c in FAST_CASES)
    assert f"done {n_ok}," in summary
    _assert_no_partial_files(out)


@pytest.mark.slow
def test_segment_predict_very_wide_image(segment_ckpt: Path, tmp_path: Path) -> None:
    make_case("very_wide", tmp_path / "in")
    out = tmp_path / "out"
    assert main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(tmp_path / "in"),
                 "--output", str(out)]) == 0
    assert np.asarray(Image.open(out / "wide.png")).shape == (3, 100_000)


def test_segment_predict_reports_broken_links(segment_ckpt: Path, tmp_path: Path, capsys) -> None:
    inputs = tmp_path / "in"
    make_corpus(inputs, [c for c in CASES if c.name in ("space_in_name", "symlink_loop", "dangling_symlink")])
    out = tmp_path / "out"
    main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(inputs), "--output", str(out)])
    summary = capsys.readouterr().out
    assert "loop.png" in summary and "dangling.png" in summary


def test_colorize_predict_over_the_corpus(colorize_ckpt: Path, tmp_path: Path, capsys) -> None:
    cases = [c for c in CASES if c.name in ("truncated_jpeg", "text_named_png", "decompression_bomb", "cmyk_jpeg",
                                            "one_pixel", "exif_rotated", "non_utf8_name", "rgb_16bit", "palette")]
    inputs = tmp_path / "in"
    paths = make_corpus(inputs, cases)
    out = tmp_path / "out"
    code = main(["colorize", "predict", "--ckpt", str(colorize_ckpt), "--input", str(inputs),
                 "--output", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    for case in cases:
        path = paths[case.name]
        result = out / f"{Path(path.name).stem}.png"
        if case.ok:
            assert np.asarray(Image.open(result)).shape == (*case.shape[:2], 3), case.name
        else:
            assert f"failed: {display_path(path)}" in captured.out and not result.exists(), case.name
    _assert_no_partial_files(out)


def test_predict_single_bad_file_exits_nonzero(segment_ckpt: Path, tmp_path: Path, capsys) -> None:
    path = make_case("text_named_png", tmp_path / "in")
    out = tmp_path / "out"
    code = main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(path), "--output", str(out)])
    captured = capsys.readouterr()
    assert code != 0 and "notes.png" in captured.out + captured.err and "Traceback" not in captured.err
    _assert_no_partial_files(out)
    assert not list(out.glob("notes*"))


def test_predict_missing_input(segment_ckpt: Path, tmp_path: Path, capsys) -> None:
    code = main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(tmp_path / "nowhere"),
                 "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "nowhere" in err and "Traceback" not in err


def test_predict_pixel_limit_from_environment(segment_ckpt: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    inputs = tmp_path / "in"
    make_corpus(inputs, [c for c in CASES if c.name in ("very_wide", "space_in_name")])
    monkeypatch.setenv(MAX_PIXELS_ENV, "100000")
    code = main(["segment", "predict", "--ckpt", str(segment_ckpt), "--input", str(inputs),
                 "--output", str(tmp_path / "out"), "--no-overlay"])
    summary = capsys.readouterr().out
    assert code == 1 and "wide.png" in summary and "exceeds the limit 100000" in summary
    assert (tmp_path / "out" / "my photo 1.png").is_file()
