"""The History tab's handlers, called directly: every run listed, selection, the compare pair, resumed runs.

Runs are made through EditService against the emulator over real HTTP; no server is launched.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest
from PIL import Image, ImageChops

from components.app.history import HistoryStore
from components.app.service import EditService
from components.app.status import RunStatus
from components.media.compare import COMPARE_MAX_SIDE, LETTERBOX_RGB, compare_pair
from components.media.images import EditRequest
from components.ui.history_tab import COMPARE_MAX_HEIGHT, HistoryHandlers, build_history_tab
from components.ui.status import label
from tests.conftest import edit_inputs, owner_id, png_bytes

OWNER = owner_id("history-tab")


@pytest.fixture
def handlers(service):
    with gr.Blocks():
        build_history_tab()  # the tab's widgets exist, as in the app; the handlers are called directly
    return HistoryHandlers(service, service.history)


def image_bytes(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    return png_bytes(size, colour)


def content_box(path: str) -> tuple[int, int, int, int]:
    """Where an image sits on a letterboxed canvas: the box of pixels that differ from the letterbox."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, LETTERBOX_RGB)).convert("L")
    box = difference.point(lambda value: 255 if value > 2 else 0).getbbox()
    assert box is not None
    return box


def assert_letterboxed(path: str, source: tuple[int, int], canvas: tuple[int, int]) -> tuple[int, int, int, int]:
    """The source is whole on the canvas, centred, at one scale for both axes, filling one dimension."""
    left, top, right, bottom = content_box(path)
    width, height = right - left, bottom - top
    assert 0 <= left and 0 <= top and right <= canvas[0] and bottom <= canvas[1]
    assert abs(width * source[1] - height * source[0]) <= max(source)  # one scale for both axes (±1 px)
    assert width >= canvas[0] - 1 or height >= canvas[1] - 1  # as large as fits
    assert abs(left - (canvas[0] - right)) <= 1 and abs(top - (canvas[1] - bottom)) <= 1  # centred
    return left, top, right, bottom


def make_mixed_runs(service: EditService) -> dict[str, str]:
    """One run of each ending; returns run id → what it is."""
    made: dict[str, str] = {}
    run = service.start_edit(EditRequest("a finished edit", [image_bytes((96, 64), (200, 40, 40))], None, {}),
                             owner=OWNER, deadline=30)
    made[run.run_id] = "completed"
    run = service.start_edit(EditRequest("please #fail", [image_bytes((96, 64), (40, 200, 40))], None, {}),
                             owner=OWNER, deadline=30)
    made[run.run_id] = "failed"
    # A sweep of two, one at a time: the second is still waiting for its turn when it is stopped.
    first, second = service.start_sweep(
        [("quality=low", EditRequest("sweep", [image_bytes((96, 64), (40, 40, 200))], None, {"quality": "low"})),
         ("quality=high", EditRequest("sweep", [image_bytes((96, 64), (40, 40, 200))], None, {"quality": "high"}))],
        owner=OWNER, limit=1, deadline=30)
    second.stop()
    made[first.run_id], made[second.run_id] = "completed", "stopped"
    # Resumed by an id Segmind does not know: no inputs, no result.
    resumed = service.resume("no-such-request-id", owner=OWNER, deadline=10)
    made[resumed.run_id] = "resumed"
    assert service.wait_idle(20)
    # Left unfinished by a restart: the next start of the app reads it as INTERRUPTED.
    record = service.history.create(owner=OWNER, inputs=edit_inputs("cut short", [image_bytes((64, 64), (9, 9, 9))]))
    made[record.run_id] = "interrupted"
    return made


def test_every_run_is_in_the_gallery_and_each_tile_selects_its_own_run(service, tmp_path):
    made = make_mixed_runs(service)
    # The app restarted: a new store over the same folder.
    history = HistoryStore(service.history.root)
    handlers = HistoryHandlers(service, history)

    items, ids = handlers.gallery_items(OWNER)
    records = {r.run_id: r for r in history.records(OWNER)}
    assert len(items) == len(ids) == len(made) == len(records) == 6
    assert set(ids) == set(made)
    statuses = {records[run_id].status for run_id in ids}
    assert {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.STOPPED, RunStatus.INTERRUPTED} <= statuses
    for (picture, caption), run_id in zip(items, ids):
        record = records[run_id]
        with Image.open(picture) as tile:  # a real picture for every run, with or without a result
            tile.load()
        if record.status is not RunStatus.COMPLETED:
            assert label(record.status) in caption, caption

    for index, run_id in enumerate(ids):
        record = records[run_id]
        details, selected, compare_with, pair = handlers.select(OWNER, ids, SimpleNamespace(index=index))
        assert selected == run_id and label(record.status) in details
        assert record.prompt in details
        if made[run_id] == "completed":
            assert pair is not None and compare_with["value"] == "input"
        else:
            assert pair is None and compare_with["choices"] == [] and compare_with["value"] is None
    # An index the page should never send selects nothing.
    assert handlers.select(OWNER, ids, SimpleNamespace(index=len(ids)))[1] == ""


def test_the_gallery_is_redrawn_only_when_a_run_is_added_or_changes_state(service, handlers):
    service.start_edit(EditRequest("one", [image_bytes((64, 48), (1, 2, 3))], None, {}), owner=OWNER, deadline=30)
    assert service.wait_idle(20)
    _, gallery, ids, signature = handlers.refresh_all(OWNER, [])
    assert len(gallery["value"]) == 1 and len(ids) == 1
    _, gallery, ids, same = handlers.refresh_all(OWNER, signature)
    assert "value" not in gallery and same == signature  # nothing new: the page keeps what it shows
    service.start_edit(EditRequest("two #fail", [image_bytes((64, 48), (4, 5, 6))], None, {}), owner=OWNER,
                       deadline=30)
    assert service.wait_idle(20)
    _, gallery, ids, _ = handlers.refresh_all(OWNER, signature)
    assert len(gallery["value"]) == 2 and len(ids) == 2
    assert label(RunStatus.FAILED) in gallery["value"][0][1]  # newest first, its status in the caption


def test_the_compare_pair_is_one_canvas_with_both_images_whole_at_one_scale(service, handlers):
    """A small wide input against a tall result: same pixel size, each whole, centred and undistorted."""
    run = service.start_edit(EditRequest("tall", [image_bytes((96, 64), (200, 40, 40))], None,
                                         {"size": "1024x1536"}), owner=OWNER, deadline=30)
    assert service.wait_idle(20) and run.record.status is RunStatus.COMPLETED
    before, after = handlers.compare_pair(OWNER, run.run_id, "input")
    with Image.open(before) as left, Image.open(after) as right:
        assert left.size == right.size
        canvas = left.size
    assert max(canvas) <= COMPARE_MAX_SIDE
    assert_letterboxed(before, (96, 64), canvas)
    assert_letterboxed(after, (1024, 1536), canvas)


def test_a_resumed_run_with_no_inputs_shows_its_details(service, handlers, emulator):
    outside = EditService(service.backend, HistoryStore(service.history.root.parent / "elsewhere"))
    job_run = outside.start_edit(EditRequest("made elsewhere", [image_bytes((64, 48), (7, 7, 7))], None, {}),
                                 owner=owner_id("elsewhere"), deadline=30)
    assert outside.wait_idle(20)
    resumed = service.resume(job_run.record.request_id, owner=OWNER, deadline=30)
    assert service.wait_idle(20)
    items, ids = handlers.gallery_items(OWNER)
    index = ids.index(resumed.run_id)
    details, selected, _, pair = handlers.select(OWNER, ids, SimpleNamespace(index=index))
    record = service.history.get(resumed.run_id)
    assert record.inputs == [] and record.status is RunStatus.COMPLETED
    assert selected == resumed.run_id and job_run.record.request_id in details and "Inputs: —" in details
    assert pair is None  # it has no input to compare with, and is the only run
    restored = handlers.restore(OWNER, resumed.run_id)
    assert restored[0] == record.model and restored[1] == record.prompt  # the restore outputs start with the model


def test_the_slider_scales_the_pair_to_fit_instead_of_clipping_it():
    with gr.Blocks():
        tab = build_history_tab()
    config = tab.compare.get_config()
    assert config.get("height") is None and config["max_height"] == COMPARE_MAX_HEIGHT


# The pair itself, from files ------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [
    ((512, 512), (1024, 1024)),     # an input and its result at twice the resolution: the same area on screen
    ((640, 480), (1024, 1536)),     # wide against tall: both whole
    ((4032, 3024), (1536, 1024)),   # a phone photo: bounded
])
def test_compare_pair_letterboxes_both_onto_one_canvas(tmp_path, first, second):
    paths = []
    for index, (size, colour) in enumerate([(first, (220, 60, 60)), (second, (60, 60, 220))]):
        path = tmp_path / f"{index}.png"
        Image.new("RGB", size, colour).save(path)
        paths.append(path)
    left, right = compare_pair(*paths)
    assert left.size == right.size and max(left.size) <= COMPARE_MAX_SIDE
    boxes = []
    for image, size, name in [(left, first, "left.png"), (right, second, "right.png")]:
        image.save(tmp_path / name)
        boxes.append(assert_letterboxed(str(tmp_path / name), size, left.size))
    if first[0] * second[1] == first[1] * second[0]:  # the same shape: exactly the same place, whatever the pixels
        assert boxes[0] == boxes[1]


def test_a_transparent_result_stays_transparent_in_the_pair(tmp_path):
    Image.new("RGB", (300, 200), (10, 200, 10)).save(tmp_path / "input.png")
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(tmp_path / "result.png")
    left, right = compare_pair(tmp_path / "input.png", tmp_path / "result.png")
    assert left.mode == right.mode == "RGBA" and right.getpixel((150, 100))[3] == 0


def test_a_run_cut_off_during_its_submit_says_it_has_no_request_id_and_where_to_look(tmp_path):
    """The app was killed between sending the submit and reading Segmind's answer: the job may exist."""
    store = HistoryStore(tmp_path)
    cut = store.create(owner=OWNER, inputs=edit_inputs("killed mid-submit", [image_bytes((64, 64), (1, 2, 3))]))
    cut.status = RunStatus.SUBMITTING
    store.save(cut)
    followed = store.create(owner=OWNER, inputs=edit_inputs("killed while polling", [image_bytes((64, 64), (4, 5, 6))]))
    followed.status, followed.request_id = RunStatus.PROCESSING, "a" * 32
    store.save(followed)

    restarted = {r.run_id: r for r in HistoryStore(tmp_path).records(OWNER)}
    assert restarted[cut.run_id].status is RunStatus.INTERRUPTED
    assert "no request id" in restarted[cut.run_id].error and "Segmind dashboard" in restarted[cut.run_id].error
    assert restarted[followed.run_id].status is RunStatus.INTERRUPTED
    assert "resume it with its request id" in restarted[followed.run_id].error
