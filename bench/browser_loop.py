"""The photo loop in headless Chromium: load a 12 MP photo, paint three strokes, Run, see QUEUED.

Bytes are counted at the socket by a proxy between the browser and the app
(bench/proxy.py); seconds are wall time seen from the page. The app runs in
this process on the emulator; Chromium is Debian's (`executable_path`).

    .venv/bin/python -m bench.browser_loop
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from bench.common import table
from bench.photo import write_phone_photo
from bench.proxy import CountingProxy

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


@dataclass
class Step:
    name: str
    up: int
    down: int
    seconds: float


@dataclass
class LoopResult:
    steps: list[Step] = field(default_factory=list)
    photo_bytes: bytes = b""
    sent_image: bytes = b""
    sent_mask: Image.Image | None = None


def mask_info(page) -> str:
    return page.locator("#mask-info").inner_text()


class PhotoLoop:
    """Drives one page through the loop; `measure` wraps each step with byte and time counts."""

    def __init__(self, page, proxy: CountingProxy) -> None:
        self.page = page
        self.proxy = proxy
        self.result = LoopResult()

    def measure(self, name: str, action, *, counted_from: tuple[int, int] | None = None) -> None:
        """Time `action`; count the bytes from `counted_from` (a snapshot taken earlier) or from now."""
        up, down = counted_from or self.proxy.counts.snapshot()
        started = time.monotonic()
        action()
        seconds = time.monotonic() - started
        after_up, after_down = self.proxy.counts.snapshot()
        self.result.steps.append(Step(name, after_up - up, after_down - down, seconds))

    def open(self, url: str) -> None:
        def action():
            self.page.goto(url)
            self.page.locator("#run").wait_for()
            self.page.locator("#editor").wait_for()
        self.measure("open the page", action)

    def load_photo(self, path: Path) -> None:
        self.result.photo_bytes = path.read_bytes()

        def action():
            self.page.locator("#photo input[type=file]").set_input_files(str(path))
            self.page.locator("#input-view img").wait_for(timeout=30_000)
            self.page.locator("#editor canvas").first.wait_for()
            self.page.wait_for_function(
                "() => document.querySelector('#image-count').innerText.includes('1 to edit')")
        self.measure("load the photo (one upload)", action)
        # The editor's brush tool: it is the active tool once an image is in.
        brush = self.page.locator('#editor button[aria-label="Brush"]')
        brush.wait_for()
        brush.click()

    def stroke(self, index: int, rows: int = 3) -> None:
        canvas = self.page.locator("#editor canvas").first
        box = canvas.bounding_box()
        x0 = box["x"] + box["width"] * 0.35
        y = box["y"] + box["height"] * (0.3 + 0.2 * index / max(1, rows - 1))
        before = mask_info(self.page)
        bytes_before = self.proxy.counts.snapshot()
        self.page.mouse.move(x0, y)
        self.page.mouse.down()
        for step in range(1, 21):
            self.page.mouse.move(x0 + box["width"] * 0.3 * step / 20, y, steps=2)

        def action():  # timed from the mouse-up: the drawing itself is the browser's own work
            self.page.mouse.up()
            # The preview counts this stroke once the share it opens has grown past the last one's.
            self.page.wait_for_function(
                "(before) => { const share = (t) => parseFloat((t.match(/([0-9.]+)% of the image/) || [0, -1])[1]);"
                " return share(document.querySelector('#mask-info').innerText) > share(before); }",
                arg=before, timeout=60_000)
        self.measure(f"stroke {index + 1} (bytes: the whole stroke; seconds: mouse-up → preview)", action,
                     counted_from=bytes_before)

    def run_until_queued(self, prompt: str) -> None:
        self.page.locator("#prompt textarea").fill(prompt)
        # Every text the status line shows, as it shows it: a state may last less than a poll of the page.
        self.page.evaluate("""() => {
            window.__statusSeen = [];
            const node = document.querySelector('#status');
            new MutationObserver(() => window.__statusSeen.push(node.innerText))
                .observe(node, {childList: true, subtree: true, characterData: true});
        }""")

        def action():
            self.page.locator("#run").click()
            self.page.wait_for_function(
                "() => window.__statusSeen.some(t => /QUEUED|PROCESSING|COMPLETED/.test(t))", timeout=30_000)
        self.measure("Run → QUEUED", action)
        self.status_seen = self.page.evaluate("() => window.__statusSeen")

    def until_completed(self) -> None:
        def action():
            self.page.locator("#status").get_by_text("COMPLETED").wait_for(timeout=60_000)
        self.measure("QUEUED → COMPLETED (emulator job)", action)


def run_loop(*, photo: Path | None = None, screenshot: Path | None = None, processing_seconds: float = 3.0,
             viewport: tuple[int, int] = (1400, 1000)) -> LoopResult:
    from playwright.sync_api import sync_playwright

    from components.api.config import ClientSettings
    from components.app.backend import Backend
    from components.app.settings import AppSettings
    from components.emulator import Emulator, Route
    from components.ui import build_app, launch_options

    folder = Path(tempfile.mkdtemp(prefix="photo-loop-"))
    photo = photo or write_phone_photo(folder / "IMG_0001.jpg")
    emulator = Emulator(key="loop", queue_seconds=1.0, processing_seconds=processing_seconds).start()
    backend = Backend(ClientSettings(poll_interval=0.25), emulator=emulator)
    demo = build_app(backend, settings=AppSettings(output_dir=folder / "outputs"))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    proxy = CountingProxy("127.0.0.1", int(url.rstrip("/").rsplit(":", 1)[1])).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                                 args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            loop = PhotoLoop(page, proxy)
            try:
                loop.open(proxy.url)
                loop.load_photo(photo)
                for index in range(3):
                    loop.stroke(index)
                loop.run_until_queued("Replace the painted bands with brushed steel")
                loop.until_completed()
            finally:
                if screenshot is not None:
                    page.screenshot(path=str(screenshot), full_page=True)
                browser.close()
        job = next(iter(emulator.jobs.values()))
        files = emulator.files
        loop.result.sent_image = files[job.params["image_urls"][0].split(emulator.url + "/", 1)[1]].data
        mask = files[job.params["mask"].split(emulator.url + "/", 1)[1]].data
        loop.result.sent_mask = Image.open(io.BytesIO(mask))
        loop.result.sent_mask.load()
        assert emulator.calls[Route.SUBMIT] == 1
    finally:
        proxy.stop()
        demo.close()
        backend.close()
        shutil.rmtree(folder, ignore_errors=True)
    return loop.result


def run(screenshot: Path | None = None) -> str:
    result = run_loop(screenshot=screenshot)
    rows = [[s.name, f"{s.up / 1e6:.3f}", f"{s.down / 1e6:.3f}", f"{s.seconds:.2f}"] for s in result.steps]
    same = hashlib.sha256(result.sent_image).hexdigest() == hashlib.sha256(result.photo_bytes).hexdigest()
    mask = result.sent_mask
    notes = [
        f"- The photo: {len(result.photo_bytes) / 1e6:.2f} MB JPEG, 4032×3024. Segmind received "
        f"{len(result.sent_image) / 1e6:.2f} MB, {'the same bytes' if same else 'DIFFERENT bytes'}.",
        f"- The mask Segmind received: {mask.width}×{mask.height} {mask.mode} PNG, "
        f"{sum(1 for a in mask.getchannel('A').getdata() if a == 0) / (mask.width * mask.height):.1%} transparent.",
    ]
    return table(["step", "MB browser → app", "MB app → browser", "seconds"], rows) + "\n\n" + "\n".join(notes)


if __name__ == "__main__":
    print(run(Path("tests/artifacts/photo-loop.png")))
