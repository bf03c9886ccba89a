"""The History tab's compare slider in headless Chromium: both images drawn in the same place, whole.

The slider overlays its second image on the first. Before, a fixed-height box clipped tall images and
drew the overlay 20-70 px off the image beneath; images of different sizes came out at different scales.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from components.api.config import ClientSettings
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.service import EditService
from components.app.status import RunStatus
from components.ui import launch_options
from components.ui.history_tab import HistoryHandlers, compare_slider
from tests.conftest import edit_inputs, owner_id, png_bytes

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

OWNER = owner_id("browser-compare")
PAIRS = {
    "double-resolution": ((512, 512), (1024, 1024)),
    "wide-input-tall-result": ((640, 480), (1024, 1536)),
    "tall-input-wide-result": ((683, 1024), (1536, 1024)),
}

# Where each <img> of the slider really draws its picture (object-fit: contain), and what clips it.
MEASURE = """() => [...document.querySelectorAll('#compare img')].map(img => {
  const box = img.getBoundingClientRect();
  const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
  const width = img.naturalWidth * scale, height = img.naturalHeight * scale;
  let clip = document.querySelector('#compare').getBoundingClientRect();
  for (let node = img.parentElement; node && node.id !== 'compare'; node = node.parentElement) {
    if (getComputedStyle(node).overflow !== 'visible') { clip = node.getBoundingClientRect(); break; }
  }
  return {x: box.x + (box.width - width) / 2, y: box.y + (box.height - height) / 2, width, height,
          clip: {x: clip.x, y: clip.y, width: clip.width, height: clip.height}, src: img.src};
})"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """Kept runs of each shape, and a page laid out like the History tab's compare column."""
    history = HistoryStore(tmp_path_factory.mktemp("history"))
    handlers = HistoryHandlers(EditService(Backend(ClientSettings()), history), history)
    runs = {}
    for name, (first, result) in PAIRS.items():
        record = history.create(owner=OWNER, inputs=edit_inputs(name, [png_bytes(first, (200, 60, 60))]))
        history.add_result(record, "result.png", png_bytes(result, (60, 60, 200)))
        record.status = RunStatus.COMPLETED
        history.save(record)
        runs[name] = record.run_id
    with gr.Blocks() as demo:
        with gr.Row():
            gr.Markdown("Details of the selected run.")
            with gr.Column():
                compare = compare_slider()
        pick = gr.Textbox(elem_id="pick")
        token = handlers.service.owners.token(OWNER)
        pick.submit(lambda name: handlers.compare_pair(token, runs[name], "input"), pick, compare)
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    yield url
    demo.close()


@pytest.mark.parametrize("viewport", [(1400, 1000), (390, 844)], ids=["desktop", "phone"])
def test_both_images_are_drawn_in_the_same_place_and_whole(app, browser, viewport):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    try:
        page.goto(app)
        seen: list[str] = []
        for name in PAIRS:
            page.locator("#pick textarea").fill(name)
            page.locator("#pick textarea").press("Enter")
            page.wait_for_function(
                "(seen) => { const imgs = [...document.querySelectorAll('#compare img')];"
                " return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0"
                " && !seen.includes(i.src)); }", arg=seen)
            first, second = page.evaluate(MEASURE)
            seen += [first["src"], second["src"]]
            for key in ("x", "y", "width", "height"):
                assert abs(first[key] - second[key]) <= 1, (name, key, first, second)
            for drawn in (first, second):
                clip = drawn["clip"]
                assert drawn["x"] >= clip["x"] - 1 and drawn["y"] >= clip["y"] - 1, (name, drawn)
                assert drawn["x"] + drawn["width"] <= clip["x"] + clip["width"] + 1, (name, drawn)
                assert drawn["y"] + drawn["height"] <= clip["y"] + clip["height"] + 1, (name, drawn)
            ARTIFACTS.mkdir(exist_ok=True)
            page.locator("#compare").screenshot(path=str(ARTIFACTS / f"compare-{name}-{viewport[0]}.png"))
    finally:
        page.close()
