"""Command line: argument parsing only; every command calls a typed function.

    colorseg segment  plan ROOT --minutes M [--source folder|camvid|isbi2012] [--output plan.yaml]
                      [--memory-gb G] [--class-names NAME ...] [--threads N]
    colorseg segment  fit -c CONFIG [--trainer.max_epochs=5 --data.root=DIR ...]
    colorseg segment  cv --folds 5 --output DIR -c CONFIG [fit arguments ...]
    colorseg segment  test --ckpt PATH [PATH ...] [--split test] [--output DIR] [--tta none|hflip|flips|d4]
                      [--data.KEY=VALUE ...]
    colorseg segment  predict --ckpt PATH [PATH ...] --input FILE_OR_DIR --output DIR [--skip-existing] [--workers 2]
                      [--tile 512 --overlap 128 --blend gaussian --tta none|hflip|flips|d4 --batch-size 4]
                      [--no-channels-last] [--bf16] [--compile] [--no-overlay]
    colorseg colorize fit -c CONFIG [...]
    colorseg colorize test [--ckpt PATH|URL --sha256 HEX] [--input DIR] [--output DIR] [--samples 8]
                      [--temperature 1.0] [--data.KEY=VALUE ...]
    colorseg colorize predict [--ckpt PATH|URL --sha256 HEX] FILE_OR_DIR --output DIR [--samples N]
                      [--temperature T] [--hints HINTS.json] [--no-hint-propagation]
    colorseg export --ckpt PATH --format onnx|torchscript --output FILE [--sampling]
    colorseg report RUN_DIR [--output report.html]
    colorseg compare RUN_DIR RUN_DIR ... [--output comparison.html]
    colorseg demo [--output DIR] [--quick]
    colorseg data convert --from coco|labelme|cvat|voc|rgb|binary SRC --output ROOT [--images DIR]
                      [--classes a,b,c] [--palette FILE] [--link] [--overwrite] [...]
    colorseg data export-coco MASK_DIR --images DIR --classes background,a,b --output preds.json
    colorseg data check ROOT [--task segment|colorize|auto] [--source folder|camvid|isbi2012|bsds500]
                      [--output data-check/report.html] [--max-overlays 3] [--near-threshold 4]
    colorseg app [--host 127.0.0.1] [--port 7860] [--colorize-ckpt PATH|URL [--colorize-sha256 HEX]]
                 [--segment-ckpt PATH ...] [--device cpu]

``colorize`` without ``--ckpt`` uses the built-in model (``colorize-default``, shipped in the
package); ``--ckpt`` may be an http(s) URL, downloaded once into torch.hub's cache and checked
against ``--sha256``. ``colorize test --input DIR`` evaluates on every colour photo under DIR.
``colorize predict FILE --hints HINTS.json`` gives a model trained with ``--model.hints=true``
colour hints for that one image: a JSON list of ``{"x": 10, "y": 20, "rgb": [200, 30, 30]}``
(pixel column, row; colour 0..255 ints or 0..1 floats; see colorseg.inference.hints).

``data check`` writes an HTML page, ``check.json`` beside it (and ``palette.txt`` for colour
masks) and exits 0 when the data is clean, 1 with warnings, 2 with errors.

``app`` (needs ``pip install 'colorseg[app]'``) starts the local web app, prints its URL and
serves until Ctrl-C; it binds to 127.0.0.1 (this machine only) unless --host says otherwise.

User errors (bad files, configs, checkpoints) print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
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


def _default_output(ckpt: str, split: str) -> Path:
    return Path(ckpt).resolve().parent.parent / f"test-{split}"


#: ``colorize test`` output when there is no run folder to put it in (--input, built-in model, URL)
COLORIZE_TEST_OUTPUT = "colorize-test"


def _colorize_checkpoint(args: argparse.Namespace) -> Path:
    """The local checkpoint file ``--ckpt`` (and ``--sha256``) name: the built-in model when
    ``--ckpt`` is omitted, a verified download for a URL."""
    from colorseg.checkpoint.release import DEFAULT_MODEL, resolve_checkpoint

    path = resolve_checkpoint(args.ckpt, args.sha256)
    if args.ckpt is None:
        print(f"using the built-in model {DEFAULT_MODEL} ({path})", file=sys.stderr)
    return path


def _test(args: argparse.Namespace, extra: list[str]) -> int:
    if args.task == "colorize":
        return _test_colorize(args, extra)
    from colorseg.evaluation.segmentation import DATA_OPTIONS, evaluate_checkpoints

    paths = args.ckpt if isinstance(args.ckpt, list) else [args.ckpt]
    output = Path(args.output) if args.output else _default_output(paths[0], args.split)
    metrics = evaluate_checkpoints(paths, output, split=args.split,
                                   overrides=parse_data_overrides(extra, set(DATA_OPTIONS)), device=args.device,
                                   tta=args.tta)
    print(f"mean IoU {metrics['mean_iou']:.4f}, mean Dice {metrics['mean_dice']:.4f}, "
          f"pixel accuracy {metrics['pixel_accuracy']:.4f} on {metrics['num_images']} images")
    if metrics["absent_classes"]:
        print(f"warning: no ground-truth pixels of {', '.join(metrics['absent_classes'])} in this split: "
              "the means average over the classes present", file=sys.stderr)
    return _test_summary(metrics, output)


def _test_colorize(args: argparse.Namespace, extra: list[str]) -> int:
    from colorseg.checkpoint.release import is_url
    from colorseg.evaluation.colorization import DATA_OPTIONS, evaluate_checkpoint

    overrides = parse_data_overrides(extra, set(DATA_OPTIONS))
    ckpt = _colorize_checkpoint(args)
    if args.output:
        output = Path(args.output)
    elif args.input or args.ckpt is None or is_url(args.ckpt):
        output = Path(COLORIZE_TEST_OUTPUT)
    else:
        output = _default_output(args.ckpt, args.split)
    metrics = evaluate_checkpoint(ckpt, output, split=args.split, n_samples=args.samples,
                                  temperature=args.temperature, overrides=overrides, device=args.device,
                                  input_dir=args.input)
    print(f"PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.4f}, colourfulness "
          f"{metrics['colorfulness']:.1f} (GT {metrics['gt_colorfulness']:.1f}); samples: mean single-sample "
          f"PSNR {metrics['mean_sample_psnr']:.2f} dB, oracle best-of-{args.samples} PSNR "
          f"{metrics['best_of_n_psnr']:.2f} dB on {metrics['num_images']} images")
    if metrics["fd_lite2"] is not None:
        print(f"Lite2 features: Fréchet distance {metrics['fd_lite2']:.3f}, KID {metrics['kid_lite2']:.5f} "
              f"± {metrics['kid_lite2_std']:.5f} on {metrics['feature_distribution_images']} images "
              "(see feature_distribution_note in metrics.json)")
    return _test_summary(metrics, output)


def _test_summary(metrics: dict, output: Path) -> int:
    if metrics["selection_split_reused"]:
        print(f"warning: not a held-out score: {metrics['selection_note']}", file=sys.stderr)
    print(f"wrote {output / 'metrics.json'} and {output / 'per_image.csv'}")
    return 0


def _plan(args: argparse.Namespace) -> int:
    from colorseg.planning import plan_segmentation

    result = plan_segmentation(args.root, args.minutes, source=args.source, output=args.output,
                               memory_gb=args.memory_gb, class_names=args.class_names, threads=args.threads)
    print(result.summary)
    return 0


def _add_plan_parser(cmds) -> None:
    plan = cmds.add_parser("plan", help="write a commented training config planned from the data and a time budget")
    plan.add_argument("root", metavar="ROOT", help="data folder")
    plan.add_argument("--minutes", type=float, required=True, help="training budget in minutes (trainer.max_time)")
    plan.add_argument("--source", default="folder", choices=["folder", "camvid", "isbi2012"],
                      help="data layout (default: folder, ROOT/images + ROOT/masks)")
    plan.add_argument("--output", default="plan.yaml", help="config to write (default: plan.yaml)")
    plan.add_argument("--memory-gb", type=float, default=None, help="memory training may use (default: this machine's)")
    plan.add_argument("--class-names", nargs="+", default=None, metavar="NAME", help="one name per class label")
    plan.add_argument("--threads", type=int, default=None,
                      help="CPU threads training will use, for the time estimates (default: OMP_NUM_THREADS or all)")


def _predict(args: argparse.Namespace) -> int:
    if args.input and args.input_file:
        raise ConfigError(f"give the input once: {args.input_file!r} and --input {args.input!r}")
    args.input = args.input or args.input_file
    if not args.input:
        raise ConfigError(f"colorseg {args.task} predict needs an image or folder: FILE_OR_DIR or --input")
    if args.task == "segment":
        from colorseg.inference.predict_folder import predict_folder
        from colorseg.inference.segmenter import Segmenter
        from colorseg.inference.tiling import TileConfig

        tiling = TileConfig(tile=args.tile, overlap=args.overlap, blend=args.blend, batch_size=args.batch_size,
                            tta=args.tta)
        segmenter = Segmenter.from_checkpoints(args.ckpt, device=args.device, tiling=tiling,
                                              channels_last=args.channels_last, bf16=args.bf16, compile=args.compile)
        summary = predict_folder(segmenter, args.input, args.output, skip_existing=args.skip_existing,
                                 workers=args.workers, overlays=not args.no_overlay)
    else:
        from colorseg.inference.colorize_folder import colorize_folder
        from colorseg.inference.colorizer import Colorizer

        if args.samples < 1 or args.temperature < 0:
            raise ConfigError(f"--samples must be >= 1 and --temperature >= 0, got {args.samples}, {args.temperature}")
        hints = None
        if args.hints:
            from colorseg.inference.hints import load_hints

            if Path(args.input).is_dir():
                raise ConfigError(f"--hints applies to a single input image; {args.input} is a folder "
                                  "(hints are pixel positions of one image)")
            hints = load_hints(args.hints)
        colorizer = Colorizer.from_checkpoint(_colorize_checkpoint(args), device=args.device)
        if hints:
            _check_predict_hints(colorizer, hints, args)
        from colorseg.inference.hint_propagation import NO_PROPAGATION

        summary = colorize_folder(colorizer, args.input, args.output, n_samples=args.samples,
                                  temperature=args.temperature, seed=args.seed, skip_existing=args.skip_existing,
                                  workers=args.workers, hints=hints,
                                  propagation=None if args.hint_propagation else NO_PROPAGATION)
    print(summary)
    print(f"outputs in {args.output}")
    return 1 if summary.failed else 0


def _check_predict_hints(colorizer, hints: list, args: argparse.Namespace) -> None:
    """Before any output: the model takes hints and every hint lies inside the input image."""
    from colorseg.data.image_io import read_image
    from colorseg.inference.hints import check_hints

    if not colorizer.takes_hints:
        model = args.ckpt or "the built-in model"
        raise ConfigError(f"--hints {args.hints}: {model} was trained without colour hints; "
                          "use a model trained with --model.hints=true")
    if not Path(args.input).is_file():
        return  # a missing input is reported by the batch run, as without hints
    try:
        check_hints(hints, read_image(args.input).shape[:2])
    except ConfigError as exc:
        raise ConfigError(f"--hints {args.hints} for {args.input}: {exc}") from exc


#: ``data convert`` choices, kept here so that building the parser imports nothing heavy
#: (tests check them against colorseg.formats: FORMATS, coco.CROWD_MODES, palette.UNKNOWN_MODES)
CONVERT_FORMATS = ("coco", "labelme", "cvat", "voc", "rgb", "binary")
CROWD_MODES = ("class", "ignore")
UNKNOWN_COLOR_MODES = ("error", "ignore")


def _add_convert_parsers(cmds) -> None:
    """``data convert`` and ``data export-coco`` (colorseg.formats)."""
    conv = cmds.add_parser("convert", help="annotations (COCO, labelme, CVAT, VOC, RGB, binary) → colorseg's folder "
                                           "layout (images/, masks/, colorseg.yaml)")
    conv.add_argument("--from", dest="fmt", required=True, choices=CONVERT_FORMATS, help="annotation format of SRC")
    conv.add_argument("src", metavar="SRC", help="COCO JSON / CVAT XML file, labelme JSON file or folder, or a "
                                                 "folder of masks (voc, rgb, binary)")
    conv.add_argument("--output", required=True, metavar="ROOT", help="folder to create (written atomically)")
    conv.add_argument("--images", default=None, metavar="DIR", help="folder of the images (see README for defaults)")
    conv.add_argument("--classes", default=None, metavar="A,B,C",
                      help="class names in index order, class 0 first (labelme, voc, binary)")
    conv.add_argument("--palette", default=None, metavar="FILE",
                      help="rgb: colour → class file (R G B name lines, CSV, JSON, labelmap.txt) or 'voc'")
    conv.add_argument("--crowd", default=None, choices=CROWD_MODES,
                      help="coco: paint iscrowd regions with their class (default) or the ignore index")
    conv.add_argument("--unknown-colors", default=None, choices=UNKNOWN_COLOR_MODES,
                      help="rgb: colours not in the palette are an error (default) or the ignore index")
    conv.add_argument("--ignore-names", default=None, metavar="A,B", help="rgb: palette names that mean 'ignore'")
    conv.add_argument("--threshold", type=int, default=None,
                      help="binary: value >= THRESHOLD is foreground (for JPEG-compressed 0/255 masks)")
    conv.add_argument("--mask-suffix", default=None, metavar="SUFFIX",
                      help="voc, rgb, binary: mask stem = image stem + SUFFIX (e.g. CamVid's _L)")
    conv.add_argument("--link", action="store_true", help="hard-link images instead of copying them")
    conv.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    exp = cmds.add_parser("export-coco", help="label masks (e.g. segment predict output) → COCO JSON with RLE masks, "
                                              "for correction in CVAT")
    exp.add_argument("mask_dir", metavar="MASK_DIR", help="label PNGs: MASK_DIR/<rel>/<stem>.png per image")
    exp.add_argument("--images", required=True, metavar="DIR", help="the images the masks belong to (recursive)")
    exp.add_argument("--classes", required=True, metavar="A,B,C", help="all class names in index order, class 0 first")
    exp.add_argument("--output", required=True, metavar="FILE.json")


def _run_convert(args: argparse.Namespace) -> int:
    """Run ``data convert`` / ``data export-coco``."""
    if args.command == "export-coco":
        from colorseg.formats.coco import export_coco

        counts = export_coco(args.mask_dir, args.images, args.classes, args.output)
        print(f"wrote {args.output}: {counts['images']} images, {counts['annotations']} annotations (one RLE per "
              f"class per image), {counts['categories']} categories")
        return 0
    from colorseg.formats.convert import convert

    ignore_names = [n.strip() for n in args.ignore_names.split(",")] if args.ignore_names is not None else None
    summary = convert(args.fmt, args.src, args.output, args.images, classes=args.classes, palette=args.palette,
                      crowd=args.crowd, unknown_colors=args.unknown_colors, ignore_names=ignore_names,
                      threshold=args.threshold, mask_suffix=args.mask_suffix, link=args.link,
                      overwrite=args.overwrite)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.describe())
    return 0


DATA_CHECK_OUTPUT = "data-check/report.html"


def add_data_check_parser(cmds) -> None:
    """``colorseg data check ROOT``: the data doctor (defaults as in colorseg.data.doctor)."""
    check = cmds.add_parser("check", help=(
        "diagnose a data set before training: HTML page + check.json; exit status 0 clean, 1 warnings, 2 errors"))
    check.add_argument("root", metavar="ROOT", help="data folder (layouts: see the README)")
    check.add_argument("--task", dest="data_task", default="auto", choices=["auto", "segment", "colorize"],
                       help="default: recognised from the folders")  # dest: "task" is the command group
    check.add_argument("--source", default=None, choices=["folder", "camvid", "isbi2012", "bsds500"],
                       help="layout (default: recognised from the folders)")
    check.add_argument("--output", default=DATA_CHECK_OUTPUT,
                       help=f"HTML page; check.json (and palette.txt) go next to it (default: {DATA_CHECK_OUTPUT})")
    check.add_argument("--max-overlays", type=int, default=3, metavar="N", help="overlays shown per class")
    check.add_argument("--near-threshold", type=int, default=4, metavar="BITS",
                       help="perceptual-hash distance (of 64 bits) up to which images count as copies")


def _data_check(args: argparse.Namespace) -> int:
    from colorseg.data.doctor.summary import print_summary
    from colorseg.reports.data_check_report import run_data_check

    check = run_data_check(args.root, args.output, task=args.data_task, source=args.source,
                           max_overlays=args.max_overlays, near_threshold=args.near_threshold)
    print_summary(check)
    folder = Path(args.output).parent
    extra = f" and {folder / 'palette.txt'}" if check.palette else ""
    print(f"wrote {args.output}, {folder / 'check.json'}{extra}")
    return check.exit_status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colorseg", description=__doc__.split("\n")[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    for task, help_text in (("segment", "U-Net segmentation"), ("colorize", "VAE colorization")):
        sub = tasks.add_parser(task, help=help_text)
        cmds = sub.add_subparsers(dest="command", required=True)
        cmds.add_parser("fit", help="train (LightningCLI arguments: -c CONFIG, --trainer.*, --model.*, "
                                    "--data.*, --run_dir, --ckpt_path last)", add_help=False)
        if task == "segment":
            _add_plan_parser(cmds)
            cmds.add_parser("cv", help="k-fold cross-validation with a fixed test set and the fold ensemble "
                                       "(--folds K --output DIR, then fit arguments)", add_help=False)
        test = cmds.add_parser("test", help="evaluate a checkpoint → metrics.json, per_image.csv")
        pred = cmds.add_parser("predict", help="apply a checkpoint to a file or folder")
        for p in (test, pred):
            if task == "segment":
                p.add_argument("--ckpt", required=True, nargs="+",
                               help="checkpoint; several are ensembled (mean probabilities)")
            else:
                p.add_argument("--ckpt", default=None, help=(
                    "checkpoint file, or an http(s) URL of a released one (needs --sha256; downloaded once into "
                    "torch.hub's cache, <torch.hub.get_dir()>/checkpoints/colorseg/); default: the built-in "
                    "model colorize-default"))
                p.add_argument("--sha256", default=None, metavar="HEX",
                               help="SHA-256 of the --ckpt URL's file (required for a URL; checks a local file too)")
        test.add_argument("--split", default="test", choices=["train", "val", "test"])
        if task == "segment":
            test.add_argument("--output", default=None, help="default: <run_dir>/test-<split>")
            test.add_argument("--tta", default="none", choices=["none", "hflip", "flips", "d4"],
                              help="test-time augmentation, as for predict (choose it on --split val)")
        else:
            test.add_argument("--input", default=None, metavar="DIR", help=(
                "evaluate on every colour photo under DIR (recursive; grayscale-only ones skipped) as the test "
                "split, instead of the checkpoint's own test data"))
            test.add_argument("--output", default=None, help=(
                f"default: <run_dir>/test-<split> for a checkpoint file in a run folder; ./{COLORIZE_TEST_OUTPUT} "
                "with --input, the built-in model or a URL"))
        test.add_argument("--device", default="cpu")
        pred.add_argument("input_file", nargs="?", default=None, metavar="FILE_OR_DIR",
                          help="image or folder to predict (or --input)")
        pred.add_argument("--input", default=None, help="image or folder to predict (or the positional argument)")
        pred.add_argument("--output", required=True)
        pred.add_argument("--device", default="cpu")
        pred.add_argument("--skip-existing", action="store_true", help="resume: keep inputs whose outputs exist")
        pred.add_argument("--workers", type=int, default=2, help="image-loading threads (parallel with compute)")
        if task == "segment":
            pred.add_argument("--tile", type=int, default=512, help="tile side; larger images are tiled")
            pred.add_argument("--overlap", type=int, default=128, help="pixels shared by neighbouring tiles")
            pred.add_argument("--blend", default="gaussian", choices=["gaussian", "cosine", "constant"])
            pred.add_argument("--tta", default="none", choices=["none", "hflip", "flips", "d4"],
                              help="test-time augmentation, averaged: hflip (2: left-right mirror, for scenes "
                                   "with an up direction), flips (4) or flips + 90° rotations (8)")
            pred.add_argument("--batch-size", type=int, default=4, help="tiles or same-size images per forward")
            pred.add_argument("--no-channels-last", dest="channels_last", action="store_false",
                              help="keep the default (NCHW) memory format instead of channels-last")
            pred.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
            pred.add_argument("--compile", action="store_true", help="torch.compile the model")
            pred.add_argument("--no-overlay", action="store_true", help="write label PNGs only")
        if task == "colorize":
            for p in (test, pred):
                p.add_argument("--samples", type=int, default=8 if p is test else 1)
                p.add_argument("--temperature", type=float, default=1.0)
            pred.add_argument("--seed", type=int, default=0)
            pred.add_argument("--hints", default=None, metavar="HINTS.json", help=(
                "colour hints for a single input image (models trained with --model.hints=true): a JSON list of "
                '{"x": COLUMN, "y": ROW, "rgb": [R, G, B]} (pixels of the input image, origin top-left; '
                "colour as 0..255 integers or 0..1 floats)"))
            pred.add_argument("--no-hint-propagation", dest="hint_propagation", action="store_false", help=(
                "use the network's output alone; by default what it missed at the hints is spread to nearby "
                "pixels of similar lightness (colorseg.inference.hint_propagation)"))
    export = tasks.add_parser("export", help="export a checkpoint to ONNX or TorchScript (dynamic batch/size)")
    export.add_argument("--ckpt", required=True)
    export.add_argument("--format", required=True, help="onnx or torchscript")
    export.add_argument("--output", required=True, help="file to write (e.g. model.onnx)")
    export.add_argument("--sampling", action="store_true", help="colorize VAE: inputs L and noise (B, latent_dim)")
    report = tasks.add_parser("report", help="self-contained HTML report of a run (+ CSV tables)")
    report.add_argument("run_dir")
    report.add_argument("--output", default=None, help="HTML file (default: RUN_DIR/report.html)")
    compare = tasks.add_parser("compare", help="compare runs of one task on one test set (HTML + CSV)")
    compare.add_argument("run_dirs", nargs="+")
    compare.add_argument("--output", default="comparison.html")
    data = tasks.add_parser("data", help="data tools: check (diagnose a data set before training), convert "
                                         "(annotation import), export-coco (masks → COCO JSON)")
    data_cmds = data.add_subparsers(dest="command", required=True)
    add_data_check_parser(data_cmds)
    _add_convert_parsers(data_cmds)
    demo = tasks.add_parser("demo", help="train and evaluate on built-in synthetic data")
    demo.add_argument("--output", default="runs/demo")
    demo.add_argument("--quick", action="store_true", help="tiny settings, for smoke tests")
    app = tasks.add_parser("app", help="local web app: colorize and segment in the browser (pip install "
                                       "'colorseg[app]')")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 exposes the app, "
                          "which has no login, to the network)")
    app.add_argument("--port", type=int, default=7860, help="port (0: any free port)")
    app.add_argument("--colorize-ckpt", default=None, metavar="PATH|URL", help=(
        "colorization checkpoint the page starts with: a file, or an http(s) URL with --colorize-sha256; "
        "default: the built-in model colorize-default (others can be loaded in the page)"))
    app.add_argument("--colorize-sha256", default=None, metavar="HEX", help="SHA-256 of the --colorize-ckpt file")
    app.add_argument("--segment-ckpt", nargs="+", action="extend", default=[], metavar="PATH",
                     help="segmentation checkpoint(s) offered in the Segment tab (others can be typed in)")
    app.add_argument("--device", default="cpu")
    return parser


def _cross_validate(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="colorseg segment cv", description=(
        "k-fold cross-validation around a fixed test set (data.test_names / data.test_fraction): "
        "one model per fold, mean ± std over folds on the test split, and the fold ensemble. "
        "Other arguments are passed to `segment fit`."))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--output", required=True, help="folder for the fold runs and cv.json (resumable)")
    args, fit_args = parser.parse_known_args(argv)
    from colorseg.training.cross_validate import cross_validate, describe

    result = cross_validate(fit_args, args.folds, args.output)
    print(describe(result))
    print(f"wrote {Path(args.output) / 'cv.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:2] == ["segment", "cv"]:
            try:
                return _cross_validate(argv[2:])
            except SystemExit as exc:
                return int(exc.code or 0)
        if len(argv) >= 2 and argv[0] in ("segment", "colorize") and argv[1] == "fit":
            from colorseg.training.tasks import fit_task

            try:
                fit_task(argv[0], argv[2:])
            except SystemExit as exc:  # argument errors (already printed by jsonargparse)
                return int(exc.code or 0)
            return 0
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        command = getattr(args, "command", None)
        if command == "test":
            return _test(args, extra)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if command == "predict":
            return _predict(args)
        if command == "plan":
            return _plan(args)
        if args.task == "data" and command == "check":
            return _data_check(args)
        if args.task == "export":
            from colorseg.inference.export import export_model

            path = export_model(args.ckpt, args.format, args.output, sampling=args.sampling)
            print(f"wrote {path} ({args.format}{', sampling' if args.sampling else ''})")
            return 0
        if args.task == "report":
            from colorseg.reports import make_report

            print(f"report: {make_report(args.run_dir, args.output)}")
            return 0
        if args.task == "compare":
            from colorseg.reports import make_comparison

            print(f"comparison: {make_comparison(args.run_dirs, args.output)}")
            return 0
        if args.task == "data" and command in ("convert", "export-coco"):
            return _run_convert(args)
        if args.task == "demo":
            from colorseg.demo import run_demo

            run_demo(Path(args.output), quick=args.quick)
            return 0
        if args.task == "app":
            from colorseg.app.server import AppConfig, serve

            return serve(AppConfig(host=args.host, port=args.port, colorize_ckpt=args.colorize_ckpt,
                                   colorize_sha256=args.colorize_sha256, segment_ckpts=args.segment_ckpt,
                                   device=args.device))
    except ColorsegError as exc:
        print(f"colorseg: error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(f"colorseg: training stopped: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
