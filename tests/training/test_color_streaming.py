"""Streaming colorization data (``data.preload=false``) and the ImageNet DDP config.

Streamed datasets hold file paths only and decode per item (in DataLoader workers); their
validation / test items equal the preloaded ones; grayscale-only training images are replaced
by the next image and counted; the rarity histogram reads a bounded, seeded sample of files;
``configs/colorize/imagenet_ddp.yaml`` parses and, shrunk, trains on 2 CPU processes (DDP, gloo).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from colorseg.data.color_datasets import ColorDataset, ColorFileDataset
from colorseg.data.color_sources import ColorSample, is_grayscale
from colorseg.data.split_datasets import ColorSplits
from colorseg.errors import DataError
from colorseg.training.color_datamodule import ColorizationDataModule

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parents[1] / "configs" / "colorize"
IMAGENET_DDP = CONFIGS / "imagenet_ddp.yaml"


def _photos(folder: Path, n: int, gray: int = 0, size: tuple[int, int] = (40, 48)) -> Path:
    """``n`` colour JPEGs in 4 class folders (ImageNet-like layout) and ``gray`` grayscale-only
    ones named ``zz_gray_*`` (they sort last); sizes vary a little so evaluation sees odd shapes."""
    rng = np.random.default_rng(0)
    for i in range(n):
        d = folder / f"n{i % 4:08d}"
        d.mkdir(parents=True, exist_ok=True)
        h, w = size[0] + i % 5, size[1] + (3 * i) % 7
        yy, xx = np.mgrid[0:h, 0:w]
        im = np.stack([(xx * 5 + i * 10) % 256, (yy * 6) % 256, np.full_like(xx, (i * 37) % 256)], -1)
        im = np.clip(im + rng.integers(-8, 9, im.shape), 0, 255).astype(np.uint8)
        Image.fromarray(im).save(d / f"img_{i:03d}.JPEG", quality=90)
    for i in range(gray):
        d = folder / "zz"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full(size, 60 + 40 * i, np.uint8)).convert("RGB").save(d / f"zz_gray_{i}.JPEG")
    return folder


def _batches(loader) -> list[dict]:
    return list(loader)


# --------------------------------------------------------------------------- equivalence
def test_streamed_val_and_test_batches_equal_preloaded(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 16, gray=4)
    options = {"source": "folder", "root": str(root), "image_size": 24, "val_fraction": 0.3, "test_fraction": 0.3}
    preloaded = ColorizationDataModule(**options)
    streamed = ColorizationDataModule(**options, preload=False, num_workers=1)  # workers decode
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*grayscale-only.*")
        for split, loader in (("val", "val_dataloader"), ("test", "test_dataloader")):
            a, b = _batches(getattr(preloaded, loader)()), _batches(getattr(streamed, loader)())
            assert isinstance(streamed.dataset(split), ColorFileDataset)
            assert len(a) == len(b) > 0
            for x, y in zip(a, b):
                assert x.keys() == y.keys() and x["name"] == y["name"]
                assert torch.equal(x["rgb"], y["rgb"]) and torch.equal(x["rgb_full"], y["rgb_full"])
    # the case that needs care happened: grayscale-only images fell into the evaluated splits
    tables = streamed.splits.sample_tables()
    dropped = sum(len(tables[s]) - len(streamed.dataset(s)) for s in ("val", "test"))
    assert dropped > 0


def test_streamed_synthetic_and_old_checkpoint_options(tmp_path: Path) -> None:
    """Options saved before ``preload`` existed rebuild the preloaded splits (evaluation of old
    checkpoints); ``colorize test --data.preload=false`` streams the same items."""
    from colorseg.evaluation.colorization import DATA_OPTIONS

    assert "preload" in DATA_OPTIONS
    dm = ColorizationDataModule(source="synthetic", num_images=20, synthetic_size=32, image_size=32)
    old = {k: v for k, v in dict(dm.hparams).items()
           if k not in ("preload", "persistent_workers", "pin_memory", "histogram_images")}
    preloaded = ColorSplits.from_options(old)
    streamed = ColorSplits.from_options(old, {"preload": False})
    assert preloaded.preload and not streamed.preload
    for split in ("val", "test"):
        a, b = preloaded.dataset(split), streamed.dataset(split)
        assert isinstance(a, ColorDataset) and isinstance(b, ColorFileDataset) and len(a) == len(b)
        for i in range(len(a)):
            x, y = a[i], b[i]
            assert x["name"] == y["name"] and torch.equal(x["rgb_full"], y["rgb_full"])
    assert ([s.name for s in streamed.split_samples()["train"]]
            == [s.name for s in preloaded.split_samples()["train"]])


# --------------------------------------------------------------------------- grayscale / errors
def test_streamed_training_replaces_grayscale_images_and_counts_them(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 6, gray=2)
    dm = ColorizationDataModule(source="folder", root=str(root), image_size=16, val_fraction=0.0,
                                test_fraction=0.0, val_from_train=0, preload=False, batch_size=3)
    ds = dm.dataset("train")
    assert len(ds) == 8  # not filtered up front: nothing was read
    with pytest.warns(UserWarning, match="skipped grayscale-only train image zz/zz_gray_[01]") as record:
        batches = [dm.on_before_batch_transfer(b, 0) for b in dm.train_dataloader()]
    skipped = [str(w.message) for w in record if "skipped grayscale-only" in str(w.message)]
    assert len(skipped) == 1 and "found 1 such image(s) so far" in skipped[0]  # once, with the count
    names = [n for b in batches for n in b["name"]]
    assert len(names) == 8 and not any("gray" in n for n in names)
    assert all("gray_skipped" not in b for b in batches)  # popped before the batch reaches the model
    for b in batches:
        for rgb in b["rgb"]:
            assert not is_grayscale(rgb.permute(1, 2, 0).numpy())
    assert dm.gray_skipped == 2 and ds.gray_found == 0  # this dataset object was not the loader's
    # deterministic replacement: the grayscale images sort last, so both are replaced by image 0
    first = ds.table.name(0)
    with pytest.warns(UserWarning, match="this process has found 1 such image"):
        item = ds[6]
    assert item["name"] == first and item["gray_skipped"] == 1
    assert ds[0]["gray_skipped"] == 0 and ds.gray_found == 2
    # a known grayscale image is not read (nor warned about) again; the count goes on
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ds[7]["name"] == first
    with pytest.warns(UserWarning, match="2 grayscale-only training image"):
        dm.teardown("fit")


def test_streamed_corrupt_file_is_an_error_naming_it(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 4)
    (root / "n00000000" / "broken.JPEG").write_bytes(b"\xff\xd8\xff not a jpeg")
    dm = ColorizationDataModule(source="folder", root=str(root), image_size=16, val_fraction=0.0,
                                test_fraction=0.0, val_from_train=0, preload=False, num_workers=1)
    dm.dataset("train")  # building the dataset reads nothing
    with pytest.raises(DataError, match=r"broken\.JPEG(.|\n)*preload=false"):
        _batches(dm.train_dataloader())  # from a worker: still a DataError naming the file


# --------------------------------------------------------------------------- memory
def _pixel_arrays(obj, seen=None) -> list[int]:
    """Sizes of the numpy arrays / tensors of more than 1 KB reachable through attributes and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        size = obj.nbytes if isinstance(obj, np.ndarray) else obj.element_size() * obj.nelement()
        return [size] if size > 1024 else []
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, "__dict__"):
        children = list(vars(obj).values())
    else:
        return []
    return [s for c in children for s in _pixel_arrays(c, seen)]


def test_streamed_dataset_holds_paths_not_pixels(tmp_path: Path) -> None:
    """The dataset's size does not depend on the images' pixels: ~100 bytes per file, the same
    for 24×32 and 480×640 photos, unchanged after every item was read; the preloaded one grows."""
    pickled = {}
    for name, size in (("a", (24, 32)), ("b", (480, 640))):
        root = _photos(tmp_path / name, 12, size=size)
        dm = ColorizationDataModule(source="folder", root=str(root), image_size=16, val_fraction=0.25,
                                    test_fraction=0.0, preload=False)
        for split in ("train", "val"):
            ds = dm.dataset(split)
            before = len(pickle.dumps(ds))
            for i in range(len(ds)):
                ds[i]
            assert len(pickle.dumps(ds)) == before  # reading caches nothing
            assert _pixel_arrays(ds) == [] and ds.table.nbytes() < 200 * len(ds.table)
            pickled[name, split] = before
        assert dm.splits._data == {} and dm.splits._samples is None  # no decoded split, no per-file objects
    assert pickled["a", "train"] == pickled["b", "train"] and pickled["a", "val"] == pickled["b", "val"]
    assert pickled["b", "train"] < 200 * 12
    preloaded = ColorizationDataModule(source="folder", root=str(tmp_path / "b"), image_size=16,
                                       val_fraction=0.25, test_fraction=0.0).dataset("train")
    assert sum(_pixel_arrays(preloaded)) >= len(preloaded) * 480 * 640 * 3


def test_streamed_ab_histogram_reads_a_bounded_seeded_sample(tmp_path: Path, monkeypatch) -> None:
    root = _photos(tmp_path / "photos", 12, gray=1)
    reads: list[str] = []
    load = ColorSample.load

    def counting_load(self):
        reads.append(self.name)
        return load(self)

    monkeypatch.setattr(ColorSample, "load", counting_load)
    options = {"source": "folder", "root": str(root), "image_size": 16, "val_fraction": 0.0, "test_fraction": 0.0,
               "val_from_train": 0, "preload": False, "histogram_images": 4}
    first = ColorizationDataModule(**options).ab_histogram()
    assert len(reads) == 4 and len(set(reads)) == 4
    picked = list(reads)
    reads.clear()
    again = ColorizationDataModule(**options).ab_histogram()  # another process (DDP rank): same files, same counts
    assert reads == picked and torch.equal(first, again)
    assert 0 < first.sum() <= 4 * 44 * 54


# --------------------------------------------------------------------------- config
def _load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_imagenet_ddp_config_parses(tmp_path: Path, monkeypatch, capsys) -> None:
    from colorseg.training.tasks import fit_task

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        fit_task("colorize", ["-c", str(IMAGENET_DDP), "--trainer.accelerator=cpu", "--trainer.precision=32-true",
                              "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    data, trainer = printed["data"], printed["trainer"]
    assert data["source"] == "folder" and data["preload"] is False
    assert data["num_workers"] >= 1 and data["persistent_workers"] is True and data["pin_memory"] is True
    assert trainer["strategy"] == "ddp" and trainer["devices"] == -1 and trainer["use_distributed_sampler"]
    assert trainer["max_epochs"] and printed["model"]["encoder"] == "efficientnet_lite0"
    raw = _load_yaml(IMAGENET_DDP)["trainer"]
    assert raw["accelerator"] == "gpu" and raw["precision"] in ("bf16-mixed", "16-mixed")
    assert not (tmp_path / "runs").exists()


def test_imagenet_ddp_model_section_mirrors_default() -> None:
    default = CONFIGS / "default.yaml"
    if not default.is_file():
        pytest.skip("configs/colorize/default.yaml does not exist yet")
    assert _load_yaml(IMAGENET_DDP)["model"] == _load_yaml(default)["model"]


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="needs torch.distributed with gloo")
def test_imagenet_ddp_config_trains_on_two_cpu_processes(tmp_path: Path) -> None:
    """The ImageNet config, shrunk (small model, 32 px, 17 files), on 2 CPU processes: DDP with
    the config's bf16-mixed precision, one loader worker per process streaming the files."""
    from colorseg.checkpoint import load_checkpoint

    root = _photos(tmp_path / "photos", 16, gray=1)
    run_dir = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("COLORSEG_RUN_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "colorseg", "colorize", "fit", "-c", str(IMAGENET_DDP), "--run_dir", str(run_dir),
         f"--data.root={root}", "--trainer.accelerator=cpu", "--trainer.devices=2", "--trainer.strategy=ddp",
         "--trainer.max_epochs=1", "--trainer.enable_progress_bar=false", "--trainer.log_every_n_steps=1",
         "--data.num_workers=1", "--data.pin_memory=false", "--data.batch_size=4", "--data.image_size=32",
         "--data.val_fraction=0.25", "--data.test_fraction=0", "--model.encoder=unet",
         "--model.encoder_weights=none", "--model.base_width=8", "--model.depth=2", "--model.perceptual_weight=0"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    log = proc.stderr + proc.stdout
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MEMBER: 2/2" in log and "bfloat16" in log
    # the grayscale-only file fell into training: a worker replaced it and the data module counted it
    assert "skipped grayscale-only train image zz/zz_gray_0" in log
    assert "1 grayscale-only training image(s) were replaced" in log
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.ckpt", "colorize")
    assert ckpt["datamodule_hyper_parameters"]["preload"] is False
    # 13 training files over 2 processes (7 each, the sampler pads one), batches of 4: 2 steps;
    # without sharding it would be 4
    assert ckpt["global_step"] == 2
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
