"""``colorseg data check``: the HTML page of a :class:`~colorseg.data.doctor.DataCheck`, and the
typed entry point that writes it with ``check.json`` (and ``palette.txt`` for colour masks).

The page: the verdict, every finding (grouped by kind, each file named), image facts per split,
the mask diagnosis with its value histogram, class pixel frequencies per split, the proposed
palette, duplicate groups and grayscale photos with thumbnails, and per class a few overlays of
mask on image (the class outlined in white) to see that masks and images align.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from colorseg.data.doctor import DataCheck, check_data, save_check_json
from colorseg.data.doctor.check import DEFAULT_MAX_OVERLAYS, PALETTE_FILE
from colorseg.data.doctor.duplicates import NEAR_THRESHOLD
from colorseg.data.doctor.findings import ERROR, INFO, WARNING, group_findings
from colorseg.data.doctor.fingerprint import SizeStats
from colorseg.data.doctor.mask_checks import format_palette, format_value_map
from colorseg.data.doctor.scan import Record, load_for_display
from colorseg.data.files import atomic_write_text, display_path
from colorseg.data.image_io import pack_rgb, read_image, unpack_rgb
from colorseg.errors import DataError
from colorseg.reports import data_check_plots as plots
from colorseg.reports.html import HtmlReport, array_to_data_uri

DEFAULT_OUTPUT = Path("data-check") / "report.html"
CHECK_JSON = "check.json"
_BADGE = {ERROR: "#cf222e", WARNING: "#9a6700", INFO: "#59636e"}
_LEFT = ' style="text-align:left"'


class _Page(HtmlReport):
    """An :class:`HtmlReport` that also takes trusted HTML fragments built (and escaped) here."""

    def raw(self, fragment: str) -> None:
        self._add(fragment)


def _esc(text) -> str:
    return html.escape(str(text))


def swatch(rgb) -> str:
    """A small colour square (HTML)."""
    r, g, b = (int(c) for c in rgb)
    return (f'<span style="display:inline-block;width:0.9em;height:0.9em;background:rgb({r},{g},{b});'
            'border:1px solid #888;vertical-align:middle;margin-right:0.3em"></span>')


def _badge(severity: str) -> str:
    return f'<strong style="color:{_BADGE[severity]}">{_esc(severity)}</strong>'


def _cells(images: list[tuple[np.ndarray | None, str]]) -> str:
    """Images with captions side by side (wrapping); a None image shows its caption only."""
    figs = "".join('<figure style="margin:0">'
                   + ("" if a is None else f'<img src="{array_to_data_uri(a, "jpeg")}" alt="{_esc(c)}">')
                   + f'<figcaption style="max-width:220px;overflow-wrap:anywhere">{_esc(c)}</figcaption></figure>'
                   for a, c in images)
    return f'<div style="display:flex;flex-wrap:wrap;gap:0.8rem;margin:0.4rem 0 1.2rem">{figs}</div>'


def _verdict(check: DataCheck) -> str:
    c = check.counts()
    status = check.exit_status
    text = ("Clean: nothing to fix before training." if status == 0 else
            f"{c[ERROR]} error(s): fit would stop or learn wrong labels; fix them first." if status == 2 else
            f"{c[WARNING]} warning(s): worth a look before training.")
    colour = {0: "#1a7f37", 1: _BADGE[WARNING], 2: _BADGE[ERROR]}[status]
    return (f'<p style="border-left:6px solid {colour};background:#f6f8fa;padding:0.6rem 1rem;font-size:1.05rem">'
            f"<strong>{_esc(text)}</strong> Exit status {status} · {c[ERROR]} errors · {c[WARNING]} warnings · "
            f"{c[INFO]} info</p>")


def _findings_section(page: _Page, check: DataCheck, max_listed: int = 500) -> None:
    page.section("Findings")
    groups = group_findings(check.findings)
    if not groups:
        page.text("No findings.")
        return
    rows = "".join(f"<tr><td{_LEFT}>{_badge(sev)}</td><td{_LEFT}><code>{_esc(code)}</code></td><td>{len(items)}</td>"
                   f"<td{_LEFT}>{_esc(items[0].message)}</td></tr>" for sev, code, items in groups)
    page.raw(f'<div class="table-wrap"><table><thead><tr><th{_LEFT}>severity</th><th{_LEFT}>code</th><th>count</th>'
             f"<th{_LEFT}>first message</th></tr></thead><tbody>{rows}</tbody></table></div>")
    for sev, code, items in groups:
        if len(items) == 1 and not items[0].file:
            continue
        lis = "".join(f"<li>{_esc(f.message)}</li>" for f in items[:max_listed])
        if len(items) > max_listed:
            lis += f"<li>… and {len(items) - max_listed} more (all in {CHECK_JSON})</li>"
        page.raw(f"<details><summary>{_badge(sev)} <code>{_esc(code)}</code>: all {len(items)}</summary>"
                 f'<ul style="font-size:0.9rem">{lis}</ul></details>')


def _min_med_max(stats: SizeStats | None) -> str:
    return f"{stats.min} / {stats.median:g} / {stats.max}" if stats else ""


def _images_section(page: _Page, check: DataCheck) -> None:
    page.section("Images")
    rows = []
    for split, fp in check.fingerprint.splits.items():
        row = {"split": split, "images": fp.images, "width min/median/max": _min_med_max(fp.width),
               "height min/median/max": _min_med_max(fp.height), "distinct sizes": fp.distinct_sizes,
               "channels": ", ".join(f"{k}: {v}" for k, v in fp.channels.items()),
               "modes": ", ".join(f"{k}: {v}" for k, v in fp.modes.items())}
        if check.layout.task == "colorize":
            row["grayscale-only"] = f"{100 * fp.gray_share:.1f} %"
        rows.append(row)
    page.table(pd.DataFrame(rows), caption="Readable images per split")


def _masks_section(page: _Page, check: DataCheck) -> None:
    m, info = check.fingerprint.mask, check.classes
    page.section("Masks")
    page.key_values({"kind": m.kind, "label values": len(m.label_values), "label colours": len(m.colour_values),
                     "stray values (edges only)": len(m.stray_values),
                     "JPEG / resizing artifacts": m.edge_artifacts, "masks stored as JPEG": m.jpeg_files,
                     "colour (RGB) masks": m.colour_masks, "empty masks": m.empty_masks,
                     "gaps in label values": m.gaps or "none",
                     "suggested mask_value_map": format_value_map(m.suggested_value_map) if m.suggested_value_map
                     else None})
    hist = check.index_histogram
    if hist.pixels:
        stray = set(m.stray_values)
        rows = "".join(
            f"<tr><td>{v}</td><td{_LEFT}>{swatch(info.colors.get(v, plots.UNKNOWN))}{_esc(info.name(v))}</td>"
            f"<td>{hist.pixels[v]:,}</td><td>{100 * hist.pixels[v] / hist.total:.3f} %</td><td>{hist.masks[v]}</td>"
            f"<td>{100 * hist.interior[v] / hist.pixels[v]:.1f} %</td></tr>"
            for v in hist.values() if v not in stray)
        if stray:
            px = sum(hist.pixels[v] for v in stray)
            rows += (f"<tr><td>{len(stray)} values</td><td{_LEFT}>stray (edges only)</td><td>{px:,}</td>"
                     f"<td>{100 * px / hist.total:.3f} %</td><td></td><td></td></tr>")
        page.raw('<div class="table-wrap"><table><caption>Stored mask values (index masks): pixels, share, masks '
                 "holding the value, share of its pixels inside regions</caption><thead><tr><th>value</th>"
                 "<th>name</th><th>pixels</th><th>share</th><th>masks</th><th>interior</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table></div>")
        if len(hist.pixels) <= 4096:
            page.figure(plots.value_histogram(hist.pixels, stray),
                        "Pixels per stored value; stray values (red) sit only on label edges")
    freq = {s: fp.class_pixel_frequency for s, fp in check.fingerprint.splits.items() if fp.class_pixel_frequency}
    if freq:
        page.section("Class pixel frequency per split")
        names = check.fingerprint.class_names
        table = pd.DataFrame({s: {names.get(v, str(v)): f for v, f in fr.items()} for s, fr in freq.items()}).fillna(0)
        page.table(table, caption="Share of the labelled pixels per split", float_format="{:.4f}")
        page.figure(plots.frequency_bars(freq, names), "Class pixel frequency per split")


def _palette_section(page: _Page, check: DataCheck) -> None:
    page.section("Proposed palette (colour masks)")
    absent = sum(p.pixels == 0 for p in check.palette)
    page.text(f"The colour masks use {len(check.palette) - absent} colours. A label index is proposed "
              f"for each, written to {PALETTE_FILE} next to this page (line i = label i). Edit the names, then "
              f"convert: {check.convert_commands['rgb']}"
              + (f" The {absent} colours without pixels keep the known palette's order; fit refuses classes "
                 "without training pixels, so delete their lines unless other masks hold them." if absent else ""))
    rows = "".join(f"<tr><td>{p.index}</td><td{_LEFT}>{swatch(p.rgb)}{p.rgb[0]} {p.rgb[1]} {p.rgb[2]}</td>"
                   f"<td{_LEFT}>{_esc(p.name)}</td><td>{p.pixels:,}</td></tr>" for p in check.palette)
    page.raw('<div class="table-wrap"><table><thead><tr><th>index</th><th>colour</th><th>name</th><th>pixels</th>'
             f"</tr></thead><tbody>{rows}</tbody></table></div>")
    page.raw(f"<pre>{_esc(format_palette(check.palette))}</pre>")


def _thumb(rec: Record, side: int = 160) -> np.ndarray:
    return plots.thumbnail(read_image(rec.entry.image, channels=3), side)


def _duplicates_section(page: _Page, check: DataCheck, max_groups: int = 8, max_shown: int = 4) -> None:
    page.section("Duplicates")
    n = len(check.duplicates)
    page.text(f"{n} group{'s' * (n != 1)} of identical or near-identical images (perceptual hash). Copies in "
              "different splits leak evaluation images into training. Shown: across splits first, then identical "
              "copies, then near copies.")
    ranked = sorted(check.duplicates, key=lambda d: (not d.cross_split, not d.identical))
    for i, d in enumerate(ranked[:max_groups], 1):
        kind = "identical" if d.identical else f"near-identical (≤ {d.max_distance} bits)"
        where = "across splits" if d.cross_split else "within one split"
        page.raw(f"<p><strong>Group {i}</strong>: {len(d.records)} {_esc(kind)} images, {where}</p>")
        more = [(None, f"… and {len(d.records) - max_shown} more")] if len(d.records) > max_shown else []
        page.raw(_cells([(_thumb(r), f"{r.entry.name} ({r.entry.split})") for r in d.records[:max_shown]] + more))
    if len(check.duplicates) > max_groups:
        page.text(f"… and {len(check.duplicates) - max_groups} more groups (all in {CHECK_JSON}).")


def _gray_section(page: _Page, check: DataCheck, max_shown: int = 12) -> None:
    gray = [r for r in check.records if r.image is not None and r.image.gray]
    readable = sum(r.image is not None for r in check.records)
    page.section("Grayscale-only photos")
    page.text(f"{len(gray)} of {readable} photos ({100 * len(gray) / max(readable, 1):.1f} %) are grayscale-only "
              "(R = G = B or one channel); training skips them.")
    if gray:
        page.raw(_cells([(_thumb(r), r.entry.name) for r in gray[:max_shown]]))
        page.raw("<details><summary>all names</summary><ul>" + "".join(
            f"<li>{_esc(display_path(r.entry.image))}</li>" for r in gray) + "</ul></details>")


def _overlays_section(page: _Page, check: DataCheck) -> None:
    if not (check.overlays or check.colour_overlays):
        return
    page.section("Overlays per class")
    page.text("Each mask is blended over its image in the class colours, the class of the row strongest and "
              "outlined in white (thin classes: colour only). Labels should sit on the objects they name.")
    info = check.classes
    cache: dict[tuple[str, str], tuple] = {}

    def load(rec: Record):
        key = (rec.entry.split, rec.entry.name)
        if key not in cache:
            cache.clear()  # keep one decoded pair: picks of a class are mostly different files
            cache[key] = load_for_display(rec.entry)
        return cache[key]

    colour_names = {int(pack_rgb(np.array(p.rgb))): p.name for p in check.palette}
    groups = [(v, recs, False) for v, recs in check.overlays.items()]
    groups += [(v, recs, True) for v, recs in check.colour_overlays.items()]
    for value, recs, colour in groups:
        colors = ({v: unpack_rgb(v) for v in check.colour_histogram.pixels} if colour else info.colors)
        name = colour_names.get(value, "#{:02x}{:02x}{:02x}".format(*unpack_rgb(value))) if colour else info.name(value)
        rgb = unpack_rgb(value) if colour else info.colors.get(value, plots.UNKNOWN)
        cells = []
        for rec in recs:
            try:
                image, plane, _ = load(rec)
                cells.append((plots.mask_overlay(image, plane, colors, highlight=value),
                              f"{rec.entry.name} ({rec.entry.split}): {rec.mask.stats.count_of(value):,} px"))
            except (DataError, ValueError) as exc:  # changed on disk since the scan
                cells.append((None, f"{rec.entry.name}: cannot show: {exc}"))
        suffix = "" if colour or name == f"value {value}" else f" (value {value})"
        page.raw(f"<h3>{swatch(rgb)}{_esc(name)}{suffix}</h3>")
        page.raw(_cells(cells))


def render_data_check(check: DataCheck, output: str | Path) -> Path:
    """Write the HTML page of ``check`` to ``output`` (atomically)."""
    fp = check.fingerprint
    page = _Page(f"Data check: {fp.root}")
    page.raw(_verdict(check))
    page.section("Summary")
    page.key_values({"root": fp.root, "task": fp.task, "source": fp.source,
                     **{f"{s} images": sp.images for s, sp in fp.splits.items()},
                     "files skipped (not images)": len(check.layout.skipped),
                     "exit status": check.exit_status, "machine-readable findings": CHECK_JSON})
    _findings_section(page, check)
    _images_section(page, check)
    if fp.mask is not None:
        _masks_section(page, check)
        if check.palette:
            _palette_section(page, check)
    if check.duplicates:
        _duplicates_section(page, check)
    if fp.task == "colorize":
        _gray_section(page, check)
    _overlays_section(page, check)
    return page.save(output)


def run_data_check(root: str | Path, output: str | Path = DEFAULT_OUTPUT, task: str = "auto",
                   source: str | None = None, max_overlays: int = DEFAULT_MAX_OVERLAYS,
                   near_threshold: int = NEAR_THRESHOLD, progress: bool = True) -> DataCheck:
    """Check the data at ``root`` and write the HTML page ``output``, ``check.json`` next to it and,
    for colour masks, ``palette.txt`` (the proposed palette); returns the check (its
    ``exit_status``: 0 clean, 1 warnings, 2 errors)."""
    output = Path(output)
    check = check_data(root, task, source, max_overlays, near_threshold, progress, output.parent / PALETTE_FILE)
    if check.palette:
        atomic_write_text(output.parent / PALETTE_FILE, format_palette(check.palette))
    save_check_json(check, output.parent / CHECK_JSON)
    render_data_check(check, output)
    return check
