"""Self-contained HTML reports: sections, text, tables, figures and images in one file.

Everything is inlined (CSS, images as base64 data URIs); the page loads no external URL,
script or font, so a report can be mailed or archived as a single file. All text passed in
is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from colorseg.data.files import atomic_write_text

_MIME = {"png": "image/png", "svg": "image/svg+xml", "jpg": "image/jpeg", "jpeg": "image/jpeg"}

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0969da; --bg-alt: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem 2rem 4rem; color: var(--fg);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.8rem; margin: 0 0 1rem; }
h2 { font-size: 1.35rem; margin: 2.2rem 0 0.8rem; padding-bottom: 0.3rem; border-bottom: 1px solid var(--line); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
nav.toc { background: var(--bg-alt); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 1.2rem; }
nav.toc h2 { font-size: 1rem; margin: 0.2rem 0; border: 0; }
nav.toc ol { margin: 0.3rem 0; padding-left: 1.4rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.9rem; }
th, td { border: 1px solid var(--line); padding: 0.25rem 0.6rem; text-align: right; vertical-align: top; }
th { background: var(--bg-alt); }
table.kv th { text-align: left; }
table.kv td { text-align: left; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table.dataframe tbody tr:nth-child(even) { background: #fbfcfd; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 0.2rem 0; }
.table-wrap { overflow-x: auto; }
figure { margin: 1rem 0 1.6rem; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.3rem; }
"""


def figure_to_data_uri(fig: Any, fmt: str = "png", dpi: int = 100) -> str:
    """Encode a matplotlib figure as a ``data:<mime>;base64,…`` URI, then close the figure."""
    import matplotlib.pyplot as plt  # reports is the one package allowed matplotlib; imported lazily

    fmt = fmt.lower()
    if fmt not in _MIME:
        raise ValueError(f"unsupported figure format {fmt!r}; choose one of {sorted(_MIME)}")
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def array_to_data_uri(array: np.ndarray, fmt: str = "png", quality: int = 85) -> str:
    """Encode an image array as a PNG data URI, or with ``fmt="jpeg"`` a JPEG one (photos and
    overlays: a tenth of the size) at ``quality``.

    ``array`` is (H, W) gray, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA (PNG only). The value range
    is decided by dtype, never by the data: uint8 as is; bool → 0 / 255; float → clipped to [0, 1]
    and × 255; other integers must already lie in [0, 255] (else ``ValueError``).
    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unsupported image format {fmt!r}; choose png or jpeg")
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))):
        raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got shape {a.shape}")
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        a = np.round(np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer) and a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 255):
            raise ValueError(f"integer image values must lie in [0, 255], got [{a.min()}, {a.max()}]")
        a = a.astype(np.uint8)
    elif a.dtype != np.uint8:
        raise ValueError(f"unsupported image dtype {a.dtype}")
    if fmt == "jpeg" and a.ndim == 3 and a.shape[-1] == 4:
        raise ValueError("JPEG has no alpha channel: pass an (H, W) or (H, W, 3) image, or fmt='png'")
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format=fmt.upper(), **({"quality": quality} if fmt == "jpeg"
                                                                              else {}))
    return f"data:image/{fmt};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def _format_value(value: Any) -> str:
    """Display text for a key/value cell: floats to 6 significant digits, None → "—", containers as JSON."""
    if value is None:
        return "—"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return str(value.item())
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


class HtmlReport:
    """Build a report piece by piece, then :meth:`render` or :meth:`save` one self-contained HTML5 page.

    Content added before the first :meth:`section` goes above the first heading. Each section gets
    an ``<h2>`` with a unique anchor id (a slug of its title) linked from the table of contents.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._preamble: list[str] = []
        self._sections: list[tuple[str, str, list[str]]] = []  # (title, anchor id, html parts)

    # -- structure ---------------------------------------------------------------------------
    def section(self, title: str) -> str:
        """Start a new section; return its anchor id."""
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
        taken = {sid for _, sid, _ in self._sections}
        anchor, n = base, 2
        while anchor in taken:
            anchor, n = f"{base}-{n}", n + 1
        self._sections.append((title, anchor, []))
        return anchor

    def _add(self, fragment: str) -> None:
        (self._sections[-1][2] if self._sections else self._preamble).append(fragment)

    # -- content -----------------------------------------------------------------------------
    def text(self, paragraph: str) -> None:
        """Add one paragraph of plain text (escaped)."""
        self._add(f"<p>{html.escape(str(paragraph))}</p>")

    def key_values(self, d: dict) -> None:
        """Add a two-column table of keys and values (floats to 6 significant digits, None → "—")."""
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format_value(v))}</td></tr>"
                       for k, v in d.items())
        self._add(f'<div class="table-wrap"><table class="kv"><tbody>{rows}</tbody></table></div>')

    def table(self, df: pd.DataFrame, caption: str = "", float_format: str = "{:.4f}",
              index: bool | None = None) -> None:
        """Add a DataFrame as a table; NaN cells are left empty.

        ``index=None`` shows the index unless it is a default 0..n-1 ``RangeIndex``.
        """
        if index is None:
            index = not (isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1)
        body = df.to_html(classes="report-table", border=0, index=index, na_rep="", escape=True,
                          float_format=float_format.format)
        if caption:
            body = body.replace(">", f"><caption>{html.escape(caption)}</caption>", 1)
        self._add(f'<div class="table-wrap">{body}</div>')

    def figure(self, fig: Any, caption: str = "", fmt: str = "png", dpi: int = 100) -> None:
        """Add a matplotlib figure as an inline image (the figure is closed)."""
        self._add_image(figure_to_data_uri(fig, fmt=fmt, dpi=dpi), caption)

    def image(self, array: np.ndarray, caption: str = "") -> None:
        """Add an image array as an inline PNG (value range by dtype, see :func:`array_to_data_uri`)."""
        self._add_image(array_to_data_uri(array), caption)

    def _add_image(self, uri: str, caption: str) -> None:
        cap = html.escape(caption)
        fig_caption = f"<figcaption>{cap}</figcaption>" if caption else ""
        self._add(f'<figure><img src="{uri}" alt="{cap}">{fig_caption}</figure>')

    def link(self, href: str, text: str) -> None:
        """Add a paragraph holding one link (meant for relative paths next to the report)."""
        self._add(f'<p><a href="{html.escape(str(href), quote=True)}">{html.escape(str(text))}</a></p>')

    # -- output ------------------------------------------------------------------------------
    def render(self) -> str:
        """The complete HTML5 page: inline CSS, a table of contents, then the sections."""
        title = html.escape(self.title)
        toc = "".join(f'<li><a href="#{sid}">{html.escape(t)}</a></li>' for t, sid, _ in self._sections)
        nav = f'<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>' if self._sections else ""
        sections = "\n".join(f'<section>\n<h2 id="{sid}">{html.escape(t)}</h2>\n' + "\n".join(parts) + "\n</section>"
                             for t, sid, parts in self._sections)
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
                + "\n".join(self._preamble) + f"\n{nav}\n<main>\n{sections}\n</main>\n</body>\n</html>\n")

    def save(self, path: str | Path) -> Path:
        """Write :meth:`render` to ``path`` atomically and durably, readable by everyone
        (:func:`colorseg.data.files.atomic_write_text`)."""
        return atomic_write_text(path, self.render(), durable=True)
