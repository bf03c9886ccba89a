"""The app's memory over repeated runs with 12-megapixel photos: does it come back near its baseline?

Drives the Edit tab's handlers directly (the same calls the page makes: load the
photo, refresh the mask, validate, run) against the emulator, in this process,
and reads the process's resident memory (VmRSS) after each run.

    .venv/bin/python -m bench.memory
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
from pathlib import Path

import gradio as gr
from PIL import Image, ImageDraw

from bench.common import table
from bench.photo import write_phone_photo

RUNS = 8


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Request:
    headers: dict[str, str] = {}


async def drain(generator) -> list:
    return [item async for item in generator]


def run(runs: int = RUNS) -> str:
    from components.api.config import ClientSettings
    from components.app.backend import Backend
    from components.app.history import HistoryStore
    from components.app.service import EditService
    from components.emulator import Emulator
    from components.media.working_copy import working_size
    from components.ui.edit_tab import EditHandlers, build_edit_tab

    folder = Path(tempfile.mkdtemp(prefix="memory-bench-"))
    photos = [write_phone_photo(folder / f"IMG_{i:04d}.jpg", seed=11 + i) for i in range(runs)]
    rows = []
    with Emulator(key="memory", queue_seconds=0.05, processing_seconds=0.2) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.05), emulator=emulator)
        service = EditService(backend, HistoryStore(folder / "history"))
        with gr.Blocks():
            tab = build_edit_tab(backend)
            handlers = EditHandlers(service, service.history, tab, gr.BrowserState(None))
        gc.collect()
        baseline = rss_mb()
        rows.append(["before any run", f"{baseline:.0f}", "—"])
        peak = baseline
        for index, photo in enumerate(photos, start=1):
            values = {"prompt": f"run {index}", "photo": str(photo), "files": [], "urls": "", "mask_file": None,
                      "size": "auto", "quality": "low", "background": "opaque", "output_compression": 100,
                      "output_format": "png", "moderation": "auto", "deadline": 60, "visitor_key": ""}
            handlers.load_photo(str(photo), **{k: v for k, v in values.items() if k in ("files", "urls", "mask_file")})
            layer = Image.new("RGBA", working_size((4032, 3024)), (0, 0, 0, 0))
            ImageDraw.Draw(layer).rectangle((100, 100, 300, 250), fill=(255, 0, 170, 255))
            values["editor"] = {"background": Image.new("RGBA", (1, 1)), "layers": [layer], "composite": None}
            handlers.inspect(**{k: values[k] for k in ("photo", "editor", "files", "urls", "mask_file")})
            handlers.validate(f"t{index}", "o" * 24, 0.0, **values)
            asyncio.run(drain(handlers.run(f"t{index}", "o" * 24, 0.0, Request(), **values)))
            assert service.wait_idle(30)
            peak = max(peak, rss_mb())
            rows.append([f"after run {index}", f"{rss_mb():.0f}", f"{rss_mb() - baseline:+.0f}"])
        gc.collect()
        rows.append(["after the last run, collected", f"{rss_mb():.0f}", f"{rss_mb() - baseline:+.0f}"])
        backend.close()
    return table(["moment", "RSS MB", "vs baseline"], rows) + f"\n\nPeak RSS seen: {peak:.0f} MB."


if __name__ == "__main__":
    print(run())
