"""Tiny annotation fixtures, generated in tmp_path by the tests (no third-party files)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from colorseg.data.image_io import read_mask


def save_image(path: Path, height: int, width: int, gray: bool = False, seed: int = 0) -> Path:
    """A random uint8 RGB (or gray) image at ``path`` (format from the suffix)."""
    rng = np.random.default_rng(seed)
    shape = (height, width) if gray else (height, width, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def png_b64(array: np.ndarray) -> str:
    """base64 PNG of a uint8 array (labelme's imageData / mask)."""
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_json(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def layout_masks(root: Path) -> dict[str, np.ndarray]:
    """Sample name → mask of a written folder layout."""
    return {p.stem: read_mask(p) for p in sorted((root / "masks").iterdir())}


def layout_config(root: Path) -> dict:
    return yaml.safe_load((root / "colorseg.yaml").read_text())["data"]


def coco_image(iid: int, name: str, height: int, width: int) -> dict:
    return {"id": iid, "file_name": name, "height": height, "width": width}


def coco_doc(images: list[dict], annotations: list[dict], categories: list[tuple[int, str]]) -> dict:
    anns = [{"id": i + 1, "iscrowd": 0, **a} for i, a in enumerate(annotations)]
    return {"images": images, "annotations": anns, "categories": [{"id": c, "name": n} for c, n in categories]}
