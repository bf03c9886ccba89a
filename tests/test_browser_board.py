"""An exported board opened from disk in headless Chromium with the network cut off.

Nothing may be fetched (every request is recorded, and any that is not the file itself is refused); the
page's own script must run under its own Content-Security-Policy; each before/after slider moves by keyboard
and by drag, and shows the photo left of the split and the result right of it; and the page is screenshotted
at a laptop's width and a phone's.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from components.app import boards
from components.app.board_page import board_html
from components.app.history import HistoryStore
from components.app.status import RunStatus
from tests.conftest import edit_inputs, owner_id, png_bytes

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OWNER = owner_id("browser-board")
PHOTO, RESULT = (220, 40, 40), (40, 60, 220)   # red before, blue after
HOSTILE = '</script><script>document.title = "owned"</script><img src=x onerror="document.title = \'owned\'">'


def kept(history: HistoryStore, prompt: str, photo: tuple[int, int], result: tuple[int, int] | None,
         options: dict | None = None) -> object:
    record = history.create(owner=OWNER, inputs=edit_inputs(prompt, [png_bytes(photo, PHOTO)], options=options))
    record.backend, record.cost, record.total_time = "emulator", 0.042, 31.5
    if result is None:
        record.status, record.error = RunStatus.FAILED, "The job failed."
        history.save(record)
    else:
        record.status = RunStatus.COMPLETED
        history.add_result(record, "result.png", png_bytes(result, RESULT))
    return record


@pytest.fixture(scope="module")
def board_file(tmp_path_factory) -> Path:
    """A board of a wide edit, a tall one and a failed one with a hostile prompt, written as its download is."""
    folder = tmp_path_factory.mktemp("board")
    history = HistoryStore(folder / "history")
    records = [kept(history, "Paint the sofa blue", (640, 480), (1536, 1024), {"quality": "high"}),
               kept(history, "Paint the sofa blue, tall", (480, 640), (1024, 1536), {"quality": "low"}),
               kept(history, HOSTILE, (640, 480), None, {"quality": "medium"})]
    path = folder / "board.html"
    path.write_text(board_html(boards.selection("Sofa colours", records), history))
    return path


def colour_at(page, box: dict, share: float) -> tuple[int, int, int]:
    """The colour drawn `share` of the way across the first picture, halfway down."""
    shot = page.screenshot(clip={"x": box["x"] + box["width"] * share - 1, "y": box["y"] + box["height"] / 2,
                                 "width": 2, "height": 2})
    with Image.open(io.BytesIO(shot)) as image:
        return image.convert("RGB").getpixel((0, 0))


def near(seen: tuple[int, int, int], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(seen, expected))


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["laptop", "phone"])
def test_the_board_opens_offline_fetches_nothing_and_its_sliders_move(browser, board_file, viewport):
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, offline=True)
    requested: list[str] = []
    refused: list[str] = []
    context.on("request", lambda request: requested.append(request.url))

    def only_the_file(route):
        if route.request.url == board_file.as_uri():
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    try:
        page.goto(board_file.as_uri())
        page.wait_for_load_state("load")
        # Its own script ran (its hash is in the policy), nothing else did, and nothing was asked of the network.
        assert page.evaluate("document.documentElement.classList.contains('js')")
        assert page.title().startswith("Sofa colours") and "owned" not in page.title()
        assert requested == [board_file.as_uri()] and refused == [] and problems == [], (requested, refused, problems)
        assert page.locator("figure.run").count() == 3 and page.locator(".compare.pair").count() == 2
        assert page.locator(".enlarge").count() == 2   # the failed run has nothing to enlarge

        compare, slider = page.locator(".compare.pair").first, page.locator(".split").first
        compare.scroll_into_view_if_needed()
        box = compare.bounding_box()
        assert near(colour_at(page, box, 0.35), PHOTO) and near(colour_at(page, box, 0.65), RESULT)

        slider.focus()
        for _ in range(30):
            page.keyboard.press("ArrowLeft")
        assert slider.input_value() == "20"
        assert near(colour_at(page, box, 0.12), PHOTO) and near(colour_at(page, box, 0.3), RESULT)

        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2, steps=6)
        page.mouse.up()
        assert abs(int(slider.input_value()) - 80) <= 1
        assert near(colour_at(page, box, 0.7), PHOTO) and near(colour_at(page, box, 0.9), RESULT)

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"board-{viewport[0]}.png"), full_page=True)
        page.locator(".enlarge").nth(1).click()
        page.locator("dialog .compare.pair").wait_for()
        page.screenshot(path=str(ARTIFACTS / f"board-enlarged-{viewport[0]}.png"))
        page.keyboard.press("Escape")
        assert not page.evaluate("document.getElementById('large').open")
        assert refused == [] and problems == [], (refused, problems)
    finally:
        context.close()
