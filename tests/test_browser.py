"""End to end in headless Chromium (Debian's), driven by Playwright: upload, paint, run, see the result."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from components.app.backend import Backend
from components.api.config import ClientSettings
from components.emulator import Emulator
from components.ui import build_app, launch_options
from tests.conftest import KEY

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with Emulator(key=KEY, queue_seconds=0.5, processing_seconds=2.0) as emulator:
        demo = build_app(Backend(ClientSettings(poll_interval=0.25), emulator=emulator))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield url, emulator
        demo.close()


@pytest.fixture
def page(app, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app[0])
    page.locator("#run").wait_for()
    yield page
    page.close()


def test_upload_paint_run_and_see_the_result(app, page):
    _, emulator = app
    editor = page.locator("#editor")
    page.locator('#photo input[type="file"]').set_input_files(str(ROOT / "examples" / "mug.png"))
    page.locator("#input-view img").wait_for(timeout=20_000)
    page.wait_for_function("() => document.querySelector('#image-count').innerText.includes('1 to edit')")
    brush = editor.locator('button[aria-label="Brush"]')
    brush.wait_for()
    brush.click()

    box = editor.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 60, y)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(x - 60 + 8 * step, y, steps=2)
    page.mouse.up()
    page.locator("#mask-info").get_by_text("Mask from your painting").wait_for()

    page.locator("#prompt textarea").fill("Turn the painted band into a red stripe")
    page.locator("#run").click()
    status = page.locator("#status")
    status.get_by_text("PROCESSING").wait_for(timeout=15_000)
    status.get_by_text("COMPLETED").wait_for(timeout=15_000)
    page.locator("#result img").wait_for()
    page.locator("#download").wait_for(state="visible")
    assert "request" in status.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-result.png"), full_page=True)

    job = max(emulator.jobs.values(), key=lambda j: j.submitted_at)
    mask_url = job.params["mask"]
    mask = Image.open(io.BytesIO(emulator.files[mask_url.split(emulator.url + "/", 1)[1]].data))
    assert mask.size == (512, 512)  # the image's own size, not the canvas's
    alpha = mask.getchannel("A")
    assert 0 < alpha.histogram()[0] < 512 * 512 // 4  # a stroke, not the whole image
    assert alpha.getpixel((256, 256)) == 0  # painted across the middle


def test_validation_messages_appear_next_to_the_widget(app, page):
    _, emulator = app
    calls_before = sum(emulator.calls.values())
    page.locator("#run").click()
    page.locator("#prompt div.validation-error").wait_for()
    page.locator("#photo .validation-error").first.wait_for()
    assert "empty" in page.locator("#prompt div.validation-error").inner_text()
    page.locator("#status").get_by_text("Nothing was sent").wait_for()
    assert sum(emulator.calls.values()) == calls_before
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-validation.png"), full_page=False)


def test_sweep_then_restore_a_run_from_history(page):
    page.get_by_text("Inpaint with a mask: new view through the window", exact=True).click()
    page.locator("#mask-info").get_by_text("Mask from the uploaded file").wait_for()

    page.get_by_role("tab", name="Sweep").click()
    page.locator("#sweep-param input").click()
    page.get_by_role("option", name="Output format").click()
    page.locator("#sweep-values").get_by_text("webp").wait_for()
    page.locator("#run-sweep").click()
    table = page.locator("#sweep-status")
    table.get_by_text("output_format=webp").wait_for(timeout=15_000)
    page.wait_for_function("() => (document.querySelector('#sweep-status').innerText.match(/COMPLETED/g) || [])"
                           ".length === 3", timeout=30_000)
    page.locator("#sweep-gallery img").nth(2).wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-sweep.png"), full_page=True)

    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery button.thumbnail-item").first.wait_for(timeout=10_000)
    page.locator("#history-gallery button.thumbnail-item").first.click()
    page.locator("#history-details").get_by_text("output_format=").first.wait_for()
    details = page.locator("#history-details").inner_text()
    chosen = next(fmt for fmt in ("png", "jpeg", "webp") if f"output_format={fmt}" in details)
    page.locator("#compare img").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "e2e-history.png"), full_page=True)

    page.locator("#history-restore").click()
    page.locator("#prompt textarea").wait_for(state="visible")
    page.wait_for_function(
        f"() => document.querySelector('#opt-output_format input[value=\"{chosen}\"]').checked")
    assert "snowy mountains" in page.locator("#prompt textarea").input_value()
    page.locator("#mask-info").get_by_text("Mask from the uploaded file").wait_for()
