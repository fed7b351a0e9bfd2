#!/usr/bin/env python
"""Release a trained colorizer as a built-in model of the package.

    python scripts/release_colorizer.py RUN_DIR/checkpoints/best.ckpt --name colorize-default \\
        --description "VAE colorizer trained on ..." [--full-precision] [--card '#built-in-colorizer']

Slims the checkpoint to what inference needs (float16 weights unless ``--full-precision``) into
``src/colorseg/weights/<name>.pt``, refuses files over 25 MB, checks that the slim file rebuilds
and predicts like the original, and adds ``<name>`` (file, sha256, bytes, task, description,
card) to ``src/colorseg/weights/manifest.json``; both files are written atomically. Then
``Colorizer.pretrained("<name>")`` and ``colorseg colorize predict`` (no ``--ckpt`` for
``colorize-default``) use it. Commit both files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from colorseg.checkpoint import release

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("ckpt", help="colorseg checkpoint (e.g. RUN_DIR/checkpoints/best.ckpt)")
    parser.add_argument("--name", default=release.DEFAULT_MODEL, help="model name (default: %(default)s)")
    parser.add_argument("--description", required=True, help="one line: model, data, headline metrics")
    parser.add_argument("--card", default=release.DEFAULT_CARD, help="README anchor of the model card "
                                                                     "(default: %(default)s)")
    parser.add_argument("--full-precision", action="store_true", help="keep float32 weights (default: float16)")
    parser.add_argument("--weights-dir", default=None, help="default: the package's colorseg/weights folder")
    parser.add_argument("--max-mb", type=float, default=release.MAX_RELEASE_BYTES / 1e6,
                        help="refuse larger files (default: %(default)g MB)")
    args = parser.parse_args(argv)

    from colorseg.errors import ColorsegError

    try:
        entry = release.release_checkpoint(args.ckpt, args.name, args.description, weights_dir=args.weights_dir,
                                           half=not args.full_precision, card=args.card,
                                           max_bytes=int(args.max_mb * 1e6))
    except ColorsegError as exc:
        print(f"release_colorizer: error: {exc}", file=sys.stderr)
        return 2
    weights_dir = Path(args.weights_dir) if args.weights_dir else release.WEIGHTS_DIR
    print(f"wrote {weights_dir / entry['file']} ({entry['bytes'] / 1e6:.2f} MB, "
          f"{'float16' if entry['half'] else 'float32'}, sha256 {entry['sha256']})")
    if entry["kept_fp32"]:
        print(f"kept in float32 (values beyond float16's range): {', '.join(entry['kept_fp32'])}")
    print(f"max |output difference| from the original checkpoint: {entry['max_abs_diff']:.2e}")
    print(f"updated {weights_dir / release.MANIFEST_NAME} ({args.name}: task {entry['task']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
