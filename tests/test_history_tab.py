"""The History tab's handlers, called directly: every run listed, selection, the compare pair, resumed runs.

Runs are made through EditService against the emulator over real HTTP; no server is launched.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import gradio as gr
import pytest
from PIL import Image, ImageChops

from components.app.history import HistoryStore
from components.app.runs import Run, RunUpdate
from components.app.service import EditService
from components.app.status import RunStatus
from components.media.compare import COMPARE_MAX_SIDE, LETTERBOX_RGB, compare_pair
from components.media.images import EditRequest
from components.ui import serving
from components.ui.copy import NO_JOBS
from components.ui.history_tab import COMPARE_MAX_HEIGHT, HistoryHandlers, build_history_tab
from components.ui.status import label
from tests.conftest import KEY, edit_inputs, owner_id, owner_token, png_bytes

OWNER = owner_id("history-tab")


def signed(handlers: HistoryHandlers) -> str:
    """What OWNER's browser holds: its id, signed by the app."""
    return owner_token(handlers.service, "history-tab")


@pytest.fixture
def handlers(service):
    with gr.Blocks():
        build_history_tab("")  # the tab's widgets exist, as in the app; the handlers are called directly
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
    # Resumed by an id Segmind does not know (with the visitor's own key, as any unknown id must be): no inputs,
    # no result.
    resumed = service.resume("no-such-request-id", owner=OWNER, deadline=10, visitor_key=KEY)
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
        details, selected, compare_with, pair, restore, continue_from, zip_one = handlers.select(
            signed(handlers), ids, SimpleNamespace(index=index))
        assert selected == run_id and label(record.status) in details
        assert record.prompt in details
        assert restore["interactive"] and zip_one["interactive"]  # any run of one's own can be restored and zipped
        if made[run_id] == "completed":
            assert pair is not None and compare_with["value"] == "input"
            assert continue_from["interactive"]
        else:
            assert pair is None and compare_with["choices"] == [] and compare_with["value"] is None
            assert not continue_from["interactive"]  # nothing to continue from: the button says so by being off
    # An index the page should never send selects nothing, and leaves nothing to act on.
    nothing = handlers.select(signed(handlers), ids, SimpleNamespace(index=len(ids)))
    assert nothing[1] == "" and not any(button["interactive"] for button in nothing[4:])


def test_the_gallery_is_redrawn_only_when_a_run_is_added_or_changes_state(service, handlers):
    service.start_edit(EditRequest("one", [image_bytes((64, 48), (1, 2, 3))], None, {}), owner=OWNER, deadline=30)
    assert service.wait_idle(20)
    running, gallery, ids, shown = handlers.refresh_all(signed(handlers), None)
    assert running == NO_JOBS and len(gallery["value"]) == 1 and len(ids) == 1
    assert handlers.refresh_all(signed(handlers), shown) == gr.skip()  # nothing new: every output keeps what it shows
    service.start_edit(EditRequest("two #fail", [image_bytes((64, 48), (4, 5, 6))], None, {}), owner=OWNER,
                       deadline=30)
    assert service.wait_idle(20)
    running, gallery, ids, _ = handlers.refresh_all(signed(handlers), shown)
    assert running == gr.skip()  # the running list said "no jobs" and still does
    assert len(gallery["value"]) == 2 and len(ids) == 2
    assert label(RunStatus.FAILED) in gallery["value"][0][1]  # newest first, its status in the caption


def test_the_compare_pair_is_one_canvas_with_both_images_whole_at_one_scale(service, handlers):
    """A small wide input against a tall result: same pixel size, each whole, centred and undistorted."""
    run = service.start_edit(EditRequest("tall", [image_bytes((96, 64), (200, 40, 40))], None,
                                         {"size": "1024x1536"}), owner=OWNER, deadline=30)
    assert service.wait_idle(20) and run.record.status is RunStatus.COMPLETED
    before, after = handlers.compare_pair(signed(handlers), run.run_id, "input")
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
    resumed = service.resume(job_run.record.request_id, owner=OWNER, deadline=30, visitor_key=emulator.key)
    assert service.wait_idle(20)
    items, ids = handlers.gallery_items(OWNER)
    index = ids.index(resumed.run_id)
    details, selected, _, pair, *_ = handlers.select(signed(handlers), ids, SimpleNamespace(index=index))
    record = service.history.get(resumed.run_id)
    assert record.inputs == [] and record.status is RunStatus.COMPLETED
    assert selected == resumed.run_id and job_run.record.request_id in details and "Inputs: —" in details
    assert pair is None  # it has no input to compare with, and is the only run
    restored = handlers.restore(signed(handlers), resumed.run_id)
    assert restored[0] == record.model and restored[1] == record.prompt  # the restore outputs start with the model


def test_the_slider_scales_the_pair_to_fit_instead_of_clipping_it():
    with gr.Blocks():
        tab = build_history_tab("")
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


# Refreshing: the timer's tick costs nothing when nothing changed ---------------------------------------

# What touching a file looks like to Python's audit hooks: opening one (Pillow included), listing or walking a
# folder, copying, writing a folder, removing.
FILE_WORK = {"open", "os.scandir", "os.listdir", "os.mkdir", "os.rename", "os.replace", "os.remove", "os.unlink",
             "os.rmdir", "shutil.copyfile", "shutil.rmtree"}
_watched: dict[int, list[tuple[str, tuple]]] = {}


def _audit(event: str, args: tuple) -> None:
    seen = _watched.get(threading.get_ident())
    if seen is not None and event in FILE_WORK:
        seen.append((event, args))


@functools.cache
def _install_audit_hook() -> None:
    sys.addaudithook(_audit)  # once, when first needed (hooks can't be removed); it records only in `file_work()`


@contextmanager
def file_work() -> Iterator[list[tuple[str, tuple]]]:
    """Every file this thread opens, lists, copies, writes or removes inside the block."""
    _install_audit_hook()
    seen: list[tuple[str, tuple]] = []
    _watched[threading.get_ident()] = seen
    try:
        yield seen
    finally:
        del _watched[threading.get_ident()]


def served_files() -> int:
    return sum(1 for p in serving.SERVE_DIR.rglob("*") if p.is_file()) if serving.SERVE_DIR.exists() else 0


class Calls:
    """Counts the calls of some of an object's methods, which still do their work."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, target: object, names: list[str]) -> None:
        self.counts = dict.fromkeys(names, 0)
        for name in names:
            monkeypatch.setattr(target, name, self._counting(name, getattr(target, name)))

    def _counting(self, name, method):
        def counted(*args, **kwargs):
            self.counts[name] += 1
            return method(*args, **kwargs)
        return counted


def thousand_runs(store: HistoryStore, owner: str) -> None:
    """1,000 finished runs: half with a (tiny) result, half failed without one."""
    result = png_bytes((8, 8), (90, 20, 160))
    for index in range(1000):
        record = store.create(owner=owner, inputs=None, prompt=f"run {index}")
        if index % 2:
            record.status = RunStatus.FAILED
            store.save(record)
        else:
            record.status = RunStatus.COMPLETED
            store.add_result(record, "result.png", result)


def test_an_unchanged_tick_skips_every_output_and_touches_no_file_however_many_runs(tmp_path, monkeypatch):
    store = HistoryStore(tmp_path / "history")
    thousand_runs(store, OWNER)
    handlers = HistoryHandlers(SimpleNamespace(live=lambda owner: [], owners=store.owner_ids()), store)
    with file_work() as drawing:
        _, gallery, ids, shown = handlers.refresh_all(signed(handlers), None)  # the page's first tick draws all of them
    assert len(gallery["value"]) == len(ids) == 1000
    assert sum(event == "shutil.copyfile" for event, _ in drawing) == 1000  # what the watch sees when work is done
    with file_work() as walking:
        served_files()
    assert any(event == "os.scandir" for event, _ in walking)  # and a walk of the serve folder would be seen

    calls = Calls(monkeypatch, store, ["records", "get", "path", "thumbnail", "status_tile", "zip_runs"])
    before = served_files()
    for _ in range(3):
        with file_work() as touched:
            assert handlers.refresh_all(signed(handlers), shown) == gr.skip()
        assert touched == []  # nothing opened, listed (the serve folder included), copied or written
    assert served_files() == before
    assert set(calls.counts.values()) == {0}  # no record was read: the owner's version number said it all


def test_a_changed_status_shows_on_the_next_tick_and_only_then(tmp_path):
    store = HistoryStore(tmp_path / "history")
    record = store.create(owner=OWNER, inputs=None, prompt="waiting")
    record.status = RunStatus.PROCESSING
    store.save(record)
    handlers = HistoryHandlers(SimpleNamespace(live=lambda owner: [], owners=store.owner_ids()), store)
    _, gallery, _, shown = handlers.refresh_all(signed(handlers), None)
    assert label(RunStatus.PROCESSING) in gallery["value"][0][1]

    record.status = RunStatus.FAILED
    store.save(record)
    running, gallery, ids, shown = handlers.refresh_all(signed(handlers), shown)
    assert running == gr.skip() and ids == [record.run_id]
    (picture, caption_text), = gallery["value"]
    assert label(RunStatus.FAILED) in caption_text
    assert Path(picture).is_file() and serving.SERVE_DIR in Path(picture).parents
    assert handlers.refresh_all(signed(handlers), shown) == gr.skip()


def test_live_runs_show_their_state_and_time_while_the_gallery_waits_for_a_change(tmp_path):
    store = HistoryStore(tmp_path / "history")
    record = store.create(owner=OWNER, inputs=None, prompt="a live one")
    record.request_id = "req-live"  # as the run's thread sets it, without saving, when Segmind answers the submit
    live = Run(record)
    runs = [live]
    handlers = HistoryHandlers(SimpleNamespace(live=lambda owner: list(runs), owners=store.owner_ids()), store)
    live.publish(RunUpdate(RunStatus.QUEUED, 1.0, "req-live"))
    running, gallery, _, shown = handlers.refresh_all(signed(handlers), None)
    assert label(RunStatus.QUEUED) in running and "req-live" in running and len(gallery["value"]) == 1
    assert handlers.refresh_all(signed(handlers), shown) == gr.skip()  # no new poll, nothing to say

    live.publish(RunUpdate(RunStatus.PROCESSING, 4.0, "req-live"))  # a poll: new state, new time; no record saved
    running, gallery, ids, shown = handlers.refresh_all(signed(handlers), shown)
    assert label(RunStatus.PROCESSING) in running and "4.0 s" in running and gallery == ids == gr.skip()

    runs.clear()  # it ended
    running, _, _, shown = handlers.refresh_all(signed(handlers), shown)
    assert running == NO_JOBS
    assert handlers.refresh_all(signed(handlers), shown) == gr.skip()


def test_a_finished_run_shows_its_thumbnail_from_a_copy_never_from_the_kept_file(service, handlers):
    _, gallery, _, shown = handlers.refresh_all(signed(handlers), None)
    assert gallery["value"] == []
    run = service.start_edit(EditRequest("done", [image_bytes((64, 48), (200, 40, 40))], None, {}), owner=OWNER,
                             deadline=30)
    assert service.wait_idle(20) and run.record.status is RunStatus.COMPLETED
    _, gallery, ids, _ = handlers.refresh_all(signed(handlers), shown)
    (picture, _), = gallery["value"]
    assert ids == [run.run_id]
    thumbnail = service.history.thumbnail(run.record)
    assert Path(picture).read_bytes() == thumbnail.read_bytes()
    assert serving.SERVE_DIR in Path(picture).parents and service.history.root not in Path(picture).parents


def test_a_page_without_an_owner_yet_is_left_as_it_is(handlers):
    assert handlers.refresh_all(None, None) == gr.skip()
    assert handlers.refresh_all("", None) == gr.skip()


def test_a_zip_takes_its_room_in_the_serve_cache_before_it_is_written_and_too_large_is_refused(tmp_path,
                                                                                                monkeypatch):
    store = HistoryStore(tmp_path / "history")
    for index in range(3):
        record = store.create(owner=OWNER, inputs=None, prompt=f"run {index}")
        record.status = RunStatus.COMPLETED
        store.add_result(record, "result.png", os.urandom(400_000))  # incompressible: deflate's worst case
    handlers = HistoryHandlers(SimpleNamespace(live=lambda owner: [], owners=store.owner_ids()), store)
    small = serving.ServeCache(tmp_path / "serve", max_bytes=1024**2)
    monkeypatch.setattr(serving, "_cache", small)
    with pytest.raises(gr.Error) as refused:
        handlers.zip_everything(signed(handlers))
    assert "come to about 1.2 MB, more than the 1 MB this server hands out" in refused.value.message
    assert "Download this run" in refused.value.message  # the way that still works
    assert small.files == 0

    roomy = serving.ServeCache(tmp_path / "serve-roomy", max_bytes=2 * 1024**2)
    monkeypatch.setattr(serving, "_cache", roomy)
    archive = Path(handlers.zip_everything(signed(handlers))["value"])
    assert roomy.folder in archive.parents
    assert archive.stat().st_size <= roomy.bytes == handlers.zip_size_bound(store.records(OWNER))
