"""History, sweeps, copy as code and resume, through the launched app on the emulator."""

from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
import zipfile

import gradio as gr
import pytest
import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from components.api import schema
from components.app.backend import Backend
from components.api.config import Secret, ClientSettings
from components.emulator import Emulator
from components.app.history import HistoryStore
from components.app.service import EditService
from components.app.settings import AppSettings
from components.app.status import RunStatus
from components.ui import build_app, launch_options
from components.ui.edit_tab import build_edit_tab
from tests.conftest import edit_inputs, owner_id, owner_token, KEY, mask_bytes, png_bytes

OPTIONS = ["auto", "auto", "opaque", 100, "png", "auto"]  # in schema.ALL_OPTION_NAMES order


@functools.cache
def form_names() -> list[str]:
    """The Edit form's inputs in the order the page sends them (`Form.kwargs`)."""
    with gr.Blocks():
        tab = build_edit_tab(Backend(ClientSettings()))
    return list(tab.form.kwargs)


@pytest.fixture(scope="module")
def emulator():
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.4, record_keys=True) as emu:
        yield emu


@pytest.fixture(scope="module")
def app(emulator, tmp_path_factory):
    """The app pointed at the emulator as its API (so snippets can run against it), with its own history."""
    settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret(KEY), poll_interval=0.05)
    backend = Backend(settings)
    history = HistoryStore(tmp_path_factory.mktemp("history"))
    demo = build_app(backend, history=history, service=EditService(backend, history))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    yield demo, url
    demo.close()


@pytest.fixture
def inputs(tmp_path):
    image = tmp_path / "photo.png"
    image.write_bytes(png_bytes((64, 48), (200, 30, 30)))
    reference = tmp_path / "texture.png"
    reference.write_bytes(png_bytes((32, 32), (30, 200, 30)))
    mask = tmp_path / "hole.png"
    mask.write_bytes(mask_bytes((64, 48)))
    return image, reference, mask


def form_args(owner, prompt, image, reference=None, mask=None, options=OPTIONS, urls=""):
    """The Edit form as the page sends it: the photo, and an editor with nothing painted."""
    editor = {"background": None, "layers": [], "composite": None}
    files = [handle_file(str(reference))] if reference else None
    values = {"model": schema.DEFAULT_MODEL, "prompt": prompt, "photo": handle_file(str(image)), "editor": editor,
              "files": files, "urls": urls, "mask_file": handle_file(str(mask)) if mask else None,
              **dict(zip(schema.ALL_OPTION_NAMES, options, strict=True)), "custom_width": None,
              "custom_height": None, "deadline": 60, "visitor_key": ""}
    assert set(values) == set(form_names())
    return [owner, *(values[name] for name in form_names())]


def run_args(owner, prompt, image, *form, **named):
    """/run_ui's inputs: the click's ticket (the page makes one per click), the form, then keeping the original
    outside the mask (off), its feather, and the number of takes (one)."""
    return [f"ticket-{prompt}-{os.urandom(4).hex()}", *form_args(owner, prompt, image, *form, **named), False, 0, 1]


def test_every_run_lands_in_the_history_with_its_record_and_files(app, inputs):
    demo, url = app
    image, reference, mask = inputs
    client = Client(url, verbose=False)
    client.predict(*run_args(owner_token(demo, "owner-history"), "a red door", image, reference, mask), api_name="/run_ui")
    assert demo.service.wait_idle(10)
    (record,) = demo.history.records(owner_id("owner-history"))
    folder = demo.history.folder(record.run_id)
    saved = json.loads((folder / "record.json").read_text())
    assert saved["status"] == "COMPLETED" and saved["request_id"] and saved["prompt"] == "a red door"
    assert [s["state"] for s in saved["states"]][-3:] == ["QUEUED", "PROCESSING", "COMPLETED"]
    assert all(s["at"] for s in saved["states"]) and saved["inference_time"] > 0 and saved["cost"] > 0
    assert (folder / saved["result"]).is_file() and saved["result"].startswith("gpt-image-1-edit_")
    assert saved["inputs"] == ["image-1.png", "image-2.png"] and saved["mask"] == "mask.png"
    # Another browser sees none of it.
    assert demo.history.records(owner_id("someone-else")) == []


def test_restore_puts_prompt_images_and_every_parameter_back(app, inputs):
    demo, url = app
    image, reference, mask = inputs
    chosen = ["1536x1024", "high", "transparent", 40, "webp", "low"]
    client = Client(url, verbose=False)
    client.predict(*run_args(owner_token(demo, "owner-restore"), "restore me", image, reference, mask, chosen), api_name="/run_ui")
    assert demo.service.wait_idle(10)
    (record,) = demo.history.records(owner_id("owner-restore"))
    restored = client.predict(owner_token(demo, "owner-restore"), record.run_id, api_name="/restore")
    model, prompt, photo, editor, input_view, files, urls, mask_file, *options = restored[:17]
    assert model == schema.DEFAULT_MODEL
    # Every option, then the custom width and height (untouched: the size is a listed one), then the deadline.
    assert prompt == "restore me" and options[:6] == chosen and options[8] == 60  # the deadline too
    assert photo and editor["background"] and input_view and len(files) == 1 and mask_file and urls == ""


def test_download_all_runs_as_one_zip(app, inputs):
    demo, url = app
    image, _, _ = inputs
    client = Client(url, verbose=False)
    for prompt in ("first", "second"):
        client.predict(*run_args(owner_token(demo, "owner-zip"), prompt, image), api_name="/run_ui")
    assert demo.service.wait_idle(10)
    archive = client.predict(owner_token(demo, "owner-zip"), api_name="/download_all")
    zipped = zipfile.ZipFile(archive["value"] if isinstance(archive, dict) else archive)
    names = zipped.namelist()
    records = [n for n in names if n.endswith("record.json")]
    assert len(records) == 2 and any(n.endswith(".png") and "gpt-image-1-edit_" in n for n in names)
    # A zip is made to be shared: it names each run's model, never the owner id that opens the history.
    for name in records:
        text = zipped.read(name).decode()
        assert json.loads(text)["model"] == "gpt-image-1-edit" and "owner" not in json.loads(text)
        assert owner_id("owner-zip") not in text and owner_token(demo, "owner-zip") not in text


def grid_args(owner, columns, rows=("none", [], ""), prompts=("", "", "", ""), confirmed=0, limit=4,
              *form, keep_outside=False, **named):
    """/sweep's inputs: the owner, the amount agreed to, each axis as (what it varies, ticked, typed), how many at
    a time, the prompt variants, the Edit form, then keeping the original outside the mask, and its feather."""
    return [owner, confirmed, *columns, *rows, limit, *prompts, *form_args(None, *form, **named)[1:], keep_outside, 0]


def test_a_sweep_runs_every_value_at_most_n_at_a_time(app, emulator, inputs):
    demo, url = app
    image, _, _ = inputs
    before = set(emulator.jobs)
    client = Client(url, verbose=False)
    job = client.submit(*grid_args(owner_token(demo, "owner-sweep"), ("quality", ["low", "medium", "high", "auto"], ""),
                                   ("none", [], ""), ("", "", "", ""), 0, 2, "sweep me", image), api_name="/sweep")
    outputs = list(job)
    _, table, gallery = outputs[-1]
    assert table.count(">COMPLETED<") == 4 and len(gallery) == 4
    assert sorted(item["caption"].split(" · ")[0] for item in gallery) == [
        "quality=auto", "quality=high", "quality=low", "quality=medium"]
    ran = sorted((emulator.jobs[i] for i in set(emulator.jobs) - before), key=lambda j: j.submitted_at)
    assert sorted(j.params["quality"] for j in ran) == ["auto", "high", "low", "medium"]
    # Never more than two at once: the third was submitted only after one of the first two finished.
    assert ran[2].submitted_at >= min(ran[0].completed_at, ran[1].completed_at)
    assert {r.label for r in demo.history.records(owner_id("owner-sweep"))} == {
        "quality=low", "quality=medium", "quality=high", "quality=auto"}


def test_a_sweep_with_an_invalid_variant_sends_nothing(app, emulator, inputs):
    demo, url = app
    image, _, _ = inputs
    before = dict(emulator.calls)
    client = Client(url, verbose=False)
    transparent_jpeg = ["auto", "auto", "transparent", 100, "jpeg", "auto"]
    with pytest.raises(Exception, match="quality=low") as caught:
        client.predict(*grid_args(owner_token(demo, "owner-bad-sweep"), ("quality", ["low", "high"], ""),
                                  ("none", [], ""), ("", "", "", ""), 0, 2, "x", image, options=transparent_jpeg),
                       api_name="/sweep")
    assert "Nothing was sent" in str(caught.value)
    assert dict(emulator.calls) == before


def test_a_grid_keeps_the_original_outside_the_mask_in_every_cell(app, tmp_path):
    """The grid runs the Edit tab's request as a whole: with "keep the original outside the mask" on, each cell
    keeps its composite beside the model's output, as a single run does."""
    demo, url = app
    photo, mask = tmp_path / "square.png", tmp_path / "square-hole.png"
    photo.write_bytes(png_bytes((64, 64), (20, 90, 160)))
    mask.write_bytes(mask_bytes((64, 64)))
    token = owner_token(demo, "owner-grid-keep")
    Client(url, verbose=False).predict(*grid_args(token, ("quality", ["low", "medium"], ""), ("none", [], ""),
                                                  ("", "", "", ""), 0, 2, "keep it", photo, mask=mask,
                                                  keep_outside=True), api_name="/sweep")
    assert demo.service.wait_idle(20)
    records = demo.history.records(owner_id("owner-grid-keep"))
    assert len(records) == 2 and all(r.composite and r.keep_outside_feather == 0 for r in records), records


def test_a_costly_quality_by_model_grid_asks_first_then_runs_all_six_in_a_labelled_table(app, emulator, inputs):
    """Above SWEEP_CONFIRM_USD a grid sends nothing until the amount it shows is confirmed."""
    demo, url = app
    image, _, _ = inputs
    owner = owner_token(demo, "owner-grid")
    models = ["gpt-image-1-edit", "gpt-image-1.5-edit", "gpt-image-2"]
    grid = [("quality", ["high", "medium"], ""), ("model", models, "")]
    client = Client(url, verbose=False)
    before = dict(emulator.calls)
    # The 4:3 photo at size `auto` comes out at 1536x1024 in every cell: the oblong prices ($0.64 if square).
    total = 0.959
    assert total > AppSettings().sweep_confirm_usd  # the default threshold asks about this grid

    notice, table, gallery = client.predict(*grid_args(owner, *grid, ("", "", "", ""), 0, 4, "a grid", image),
                                            api_name="/sweep")
    assert notice.startswith(f"**Confirm this grid:** 6 jobs for about ${total}") and "Nothing was sent" in notice
    assert dict(emulator.calls) == before and demo.history.records(owner_id("owner-grid")) == []

    new = set(emulator.jobs)
    outputs = list(client.submit(*grid_args(owner, *grid, ("", "", "", ""), total, 4, "a grid", image),
                                 api_name="/sweep"))
    # The question is withdrawn as the grid starts: the notice counts the cells instead, and says how it ended.
    assert "Confirm" not in outputs[0][0] and "0 of 6 cells done" in outputs[0][0]
    assert "All 6 cells done in" in outputs[-1][0] and "6 completed" in outputs[-1][0]
    _, table, gallery = outputs[-1]
    assert table.count('<td class="grid-cell"') == 6 and table.count(">COMPLETED<") == 6
    assert len(gallery) == 6 and table.count("<img src=") == 6
    # Each cell opens its result at full size, served as a copy.
    link = html.unescape(re.search(r'<a href="([^"]+)"', table).group(1))
    assert requests.get(f"{url}{link}", timeout=10).headers["content-type"] == "image/png"
    assert "Model ↓ · Quality →" in table
    for header in ("medium", "high", *models):
        assert f">{header}</th>" in table
    ran = [emulator.jobs[i] for i in set(emulator.jobs) - new]
    assert sorted((j.model, j.params["quality"]) for j in ran) == sorted(
        (slug, quality) for slug in models for quality in ("medium", "high"))
    records = demo.history.records(owner_id("owner-grid"))
    assert {r.label for r in records} == {f"quality={q}, model={m}" for q in ("medium", "high") for m in models}
    assert len({r.sweep_id for r in records}) == 1


def test_prompt_variants_sweep(app, emulator, inputs):
    demo, url = app
    image, _, _ = inputs
    client = Client(url, verbose=False)
    _, table, gallery = client.predict(*grid_args(owner_token(demo, "owner-prompts"), ("prompt", [], ""),
                                                  ("none", [], ""), ("a cat", "a dog", "", ""), 0, 4, "ignored",
                                                  image), api_name="/sweep")
    assert table.count(">COMPLETED<") == 2 and len(gallery) == 2


def downloaded(output) -> str:
    """A File output's local path, as gradio_client hands it back (an update, or the path itself)."""
    return output["value"] if isinstance(output, dict) else output


def test_a_sweep_and_picked_runs_export_as_a_board_and_a_contact_sheet(app, inputs):
    demo, url = app
    image, _, _ = inputs
    client = Client(url, verbose=False)  # one session: its sweep is the one the Sweep tab's buttons export
    token = owner_token(demo, "owner-board")
    # A 2 × 2 grid: quality across, prompt variants down; its board keeps that layout. At `auto` the 4:3 photo
    # is priced oblong: 2 × ($0.016 + $0.25), above the default threshold, so the amount is agreed to up front.
    client.predict(*grid_args(token, ("quality", ["low", "high"], ""), ("prompt", [], ""), ("a cat", "a dog", "", ""),
                              0.532, 2, "board me", image), api_name="/sweep")
    with open(downloaded(client.predict(token, api_name="/sweep_board_html"))) as file:
        page = file.read()
    assert page.count('<figure class="run">') == 4 and '<table class="grid">' in page
    assert page.count('<th scope="row">') == 2 and page.count('<th scope="col">') == 2 and "quality=low" in page
    assert "http://" not in page and "https://" not in page
    assert owner_id("owner-board") not in page and token not in page and KEY not in page
    with Image.open(downloaded(client.predict(token, api_name="/sweep_board_png"))) as sheet:
        assert sheet.format == "PNG"
    # The History tab's picker: side by side, in the order picked.
    runs = demo.history.records(owner_id("owner-board"))
    ids = [next(r.run_id for r in runs if r.options["quality"] == quality) for quality in ("high", "low")]
    with open(downloaded(client.predict(token, ids, "selection", "Two <takes>", api_name="/board_html"))) as file:
        page = file.read()
    first, second = (f"quality={demo.history.get(run_id).options['quality']}" for run_id in ids)
    assert "<h1>Two &lt;takes&gt;</h1>" in page and page.count('<figure class="run">') == 2
    assert page.index(first) < page.index(second)
    # Cells of one grid were not made from one another: as versions, the board says so instead of claiming it.
    with pytest.raises(AppError, match="is not a version of"):
        client.predict(token, ids, "chain", "", api_name="/board_html")
    # Another browser names these runs: none is theirs, so nothing is made; a page with no sweep has none to export.
    with pytest.raises(AppError, match="Pick at least one run"):
        client.predict(owner_token(demo, "owner-intruder"), ids, "selection", "", api_name="/board_png")
    with pytest.raises(AppError, match="Run a sweep on this page first"):
        Client(url, verbose=False).predict(token, api_name="/sweep_board_html")


def test_generated_python_snippets_run_and_complete(app, inputs, tmp_path):
    _, url = app
    image, reference, mask = inputs
    client = Client(url, verbose=False)
    codes = client.predict(*form_args(None, "snippet prompt with 'quotes' and $dollars", image, reference, mask,
                                      urls="https://example.com/remote.png")[1:], api_name="/show_code")
    sdk, plain, curl = codes
    assert KEY not in sdk + plain + curl
    assert 'os.environ["SEGMIND_API_KEY"]' in sdk and "$SEGMIND_API_KEY" in curl
    # The reader has these files: the edited image, the reference by its name, the mask.
    # The reader has these files, named as in a run's zip: the edited image, the reference, the mask.
    (tmp_path / "image-1.png").write_bytes(image.read_bytes())
    (tmp_path / "image-2.png").write_bytes(reference.read_bytes())
    (tmp_path / "mask.png").write_bytes(mask.read_bytes())
    env = {**os.environ, "SEGMIND_API_KEY": KEY}
    for code in (sdk, plain):
        (tmp_path / "snippet.py").write_text(code)
        finished = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr
        assert "COMPLETED" in finished.stdout
        saved = finished.stdout.rsplit("saved ", 1)[1].strip()
        assert saved.startswith("gpt-image-1-edit_") and (tmp_path / saved).is_file()


def test_resume_follows_a_job_by_its_id_into_the_history(app, emulator, inputs):
    demo, url = app
    image, _, _ = inputs
    from components.api.client import SegmindClient
    outside = SegmindClient(ClientSettings(api_base=emulator.url, storage_base=emulator.url), api_key=KEY)
    job = outside.submit(outside.prepare_payload(edit_inputs("made elsewhere", [str(image)])))
    # A job this app did not start for this browser: followed only with the visitor's own key.
    with pytest.raises(AppError, match="only follow it with your own"):
        Client(url, verbose=False).predict(owner_token(demo, "owner-resume"), job.request_id, "", 60, api_name="/resume")
    assert not demo.history.records(owner_id("owner-resume"))
    messages = list(Client(url, verbose=False).submit(owner_token(demo, "owner-resume"), job.request_id, KEY, 60,
                                                      api_name="/resume"))
    assert "COMPLETED" in messages[-1]
    (record,) = demo.history.records(owner_id("owner-resume"))
    assert record.request_id == job.request_id and record.status is RunStatus.COMPLETED and record.result


def test_a_run_whose_tab_closed_is_followed_to_the_end(app, emulator, inputs):
    demo, url = app
    image, _, _ = inputs
    emulator.processing_seconds = 1.5
    try:
        job = Client(url, verbose=False).submit(*run_args(owner_token(demo, "owner-closed"), "left behind", image),
                                                api_name="/run_ui")
        for output in job:  # watch until the job is at Segmind, then walk away
            if "PROCESSING" in str(output[0]):
                break
        job.cancel()
        assert demo.service.wait_idle(15)
    finally:
        emulator.processing_seconds = 0.4
    (record,) = demo.history.records(owner_id("owner-closed"))
    assert record.status is RunStatus.COMPLETED and record.result


def test_history_is_bounded_and_prunes_the_oldest_first(tmp_path):
    store = HistoryStore(tmp_path, max_bytes=3_000)
    kept = []
    for index in range(4):
        record = store.create(owner="o", inputs=None, prompt=f"run {index}")
        record.status = RunStatus.COMPLETED
        store.add_result(record, "result.png", b"x" * 1_000)
        kept.append(record.run_id)
    remaining = [r.run_id for r in store.records("o")]
    assert kept[-1] in remaining and kept[0] not in remaining
    assert store.size() <= 3_000


def test_no_other_browser_program_or_url_can_reach_a_run(app, inputs):
    demo, url = app
    image, _, _ = inputs
    client = Client(url, verbose=False)
    client.predict(*run_args(owner_token(demo, "owner-private"), "private", image), api_name="/run_ui")
    client.predict(prompt="from a program", images=[handle_file(str(image))], mask=None, api_name="/edit")
    assert demo.service.wait_idle(10)
    (record,) = demo.history.records(owner_id("owner-private"))
    victim = owner_id("owner-private")
    # The victim's id itself, or with a made-up signature, is refused: only this server signs owner tokens.
    for intruder in (victim, f"{victim}.{'A' * 32}", owner_id("intruder"), "api", None, "", "../../etc"):
        with pytest.raises(Exception):
            client.predict(intruder, record.run_id, api_name="/restore")
        with pytest.raises(Exception):
            client.predict(intruder, api_name="/download_all")
    # Program runs belong to no browser: nobody can list them.
    assert all(r.owner != "api" for r in demo.history.all_records())
    # The kept files are not served by path.
    kept = demo.history.folder(record.run_id) / "record.json"
    assert requests.get(f"{url}gradio_api/file={kept}", timeout=10).status_code in (403, 404)
