"""Keeping the original outside the mask, and a mask tool, in headless Chromium: paint, grow, keep, run."""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageChops

from components.api.config import ClientSettings
from components.app.backend import Backend
from components.emulator import Emulator
from components.ui import build_app, launch_options
from tests.conftest import KEY
from tests.test_browser import ARTIFACTS, ROOT


@pytest.fixture(scope="module")
def app():
    with Emulator(key=KEY, queue_seconds=0.2, processing_seconds=0.5) as emulator:
        demo = build_app(Backend(ClientSettings(poll_interval=0.1), emulator=emulator))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield url, demo
        demo.close()


def share(page) -> float:
    text = page.locator("#mask-info").inner_text()
    return float(re.search(r"([\d.]+)% of the image open to edit", text).group(1))


def test_grow_the_paint_keep_the_original_outside_it_and_see_both_results(app, browser):
    url, demo = app
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(url)
    page.locator('#photo input[type="file"]').set_input_files(str(ROOT / "examples" / "mug.png"))
    page.locator("#input-view img").wait_for(timeout=20_000)
    editor = page.locator("#editor")
    editor.locator('button[aria-label="Brush"]').click()
    box = editor.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 40, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=10)
    page.mouse.up()
    page.locator("#mask-info").get_by_text("Mask from your painting").wait_for()
    painted = share(page)

    page.locator("#mask-tools").get_by_text("Mask tools").click()
    page.locator("#mask-grow").click()
    page.wait_for_function(f"() => !document.querySelector('#mask-info').innerText.includes('{painted:.1f}%')")
    assert share(page) > painted * 1.5  # a thin stroke grown by 16 px of the photo on each side

    page.locator("#keep-outside input[type=checkbox]").check()
    page.locator("#mask-info").get_by_text("your photo is kept exactly").wait_for()
    page.locator("#prompt textarea").fill("a blue stripe inside the grown mask")
    page.locator("#run").click()
    page.locator("#status").get_by_text("COMPLETED").wait_for(timeout=30_000)
    page.locator("#download-raw").wait_for(state="visible")
    page.locator("#metrics").get_by_text("your photo's own pixels").wait_for()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mask-tools.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#keep-outside").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "mask-tools-phone.png"))

    # What the run kept: the model's output and, beside it, the photo with it laid inside the grown mask only.
    (record,) = [r for r in demo.history.all_records() if r.prompt == "a blue stripe inside the grown mask"]
    assert record.composite and record.keep_outside_feather == 0
    photo = Image.open(ROOT / "examples" / "mug.png").convert("RGB")
    made = Image.open(demo.history.path(record, record.composite)).convert("RGB")
    mask = Image.open(demo.history.path(record, record.mask)).getchannel("A")
    changed = ImageChops.difference(made, photo).convert("L").point(lambda v: 255 if v else 0)
    assert ImageChops.multiply(changed, mask).getbbox() is None  # nothing changed where the mask keeps
    page.close()
