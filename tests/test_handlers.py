"""The UI's handlers as plain objects: called directly, with no server launched.

The widgets exist (a `gr.Blocks` is built so the handlers have their output
components), but nothing listens: every call here is a Python call.
"""

from __future__ import annotations

import asyncio
import io
import random

import gradio as gr
import pytest
from PIL import Image

from components.app.history import RunRecord
from components.app.runs import Run, RunUpdate
from components.app.status import RunStatus
from components.emulator import FaultKind, Route
from components.media import images as media_images
from components.ui import copy
from components.api.schema import DEFAULT_MODEL
from components.ui.edit_tab import EditHandlers, build_edit_tab, inspect_inputs, price_line
from components.ui.history_tab import record_details
from components.ui.models import estimate
from components.ui.status import STATUS_STYLE, status_line
from components.app.grid import AxisChoice, read_grid
from components.ui.sweep_tab import Pictures, grid_table
from tests.conftest import owner_id


@pytest.fixture
def edit_handlers(service):
    with gr.Blocks():
        tab = build_edit_tab(service.backend)
        owner = gr.BrowserState(None)
    return EditHandlers(service, service.history, tab, owner)


class Request:
    """What a handler reads of gr.Request: the headers."""

    headers: dict[str, str] = {}


def unique_image(size=(96, 64)) -> Image.Image:
    """An image no other test has decoded (the checked-image cache is keyed by content)."""
    rng = random.Random()
    return Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))


def form_values(tmp_path, **overrides):
    photo = tmp_path / "photo.png"
    unique_image((192, 128)).save(photo)
    layer = Image.new("RGBA", (96, 64), (0, 0, 0, 0))  # painted on a half-size working copy
    left, top = random.randrange(2, 40), random.randrange(2, 20)  # a mask no other test has checked
    layer.paste((255, 0, 170, 255), (left, top, left + 30, top + 30))
    references = []
    for index in range(2):
        path = tmp_path / f"reference-{index}.png"
        unique_image((40, 40)).save(path)
        references.append(str(path))
    values = {"model": DEFAULT_MODEL, "prompt": "make it pink", "photo": str(photo),
              "editor": {"background": Image.new("RGBA", (1, 1)), "layers": [layer], "composite": None},
              "files": references, "urls": "", "mask_file": None, "size": "auto", "quality": "low",
              "background": "opaque", "output_compression": 100, "output_format": "png", "moderation": "auto",
              "custom_width": None, "custom_height": None, "deadline": 30, "visitor_key": ""}
    values.update(overrides)
    return values


async def drain(generator):
    return [item async for item in generator]


def test_one_decode_per_image_per_run(edit_handlers, tmp_path, monkeypatch):
    """Validator, summary, preview, history record and upload all share one decode of each image."""
    decoded = []
    real = media_images._decode
    ours = {(192, 128), (96, 64), (40, 40)}  # the photo, the painted layer (a half-size working copy), references

    def counting(data: bytes, name: str):
        # Only this test's images: a run another test file left going in this process decodes too.
        if Image.open(io.BytesIO(data)).size in ours:
            decoded.append(name)
        return real(data, name)

    monkeypatch.setattr(media_images, "_decode", counting)
    values = form_values(tmp_path)
    owner = owner_id("one-decode")

    edit_handlers.validate("ticket-decode", owner, 0.0, **values)
    edit_handlers.summarize(**values)
    outputs = asyncio.run(drain(edit_handlers.run("ticket-decode", owner, 0.0, Request(), **values)))

    assert RunStatus.COMPLETED.value in str(outputs[-1])
    # The photo, two references and the painted mask: four images, four decodes.
    assert sorted(decoded) == ["mask", "reference 1 (reference-0.png)", "reference 2 (reference-1.png)",
                               "the photo"]


def test_the_summary_names_each_problem_and_starts_nothing(edit_handlers, tmp_path, emulator):
    status, current = edit_handlers.summarize(**form_values(tmp_path, prompt="  ", output_compression=0))
    assert "Nothing was sent" in status and "**prompt**" in status and current == ""
    assert sum(emulator.calls.values()) == 0


def test_a_click_on_run_is_acknowledged_before_the_form_arrives(edit_handlers, tmp_path):
    """The summary answers first (it reads no painting): a good form says at once that it is on its way."""
    status, current = edit_handlers.summarize(**form_values(tmp_path))
    assert RunStatus.PREPARING.value in status and copy.SENDING_FORM in status and current == ""


def test_the_click_summary_and_the_validator_agree_on_keeping_the_original(edit_handlers, tmp_path):
    """The summary reads no painting; it still names a photo no size of the model fits (so the status line says
    why nothing starts), and it does not claim a painted mask is missing."""
    painted = form_values(tmp_path, keep_outside_mask=True, feather=0)
    summary_of = {name: value for name, value in painted.items() if name != "editor"}  # what the page sends it
    assert not any(mark["is_valid"] is False for mark in edit_handlers.validate("t", owner_id("agree"), 0.0, **painted))
    status, _ = edit_handlers.summarize(**summary_of)
    assert copy.SENDING_FORM in status  # 3:2 photo, 1536x1024 exists: nothing to say but that it is on its way
    phone = tmp_path / "phone.png"
    unique_image((400, 300)).save(phone)  # 4:3: no size of gpt-image-1.5 is that shape
    shaped = {**painted, "photo": str(phone), "model": "gpt-image-1.5-edit",
              "editor": {**painted["editor"], "layers": [Image.new("RGBA", (80, 60), (255, 0, 170, 255))]}}
    marks = edit_handlers.validate("t", owner_id("agree"), 0.0, **shaped)
    assert any(mark["is_valid"] is False and "another shape" in mark["message"] for mark in marks)
    status, _ = edit_handlers.summarize(**{name: value for name, value in shaped.items() if name != "editor"})
    assert "Nothing was sent" in status and "another shape" in status


def test_the_mask_line_says_when_a_painting_is_not_sent_and_how_to_make_it_count(tmp_path):
    painted = form_values(tmp_path)
    _, preview, info = inspect_inputs(painted)
    assert preview is not None and "Mask from your painting" in info and "Not sent" not in info
    _, _, info = inspect_inputs({**painted, "model": "gpt-image-2", "files": []})
    assert info.startswith("Your painting") and copy.PAINT_NOT_SENT.format(model="GPT Image 2") in info
    _, _, info = inspect_inputs({**painted, "model": "gpt-image-2", "files": [], "keep_outside_mask": True,
                                 "feather": 0})
    assert copy.PAINT_KEPT_BY_APP.format(model="GPT Image 2") in info and copy.KEEPS_OUTSIDE in info


def test_cancel_before_anything_started_says_nothing_was_sent(edit_handlers):
    assert copy.CANCELLED_BEFORE_SUBMIT in edit_handlers.cancel("a-ticket-never-run", "", owner_id("nobody"))
    assert copy.CANCELLED_BEFORE_SUBMIT in edit_handlers.cancel("", "", owner_id("nobody"))


def test_each_phase_has_one_label_on_every_tab(service, tmp_path):
    """PREPARING used to read UPLOADING on the Edit tab and PREPARING elsewhere."""
    assert set(STATUS_STYLE) == set(RunStatus)
    record = RunRecord("20260101-000000-abcd1234", owner_id("labels"), "2026-01-01T00:00:00", "p", {}, [])
    grid, _ = read_grid(AxisChoice("takes", typed="1"), AxisChoice("none"), [], ())
    cells = grid.cells(DEFAULT_MODEL, {})
    for status in RunStatus:
        label, _ = STATUS_STYLE[status]
        record.status = status
        run = Run(record)
        run.latest = RunUpdate(status, 1.0)
        shown = [status_line(run.latest, "emulator"), grid_table(grid, cells, [run], Pictures()),
                 record_details(record)]
        for text in shown:
            assert f">{label}</span>" in text and f"state-{status.value}" in text, (status, text)
    assert "UPLOADING" not in status_line(RunUpdate(RunStatus.PREPARING, 0.0), "emulator")


def test_the_price_estimate_follows_quality_and_size():
    assert "$0.011" in estimate(DEFAULT_MODEL, "low", "1024x1024") and "$0.25" in estimate(DEFAULT_MODEL, "high",
                                                                                             "1536x1024")
    assert "estimated as medium" in estimate(DEFAULT_MODEL, "auto", "auto")


def landscape_photo(folder, size=(4032, 3024), orientation=1):
    """A phone photo's JPEG (small on disk: one colour), with an EXIF orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = folder / f"IMG_{size[0]}x{size[1]}_{orientation}.jpg"
    unique_image(size).save(path, format="JPEG", exif=exif.tobytes())
    return str(path)


def test_the_price_line_prices_size_auto_at_what_a_landscape_photo_gets(tmp_path):
    """`auto` on a 4032x3024 photo comes out at 1536x1024: the line says the oblong price, and so does the total."""
    photo = landscape_photo(tmp_path)
    line = price_line(DEFAULT_MODEL, "high", "auto", None, None, 3, photo, None)
    assert "about **$0.25** × 3 takes = about **$0.75**" in line
    assert "size `auto` priced at 1536×1024, the size the model picks for this photo's shape" in line
    # No photo yet: the square price, and the line says the size is not known.
    none = price_line(DEFAULT_MODEL, "high", "auto", None, None, 1, None, None)
    assert "about **$0.167**" in none and "1024×1024 until a photo is chosen, up to $0.25" in none
    # A size asked for is priced as asked, whatever the photo.
    assert "about **$0.167**" in price_line(DEFAULT_MODEL, "high", "1024x1024", None, None, 1, photo, None)
    # The photo as shown counts (the app sends it upright): one stored sideways with an EXIF turn is portrait.
    sideways = landscape_photo(tmp_path, (4032, 3024), orientation=6)
    assert "priced at 1024×1536" in price_line(DEFAULT_MODEL, "high", "auto", None, None, 1, sideways, None)
    # Without a photo the first reference file is the first image; a file that is no image is not guessed at.
    assert "$0.25" in price_line(DEFAULT_MODEL, "high", "auto", None, None, 1, None, [photo])
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"not an image")
    assert "until a photo is chosen" in price_line(DEFAULT_MODEL, "high", "auto", None, None, 1, str(junk), None)


def test_after_cancel_the_stream_says_nothing_older_than_the_cancel(edit_handlers, tmp_path, emulator):
    """Cancel's 'nothing was sent' used to be covered by a late 'PREPARING · uploading' from the run."""
    emulator.inject(Route.UPLOAD, kind=FaultKind.SLOW, delay=1.5)
    values = form_values(tmp_path)
    owner = owner_id("cancel-late")

    async def run_and_cancel() -> tuple[str, list[str]]:
        said, after = "", []
        async for update in edit_handlers.run("ticket-late", owner, 0.0, Request(), **values):
            text = str(update.get(edit_handlers.tab.status, ""))
            if said:
                after.append(text)
            elif "uploading" in text:
                said = await asyncio.to_thread(edit_handlers.cancel, "ticket-late", "", owner)
        return said, after

    try:
        said, after = asyncio.run(run_and_cancel())
    finally:
        emulator.faults.clear()
    assert copy.CANCELLED_BEFORE_SUBMIT in said
    assert after and all(RunStatus.PREPARING.value not in text for text in after), after
    assert "nothing was sent" in after[-1]
    assert emulator.calls[Route.SUBMIT] == 0
