"""The Sweep tab's handlers, called directly: validation as plain text before anything runs, and the cost up front."""

from __future__ import annotations

import asyncio
import re

import gradio as gr
import pytest
from PIL import Image

from components.api import schema
from components.ui.copy import NO_COST_YET
from components.ui.sweep_tab import SweepHandlers, build_sweep_tab, sweep_cost
from components.ui.status import money
from tests.conftest import owner_id, owner_token

OWNER = owner_id("sweep-tab")
MARKUP = re.compile(r"\*\*|`|<[a-z/]")  # markdown or HTML: validation messages and toasts show it raw


@pytest.fixture
def handlers(service):
    with gr.Blocks():
        tab = build_sweep_tab()
    return SweepHandlers(service, tab)


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


def sweep_args(param: str, ticked: list[str], compressions: str = "", prompts=("", "", "", "")) -> list:
    return [OWNER, param, ticked, compressions, 2, *prompts]


def marks(result: list[dict], form: dict) -> dict[str, str]:
    """The validator's answer by input name, only where it marks a problem."""
    names = ["owner", "param", "ticked", "compressions", "limit", "prompt-1", "prompt-2", "prompt-3", "prompt-4",
             *form]
    assert len(result) == len(names) and all(r["__type__"] == "validate" for r in result)
    return {name: r["message"] for name, r in zip(names, result) if not r["is_valid"]}


def test_a_bad_variant_is_named_in_plain_text_and_nothing_starts(handlers, service, form, emulator):
    form.update(output_format="webp")
    found = marks(handlers.validate(*sweep_args("output_compression", [], "0, 50"), **form), form)
    assert set(found) == {"param", "compressions"}
    assert found["compressions"] == "output_compression=0: output_compression 0 is outside 1..100"
    assert found["param"].startswith("Nothing was sent.") and "output_compression=0" in found["param"]
    assert not any(MARKUP.search(message) for message in found.values())
    assert sum(emulator.calls.values()) == 0 and service.history.records(OWNER) == []


def test_a_problem_every_variant_shares_is_marked_on_the_form_and_names_them_all(handlers, form):
    form.update(background="transparent", output_format="jpeg")
    found = marks(handlers.validate(*sweep_args("quality", ["low", "high"]), **form), form)
    assert set(found) == {"param", "background"}
    assert "quality=low, quality=high" in found["param"] and "jpeg has no alpha" in found["param"]
    assert not any(MARKUP.search(message) for message in found.values())


def test_prompt_variants_are_marked_in_their_own_box(handlers, form):
    too_long = "x" * (schema.MAX_PROMPT_CHARS + 1)
    found = marks(handlers.validate(*sweep_args("prompt", [], prompts=("a cat", "", too_long, "")), **form), form)
    assert set(found) == {"param", "prompt-3"} and found["prompt-3"].startswith("prompt 3: prompt ")


def test_no_values_too_many_values_and_a_bad_deadline(handlers, form):
    found = marks(handlers.validate(*sweep_args("quality", []), **form), form)
    assert set(found) == {"param", "ticked"} and "Pick at least one value" in found["ticked"]
    found = marks(handlers.validate(*sweep_args("output_compression", [], ", ".join(map(str, range(10, 100, 10)))),
                                    **form), form)
    assert "at most 8 variants; you picked 9" in found["compressions"]
    found = marks(handlers.validate(*sweep_args("quality", ["low"]), **{**form, "deadline": 0}), form)
    assert set(found) == {"param", "deadline"}


def test_a_good_sweep_passes_the_validator(handlers, form):
    assert marks(handlers.validate(*sweep_args("quality", ["low", "medium"]), **form), form) == {}
    assert marks(handlers.validate(*sweep_args("prompt", [], prompts=("a", "", "b", "")), **form), form) == {}


def test_without_the_validator_the_handler_still_says_it_plainly_and_logs_no_traceback(handlers, form, emulator):
    """A program calling the handler directly gets a plain gr.Error, raised without a server traceback."""
    form.update(output_format="webp")

    async def drain():
        token = owner_token(handlers.service, "sweep-tab")
        return [item async for item in handlers.run(token, Request(), None, "output_compression", [], "0, 50", 2,
                                                    "", "", "", "", **form)]

    with pytest.raises(gr.Error) as caught:
        asyncio.run(drain())
    assert caught.value.print_exception is False
    assert "output_compression=0" in caught.value.message and "Nothing was sent" in caught.value.message
    assert not MARKUP.search(caught.value.message) and sum(emulator.calls.values()) == 0
    with pytest.raises(gr.Error) as caught:
        token = owner_token(handlers.service, "sweep-tab")
        asyncio.run(handlers.run(token, Request(), None, "quality", [], "", 2, "", "", "", "", **form).__anext__())
    assert caught.value.print_exception is False and not MARKUP.search(caught.value.message)


# The cost shown before a sweep starts --------------------------------------------------------------------


def test_the_cost_is_jobs_times_the_price_when_every_variant_costs_the_same():
    price = schema.model().estimated_cost({"quality": "high", "size": "1536x1024"})
    text = sweep_cost("output_format", ["png", "jpeg", "webp"], "", [], "high", "1536x1024")
    assert text.startswith(f"3 jobs × about {money(price)} = about {money(3 * price)}.")
    assert sweep_cost("prompt", [], "", ["a", " ", "b", ""], "low", "1024x1024").startswith(
        f"2 jobs × about {money(schema.model().estimated_cost({'quality': 'low', 'size': '1024x1024'}))}")


def test_the_cost_follows_each_variant_when_the_sweep_varies_quality_or_size():
    text = sweep_cost("quality", ["low", "high"], "", [], "medium", "1024x1024")
    low, high = (schema.model().estimated_cost({"quality": q, "size": "1024x1024"}) for q in ("low", "high"))
    assert text.startswith(f"2 jobs = about {money(low + high)} (quality=low {money(low)}, "
                           f"quality=high {money(high)})")
    sizes = sweep_cost("size", ["1024x1024", "1536x1024"], "", [], "high", "auto")
    square, oblong = (schema.model().estimated_cost({"quality": "high", "size": s}) for s in ("1024x1024", "1536x1024"))
    assert f"about {money(square + oblong)}" in sizes


def test_the_cost_when_nothing_or_too_much_is_picked():
    assert sweep_cost("quality", [], "", [], "low", "auto") == NO_COST_YET
    assert "at most 8 variants; you picked 9" in sweep_cost("output_compression", [], ",".join("123456789"), [],
                                                             "low", "auto")


def test_the_cost_handler_reads_the_widgets_in_the_wired_order(handlers):
    assert handlers.cost("quality", ["low"], "", "low", "1024x1024", schema.DEFAULT_MODEL, None, None,
                         "", "", "", "").startswith("1 job × about")


def test_a_model_sweep_offers_every_model_but_leaves_a_retired_one_unticked(handlers, service, monkeypatch):
    """Segmind answered 410 for it once: ticking it again would only fail a variant."""
    from components.app.retired import RetiredModels
    monkeypatch.setattr(service.runs, "retired", RetiredModels())  # this test's memory only
    assert handlers.pick("model", schema.DEFAULT_MODEL)[0]["choices"] == list(schema.MODELS)
    service.runs.retired.learn("gpt-image-1-edit")
    ticked = handlers.pick("model", schema.DEFAULT_MODEL)[0]["value"]
    assert ticked == [slug for slug in schema.MODELS if slug != "gpt-image-1-edit"]
