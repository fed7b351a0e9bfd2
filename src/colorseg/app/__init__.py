"""``colorseg app``: a local web app (Gradio) for the built-in or any colorization checkpoint and
for segmentation checkpoints, bound to 127.0.0.1 by default.

An optional extra: ``pip install 'colorseg[app]'``. Importing this package without Gradio raises
:class:`AppDependencyError` saying so; nothing else in colorseg imports Gradio.

Modules: :mod:`~colorseg.app.colorize_tab` and :mod:`~colorseg.app.segment_tab` hold the pure
logic (arrays in, arrays and tables out; testable without a browser or Gradio),
:mod:`~colorseg.app.images` the shared preview helpers, :mod:`~colorseg.app.server` the Gradio
page, the models it serves and the temporary folder its uploads live in.
"""

from __future__ import annotations

import importlib.util

from colorseg.errors import ColorsegError

INSTALL_HINT = "pip install 'colorseg[app]'"


class AppDependencyError(ColorsegError, ImportError):
    """The web app's optional dependency (Gradio) is not installed."""


def gradio_installed() -> bool:
    """Whether Gradio can be imported (found on the path; not imported here)."""
    try:
        return importlib.util.find_spec("gradio") is not None
    except (ImportError, ValueError):  # a module blocked with sys.modules["gradio"] = None
        return False


if not gradio_installed():
    raise AppDependencyError(f"the web app needs Gradio, which is not installed: {INSTALL_HINT}")
