"""Take the Space card's thumbnail (docs/thumbnail.png) from the app itself.

The app runs here on the built-in emulator; Debian's chromium, driven by Playwright,
opens it, loads the first example (a photo with a mask), runs it and photographs the
page at 1200 × 630, the size link previews use. The PNG is reduced to a palette so it
stays small. Run it again after a visible change to the page, and commit the result:

    .venv/bin/python scripts/space_thumbnail.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser_loop import CHROMIUM_FLAGS  # noqa: E402
from components.api.config import ClientSettings  # noqa: E402
from components.app.backend import Backend  # noqa: E402
from components.app.settings import AppSettings  # noqa: E402
from components.emulator import Emulator  # noqa: E402
from components.ui import build_app, launch_options  # noqa: E402

OUT = ROOT / "docs" / "thumbnail.png"
SIZE = {"width": 1200, "height": 630}
COLOURS = 128  # a palette this size keeps the screenshot's text and photos clean at a fraction of the bytes


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise SystemExit("Debian's chromium is not installed (scripts/install-chromium.sh installs it).")
    return found


def take(page, url: str, path: Path) -> None:
    """The first example, run to the end."""
    example = json.loads((ROOT / "examples" / "examples.json").read_text())[0]
    page.goto(url)
    page.locator("#run").wait_for()
    page.get_by_text(example["label"], exact=True).click()
    page.locator("#mask-info").get_by_text("Mask from the uploaded file").wait_for(timeout=20_000)
    page.locator("#run").click()
    page.locator("#status").get_by_text("COMPLETED").wait_for(timeout=30_000)
    page.locator("#result img").wait_for()
    # From the prompt down to the input and result side by side, the settings beside them.
    page.evaluate("window.scrollTo(0, document.querySelector('#prompt').getBoundingClientRect().top"
                  " + window.scrollY - 16)")
    page.screenshot(path=str(path))


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, \
            Emulator(key="thumbnail", queue_seconds=0.3, processing_seconds=1.0) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.2), emulator=emulator)
        demo = build_app(backend, settings=AppSettings(output_dir=Path(folder) / "outputs"))
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                                     args=CHROMIUM_FLAGS)
                page = browser.new_page(viewport=SIZE, device_scale_factor=1)
                shot = Path(folder) / "page.png"
                take(page, url, shot)
                browser.close()
        finally:
            demo.close()
            backend.close()
        Image.open(shot).convert("RGB").quantize(COLOURS, dither=Image.Dither.NONE).save(OUT, optimize=True)
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
