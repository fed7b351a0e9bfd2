"""Annotation formats: import COCO, labelme, CVAT, VOC, colour-coded and binary masks into colorseg's
``folder`` layout, and export label masks (e.g. predictions) as COCO JSON with RLE masks.

Pure numpy + pycocotools (no torch, no Lightning). Modules:

* :mod:`~colorseg.formats.annotations`: the records importers produce (:class:`LabelledImage`,
  :class:`Conversion`), class-name rules, JSON loading.
* :mod:`~colorseg.formats.rle`: COCO run-length encoding (compressed and uncompressed), validated.
* :mod:`~colorseg.formats.rasterize`: polygons, boxes and ellipses → pixel masks (one rule for all formats).
* :mod:`~colorseg.formats.coco`, :mod:`~colorseg.formats.labelme`, :mod:`~colorseg.formats.cvat`,
  :mod:`~colorseg.formats.palette` (VOC, RGB colour-coded, binary): the readers; COCO also writes.
* :mod:`~colorseg.formats.layout`: writing the folder layout atomically, with a summary.
* :mod:`~colorseg.formats.convert`: ``convert(format, ...)``, the entry point of ``colorseg data convert``.
"""

from __future__ import annotations

from colorseg.formats.coco import export_coco
from colorseg.formats.convert import FORMATS, convert

__all__ = ["FORMATS", "convert", "export_coco"]
