"""The page's event handlers called as Gradio calls them, without a browser: uploads, hints,
colorization, saturation, segmentation, downloads, and every user error as a ``gr.Error`` whose
message names the problem (no stack trace reaches the page)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio", reason="the web app needs gradio: pip install 'colorseg[app]'")

from colorseg.app import colorize_tab as ct
from colorseg.app.page import ColorizeSession, Page, SegmentSession, build_blocks, user_errors
from colorseg.app.server import ModelStore
from colorseg.errors import CheckpointError, DataError


class NoProgress:
    def __call__(self, *args, **kwargs) -> None:
        pass


def click(x: int, y: int) -> gr.SelectData:
    return gr.SelectData(None, {"index": [x, y], "value": None})


@pytest.fixture
def page(tmp_path: Path, plain_ckpt: Path, seg_ckpt: Path) -> Page:
    return Page(ModelStore(), tmp_path / "work", colorize_ckpt=str(plain_ckpt), segment_ckpts=[str(seg_ckpt)])


def colorize(page: Page, session, ckpt: str, saturation: float = 1.0, n_samples: int = 2):
    return page.colorize(session, ckpt, "", n_samples, 1.0, 0, saturation, progress=NoProgress())


def test_user_errors_become_gradio_errors_with_the_message() -> None:
    with pytest.raises(gr.Error) as info, user_errors("Cannot use this upload"):
        raise DataError("cannot read image <x>.png: not a recognised image format")
    assert info.value.message == "cannot read image &lt;x&gt;.png: not a recognised image format"
    assert info.value.title == "Cannot use this upload" and not info.value.print_exception
    with pytest.raises(gr.Error, match="not enough memory"), user_errors("Cannot colorize"):
        raise MemoryError
    with pytest.raises(KeyError), user_errors("other errors pass"):  # programming errors are not hidden
        raise KeyError("x")


def test_upload_colorize_saturate_and_download(page: Page, plain_ckpt: Path, photo_png: Path) -> None:
    session, before, note, hints, slider, gallery, download = page.upload_photo(str(photo_png), None)
    assert isinstance(session, ColorizeSession) and session.photo.name == "holiday photo.png"
    assert before.shape == (45, 61, 3) and "converted to gray" in note
    assert hints["choices"] == [] and slider is None and gallery == [] and download["interactive"] is False
    session, (gray, result), samples, download = colorize(page, session, str(plain_ckpt))
    assert gray.shape == result.shape == (45, 61, 3) and [c for _, c in samples] == ["sample 1", "sample 2"]
    path = Path(download["value"])
    assert path.name == "holiday photo_colorized.png" and page.downloads in path.parents
    with Image.open(path) as im:
        assert im.size == (61, 45)
    first = np.asarray(Image.open(path))
    session, (_, paler), _, download = page.change_saturation(session, 0.0)
    assert not path.exists()  # the session's previous download is removed
    assert np.ptp(paler.astype(int), axis=2).max() <= 2  # saturation 0: gray
    assert not np.array_equal(np.asarray(Image.open(download["value"])), first)
    assert list(page.downloads.iterdir()) == [Path(download["value"]).parent]
    again = page.recolorize(session, str(plain_ckpt), "", 2, 1.0, 0, 1.0, progress=NoProgress())
    assert np.array_equal(again[1][1], result)  # a control moved: the same work as the button


def test_bad_uploads_give_a_message_naming_the_file(page: Page, bad_uploads: dict) -> None:
    with pytest.raises(gr.Error) as info:
        page.upload_photo(str(bad_uploads["text"]), None)
    assert "notes.txt: not a recognised image format" in info.value.message
    assert str(bad_uploads["text"].parent) not in info.value.message
    with pytest.raises(gr.Error, match="upload a photo first"):
        colorize(page, None, "")
    nothing = page.recolorize(None, "", "", 2, 1.0, 0, 1.0, progress=NoProgress())  # a slider moved, no photo
    assert nothing == (gr.skip(),) * 4
    session = page.upload_photo(None, ColorizeSession())[0]  # the upload cleared
    assert session.photo is None


def test_hints_on_a_model_without_them_explain_what_to_do(page: Page, plain_ckpt: Path, photo_png: Path) -> None:
    session = page.upload_photo(str(photo_png), None)[0]
    with pytest.raises(gr.Error) as info:
        page.add_hint(session, "#ff0000", str(plain_ckpt), "", click(3, 4))
    assert "trained without colour hints" in info.value.message and "hint model checkpoint" in info.value.message
    note, colour = page.load_model(str(plain_ckpt), "")
    assert "trained without colour hints" in note and colour["interactive"] is False


def test_hints_with_a_hint_model(page: Page, hint_ckpt: Path, photo_png: Path) -> None:
    note, colour = page.load_model(str(hint_ckpt), "")
    assert "takes colour hints" in note and colour["interactive"] is True
    session = page.upload_photo(str(photo_png), None)[0]
    session, (_, plain), _, _ = colorize(page, session, str(hint_ckpt))
    session, marked, hint_list = page.add_hint(session, "#2050e0", str(hint_ckpt), "", click(30, 20))
    assert session.hints == [(30, 20, (32, 80, 224))] and hint_list["choices"] == ["1: x=30, y=20, #2050e0"]
    assert tuple(marked[20, 30]) == (32, 80, 224)
    session, (_, hinted), _, _ = colorize(page, session, str(hint_ckpt))
    assert np.abs(hinted.astype(int) - plain).max() > 20
    # the "spread hint colours" box off: the network's own use of the hint, another result
    _, (_, network), _, _ = page.recolorize(session, str(hint_ckpt), "", 2, 1.0, 0, 1.0, False, progress=NoProgress())
    assert np.abs(network.astype(int) - plain).max() > 0 and not np.array_equal(network, hinted)
    session = page.add_hint(session, "#00ff00", str(hint_ckpt), "", click(5, 5))[0]
    session, _, hint_list = page.remove_hints(session, ["1: x=30, y=20, #2050e0"])
    assert session.hints == [(5, 5, (0, 255, 0))] and hint_list["choices"] == ["1: x=5, y=5, #00ff00"]
    with pytest.raises(gr.Error, match="no such hint"):
        page.remove_hints(session, ["7: x=1, y=1, #000000"])
    session, cleared, hint_list = page.clear_hints(session)
    assert session.hints == [] and hint_list["choices"] == [] and np.array_equal(cleared, ct.before_image(session.photo))
    with pytest.raises(gr.Error, match="outside"):
        page.add_hint(session, "#00ff00", str(hint_ckpt), "", click(61, 3))


def test_bad_checkpoints_and_options_are_reported(page: Page, photo_png: Path, tmp_path: Path) -> None:
    session = page.upload_photo(str(photo_png), None)[0]
    with pytest.raises(gr.Error) as info:
        page.load_model(str(tmp_path / "missing.ckpt"), "")
    assert "missing.ckpt" in info.value.message
    with pytest.raises(gr.Error, match="SHA-256"):
        page.load_model("https://example.invalid/model.ckpt", "")
    with pytest.raises(gr.Error, match="samples"):
        page.colorize(session, "", "", 99, 1.0, 0, 1.0, progress=NoProgress())
    with pytest.raises(gr.Error, match="saturation"):
        page.colorize(session, "", "", 1, 1.0, 0, -1.0, progress=NoProgress())


def test_segment_upload_overlay_areas_and_mask(page: Page, seg_ckpt: Path, photo_png: Path) -> None:
    session, shown, legend, areas, download = page.segment(str(photo_png), str(seg_ckpt), 0.5, None,
                                                           progress=NoProgress())
    assert isinstance(session, SegmentSession) and shown.shape == (45, 61, 3)
    assert "colorseg-legend" in legend and areas["class"].tolist() == ["bg", "a", "b"]
    assert int(areas["pixels"].sum()) == 45 * 61
    mask_path = Path(download["value"])
    assert mask_path.name == "holiday photo_mask.png"
    with Image.open(mask_path) as im:
        assert im.size == (61, 45) and im.mode == "L"
    photo = page.change_opacity(session, 0.0)
    assert np.array_equal(photo, np.asarray(Image.open(photo_png)))
    again = page.segment(str(photo_png), str(seg_ckpt), 0.5, session, progress=NoProgress())
    assert not mask_path.exists() and Path(again[4]["value"]).exists()
    cleared = page.segment(None, str(seg_ckpt), 0.5, again[0], progress=NoProgress())
    assert cleared[0].result is None and not Path(again[4]["value"]).exists()


def test_segment_errors(page: Page, seg_ckpt: Path, plain_ckpt: Path, photo_png: Path, bad_uploads: dict) -> None:
    with pytest.raises(gr.Error, match="choose a segmentation checkpoint"):
        page.segment(str(photo_png), None, 0.5, None, progress=NoProgress())
    with pytest.raises(gr.Error) as info:
        page.segment(str(photo_png), str(plain_ckpt), 0.5, None, progress=NoProgress())
    assert "plain.ckpt" in info.value.message  # a colorization checkpoint in the Segment tab
    with pytest.raises(gr.Error, match="notes.txt: not a recognised image format"):
        page.segment(str(bad_uploads["text"]), str(seg_ckpt), 0.5, None, progress=NoProgress())
    assert page.change_opacity(None, 0.5) is not None  # nothing to redraw: skipped


def test_the_page_builds_with_both_tabs(page: Page) -> None:
    blocks = build_blocks(page)
    config = blocks.get_config_file()
    labels = {c["props"].get("label") for c in config["components"]}
    assert {"Colorize", "Segment", "Samples", "Hint colour", "Overlay opacity",
            "Area per class"} <= labels
    assert any(label and label.startswith("Before / after") and "deterministic result" in label for label in labels)
    assert not blocks.analytics_enabled


def test_model_store_caches_and_names_errors(plain_ckpt: Path, seg_ckpt: Path, tmp_path: Path) -> None:
    store = ModelStore(max_models=2)
    a, name = store.colorizer(str(plain_ckpt))
    assert store.colorizer(str(plain_ckpt))[0] is a and name == str(plain_ckpt)
    assert store.segmenter(str(seg_ckpt)) is store.segmenter(str(seg_ckpt))
    store.colorizer(str(plain_ckpt), None)
    store.segmenter(str(seg_ckpt) + " ")  # a third key: the oldest model is dropped
    assert len(store._models) == 2
    with pytest.raises(CheckpointError, match="nothere.ckpt"):
        store.segmenter(str(tmp_path / "nothere.ckpt"))
    with pytest.raises(CheckpointError):
        store.segmenter(str(plain_ckpt))  # a colorization checkpoint
    with pytest.raises(Exception, match="no segmentation checkpoint"):
        store.segmenter("  ")
