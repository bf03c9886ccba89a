"""How large a board gets: 6 and 24 runs of a 12 MP photo, as one HTML file and one contact-sheet PNG.

The runs are real ones (through EditService, on the emulator over loopback): each result is the
emulator's 1536x1024 re-render of the photo, and every run sends the same photo, as a sweep does.
The photo is bench/photo.py's, whose grain compresses worse than most photos: read the sizes as an
upper end.

    .venv/bin/python -m bench.boards
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

from PIL import Image

from bench.common import table
from bench.photo import phone_photo
from components.api.config import ClientSettings, Secret
from components.app import boards
from components.app.backend import Backend
from components.app.board_page import board_html
from components.app.history import HistoryStore
from components.app.service import EditService
from components.emulator import Emulator
from components.media.images import EditRequest

KEY = "bench-key"
OWNER = "bench-boards-owner-00001"
QUALITIES = ("low", "medium", "high", "auto")
PROMPTS = tuple(f"variant {n}: make the sky a different colour" for n in range(1, 7))


def make_runs(service: EditService) -> dict[tuple[str, str], str]:
    """24 runs (4 qualities × 6 prompts) of one photo; their ids by (quality, prompt)."""
    photo = phone_photo()
    variants = [(f"{quality} · {prompt[:9]}", EditRequest(prompt, [photo], None, {"quality": quality}))
                for quality in QUALITIES for prompt in PROMPTS]
    runs = []
    for start in range(0, len(variants), 8):  # a browser may have 16 runs live at once
        runs += service.start_sweep(variants[start:start + 8], owner=OWNER, limit=8, deadline=120)
        assert service.wait_idle(300), "the runs did not finish"
    return {(quality, prompt[:9]): run.run_id for (quality, prompt), run in
            zip(((q, p) for q in QUALITIES for p in PROMPTS), runs)}


def measure(board: boards.Board, history: HistoryStore) -> list[object]:
    started = time.monotonic()
    page = board_html(board, history).encode()
    page_seconds = time.monotonic() - started
    started = time.monotonic()
    sheet = boards.contact_sheet(board, history)
    sheet_seconds = time.monotonic() - started
    with Image.open(io.BytesIO(sheet)) as image:
        pixels = f"{image.width}x{image.height}"
    runs = len(board.records)
    return [f"{runs} ({board.layout.value})", f"{len(page):,}", f"{len(page) // runs:,}", page_seconds,
            f"{len(sheet):,}", pixels, sheet_seconds]


def run() -> str:
    with tempfile.TemporaryDirectory() as folder, Emulator(key=KEY, queue_seconds=0.05,
                                                           processing_seconds=0.2) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.05,
                                  api_key=Secret(KEY))
        service = EditService(Backend(settings), HistoryStore(Path(folder)))
        try:
            ids = make_runs(service)
            history = service.history
            records = {where: history.get(run_id) for where, run_id in ids.items()}
            six = boards.selection("Six", [records[QUALITIES[i // 3 % 2], PROMPTS[i % 3][:9]] for i in range(6)])
            grid = boards.grid("Twenty-four", QUALITIES, [p[:9] for p in PROMPTS], records)
            rows = [measure(six, history), measure(grid, history)]
        finally:
            service.backend.close()
    return table(["runs on the board", "HTML bytes", "HTML bytes per run", "HTML export (s)", "PNG bytes",
                  "PNG pixels", "PNG export (s)"], rows)


if __name__ == "__main__":
    print(run())
