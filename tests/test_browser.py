"""End to end in headless Chromium (Debian's), driven by Playwright: upload, paint, run, see the result."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from PIL import Image

from components.app.backend import Backend
from components.api.config import ClientSettings
from components.app.settings import AppSettings
from components.emulator import Emulator, Route
from components.ui import build_app, launch_options
from tests.conftest import BEFORE_ANY_SHUTDOWN, KEY, wait_until

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 390, "height": 844}


def gallery_captions(page, gallery: str) -> list[dict]:
    """Each thumbnail of a gallery: its caption, whether all of it shows, and the share of its picture it covers."""
    return page.locator(f"{gallery} button.thumbnail-item").evaluate_all("""items => items.map(item => {
        const caption = item.querySelector('.caption-label'), box = caption.getBoundingClientRect();
        const picture = item.querySelector('img').getBoundingClientRect();
        const across = Math.min(box.right, picture.right) - Math.max(box.left, picture.left);
        const down = Math.min(box.bottom, picture.bottom) - Math.max(box.top, picture.top);
        const label = item.closest('.block').querySelector('[data-testid=block-label]').getBoundingClientRect();
        const under = Math.min(label.right, picture.right) - Math.max(label.left, picture.left);
        const over = Math.min(label.bottom, picture.bottom) - Math.max(label.top, picture.top);
        const area = picture.width * picture.height;
        return {text: caption.innerText, picture_width: picture.width,
                whole: caption.scrollWidth <= caption.clientWidth && caption.scrollHeight <= caption.clientHeight,
                covers: Math.max(0, across) * Math.max(0, down) / area,
                label_covers: Math.max(0, under) * Math.max(0, over) / area};
    })""")


def assert_captions_readable(page, gallery: str, needle: str) -> None:
    """Every caption is shown whole (not cut to "quality…") and leaves its picture uncovered and of a useful size;
    nor does the gallery's own label, over the first row, cover more than a sliver of a picture."""
    captions = gallery_captions(page, gallery)
    assert captions and all(needle in c["text"] for c in captions), captions
    assert all(c["whole"] and c["covers"] < 0.05 and c["picture_width"] >= 120 for c in captions), captions
    assert all(c["label_covers"] < 0.05 for c in captions), [(c["text"], c["label_covers"]) for c in captions]


def chart_text(page, chart: str) -> dict:
    """A drawn chart's axes (the labels Vega shows, their boxes and sizes), and whether it fits its box with room
    for its bars (the plot's width)."""
    return page.locator(chart).evaluate("""block => {
        const axes = [...block.querySelectorAll('.role-axis[aria-label]')].map(axis => ({
            title: axis.getAttribute('aria-label'), names: axis.getAttribute('aria-label').includes('discrete'),
            labels: [...axis.querySelectorAll('.role-axis-label text')].filter(t => t.getAttribute('opacity') !== '0')
                .map(t => { const r = t.getBoundingClientRect();
                            return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                                    size: parseFloat(getComputedStyle(t).fontSize)} })}));
        const box = block.getBoundingClientRect(), drawn = block.querySelector('svg.marks').getBoundingClientRect();
        const plot = block.querySelector('.role-frame path.background').getBoundingClientRect();
        return {axes, plot: plot.width, inside: drawn.left >= box.left - 1 && drawn.right <= box.right + 1};
    }""")


def clash(a: dict, b: dict) -> bool:
    """Two labels' boxes touch or overlap (a pixel apart is still one word to the eye)."""
    return a["left"] < b["right"] + 1 and b["left"] < a["right"] + 1 and a["top"] < b["bottom"] + 1 and \
        b["top"] < a["bottom"] + 1


def assert_chart_legible(page, chart: str, groups: int) -> None:
    """Every group named in full, labels in type of at least 11 px and none on another, the chart inside its box,
    and bars with room to differ."""
    drawn = chart_text(page, chart)
    (names,) = [axis["labels"] for axis in drawn["axes"] if axis["names"]]
    assert len(names) == groups and not any(label["text"].endswith("…") for label in names), drawn
    for axis in drawn["axes"]:
        labels = axis["labels"]
        assert len(labels) >= 2 and all(label["size"] >= 11 for label in labels), axis
        assert not [(a["text"], b["text"]) for i, a in enumerate(labels) for b in labels[i + 1:] if clash(a, b)], axis
    assert drawn["inside"] and drawn["plot"] >= 100, drawn


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with Emulator(key=KEY, queue_seconds=0.5, processing_seconds=2.0) as emulator:
        # A deployer who asks before any grid above $0.25.
        settings = dataclasses.replace(AppSettings.from_env(), sweep_confirm_usd=0.25)
        # On a day every model still runs: a Model axis ticks them all (past OpenAI's dates it leaves some out).
        demo = build_app(Backend(ClientSettings(poll_interval=0.25), emulator=emulator), settings=settings,
                         today=lambda: BEFORE_ANY_SHUTDOWN)
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


def test_upload_boxes_show_their_label_above_a_whole_prompt(page):
    """Gradio floats a box's label over its drop zone and cuts a short box's prompt to "Click to Upl…"."""
    page.get_by_text("More reference images").click()
    page.locator("#references").wait_for()
    for width, viewport in ((1280, {"width": 1280, "height": 900}), (390, PHONE)):
        page.set_viewport_size(viewport)
        for box in ("#photo", "#mask-file", "#references"):
            page.locator(box).scroll_into_view_if_needed()
            label, prompt, outer = page.locator(box).evaluate("""block => [
                block.querySelector('[data-testid=block-label]'), block.querySelector('[data-testid=upload-text]'),
                block].map(e => { const r = e.getBoundingClientRect(); return {top: r.top, bottom: r.bottom} })""")
            assert label["bottom"] <= prompt["top"] + 1, (width, box, label, prompt)  # the label covers none of it
            assert outer["top"] <= prompt["top"] and prompt["bottom"] <= outer["bottom"] + 1, (width, box, prompt)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#photo").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"e2e-uploads-{width}.png"))
        page.locator("#mask-file").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"e2e-uploads-mask-{width}.png"))


def wait_for_jobs(page, jobs: int) -> None:
    page.wait_for_function(f"() => /\\b{jobs} jobs?\\b/.test(document.querySelector('#sweep-cost').innerText)")


def test_a_grid_asks_to_confirm_its_cost_fills_in_cell_by_cell_and_a_cell_restores(app, page):
    """Quality × model, 2 × 3, above this deployer's threshold: nothing is sent until Confirm."""
    _, emulator = app
    page.get_by_text("Inpaint with a mask: new view through the window", exact=True).click()
    try:
        page.locator("#mask-info").get_by_text("Mask from the uploaded file").wait_for()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "grid-example-timeout.png"), full_page=True)
        raise AssertionError(f"the example loaded no mask; mask line: {page.locator('#mask-info').inner_text()!r}, "
                             f"status: {page.locator('#status').inner_text()!r}")
    # The example's photo is landscape (640x448): size `auto` comes out at 1536x1024, and is priced so.
    page.wait_for_function("() => /1536×1024/.test(document.querySelector('#cost-estimate').innerText)")
    assert "about $0.063" in page.locator("#cost-estimate").inner_text()

    page.get_by_role("tab", name="Sweep").click()
    # Each step waits for the price line to count it, as a person reads it before the next click: the ticks
    # of an axis just picked arrive from the server, and a click on them before they land is overwritten.
    for quality in ("low", "auto"):
        page.locator("#sweep-x-ticked").get_by_label(quality, exact=True).uncheck()
    wait_for_jobs(page, 2)
    page.locator("#sweep-y-name input").click()
    page.get_by_role("option", name="Model", exact=True).click()
    wait_for_jobs(page, 8)
    page.locator("#sweep-y-ticked").get_by_label("gpt-image-2", exact=True).uncheck()  # three models that take a mask
    wait_for_jobs(page, 6)
    assert "asks you to confirm first" in page.locator("#sweep-cost").inner_text()
    # Every cell at `auto` on the landscape photo: the oblong prices (the square ones would sum to $0.423).
    assert "estimated $0.63 " in page.locator("#sweep-cost").inner_text()

    submits = emulator.calls[Route.SUBMIT]
    page.locator("#run-sweep").click()
    confirm = page.locator("#confirm-sweep")
    confirm.wait_for(state="visible", timeout=15_000)
    assert confirm.inner_text().startswith("Confirm: send 6 jobs for about $0.63")
    assert "Nothing was sent yet" in page.locator("#sweep-notice").inner_text()
    assert emulator.calls[Route.SUBMIT] == submits

    confirm.click()
    # Four at a time: the table shows finished cells beside ones still running.
    page.wait_for_function("() => document.querySelectorAll('#sweep-grid td.grid-cell img').length >= 1 && "
                           "document.querySelectorAll('#sweep-grid .grid-empty').length >= 1", timeout=30_000)
    page.wait_for_function("() => { const pictures = [...document.querySelectorAll('#sweep-grid td.grid-cell img')];"
                           " return pictures.length === 6 && pictures.every(p => p.complete && p.naturalWidth > 0) }",
                           timeout=30_000)  # each thumbnail served and drawn
    assert confirm.is_hidden() and emulator.calls[Route.SUBMIT] == submits + 6
    # The grid says how it ended, where it asked for the confirmation.
    page.locator("#sweep-notice").get_by_text("All 6 cells done in").wait_for(timeout=15_000)
    assert "6 completed · $0.63 in all (simulated, nothing billed)" in page.locator("#sweep-notice").inner_text()
    headers = page.locator("#sweep-grid th").all_inner_texts()
    assert headers == ["Model ↓ · Quality →", "medium", "high", "gpt-image-1-edit", "gpt-image-1.5-edit",
                       "gpt-image-1-edit-mini"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "e2e-grid.png"), full_page=True)
    # On a phone the table keeps its pictures' size and scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#sweep-grid").scroll_into_view_if_needed()
    scroll = page.locator("#sweep-grid .grid-scroll").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll[0] > scroll[1] and page.locator("#sweep-grid td.grid-cell img").first.bounding_box()["width"] >= 140
    page.screenshot(path=str(ARTIFACTS / "e2e-grid-phone.png"))
    # The gallery's captions name the model too, whole, under their pictures: on a phone and on a wide screen.
    page.locator("#sweep-gallery").scroll_into_view_if_needed()
    assert_captions_readable(page, "#sweep-gallery", "model=")
    page.screenshot(path=str(ARTIFACTS / "e2e-grid-gallery-phone.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.locator("#sweep-gallery").scroll_into_view_if_needed()
    assert_captions_readable(page, "#sweep-gallery", "model=")
    page.locator("#sweep-gallery").screenshot(path=str(ARTIFACTS / "e2e-grid-gallery.png"))

    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery button.thumbnail-item").first.wait_for(timeout=10_000)
    # Nothing selected yet: nothing to restore or continue from.
    assert page.locator("#history-restore").is_disabled() and page.locator("#history-continue").is_disabled()
    page.set_viewport_size(PHONE)
    page.locator("#history-gallery").scroll_into_view_if_needed()
    assert_captions_readable(page, "#history-gallery", "model=")
    page.screenshot(path=str(ARTIFACTS / "e2e-history-gallery-phone.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.locator("#history-gallery button.thumbnail-item").first.click()
    page.locator("#history-details").get_by_text("quality=").first.wait_for()
    assert page.locator("#history-continue").is_enabled()
    details = page.locator("#history-details").inner_text()
    chosen = next(quality for quality in ("medium", "high") if f"quality={quality}," in details)
    page.locator("#compare img").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "e2e-history.png"), full_page=True)

    page.locator("#history-restore").click()
    page.locator("#prompt textarea").wait_for(state="visible")
    page.wait_for_function(
        f"() => document.querySelector('#opt-quality input[value=\"{chosen}\"]').checked")
    assert "snowy mountains" in page.locator("#prompt textarea").input_value()
    page.locator("#mask-info").get_by_text("Mask from the uploaded file").wait_for()

    # The insights of these six runs, on a phone and on a wide screen: each group named whole, no label on another.
    page.get_by_role("tab", name="History").click()
    page.locator("#insights").get_by_text("Insights").click()
    for chart in ("seconds", "cost"):  # six groups named on an axis
        names = f"#insights-{chart} .role-axis[aria-label*=discrete] .role-axis-label text"
        page.wait_for_function(f"() => document.querySelectorAll('{names}').length === 6")
    for name, viewport in (("phone", PHONE), ("wide", {"width": 1400, "height": 1000})):
        page.set_viewport_size(viewport)
        page.locator("#insights").scroll_into_view_if_needed()
        charts = ("#insights-seconds", "#insights-cost")
        for chart in charts:
            assert wait_until(lambda: page.locator(chart).evaluate(  # drawn again for the new width
                "b => Math.abs(b.querySelector('svg.marks').getBoundingClientRect().width - b.clientWidth) < 60")), \
                chart_text(page, chart)
        page.locator("#insights").screenshot(path=str(ARTIFACTS / f"e2e-insights-{name}.png"))
        for chart in charts:
            assert_chart_legible(page, chart, groups=6)
