"""Continuing from a result and takes: the lineage the store keeps, the Edit and History handlers against the
emulator, and continue-from-result through gradio_client on a launched app."""

from __future__ import annotations

import asyncio
import json
import os
import random
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from components.api.config import ClientSettings, Secret
from components.app.backend import Backend
from components.app.history import HistoryStore, RunRecord
from components.app.quota import DeployerQuota
from components.app.service import CancelOutcome, EditService
from components.app.status import RunStatus
from components.emulator import Emulator, FaultKind, Route
from components.media.images import EditRequest
from components.ui import build_app, copy, launch_options
from components.ui.continuing import pick_cell
from components.ui.edit_tab import EditHandlers, build_edit_tab
from components.ui.history_tab import HistoryHandlers, build_history_tab
from components.ui.models import estimate
from components.api.schema import DEFAULT_MODEL
from tests.conftest import KEY, edit_inputs, owner_id, owner_token, png_bytes
from tests.test_cancel import reached
from tests.test_explore import form_args
from tests.test_handlers import Request, drain, form_values as handler_form_values

MINE, THEIRS = owner_id("lineage"), owner_id("lineage-other")


def finished(store: HistoryStore, owner: str, prompt: str, parent: str | None = None) -> RunRecord:
    """A completed run with a result, made straight in the store."""
    record = store.create(owner=owner, inputs=edit_inputs(prompt, [png_bytes(color=(len(prompt), 90, 30))]),
                          parent=parent)
    record.status = RunStatus.COMPLETED
    store.add_result(record, f"m_{record.run_id}_result.png", png_bytes(color=(200, len(prompt), 30)))
    return record


# The store: parent recorded, chain followed, old records, another owner's runs -----------------------------


def test_a_chain_of_versions_is_followed_back_to_the_first_and_forward_to_its_children(tmp_path):
    store = HistoryStore(tmp_path)
    first = finished(store, MINE, "first")
    second = finished(store, MINE, "second", parent=first.run_id)
    third = finished(store, MINE, "third", parent=second.run_id)
    sibling = finished(store, MINE, "sibling", parent=second.run_id)

    restarted = HistoryStore(tmp_path)  # what is on disk, read again
    assert restarted.get(third.run_id).parent == second.run_id
    assert [r.run_id for r in restarted.lineage(restarted.get(third.run_id))] == [first.run_id, second.run_id,
                                                                                  third.run_id]
    assert [r.run_id for r in restarted.children(restarted.get(second.run_id))] == [third.run_id, sibling.run_id]
    assert restarted.lineage(restarted.get(first.run_id)) == [restarted.get(first.run_id)]


def test_a_record_from_before_lineage_loads_with_no_parent(tmp_path):
    store = HistoryStore(tmp_path)
    old = finished(store, MINE, "from last year")
    path = store.folder(old.run_id) / "record.json"
    data = json.loads(path.read_text())
    del data["parent"]
    path.write_text(json.dumps(data))
    loaded = HistoryStore(tmp_path).get(old.run_id)
    assert loaded is not None and loaded.parent is None and loaded.status is RunStatus.COMPLETED


def test_another_owners_run_is_never_followed_and_a_loop_ends(tmp_path):
    store = HistoryStore(tmp_path)
    theirs = finished(store, THEIRS, "theirs")
    mine = finished(store, MINE, "mine", parent=theirs.run_id)  # a record.json that names someone else's run
    assert store.parent_of(mine) is None and store.lineage(mine) == [mine]
    assert store.children(theirs) == []
    a = finished(store, MINE, "a")
    b = finished(store, MINE, "b", parent=a.run_id)
    a.parent = b.run_id  # edited by hand into a loop
    store.save(a)
    assert [r.run_id for r in store.lineage(b)] == [a.run_id, b.run_id]


def test_the_service_records_only_the_owners_own_run_as_parent(service):
    mine = service.start_edit(EditRequest("mine", [png_bytes(color=(1, 9, 9))]), owner=MINE)
    theirs = service.start_edit(EditRequest("theirs", [png_bytes(color=(2, 9, 9))]), owner=THEIRS)
    assert service.wait_idle(20)
    child = service.start_edit(EditRequest("child", [png_bytes(color=(3, 9, 9))]), owner=MINE, parent=mine.run_id)
    stolen = service.start_edit(EditRequest("stolen", [png_bytes(color=(4, 9, 9))]), owner=MINE,
                                parent=theirs.run_id)
    made_up = service.start_edit(EditRequest("made up", [png_bytes(color=(5, 9, 9))]), owner=MINE,
                                 parent="../../etc")
    assert service.wait_idle(20)
    assert child.record.parent == mine.run_id
    assert stolen.record.parent is None and made_up.record.parent is None
    # A grid of a continued photo: every cell is a version of the run it came from, and only of one's own.
    variants = [(f"quality={q}", EditRequest("grid", [png_bytes(color=(6, 9, 9))], None, {"quality": q}))
                for q in ("low", "high")]
    cells = service.start_sweep(variants, owner=MINE, limit=2, parent=mine.run_id)
    foreign = service.start_sweep(variants[:1], owner=MINE, limit=1, parent=theirs.run_id)
    assert service.wait_idle(20)
    assert [cell.record.parent for cell in cells] == [mine.run_id] * 2 and foreign[0].record.parent is None


# The Edit tab's handlers on the emulator: takes, their price and their jobs, continuing --------------------


@pytest.fixture
def edit_handlers(service):
    with gr.Blocks():
        tab = build_edit_tab(service.backend)
    return EditHandlers(service, service.history, tab, gr.BrowserState(None))


def form_values(tmp_path, **overrides) -> dict:
    """The Edit form as test_handlers fills it, with paint of its own: a mask no other test has decoded, so the
    checked-image cache that test counts decodes against stays as it was."""
    layer = Image.new("RGBA", (96, 64), (0, 0, 0, 0))
    layer.paste((255, 0, 170, 255), (50, 20, 50 + random.randrange(5, 40), 50))
    editor = {"background": Image.new("RGBA", (1, 1)), "layers": [layer], "composite": None}
    return handler_form_values(tmp_path, **{"editor": editor, **overrides})


def outputs_of(updates: list[dict], widget) -> list:
    return [update[widget] for update in updates if widget in update]


def test_three_takes_are_three_jobs_each_streamed_and_laid_out_as_they_finish(edit_handlers, service, emulator,
                                                                               tmp_path):
    tab = edit_handlers.tab
    token = owner_token(service, "lineage")
    values = form_values(tmp_path, takes=3, parent="", keep_outside_mask=True, feather=0)
    updates = asyncio.run(drain(edit_handlers.run("ticket-takes", token, 0.0, Request(), **values)))

    assert emulator.calls[Route.SUBMIT] == 3
    records = service.history.records(MINE)
    assert sorted(r.label for r in records) == ["take 1 of 3", "take 2 of 3", "take 3 of 3"]
    assert all(r.status is RunStatus.COMPLETED and r.composite for r in records)
    galleries = [g for g in outputs_of(updates, tab.takes_gallery) if isinstance(g, list) and g]
    assert [len(g) for g in galleries][-1] == 3 and len(galleries) >= 2  # it grew as takes finished
    assert "3 of 3 takes completed" in outputs_of(updates, tab.status)[-1]
    table = outputs_of(updates, tab.takes_table)[-1]
    assert table.count(">COMPLETED<") == 3
    ids = outputs_of(updates, tab.take_ids)[-1]
    assert set(ids) == {r.run_id for r in records}
    spend = outputs_of(updates, tab.session_spend)[-1]
    assert spend == pytest.approx(sum(r.cost for r in records))

    # Picking take 2 shows it as the result; continuing makes its composite the photo, with nothing painted.
    picked = edit_handlers.pick_take(token, ids, SimpleNamespace(index=1, value=None))
    assert picked[tab.result_run] == ids[1] and "take 2" in picked[tab.continue_take]["value"]
    photo, editor, working, mask_file, parent, status, *_ = edit_handlers.continue_from(
        token, ids[1], files=[], urls="", model=DEFAULT_MODEL, keep_outside_mask=True, feather=0)
    take = service.history.get(ids[1])
    assert open(photo, "rb").read() == service.history.path(take, take.composite).read_bytes()
    assert editor == {"background": working, "layers": [], "composite": None} and mask_file is None
    assert parent == ids[1] and "kept outside the mask" in status and "take 2 of 3" in status

    # The next run records take 2 as its parent.
    values = form_values(tmp_path, photo=photo, takes=1, parent=parent)
    asyncio.run(drain(edit_handlers.run("ticket-child", token, 0.0, Request(), **values)))
    (child,) = [r for r in service.history.records(MINE) if not r.label]
    assert child.parent == ids[1]


def test_takes_count_as_jobs_against_the_deployers_caps_and_the_price_counts_every_take(emulator, tmp_path):
    settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.02,
                              api_key=Secret(KEY))
    service = EditService(Backend(settings, quota=DeployerQuota(per_session=4)), HistoryStore(tmp_path / "h"))
    with gr.Blocks():
        handlers = EditHandlers(service, service.history, build_edit_tab(service.backend), gr.BrowserState(None))
    token = owner_token(service, "capped")
    try:
        asyncio.run(drain(handlers.run("t-1", token, 0.0, Request(), **form_values(tmp_path, takes=3, parent=""))))
        assert emulator.calls[Route.SUBMIT] == 3
        with pytest.raises(gr.Error) as refused:
            asyncio.run(drain(handlers.run("t-2", token, 0.0, Request(), **form_values(tmp_path, takes=3,
                                                                                        parent=""))))
        assert "4 jobs" in refused.value.message and "These 3 takes count as 3 jobs" in refused.value.message
        assert emulator.calls[Route.SUBMIT] == 3  # nothing of the refused takes was sent
        asyncio.run(drain(handlers.run("t-3", token, 0.0, Request(), **form_values(tmp_path, takes=1, parent=""))))
        assert emulator.calls[Route.SUBMIT] == 4  # one more still fits
    finally:
        assert service.wait_idle(20)
        service.backend.close()

    assert "about **$0.011** × 3 takes = about **$0.033**" in estimate(DEFAULT_MODEL, "low", "1024x1024", takes=3)
    assert "×" not in estimate(DEFAULT_MODEL, "low", "1024x1024", takes=1)


def test_cancel_stops_every_take_of_the_click(service, emulator):
    """The takes share the click's ticket: Cancel before their submit means none is ever sent."""
    emulator.inject(Route.UPLOAD, kind=FaultKind.SLOW, delay=0.5, times=3)
    uploading = reached(emulator, Route.UPLOAD)
    try:
        runs = service.start_takes(EditRequest("three", [png_bytes(color=(8, 80, 8))]), ["a", "b", "c"],
                                   owner=MINE, ticket="ticket-three")
        assert uploading.wait(5)
        assert service.cancel("ticket-three").outcome is CancelOutcome.NOT_SUBMITTED
        assert service.wait_idle(20)
    finally:
        emulator.faults.clear()
    assert all(run.record.status is RunStatus.STOPPED for run in runs)
    assert emulator.calls[Route.SUBMIT] == 0


@pytest.mark.parametrize("takes", [0, 9, 2.5, None])
def test_a_takes_count_out_of_range_is_marked_and_nothing_is_sent(edit_handlers, emulator, tmp_path, takes):
    values = form_values(tmp_path, takes=takes, parent="")
    marks = edit_handlers.validate("t", MINE, 0.0, **values)
    tab = edit_handlers.tab
    names = ["ticket", "owner", "session_spend", *tab.form.kwargs, *tab.tools.run_inputs, *tab.run_extras]
    takes_mark = marks[names.index("takes")]
    assert takes_mark["is_valid"] is False and takes_mark["message"] == "must be 1 to 8"
    status, _ = edit_handlers.summarize(**values)
    assert "Nothing was sent" in status and "**takes**" in status
    assert sum(emulator.calls.values()) == 0


def test_only_the_callers_run_can_be_continued_from(edit_handlers, service):
    run = service.start_edit(EditRequest("mine", [png_bytes(color=(7, 7, 70))]), owner=MINE)
    assert service.wait_idle(20)
    with pytest.raises(gr.Error) as refused:
        edit_handlers.continue_from(owner_token(service, "lineage-other"), run.run_id, files=[], urls="",
                                    model=DEFAULT_MODEL)
    assert refused.value.message == copy.CONTINUE_NOTHING
    picked = edit_handlers.pick_take(owner_token(service, "lineage-other"), [run.run_id],
                                     SimpleNamespace(index=0, value=None))
    assert edit_handlers.tab.result_run not in picked  # nothing shown, nothing to continue from


# History: the chain in the details, compare with the parent and the original, continue ----------------------


def test_history_shows_the_chain_and_compares_a_version_with_its_parent_and_the_original(service):
    with gr.Blocks():
        build_history_tab("")
    handlers = HistoryHandlers(service, service.history)
    store = service.history
    first = finished(store, MINE, "first")
    second = finished(store, MINE, "second", parent=first.run_id)
    token = owner_token(service, "lineage")
    _, ids = handlers.gallery_items(MINE)

    details, selected, compare_with, pair, *_ = handlers.select(token, ids, SimpleNamespace(index=ids.index(second.run_id)))
    assert selected == second.run_id and "Continued from: first" in details
    assert "original photo → v1 (first" in details and "v2, this run" in details
    values = [value for _, value in compare_with["choices"]]
    assert values[:2] == ["parent", "original"] and "input" not in values and compare_with["value"] == "parent"
    left, right = pair
    assert Image.open(left).size == Image.open(right).size
    assert handlers.compare_pair(token, second.run_id, "original") is not None
    first_details = handlers.select(token, ids, SimpleNamespace(index=ids.index(first.run_id)))[0]
    assert "Continued in: second" in first_details

    form = handlers.continue_from_result(token, second.run_id)
    model, prompt, photo, editor, working, *_ = form
    assert prompt == "second" and editor["layers"] == [] and form[-3] == second.run_id
    assert open(photo, "rb").read() == store.path(second, second.result).read_bytes()
    assert handlers.restored_parent(token, second.run_id) == first.run_id
    with pytest.raises(gr.Error):
        handlers.continue_from_result(owner_token(service, "lineage-other"), second.run_id)


def test_a_sweep_cell_is_picked_by_the_run_its_image_names():
    """The Sweep gallery lists finished variants only, so a cell's position need not be its run's: its file
    (named with the run id) says which run it is."""
    ids = ["20260101-000000-aaaaaaaa", "20260101-000000-bbbbbbbb"]
    clicked = SimpleNamespace(index=0, value={"image": {"path": f"/serve/x/m_{ids[1]}_a-cat.png"},
                                              "caption": "quality=high · 1.0 s · $0.167"})
    chosen, button = pick_cell(ids, clicked)
    assert chosen == ids[1] and button["value"] == "Continue from quality=high" and button["interactive"]
    assert pick_cell(ids, SimpleNamespace(index=5, value=None))[0] == ""


# Through gradio_client, on a launched app --------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.2) as emulator:
        history = HistoryStore(tmp_path_factory.mktemp("history"))
        backend = Backend(ClientSettings(poll_interval=0.05), emulator=emulator)
        demo = build_app(backend, history=history, service=EditService(backend, history))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield demo, url
        demo.close()


def test_continue_from_a_result_through_gradio_client(app, tmp_path):
    demo, url = app
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes((64, 48), (200, 30, 30)))
    client = Client(url, verbose=False)  # one session: what the page remembers (the parent) lasts between calls
    token = owner_token(demo, "client-lineage")

    def run(prompt: str, image: str) -> None:
        client.predict(f"ticket-{os.urandom(4).hex()}", *form_args(token, prompt, image), False, 0, 1,
                       api_name="/run_ui")
        assert demo.service.wait_idle(10)

    run("first version", str(photo))
    (first,) = demo.history.records(owner_id("client-lineage"))
    # The form as Restore fills it (the parent is remembered in the session, not returned), then the status line.
    _, prompt, new_photo, editor, *_, status = client.predict(token, first.run_id, api_name="/continue_from")
    assert prompt == "first version" and editor["layers"] == []
    assert open(new_photo, "rb").read() == demo.history.path(first, first.result).read_bytes()
    assert "Now editing" in status

    run("second version", new_photo)
    second = next(r for r in demo.history.records(owner_id("client-lineage")) if r.prompt == "second version")
    assert second.parent == first.run_id
    sent = demo.history.path(second, second.inputs[0]).read_bytes()
    assert sent == demo.history.path(first, first.result).read_bytes()  # Segmind got the result's own bytes

    # Another browser cannot continue from it, nor make it a parent.
    with pytest.raises(AppError, match="Select one of your runs"):
        Client(url, verbose=False).predict(owner_token(demo, "client-other"), first.run_id, api_name="/continue_from")
