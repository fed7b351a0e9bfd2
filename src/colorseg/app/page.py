"""The app's Gradio page: the Colorize and Segment tabs, their event handlers and the per-session
state. The logic lives in :mod:`~colorseg.app.colorize_tab` / :mod:`~colorseg.app.segment_tab`;
this module wires it to components.

Every handler turns colorseg's user errors (a file that is not an image, a bad checkpoint, a hint
on a model without hints, ...) into a ``gr.Error`` toast that shows the message and no stack trace.
Downloads are written under the app's temporary folder (``<workdir>/downloads``), one folder per
result, the session's previous one removed.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr

from colorseg.app import colorize_tab as ct
from colorseg.app import segment_tab as st
from colorseg.app.images import PREVIEW_SIDE
from colorseg.errors import ColorsegError

TITLE = "colorseg"
CSS = """
.colorseg-legend {display: flex; flex-wrap: wrap; gap: 6px 16px; padding: 4px 0;}
.colorseg-legend-item {display: inline-flex; align-items: center; gap: 6px;}
.colorseg-swatch {width: 16px; height: 16px; border-radius: 3px; border: 1px solid #0004; display: inline-block;}
"""
INTRO = ("Colorize gray photos with the built-in model or any colorization checkpoint, or segment images "
         "with a segmentation checkpoint. Everything runs on this machine; uploads stay in a temporary "
         "folder that is removed when the app stops.")


@contextmanager
def user_errors(title: str) -> Iterator[None]:
    """Turn colorseg's user errors (and running out of memory) into a ``gr.Error`` with the
    message, HTML-escaped, under ``title``; no stack trace reaches the page."""
    try:
        yield
    except ColorsegError as exc:
        raise gr.Error(html.escape(str(exc)), title=title, print_exception=False) from exc
    except MemoryError as exc:
        raise gr.Error("not enough memory for this image; try a smaller one", title=title,
                       print_exception=False) from exc


def _progress(progress: gr.Progress) -> ct.Progress:
    """colorseg's ``progress(fraction or None, description)`` on a ``gr.Progress``."""
    return lambda fraction, description: progress(fraction, desc=description)


@dataclass
class ColorizeSession:
    """One browser session's Colorize tab: the photo, its hints, the last colorization and
    the folder holding its download."""

    photo: ct.Photo | None = None
    hints: list = field(default_factory=list)
    colorized: ct.Colorized | None = None
    download_dir: Path | None = None


@dataclass
class SegmentSession:
    """One browser session's Segment tab: the last result and the folder holding its mask."""

    result: st.Segmented | None = None
    download_dir: Path | None = None


class Page:
    """Handlers of the page's events, over a :class:`~colorseg.app.server.ModelStore`.

    Args:
        store: loads and caches the models (``colorizer(ckpt, sha256)``, ``segmenter(ckpt)``).
        workdir: the app's temporary folder (downloads go to ``workdir/downloads``).
        colorize_ckpt / colorize_sha256: the colorization checkpoint the page starts with (None:
            the built-in model).
        segment_ckpts: the segmentation checkpoints offered in the Segment tab.
        max_pixels: the upload pixel limit (None: colorseg's, ``$COLORSEG_MAX_PIXELS``).
        preview_side: long side of the images shown in the page.
    """

    def __init__(self, store, workdir: str | Path, colorize_ckpt: str | None = None,
                 colorize_sha256: str | None = None, segment_ckpts: list[str] | tuple = (),
                 max_pixels: int | None = None, preview_side: int = PREVIEW_SIDE) -> None:
        self.store = store
        self.downloads = Path(workdir) / "downloads"
        self.colorize_ckpt = colorize_ckpt or ""
        self.colorize_sha256 = colorize_sha256 or ""
        self.segment_ckpts = [str(p) for p in segment_ckpts]
        self.max_pixels = max_pixels
        self.preview_side = preview_side

    # ------------------------------------------------------------------ helpers

    def _download_dir(self, previous: Path | None) -> Path:
        """A new folder for a session's download; the session's previous one is removed."""
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
        self.downloads.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.downloads))

    def _colorizer(self, ckpt: str, sha256: str):
        return self.store.colorizer(ckpt.strip() or None, sha256.strip() or None)

    # ---------------------------------------------------------------- colorize

    def load_model(self, ckpt: str, sha256: str):
        """The model note, and the colour picker enabled only for a model that takes hints (the
        hint list and its buttons stay usable: hints placed with an earlier model can be removed)."""
        with user_errors("Cannot load the colorization model"):
            colorizer, name = self._colorizer(ckpt, sha256)
        return ct.model_note(name, colorizer), gr.update(interactive=colorizer.takes_hints)

    def upload_photo(self, path: str | None, session: ColorizeSession | None):
        """A new upload (or the upload cleared): the gray preview, the note, an empty hint list;
        the old result, samples and download are dropped."""
        session = session or ColorizeSession()
        if session.download_dir is not None:
            shutil.rmtree(session.download_dir, ignore_errors=True)
        cleared = (gr.update(choices=[], value=[]), None, [], gr.update(value=None, interactive=False))
        if not path:
            return (ColorizeSession(), None, "", *cleared)
        with user_errors("Cannot use this upload"):
            photo = ct.load_photo(path, max_pixels=self.max_pixels, max_side=self.preview_side)
        return (ColorizeSession(photo=photo), ct.before_image(photo), ct.photo_note(photo), *cleared)

    def add_hint(self, session: ColorizeSession | None, colour: str, ckpt: str, sha256: str, evt: gr.SelectData):
        """A click on the gray photo: a hint at that pixel with the picked colour."""
        if session is None or session.photo is None:
            raise gr.Error("upload a photo first", title="No photo", print_exception=False)
        with user_errors("Cannot place this hint"):
            colorizer, _ = self._colorizer(ckpt, sha256)
            if not colorizer.takes_hints:
                raise gr.Error(html.escape(ct.NO_HINTS_NOTE), title="No hints with this model",
                               print_exception=False)
            hints = ct.add_hint(session.hints, session.photo, evt.index, colour)
        return self._hints_changed(session, hints)

    def remove_hints(self, session: ColorizeSession | None, selected: list[str] | None):
        """Remove the ticked hints."""
        if session is None or session.photo is None:
            raise gr.Error("upload a photo first", title="No photo", print_exception=False)
        with user_errors("Cannot remove hints"):
            hints = ct.remove_hints(session.hints, selected or [])
        return self._hints_changed(session, hints)

    def clear_hints(self, session: ColorizeSession | None):
        """Remove every hint."""
        if session is None or session.photo is None:
            raise gr.Error("upload a photo first", title="No photo", print_exception=False)
        return self._hints_changed(session, [])

    def _hints_changed(self, session: ColorizeSession, hints: list):
        labels = ct.hint_labels(hints)
        return (replace(session, hints=hints), ct.draw_hints(session.photo, hints),
                gr.update(choices=labels, value=[]))

    def colorize(self, session: ColorizeSession | None, ckpt: str, sha256: str, n_samples, temperature, seed,
                 saturation, spread_hints=True, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """Colorize the session's photo with its hints (spread to similar neighbours unless
        ``spread_hints`` is off): the before/after pair, the samples and the full-resolution PNG."""
        if session is None or session.photo is None:
            raise gr.Error("upload a photo first", title="No photo", print_exception=False)
        with user_errors("Cannot colorize"):
            progress(0.0, desc="loading the model")
            colorizer, _ = self._colorizer(ckpt, sha256)
            colorized = ct.colorize_photo(colorizer, session.photo, session.hints, n_samples, temperature, seed,
                                          _progress(progress), spread_hints=bool(spread_hints))
            session = replace(session, colorized=colorized)
            return (session, *self._render(session, saturation))

    def recolorize(self, session: ColorizeSession | None, ckpt: str, sha256: str, n_samples, temperature, seed,
                   saturation, spread_hints=True, progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """:meth:`colorize` after a control changed (model, samples, temperature, seed); nothing
        (no message) before a photo is uploaded."""
        if session is None or session.photo is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        return self.colorize(session, ckpt, sha256, n_samples, temperature, seed, saturation, spread_hints, progress)

    def change_saturation(self, session: ColorizeSession | None, saturation):
        """Re-render the last result at another saturation (no model run)."""
        if session is None or session.colorized is None:
            return session, gr.skip(), gr.skip(), gr.skip()
        with user_errors("Cannot change the saturation"):
            return (session, *self._render(session, saturation))

    def _render(self, session: ColorizeSession, saturation):
        """Before/after, the samples gallery and the download button (writes the PNG)."""
        result, samples = ct.render_previews(session.photo, session.colorized, saturation)
        folder = self._download_dir(session.download_dir)
        session.download_dir = folder  # the session object is this event's own copy
        path = ct.save_result(folder / ct.result_filename(session.photo), session.colorized, saturation)
        gallery = [(s, f"sample {i + 1}") for i, s in enumerate(samples)]
        return ((ct.before_image(session.photo), result), gallery,
                gr.update(value=str(path), interactive=True))

    # ----------------------------------------------------------------- segment

    def segment(self, path: str | None, ckpt: str | None, opacity, session: SegmentSession | None,
                progress=gr.Progress()):  # noqa: B008 (Gradio's idiom)
        """Segment an upload (or the last one again, with another checkpoint): overlay, legend,
        area table, mask download."""
        session = session or SegmentSession()
        if not path:
            if session.download_dir is not None:
                shutil.rmtree(session.download_dir, ignore_errors=True)
            return SegmentSession(), None, "", None, gr.update(value=None, interactive=False)
        if not ckpt:
            raise gr.Error("choose a segmentation checkpoint (start the app with --segment-ckpt PATH, or type the "
                           "path of one)", title="No segmentation checkpoint", print_exception=False)
        with user_errors("Cannot segment"):
            progress(0.0, desc="loading the model")
            segmenter = self.store.segmenter(ckpt)
            name = Path(path).name
            image = st.load_segment_image(path, name, self.max_pixels)
            result = st.segment_image(segmenter, image, name, self.preview_side, _progress(progress))
            folder = self._download_dir(session.download_dir)
            mask_path = st.save_mask(folder / st.mask_filename(name), result.mask)
            return (SegmentSession(result, folder), st.overlay_preview(result, opacity),
                    st.legend_html(result.class_names, result.class_colors),
                    st.area_table(result.mask, result.class_names),
                    gr.update(value=str(mask_path), interactive=True))

    def change_opacity(self, session: SegmentSession | None, opacity):
        """Redraw the overlay at another opacity (no model run)."""
        if session is None or session.result is None:
            return gr.skip()
        with user_errors("Cannot change the opacity"):
            return st.overlay_preview(session.result, opacity)


def build_blocks(page: Page) -> gr.Blocks:
    """The Gradio page (two tabs) wired to ``page``'s handlers."""
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 3600)) as blocks:
        gr.Markdown(f"# colorseg\n{INTRO}")
        with gr.Tabs():
            with gr.Tab("Colorize", id="colorize"):
                _colorize_tab(page, blocks)
            with gr.Tab("Segment", id="segment"):
                _segment_tab(page)
    return blocks


def _colorize_tab(page: Page, blocks: gr.Blocks) -> None:
    session = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            photo = gr.File(label="Photo (PNG, JPEG, TIFF, BMP)", type="filepath", elem_id="colorize-upload")
            with gr.Accordion("Model", open=False, elem_id="colorize-model-box"):
                ckpt = gr.Textbox(page.colorize_ckpt, label="Colorization checkpoint", elem_id="colorize-ckpt",
                                  placeholder="empty: the built-in model; or a .ckpt path, or an https URL")
                sha = gr.Textbox(page.colorize_sha256, label="SHA-256 (for a URL)", elem_id="colorize-sha256")
                load = gr.Button("Load model", size="sm")
            model_md = gr.Markdown(elem_id="colorize-model")
            samples = gr.Slider(0, ct.MAX_SAMPLES, value=4, step=1, label="Samples")
            temperature = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Temperature")
            seed = gr.Number(0, precision=0, minimum=0, label="Seed")
            saturation = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Saturation", elem_id="colorize-saturation")
            run = gr.Button("Colorize", variant="primary", elem_id="colorize-run")
            download = gr.DownloadButton("Download PNG (full resolution)", interactive=False,
                                         elem_id="colorize-download")
        with gr.Column(scale=2):
            note = gr.Markdown(elem_id="colorize-note")
            gray = gr.Image(label="Gray input: pick a colour, then click to place a hint", type="numpy",
                            interactive=False, format="png", height=360, elem_id="colorize-gray",
                            buttons=["fullscreen"])
            with gr.Row():
                colour = gr.ColorPicker("#d03030", label="Hint colour", elem_id="colorize-colour", scale=1)
                hint_list = gr.CheckboxGroup([], label="Hints (tick to remove)", elem_id="colorize-hints", scale=3)
            with gr.Row():
                remove = gr.Button("Remove ticked hints", size="sm", elem_id="colorize-remove")
                clear = gr.Button("Clear hints", size="sm", elem_id="colorize-clear")
                spread = gr.Checkbox(True, label="Spread hint colours to similar neighbours", elem_id="colorize-spread",
                                     info="off: the network's own use of the hints")
    with gr.Row():
        slider = gr.ImageSlider(label="Before / after: gray input | deterministic result (drag to compare)", type="numpy", max_height=480, elem_id="colorize-result",
                                buttons=["fullscreen"])
        gallery = gr.Gallery(label="Samples", columns=2, height=500, object_fit="contain", elem_id="colorize-samples")

    model_outputs = [model_md, colour]
    run_inputs = [session, ckpt, sha, samples, temperature, seed, saturation, spread]
    run_outputs = [session, slider, gallery, download]
    hint_outputs = [session, gray, hint_list]

    blocks.load(page.load_model, [ckpt, sha], model_outputs)
    load.click(page.load_model, [ckpt, sha], model_outputs).success(page.recolorize, run_inputs, run_outputs)
    ckpt.submit(page.load_model, [ckpt, sha], model_outputs).success(page.recolorize, run_inputs, run_outputs)
    upload_outputs = [session, gray, note, hint_list, slider, gallery, download]
    photo.upload(page.upload_photo, [photo, session], upload_outputs).success(page.colorize, run_inputs, run_outputs)
    photo.clear(page.upload_photo, [photo, session], upload_outputs)
    gray.select(page.add_hint, [session, colour, ckpt, sha], hint_outputs).success(
        page.colorize, run_inputs, run_outputs)
    remove.click(page.remove_hints, [session, hint_list], hint_outputs).success(page.colorize, run_inputs, run_outputs)
    clear.click(page.clear_hints, [session], hint_outputs).success(page.colorize, run_inputs, run_outputs)
    run.click(page.colorize, run_inputs, run_outputs)
    for control in (samples, temperature):
        control.release(page.recolorize, run_inputs, run_outputs)
    seed.submit(page.recolorize, run_inputs, run_outputs)
    spread.input(page.recolorize, run_inputs, run_outputs)
    saturation.release(page.change_saturation, [session, saturation], run_outputs)


def _segment_tab(page: Page) -> None:
    session = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            ckpt = gr.Dropdown(page.segment_ckpts, value=page.segment_ckpts[0] if page.segment_ckpts else None,
                               allow_custom_value=True, label="Segmentation checkpoint (choose or type a path)",
                               elem_id="segment-ckpt")
            image = gr.File(label="Image (PNG, JPEG, TIFF, BMP)", type="filepath", elem_id="segment-upload")
            run = gr.Button("Segment", variant="primary", elem_id="segment-run")
            opacity = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Overlay opacity", elem_id="segment-opacity")
            download = gr.DownloadButton("Download mask PNG", interactive=False,
                                         elem_id="segment-download")
        with gr.Column(scale=2):
            shown = gr.Image(label="Overlay", type="numpy", interactive=False, height=420, elem_id="segment-overlay",
                             buttons=["fullscreen"])
            legend = gr.HTML(elem_id="segment-legend")
            areas = gr.Dataframe(headers=list(st.AREA_COLUMNS), label="Area per class", interactive=False,
                                 elem_id="segment-areas")
    inputs = [image, ckpt, opacity, session]
    outputs = [session, shown, legend, areas, download]
    image.upload(page.segment, inputs, outputs)
    image.clear(page.segment, inputs, outputs)
    ckpt.select(page.segment, inputs, outputs)  # another checkpoint from the list: the same image again
    run.click(page.segment, inputs, outputs)  # e.g. after typing a checkpoint path
    opacity.release(page.change_opacity, [session, opacity], shown)
