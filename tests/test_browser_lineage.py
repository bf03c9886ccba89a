"""Takes and continuing from a result, in headless Chromium: paint a mask on a photo, run three takes, continue
from one, run again, and see in History the chain of versions and the compare with the parent.

One pass at 1280 px; at each step worth seeing, the page is also shot at a phone's 390×844.
"""

from __future__ import annotations

import pytest

from components.api.config import ClientSettings
from components.app.backend import Backend
from components.app.status import RunStatus
from components.emulator import Emulator, Route
from components.ui import build_app, launch_options
from tests.test_browser import ARTIFACTS, ROOT, assert_captions_readable

DESKTOP, PHONE = {"width": 1280, "height": 1000}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app():
    with Emulator(key="lineage", queue_seconds=0.1, processing_seconds=0.4) as emulator:
        demo = build_app(Backend(ClientSettings(poll_interval=0.1), emulator=emulator))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        yield url, demo, emulator
        demo.close()


def paint_a_stroke(page) -> None:
    editor = page.locator("#editor")
    editor.locator('button[aria-label="Brush"]').click()
    box = editor.locator("canvas").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 40, y)
    page.mouse.down()
    page.mouse.move(x + 40, y, steps=10)
    page.mouse.up()
    page.locator("#mask-info").get_by_text("Mask from your painting").wait_for()


def shoot(page, name: str, anchor: str) -> None:
    """The whole page at 1280, and what a phone shows around `anchor`."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.locator(anchor).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"))
    page.set_viewport_size(DESKTOP)


def set_takes(page, count: int) -> None:
    page.locator("#takes input").fill(str(count))
    page.locator("#takes input").press("Tab")


def test_three_takes_continue_from_one_and_see_the_chain_in_history(app, browser):
    url, demo, emulator = app
    page = browser.new_page(viewport=DESKTOP)
    try:
        page.goto(url)
        page.locator('#photo input[type="file"]').set_input_files(str(ROOT / "examples" / "mug.png"))
        page.locator("#input-view img").wait_for(timeout=20_000)
        paint_a_stroke(page)
        page.locator("#keep-outside input[type=checkbox]").check()
        page.locator("#prompt textarea").fill("a blue stripe")
        set_takes(page, 3)
        page.locator("#cost-estimate").get_by_text("× 3 takes").wait_for()

        page.locator("#run").click()
        page.locator("#status").get_by_text("3 of 3 takes completed").wait_for(timeout=30_000)
        assert page.locator("#takes-gallery button.thumbnail-item").count() == 3
        assert emulator.calls[Route.SUBMIT] == 3
        shoot(page, "takes", "#takes-status")
        page.set_viewport_size(PHONE)  # each take's caption whole, under its picture
        page.locator("#takes-gallery").scroll_into_view_if_needed()
        assert_captions_readable(page, "#takes-gallery", "Take ")
        page.set_viewport_size(DESKTOP)

        page.locator("#takes-gallery button.thumbnail-item").nth(1).click()
        page.locator("#continue-take").get_by_text("Continue from take 2").wait_for()
        page.locator("#result img").wait_for()
        page.locator("#continue-take").click()
        page.locator("#status").get_by_text("Now editing").wait_for()
        assert "kept outside the mask" in page.locator("#status").inner_text()
        page.locator("#mask-info").get_by_text("No mask").wait_for()  # the mask is cleared
        assert page.locator("#prompt textarea").input_value() == "a blue stripe"  # the prompt stays

        paint_a_stroke(page)
        set_takes(page, 1)
        page.wait_for_function("() => !/× 3 takes/.test(document.querySelector('#cost-estimate').innerText)")
        page.locator("#run").click()
        page.locator("#status").get_by_text("COMPLETED").wait_for(timeout=30_000)
        page.locator("#continue-result").wait_for(state="visible")
        shoot(page, "continued", "#status")

        (child,) = [r for r in demo.history.all_records() if r.parent]
        parent = demo.history.get(child.parent)
        assert parent.label == "take 2 of 3" and child.status is RunStatus.COMPLETED
        assert emulator.calls[Route.SUBMIT] == 4

        page.get_by_role("tab", name="History").click()
        page.locator("#history-gallery button.thumbnail-item").first.wait_for(timeout=20_000)
        page.locator("#history-gallery button.thumbnail-item").first.click()
        details = page.locator("#history-details")
        details.get_by_text("Continued from").wait_for()
        assert "v1 (take 2 of 3" in details.inner_text() and "v2, this run" in details.inner_text()
        page.locator("#compare img").first.wait_for()
        assert "continued from" in page.locator("#compare-with input").input_value()
        shoot(page, "lineage-history", "#history-details")
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lineage-failed.png"), full_page=True)
        raise
    finally:
        page.close()
