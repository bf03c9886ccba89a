"""A real-sized phone photo through the page in headless Chromium: bytes, the exact mask, and Cancel's truth.

Bytes are counted at the socket between the browser and the app (bench/proxy.py).
Seconds are measured by `python -m bench.browser_loop`, not asserted here.
"""

from __future__ import annotations

import re
import shutil

import pytest

from bench.browser_loop import CHROMIUM_FLAGS, run_loop
from bench.photo import write_phone_photo
from components.api.config import ClientSettings
from components.app.backend import Backend
from components.app.settings import AppSettings
from components.emulator import Emulator, FaultKind, Route
from components.ui import build_app, launch_options
from tests.test_browser import ARTIFACTS

MB = 1_000_000


def test_a_phone_photo_is_uploaded_once_painted_light_and_sent_as_given():
    ARTIFACTS.mkdir(exist_ok=True)
    result = run_loop(screenshot=ARTIFACTS / "photo-loop.png")
    steps = {step.name.split(" ")[0] + (step.name.split(" ")[1] if step.name.startswith("stroke") else ""): step
             for step in result.steps}
    photo = len(result.photo_bytes)
    assert 2 * MB < photo < 4 * MB
    # One upload of the photo itself, then only light traffic: strokes and Run never re-send it.
    assert photo <= steps["load"].up < photo + 0.3 * MB
    for name in ("stroke1", "stroke2", "stroke3"):
        assert steps[name].up < 1 * MB, (name, steps[name].up)
    assert steps["Run"].up < 1 * MB
    # Segmind received the JPEG's own bytes, and a mask at its pixel size, hard-edged.
    assert result.sent_image == result.photo_bytes
    mask = result.sent_mask
    assert mask.size == (4032, 3024) and mask.mode == "RGBA" and mask.format == "PNG"
    alpha = mask.getchannel("A")
    assert set(alpha.getextrema()) <= {0, 255}
    share = alpha.histogram()[0] / (4032 * 3024)
    assert 0.02 < share < 0.3


@pytest.fixture(scope="module")
def cancel_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cancel")
    with Emulator(key="cancel", queue_seconds=0.5, processing_seconds=5.0) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.2), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=folder / "outputs"))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield url, emulator, demo, folder
        demo.close()


@pytest.fixture
def photo_page(cancel_app, request):
    from playwright.sync_api import sync_playwright
    url, emulator, demo, folder = cancel_app
    # A photo of its own for each test: the same bytes would not be uploaded again (that is the upload cache).
    photo = write_phone_photo(folder / f"IMG_{request.node.name[-12:].strip('[]')}.jpg", size=(2016, 1512),
                              seed=len(list(folder.iterdir())) + 3)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#photo input[type=file]").set_input_files(str(photo))
        page.locator("#input-view img").wait_for(timeout=30_000)
        page.locator("#prompt textarea").fill("cancel me")
        yield page, emulator, demo
        browser.close()


def status_after_cancel(page) -> str:
    page.locator("#cancel").click()
    try:
        page.locator("#status").get_by_text("STOPPED").wait_for(timeout=30_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "cancel-timeout.png"), full_page=True)
        raise AssertionError(f"no STOPPED after Cancel; status reads {page.locator('#status').inner_text()!r}")
    return page.locator("#status").inner_text()


@pytest.mark.parametrize("moment", ["right after the click", "while uploading"])
def test_cancel_before_the_submit_means_nothing_is_ever_sent(photo_page, moment):
    page, emulator, demo = photo_page
    submits = emulator.calls[Route.SUBMIT]
    emulator.inject(Route.UPLOAD, kind=FaultKind.SLOW, delay=2.0)
    page.locator("#run").click()
    if moment == "while uploading":
        page.locator("#status").get_by_text("PREPARING").wait_for(timeout=15_000)
    status_after_cancel(page)
    assert demo.service.wait_idle(20)
    # The word the page is left with. A status the run sent just before Cancel reached the server can still
    # arrive after Cancel's answer (two channels, no order between them) and show for a moment; the run's own
    # stream then ends on what Cancel did.
    page.locator("#status").get_by_text("nothing was sent").wait_for(timeout=15_000)
    assert emulator.calls[Route.SUBMIT] == submits  # and it never starts later
    emulator.faults.clear()


@pytest.mark.parametrize("moment", ["during the submit", "after QUEUED"])
def test_cancel_after_the_submit_says_it_may_be_billed_and_names_the_job(photo_page, moment):
    page, emulator, demo = photo_page
    submits = emulator.calls[Route.SUBMIT]
    if moment == "during the submit":
        emulator.inject(Route.SUBMIT, kind=FaultKind.SLOW, delay=1.5)
    page.locator("#run").click()
    # A state can last less than Playwright's look at the page: wait for it or any state after it.
    reached = "SUBMITTING|QUEUED|PROCESSING" if moment == "during the submit" else "QUEUED|PROCESSING"
    page.wait_for_function(f"() => /{reached}/.test(document.querySelector('#status').innerText)", timeout=20_000)
    status_after_cancel(page)
    assert demo.service.wait_idle(20)
    # The word the page is left with (a status sent just before Cancel can still land after its answer).
    page.wait_for_function("() => { const text = document.querySelector('#status').innerText;"
                           " return /may still finish and be billed/.test(text) && /\\b[0-9a-f]{32}\\b/.test(text) }",
                           timeout=15_000)
    request_id = re.search(r"\b[0-9a-f]{32}\b", page.locator("#status").inner_text()).group(0)
    assert emulator.calls[Route.SUBMIT] == submits + 1 and request_id in emulator.jobs
    emulator.faults.clear()


def test_a_photo_that_cannot_be_opened_says_why_in_the_page(cancel_app, tmp_path):
    """A 139-megapixel bomb of 0.1 MB, then a text file named .png: each is refused, in a toast, with the reason."""
    from PIL import Image
    from playwright.sync_api import sync_playwright
    url, _, _, _ = cancel_app
    bomb = tmp_path / "bomb.png"
    Image.new("L", (11_800, 11_800), 0).save(bomb)
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                             args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        for path, reason in ((bomb, "too large (139 megapixels); this app opens at most 50 megapixels"),
                             (text, "is not an image this app can read")):
            page.locator("#photo input[type=file]").set_input_files(str(path))
            page.get_by_text(reason).first.wait_for(timeout=20_000)
        page.screenshot(path=str(ARTIFACTS / "photo-refused-phone.png"))
        browser.close()
