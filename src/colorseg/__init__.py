"""colorseg: U-Net segmentation and VAE colorization, end to end.

``from colorseg import Segmenter, Colorizer`` gives the inference APIs (imported lazily so that
``import colorseg`` stays light).
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Colorizer", "Segmenter", "__version__"]


def __getattr__(name: str):
    if name == "Segmenter":
        from colorseg.inference.segmenter import Segmenter

        return Segmenter
    if name == "Colorizer":
        from colorseg.inference.colorizer import Colorizer

        return Colorizer
    raise AttributeError(f"module 'colorseg' has no attribute {name!r}")
