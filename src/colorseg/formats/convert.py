"""``convert(format, src, output, ...)``: any supported annotation format → colorseg's folder layout.

============  ==========================================  ========================================
format        SRC                                         options
============  ==========================================  ========================================
``coco``      instances/semantic JSON file                ``images`` (default: the JSON's folder), ``crowd``
``labelme``   a labelme .json file or a folder of them    ``images``, ``classes``
``cvat``      CVAT for images 1.1 ``annotations.xml``     ``images`` (default: ``images/`` next to it)
``voc``       folder of index PNGs (``SegmentationClass``) ``images`` (default ``../JPEGImages``), ``classes``, ``mask_suffix``
``rgb``       folder of colour masks                      ``images`` (required), ``palette`` (required), ``unknown_colors``, ``ignore_names``, ``mask_suffix``
``binary``    folder of 0/255 masks                       ``images`` (required), ``classes``, ``threshold``, ``mask_suffix``
============  ==========================================  ========================================

An option given for a format that does not use it is an error (never silently ignored).
"""

from __future__ import annotations

from pathlib import Path

from colorseg.errors import ConfigError
from colorseg.formats.annotations import Conversion
from colorseg.formats.layout import ConvertSummary, check_output, write_layout

FORMATS = ("coco", "labelme", "cvat", "voc", "rgb", "binary")
_OPTIONS = {  # format → the optional arguments it uses (besides images, link, overwrite)
    "coco": {"crowd"},
    "labelme": {"classes"},
    "cvat": set(),
    "voc": {"classes", "mask_suffix"},
    "rgb": {"palette", "unknown_colors", "ignore_names", "mask_suffix"},
    "binary": {"classes", "threshold", "mask_suffix"},
}
_FLAGS = {"classes": "--classes", "palette": "--palette", "crowd": "--crowd", "unknown_colors": "--unknown-colors",
          "ignore_names": "--ignore-names", "threshold": "--threshold", "mask_suffix": "--mask-suffix"}


def read_annotations(fmt: str, src: str | Path, images: str | Path | None = None, **options) -> Conversion:
    """The :class:`~colorseg.formats.annotations.Conversion` of ``src`` in format ``fmt``; ``options``
    are the ones of that format (see the module table), None meaning "not given"."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown annotation format {fmt!r}; choose one of {', '.join(FORMATS)}")
    given = {k: v for k, v in options.items() if v is not None}
    unused = sorted(set(given) - _OPTIONS[fmt])
    if unused:
        raise ConfigError(f"{', '.join(_FLAGS.get(k, k) for k in unused)} does not apply to --from {fmt}")
    src = Path(src)
    if fmt == "coco":
        from colorseg.formats.coco import read_coco

        return read_coco(src, images, crowd=given.get("crowd", "class"))
    if fmt == "labelme":
        from colorseg.formats.labelme import read_labelme

        return read_labelme(src, images, given.get("classes"))
    if fmt == "cvat":
        from colorseg.formats.cvat import read_cvat

        return read_cvat(src, images)
    from colorseg.formats import palette

    if not src.is_dir():
        raise ConfigError(f"--from {fmt} reads a folder of masks; {src} is not a folder")
    suffix = given.get("mask_suffix", "")
    if fmt == "voc":
        return palette.read_voc(src, images, given.get("classes"), suffix)
    if fmt == "rgb":
        if "palette" not in given:
            raise ConfigError("--from rgb needs --palette FILE (or --palette voc)")
        return palette.read_rgb(src, images, given["palette"], given.get("unknown_colors", "error"),
                                given.get("ignore_names"), suffix)
    return palette.read_binary(src, images, given.get("classes"), given.get("threshold"), suffix)


def convert(fmt: str, src: str | Path, output: str | Path, images: str | Path | None = None, *,
            classes: str | list[str] | None = None, palette: str | Path | None = None, crowd: str | None = None,
            unknown_colors: str | None = None, ignore_names: list[str] | None = None, threshold: int | None = None,
            mask_suffix: str | None = None, link: bool = False, overwrite: bool = False,
            progress: bool = True) -> ConvertSummary:
    """Convert annotations in format ``fmt`` at ``src`` into colorseg's folder layout at ``output``.

    Writes ``output/images``, ``output/masks``, ``output/colorseg.yaml`` (and ``splits/`` when the
    source has them) atomically (see :mod:`~colorseg.formats.layout`): images are copied, or
    hard-linked with ``link`` (copied where linking is impossible). A non-empty ``output`` is refused
    unless ``overwrite``; an output that contains the inputs always is. Raises ConfigError for bad
    options and DataError naming the file for bad annotations.
    """
    inputs = [Path(src)] + ([Path(images)] if images is not None else [])
    check_output(output, overwrite, inputs)  # before any parsing: fail fast
    conv = read_annotations(fmt, src, images, classes=classes, palette=palette, crowd=crowd,
                            unknown_colors=unknown_colors, ignore_names=ignore_names, threshold=threshold,
                            mask_suffix=mask_suffix)
    return write_layout(conv, output, link=link, overwrite=overwrite, progress=progress, inputs=inputs)
