"""`colorseg demo`: train, test and apply the U-Net on built-in synthetic data (no files, no network)."""

from __future__ import annotations

import json
from pathlib import Path

from colorseg.data.io import save_png
from colorseg.data.synthetic import make_shapes_sample


def run_demo(output: Path, quick: bool = False) -> dict:
    """Fit a small U-Net on synthetic shapes, test it and segment a few generated images.

    Returns the test metrics; prints where the run, metrics and predictions are.
    """
    from colorseg.inference.predict_folder import predict_folder
    from colorseg.inference.segmenter import Segmenter
    from colorseg.training.datamodule import SegmentationDataModule
    from colorseg.training.evaluate import evaluate_segmenter
    from colorseg.training.fit import run_fit
    from colorseg.training.segmenter import SegmenterModule

    output = Path(output)
    epochs, images = (3, 24) if quick else (25, 96)
    run_dir = output / "segment-unet"
    args = ["--run_dir", str(run_dir), "--trainer.max_epochs", str(epochs),
            "--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.log_every_n_steps=5",
            "--data.source=synthetic", f"--data.num_images={images}", "--data.image_size=96",
            "--data.crop_size=64", "--data.batch_size=8", "--data.repeats=2",
            "--model.base_width=16", "--model.depth=3", "--model.lr=3e-3"]
    run_fit(SegmenterModule, SegmentationDataModule, args, task="segment")
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    segmenter = Segmenter.from_checkpoint(ckpt)
    dm = SegmentationDataModule(source="synthetic", num_images=images, image_size=96)
    metrics = evaluate_segmenter(segmenter, dm, run_dir / "test", checkpoint=str(ckpt))
    inputs = output / "inputs"
    for i in range(4):
        image, _ = make_shapes_sample(seed=123, index=i, size=160)
        save_png(inputs / f"shapes_{i}.png", (image * 255 + 0.5).astype("uint8"))
    summary = predict_folder(segmenter, inputs, output / "predictions", progress=False)
    print("\n=== colorseg demo ===")
    print(f"run directory : {run_dir}")
    print(f"test metrics  : {run_dir / 'test' / 'metrics.json'}")
    print(json.dumps({k: metrics[k] for k in ('mean_iou', 'mean_dice', 'pixel_accuracy')}, indent=2))
    print(f"predictions   : {output / 'predictions'} ({summary.done} images)")
    return metrics
