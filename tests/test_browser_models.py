"""The model family in the browser: a retired default, the one-click switch to its successor, a custom
gpt-image-2 size, and the models compared in one sweep (the model-family issue's "done when")."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bench.photo import write_phone_photo
from components.api import schema
from components.api.config import ClientSettings
from components.app.backend import Backend
from components.app.settings import AppSettings
from components.emulator import Emulator, Route
from components.ui import build_app, launch_options
from tests.conftest import BEFORE_ANY_SHUTDOWN, KEY
from tests.test_browser import ARTIFACTS

RETIRED, SUCCESSOR = "gpt-image-1-edit", "gpt-image-2"


@pytest.fixture(scope="module")
def retired_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    with Emulator(key=KEY, queue_seconds=0.2, processing_seconds=0.8, retired_models=(RETIRED,)) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.2, model=RETIRED), emulator=emulator)
        # Retired here by Segmind's 410 only, not by the calendar: the day before any of OpenAI's dates.
        demo = build_app(backend, settings=AppSettings(output_dir=folder / "outputs", model=RETIRED),
                         today=lambda: BEFORE_ANY_SHUTDOWN)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield url, emulator, folder
        demo.close()


def wait_for_status(page, pattern: str, timeout: int = 30_000) -> str:
    page.wait_for_function(f"() => /{pattern}/.test(document.querySelector('#status').innerText)", timeout=timeout)
    return page.locator("#status").inner_text()


def test_a_retired_model_is_named_and_its_successor_is_one_click_away(retired_app, browser):
    url, emulator, folder = retired_app
    ARTIFACTS.mkdir(exist_ok=True)
    photo = write_phone_photo(folder / "IMG_0410.jpg", size=(2016, 1512), seed=41)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.locator("#photo input[type=file]").set_input_files(str(photo))
    page.locator("#input-view img").wait_for(timeout=30_000)
    page.locator("#prompt textarea").fill("a sunset over the hills")

    page.locator("#run").click()
    page.locator("#switch-model").wait_for(state="visible", timeout=30_000)
    text = page.locator("#status").inner_text()
    assert RETIRED in text and "retired" in text and SUCCESSOR in text and "nothing was charged" in text
    assert emulator.jobs == {}  # a 410 starts no job and bills nothing
    page.screenshot(path=str(ARTIFACTS / "model-retired.png"), full_page=True)

    page.locator("#switch-model").click()
    assert SUCCESSOR in wait_for_status(page, "Switched")
    assert page.locator("#switch-model").is_hidden()
    assert page.locator("#prompt textarea").input_value() == "a sunset over the hills"  # the form is kept
    # The widgets follow the picker's change event, which comes after the switch's own answer.
    page.locator("#mask-note").get_by_text("takes no mask").wait_for(timeout=15_000)
    page.locator("#model-card").get_by_text(SUCCESSOR).first.wait_for(timeout=15_000)
    page.locator(f'#footer a[href="{schema.model(SUCCESSOR).page_url}"]').wait_for(timeout=15_000)  # its page

    # A custom size, checked live against gpt-image-2's rules.
    page.locator("#opt-size input").click()
    page.get_by_role("option", name="custom width × height").click()
    page.locator("#custom-width input").fill("2050")
    page.locator("#custom-width input").press("Tab")
    page.wait_for_function("() => /multiple of 16/.test(document.querySelector('#size-check').innerText)")
    page.locator("#custom-width input").fill("2048")
    page.locator("#custom-height input").fill("1152")
    page.locator("#custom-height input").press("Tab")
    page.wait_for_function("() => /2048x1152.*allowed/.test(document.querySelector('#size-check').innerText)")

    page.locator("#run").click()
    assert SUCCESSOR in wait_for_status(page, "COMPLETED", 60_000)
    (job,) = emulator.jobs.values()
    assert job.model == SUCCESSOR and job.ignored == () and job.params["size"] == "2048x1152"
    assert isinstance(job.params["image"], str) and "image_urls" not in job.params and "mask" not in job.params
    output = emulator.files[f"outputs/{job.output_name}"]
    assert Image.open(io.BytesIO(output.data)).size == (2048, 1152)
    page.screenshot(path=str(ARTIFACTS / "model-successor.png"), full_page=True)

    # The four models on the same photo in one sweep; the retired one is offered but left unticked.
    submits = emulator.calls[Route.SUBMIT]
    page.get_by_role("tab", name="Sweep").click()
    page.locator("#sweep-x-name input").click()
    page.get_by_role("option", name="Model", exact=True).click()
    page.wait_for_function("() => /3 jobs/.test(document.querySelector('#sweep-cost').innerText)")
    assert f"Left unticked: {RETIRED} (retired: Segmind answered 410" in page.locator("#sweep-x-ticked").inner_text()
    page.locator("#run-sweep").click()
    try:
        page.wait_for_function("() => document.querySelectorAll('#sweep-grid td.grid-cell img').length === 3",
                               timeout=90_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "model-sweep-timeout.png"), full_page=True)
        raise
    table = page.locator("#sweep-grid").inner_text()
    for slug in ("gpt-image-1.5-edit", "gpt-image-1-edit-mini", SUCCESSOR):
        assert f"model={slug}" in table
    assert "(size auto)" in table  # the older models can't take 2048x1152: their own default, said so
    assert emulator.calls[Route.SUBMIT] == submits + 3
    page.screenshot(path=str(ARTIFACTS / "model-sweep.png"), full_page=True)

    # A new page knows: it starts on the successor and says why, without running anything.
    fresh = browser.new_page(viewport={"width": 390, "height": 844})
    fresh.goto(url)
    fresh.wait_for_function("() => /has been retired/.test(document.querySelector('#retired-notice')?.innerText)",
                            timeout=20_000)
    assert SUCCESSOR in fresh.locator("#model input").input_value()
    fresh.close()
    page.close()
