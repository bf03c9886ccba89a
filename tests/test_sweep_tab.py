"""The Sweep tab's handlers, called directly: validation as plain text before anything runs, the cost and
the confirmation up front, and the labelled table."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import gradio as gr
import pytest
from PIL import Image

from components.api import schema
from components.app.grid import AxisChoice, read_grid
from components.app.history import RunRecord
from components.app.runs import Run, RunUpdate
from components.app.status import RunStatus
from components.ui import copy
from components.ui.status import money
from components.ui.sweep_tab import Pictures, SweepHandlers, build_sweep_tab, grid_table, sweep_cost
from components.media.images import EditRequest
from tests.conftest import BEFORE_ANY_SHUTDOWN, owner_id, owner_token, png_bytes

OWNER = owner_id("sweep-tab")
MARKUP = re.compile(r"\*\*|`|<[a-z/]")  # markdown or HTML: validation messages and toasts show it raw
NAMES = ["owner", "confirmed", "x-name", "x-ticked", "x-typed", "y-name", "y-ticked", "y-typed", "limit",
         "prompt-1", "prompt-2", "prompt-3", "prompt-4"]


@pytest.fixture
def handlers(service):
    with gr.Blocks():
        tab = build_sweep_tab()
    return SweepHandlers(service, tab, confirm_usd=0.5)


class Request:
    headers: dict[str, str] = {}


@pytest.fixture
def form(tmp_path):
    """The Edit tab's form as the handlers get it: an uploaded image (no painting), every option."""
    image = tmp_path / "photo.png"
    Image.new("RGB", (96, 64), (120, 30, 200)).save(image)
    return {"model": schema.DEFAULT_MODEL, "prompt": "make it pink", "editor": None, "files": [str(image)],
            "urls": "", "mask_file": None, "size": "auto", "quality": "low", "background": "opaque",
            "output_compression": 100, "output_format": "png", "moderation": "auto", "custom_width": None,
            "custom_height": None, "deadline": 30, "visitor_key": ""}


def grid_args(columns: tuple, rows: tuple = ("none", [], ""), prompts=("", "", "", ""), confirmed=0) -> list:
    """What Run sends: the owner, the amount agreed to, each axis as (what it varies, ticked, typed), at a time."""
    return [OWNER, confirmed, *columns, *rows, 2, *prompts]


def marks(result: list[dict], form: dict) -> dict[str, str]:
    """The validator's answer by input name, only where it marks a problem."""
    names = [*NAMES, *form]
    assert len(result) == len(names) and all(r["__type__"] == "validate" for r in result)
    return {name: r["message"] for name, r in zip(names, result) if not r["is_valid"]}


def test_a_bad_cell_is_named_in_plain_text_and_nothing_starts(handlers, service, form, emulator):
    form.update(output_format="webp")
    found = marks(handlers.validate(*grid_args(("output_compression", [], "0, 50")), **form), form)
    assert set(found) == {"x-name", "x-typed"}
    assert found["x-typed"] == "output_compression=0: output_compression 0 is outside 1..100"
    assert found["x-name"].startswith("Nothing was sent.") and "output_compression=0" in found["x-name"]
    assert not any(MARKUP.search(message) for message in found.values())
    assert sum(emulator.calls.values()) == 0 and service.history.records(OWNER) == []


def test_a_cell_invalid_only_for_its_own_model_is_named_by_both_axes(handlers, form):
    """Compression 0 is gpt-image-2's to take, not gpt-image-1's: only that combination is refused."""
    found = marks(handlers.validate(*grid_args(("output_compression", [], "0, 50"),
                                               ("model", ["gpt-image-2", "gpt-image-1-edit"], "")), **form), form)
    assert set(found) == {"x-name", "x-typed"}
    assert found["x-typed"] == ("output_compression=0, model=gpt-image-1-edit: output_compression 0 is outside "
                                "1..100")


def test_a_problem_every_cell_shares_is_marked_on_the_form_and_names_them_all(handlers, form):
    form.update(background="transparent", output_format="jpeg")
    found = marks(handlers.validate(*grid_args(("quality", ["low", "high"], "")), **form), form)
    assert set(found) == {"x-name", "background"}
    assert "quality=low, quality=high" in found["x-name"] and "jpeg has no alpha" in found["x-name"]
    assert not any(MARKUP.search(message) for message in found.values())


def test_a_model_that_cannot_take_the_form_is_marked_at_the_model_axis(handlers, form, tmp_path):
    """gpt-image-2 edits one image: with a reference too, only its row is refused, at the row values."""
    other = tmp_path / "reference.png"
    Image.new("RGB", (32, 32), (0, 90, 0)).save(other)
    form.update(files=[*form["files"], str(other)])
    found = marks(handlers.validate(*grid_args(("quality", ["low", "high"], ""),
                                               ("model", ["gpt-image-1-edit", "gpt-image-2"], "")), **form), form)
    assert set(found) == {"x-name", "y-ticked"}
    assert "quality=low, model=gpt-image-2: image" in found["y-ticked"]
    assert "gpt-image-1-edit" not in found["y-ticked"]


def test_prompt_variants_are_marked_in_their_own_box(handlers, form):
    too_long = "x" * (schema.MAX_PROMPT_CHARS + 1)
    found = marks(handlers.validate(*grid_args(("prompt", [], ""), prompts=("a cat", "", too_long, "")), **form),
                  form)
    assert set(found) == {"x-name", "prompt-3"} and found["prompt-3"].startswith("prompt 3: prompt ")


def test_no_values_too_many_values_too_many_cells_the_same_axis_twice_and_a_bad_deadline(handlers, form):
    found = marks(handlers.validate(*grid_args(("quality", [], "")), **form), form)
    assert set(found) == {"x-name", "x-ticked"} and "Pick at least one value" in found["x-ticked"]
    seven = ", ".join(map(str, range(10, 80, 10)))
    found = marks(handlers.validate(*grid_args(("output_compression", [], seven)), **form), form)
    assert "at most 6 values; output_compression has 7" in found["x-typed"]
    found = marks(handlers.validate(*grid_args(("output_compression", [], "20, 40, 60, 80, 100"),
                                               ("quality", ["low", "medium", "high", "auto"], "")), **form), form)
    assert set(found) == {"x-name", "y-ticked"} and "at most 16 jobs; this one has 20" in found["y-ticked"]
    found = marks(handlers.validate(*grid_args(("quality", ["low"], ""), ("quality", ["high"], "")), **form), form)
    assert set(found) == {"x-name", "y-name"} and "both vary quality" in found["y-name"]
    found = marks(handlers.validate(*grid_args(("quality", ["low"], "")), **{**form, "deadline": 0}), form)
    assert set(found) == {"x-name", "deadline"}


def test_a_good_grid_passes_the_validator(handlers, form):
    assert marks(handlers.validate(*grid_args(("quality", ["low", "medium"], "")), **form), form) == {}
    assert marks(handlers.validate(*grid_args(("prompt", [], ""), ("takes", [], "2"), prompts=("a", "", "b", "")),
                                   **form), form) == {}


def test_without_the_validator_the_handler_still_says_it_plainly_and_logs_no_traceback(handlers, form, emulator):
    """A program calling the handler directly gets a plain gr.Error, raised without a server traceback."""
    form.update(output_format="webp")
    token = owner_token(handlers.service, "sweep-tab")

    async def drain(*args):
        return [item async for item in handlers.run(token, Request(), None, *args, **form)]

    with pytest.raises(gr.Error) as caught:
        asyncio.run(drain(0, "output_compression", [], "0, 50", "none", [], "", 2, "", "", "", ""))
    assert caught.value.print_exception is False
    assert "output_compression=0" in caught.value.message and "Nothing was sent" in caught.value.message
    assert not MARKUP.search(caught.value.message) and sum(emulator.calls.values()) == 0
    with pytest.raises(gr.Error) as caught:
        asyncio.run(drain(0, "quality", [], "", "none", [], "", 2, "", "", "", ""))
    assert caught.value.print_exception is False and not MARKUP.search(caught.value.message)


# The cost shown before a grid starts, and the confirmation above the threshold ------------------------------


def cost(columns: AxisChoice, rows: AxisChoice = AxisChoice("none"), prompts=(), *, threshold=10.0,
         simulated=False, **form) -> str:
    values = {"model": schema.DEFAULT_MODEL, **schema.model().option_defaults(), **form}
    return sweep_cost(columns, rows, list(prompts), values, threshold=threshold, simulated=simulated)


def test_the_cost_line_says_how_many_jobs_and_what_they_cost_as_the_axes_change():
    price = schema.model().estimated_cost({"quality": "high", "size": "1536x1024"})
    text = cost(AxisChoice("output_format", ("png", "jpeg", "webp")), quality="high", size="1536x1024")
    assert text.startswith(f"**3 jobs** (3 columns) · estimated **{money(3 * price)}** ({money(price)} each)")
    assert "asks you to confirm" not in text and "Simulated" not in text
    grid_text = cost(AxisChoice("quality", ("low", "high")), AxisChoice("model", ("gpt-image-2", "gpt-image-1-edit",
                                                                                  "gpt-image-1-edit-mini")))
    assert grid_text.startswith("**6 jobs** (2 × 3) · estimated **$0.436** ($0.005 to $0.211 each)")


def test_above_the_threshold_the_cost_line_warns_of_the_confirmation_and_says_when_it_is_simulated():
    text = cost(AxisChoice("quality", ("low", "high")), threshold=0.1, simulated=True)
    assert f"Above $0.1: *{copy.RUN_GRID}* asks you to confirm first." in text
    assert copy.COST_SIMULATED in text


def test_the_cost_line_prices_size_auto_at_what_the_photo_gets_and_asks_by_that(tmp_path):
    """A phone's landscape photo at size `auto` comes out at 1536x1024 in every cell: priced so, and the
    confirmation threshold judges that total, not the square one."""
    photo = tmp_path / "IMG_landscape.jpg"
    Image.new("RGB", (4032, 3024), (30, 90, 160)).save(photo, format="JPEG")
    columns, ask = AxisChoice("quality", ("low", "high")), f"*{copy.RUN_GRID}* asks you to confirm first"
    landscape = cost(columns, threshold=0.2, photo=str(photo))
    assert landscape.startswith("**2 jobs** (2 columns) · estimated **$0.266** ($0.016 to $0.25 each)"), landscape
    assert ask in landscape
    square = cost(columns, threshold=0.2)  # no photo yet: the square prices
    assert square.startswith("**2 jobs** (2 columns) · estimated **$0.178** ($0.011 to $0.167 each)"), square
    assert ask not in square
    # The first reference stands in for a photo that is not there.
    assert cost(columns, threshold=0.2, photo=None, files=[str(photo)]) == landscape


def test_the_cost_when_nothing_or_too_much_is_picked():
    assert cost(AxisChoice("quality")) == copy.NO_COST_YET
    assert "at most 6 values; output_compression has 9" in cost(AxisChoice("output_compression",
                                                                           typed=",".join("123456789")))


def test_the_cost_handler_reads_the_widgets_in_the_wired_order_and_withdraws_a_confirmation(handlers):
    form = {"model": schema.DEFAULT_MODEL, **schema.model().option_defaults(), "custom_width": None,
            "custom_height": None, "visitor_key": ""}
    text, confirm, notice, quote = handlers.cost("quality", ["low"], "", "none", [], "", "", "", "", "", **form)
    assert text.startswith("**1 job** (1 column) · estimated")
    assert confirm["visible"] is False and notice == "" and quote is None


def test_a_costly_grid_asks_and_sends_nothing_until_its_amount_is_confirmed(handlers, form, emulator):
    token = owner_token(handlers.service, "sweep-tab")
    grid = ("quality", ["high", "medium"], "", "model", ["gpt-image-1-edit", "gpt-image-1.5-edit", "gpt-image-2"], "")

    async def first(confirmed):
        return await handlers.run(token, Request(), None, confirmed, *grid, 2, "", "", "", "", **form).__anext__()

    asked = asyncio.run(first(0))
    tab = handlers.tab
    # The form's photo is 3:2 at size `auto`: every cell comes out at 1536x1024 and is priced so (the square
    # prices would sum to $0.64).
    oblong = {"high": (0.25, 0.2, 0.211 * 1.5), "medium": (0.063, 0.05, 0.053 * 1.5)}
    total = round(sum(sum(prices) for prices in oblong.values()), 4)
    assert total == pytest.approx(0.959)
    assert "6 jobs for about $0.959" in asked[tab.notice] and "Nothing was sent" in asked[tab.notice]
    assert asked[tab.confirm]["visible"] is True and asked[tab.confirm]["value"].startswith("Confirm: send 6 jobs")
    assert asked[tab.quote] == pytest.approx(total)
    assert asyncio.run(first(0.64))[tab.quote] == pytest.approx(total)  # less than the estimate: asked again
    assert sum(emulator.calls.values()) == 0 and handlers.service.history.records(OWNER) == []
    assert not handlers.asks(0.64, 0.64) and not handlers.asks(0.5, 0) and handlers.asks(0.5001, 0)


def test_a_model_axis_offers_every_model_but_leaves_a_retired_one_unticked(handlers, service, monkeypatch):
    """Segmind answered 410 for it once: ticking it again would only fail a cell."""
    from components.app.retired import RetiredModels
    monkeypatch.setattr(service.runs, "retired", RetiredModels())  # this test's memory only
    service.today = lambda: BEFORE_ANY_SHUTDOWN
    assert handlers.pick("model", "none", schema.DEFAULT_MODEL)[0]["choices"] == list(schema.MODELS)
    service.runs.retired.learn("gpt-image-1-edit")
    shown = handlers.pick("model", "none", schema.DEFAULT_MODEL)[0]
    assert shown["value"] == [slug for slug in schema.MODELS if slug != "gpt-image-1-edit"]
    assert "Left unticked: gpt-image-1-edit (retired: Segmind answered 410 for it)" in shown["info"]
    # The prompt boxes show while either axis varies the prompt.
    assert handlers.pick("quality", "prompt")[2]["visible"] is True
    assert handlers.pick("takes", "quality")[1]["visible"] is True


@pytest.mark.parametrize("today, ticked", [
    (BEFORE_ANY_SHUTDOWN, list(schema.MODELS)),
    (date(2026, 11, 26), ["gpt-image-1.5-edit", "gpt-image-1-edit-mini", "gpt-image-2"]),  # gpt-image-1 shut down
    (date(2026, 12, 1), ["gpt-image-2"]),  # and the 1.5 and mini with it
])
def test_a_model_axis_leaves_models_past_openais_shutdown_date_unticked_but_offered(handlers, service, monkeypatch,
                                                                                    today, ticked):
    """The picker calls them retired on that date: a grid ticks what still runs, and the rest is a click away."""
    from components.app.retired import RetiredModels
    monkeypatch.setattr(service.runs, "retired", RetiredModels())
    service.today = lambda: today
    shown = handlers.pick("model", "quality", schema.DEFAULT_MODEL)[0]
    assert shown["choices"] == list(schema.MODELS) and shown["value"] == ticked
    # The axis says which it left out, and why.
    left = [slug for slug in schema.MODELS if slug not in ticked]
    assert bool(shown["info"]) is bool(left)
    for slug in left:
        assert f"{slug} (retired by OpenAI on {schema.model(slug).retires_on})" in shown["info"]


# The table -------------------------------------------------------------------------------------------------


def test_the_table_labels_rows_and_columns_and_escapes_what_a_person_typed():
    prompts = ['<img src=x onerror="alert(1)">', "a calm sea"]
    grid, problems = read_grid(AxisChoice("quality", ("low", "high")), AxisChoice("prompt"), prompts,
                               tuple(schema.MODELS))
    assert problems == []
    cells = grid.cells(schema.DEFAULT_MODEL, schema.model().option_defaults())
    runs = []
    for cell in cells:
        record = RunRecord(f"run-{len(runs)}", OWNER, "2026-01-01T00:00:00", cell.prompt, {}, [], label=cell.label)
        run = Run(record)
        run.latest = RunUpdate(RunStatus.PROCESSING, 1.5)
        runs.append(run)
    runs[0].record.error = "<b>bad</b> request"  # a server's words, shown as they came
    table = grid_table(grid, cells, runs, Pictures())
    assert table.count('<td class="grid-cell"') == 4 and table.count(">PROCESSING</span>") == 8
    assert "&lt;b&gt;bad&lt;/b&gt; request" in table
    assert "Prompt ↓ · Quality →" in table and '<th scope="col">low</th>' in table
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in table and "<img src=x" not in table
    assert 'title="quality=high, prompt 2"' in table


def test_the_notice_counts_the_cells_done_and_says_how_the_grid_ended(service):
    """While a grid runs: cells done of all, their cost so far; once all are done: how it ended, in all."""
    from components.ui.sweep_tab import grid_progress
    photo = png_bytes((64, 48), (10, 20, 31))
    runs = service.start_sweep([(f"quality={q}", EditRequest(prompt, [photo], None, {"quality": q}))
                                for q, prompt in (("low", "fine"), ("high", "no #fail"))], owner=owner_id("notice"),
                               limit=2)
    assert service.wait_idle(20)
    ended = grid_progress(runs, 12.3, simulated=True)
    assert "All 2 cells done in 12.3 s: 1 completed, 1 did not" in ended and "(simulated, nothing billed)" in ended
    assert money(runs[0].record.cost) in ended
    assert "1 of 2 cells done" in grid_progress([runs[0], replace_done(runs[1])], 3.0, simulated=False)


def replace_done(run):
    """A stand-in for a run still going: the same record, not done."""
    from types import SimpleNamespace
    return SimpleNamespace(done=False, record=run.record)

