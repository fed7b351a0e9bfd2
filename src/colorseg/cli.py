"""Command line: argument parsing only; every command calls a typed function.

    colorseg segment fit -c CONFIG [--trainer.max_epochs=5 --data.root=DIR ...]
    colorseg segment test --ckpt PATH [--split test] [--output DIR] [--data.KEY=VALUE ...]
    colorseg segment predict --ckpt PATH --input FILE_OR_DIR --output DIR [--skip-existing]
    colorseg demo [--output DIR] [--quick]

User errors (bad files, configs, checkpoints) print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import yaml

from colorseg.errors import ColorsegError, ConfigError


def parse_data_overrides(tokens: list[str], allowed: set[str]) -> dict:
    """``["--data.root=DIR", "--data.val_fraction", "0.3"]`` → ``{"root": "DIR", "val_fraction": 0.3}``."""
    out: dict = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--data."):
            raise ConfigError(f"unexpected argument {tok!r} (data overrides look like --data.root=DIR)")
        key, eq, value = tok[len("--data."):].partition("=")
        if not eq:
            if i + 1 >= len(tokens):
                raise ConfigError(f"missing value for --data.{key}")
            value, i = tokens[i + 1], i + 1
        if key not in allowed:
            raise ConfigError(f"unknown data option {key!r}; known: {', '.join(sorted(allowed))}")
        out[key] = yaml.safe_load(value) if value != "" else None
        i += 1
    return out


def _segment_test(args: argparse.Namespace, extra: list[str]) -> int:
    from colorseg.inference.segmenter import Segmenter
    from colorseg.training.checkpoint import load_checkpoint
    from colorseg.training.datamodule import SegmentationDataModule
    from colorseg.training.evaluate import datamodule_from_checkpoint, evaluate_segmenter

    allowed = set(inspect.signature(SegmentationDataModule.__init__).parameters) - {"self"}
    overrides = parse_data_overrides(extra, allowed)
    ckpt = load_checkpoint(args.ckpt, task="segment")
    segmenter = Segmenter.from_checkpoint(args.ckpt, device=args.device)
    datamodule = datamodule_from_checkpoint(ckpt, overrides)
    output = Path(args.output) if args.output else Path(args.ckpt).resolve().parent.parent / f"test-{args.split}"
    metrics = evaluate_segmenter(segmenter, datamodule, output, split=args.split, checkpoint=str(args.ckpt))
    print(f"mean IoU {metrics['mean_iou']:.4f}, mean Dice {metrics['mean_dice']:.4f}, "
          f"pixel accuracy {metrics['pixel_accuracy']:.4f} on {metrics['num_images']} images")
    print(f"wrote {output / 'metrics.json'} and {output / 'per_image.csv'}")
    return 0


def _segment_predict(args: argparse.Namespace) -> int:
    from colorseg.inference.predict_folder import predict_folder
    from colorseg.inference.segmenter import Segmenter

    segmenter = Segmenter.from_checkpoint(args.ckpt, device=args.device)
    summary = predict_folder(segmenter, args.input, args.output, skip_existing=args.skip_existing)
    print(summary)
    print(f"outputs in {args.output}")
    return 1 if summary.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorseg", description=__doc__.split("\n")[0])
    tasks = parser.add_subparsers(dest="task", required=True)

    seg = tasks.add_parser("segment", help="U-Net segmentation")
    seg_cmds = seg.add_subparsers(dest="command", required=True)
    seg_cmds.add_parser("fit", help="train (LightningCLI arguments: -c CONFIG, --trainer.*, --model.*, "
                                    "--data.*, --run_dir, --ckpt_path last)", add_help=False)
    test = seg_cmds.add_parser("test", help="evaluate a checkpoint → metrics.json, per_image.csv")
    test.add_argument("--ckpt", required=True)
    test.add_argument("--split", default="test", choices=["train", "val", "test"])
    test.add_argument("--output", default=None, help="default: <run_dir>/test-<split>")
    test.add_argument("--device", default="cpu")
    pred = seg_cmds.add_parser("predict", help="segment files → label PNGs + overlays")
    pred.add_argument("--ckpt", required=True)
    pred.add_argument("--input", required=True)
    pred.add_argument("--output", required=True)
    pred.add_argument("--device", default="cpu")
    pred.add_argument("--skip-existing", action="store_true")

    demo = tasks.add_parser("demo", help="train and evaluate on built-in synthetic data")
    demo.add_argument("--output", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="about a minute, for smoke tests")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:2] == ["segment", "fit"]:
            from colorseg.training.datamodule import SegmentationDataModule
            from colorseg.training.fit import run_fit
            from colorseg.training.segmenter import SegmenterModule

            run_fit(SegmenterModule, SegmentationDataModule, argv[2:], task="segment")
            return 0
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if args.task == "segment" and args.command == "test":
            return _segment_test(args, extra)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if args.task == "segment" and args.command == "predict":
            return _segment_predict(args)
        if args.task == "demo":
            from colorseg.demo import run_demo

            run_demo(Path(args.output), quick=args.quick)
            return 0
    except ColorsegError as exc:
        print(f"colorseg: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(f"colorseg: training stopped: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
