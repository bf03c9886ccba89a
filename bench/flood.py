"""A flood of `/edit` calls from one address, and a normal visitor's job beside it.

The app is launched on loopback behind a (pretend) trusted proxy, so each
caller's X-Forwarded-For is its address. The attacker sends FLOOD concurrent
`/edit` calls; a normal visitor from another address runs one job, alone and
then during the flood. Prints the visitor's seconds both ways, and what the
flood got.

    .venv/bin/python -m bench.flood
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from bench.common import table
from bench.photo import write_phone_photo
from components.api.config import ClientSettings
from components.app.backend import Backend
from components.app.settings import AppSettings
from components.emulator import Emulator
from components.ui import build_app, launch_options

FLOOD = 60
JOB_SECONDS = 3.0


def _call(url: str, image: str, address: str) -> tuple[str, float]:
    started = time.monotonic()
    try:
        _, status = Client(url, verbose=False, headers={"x-forwarded-for": address}).predict(
            prompt="x", images=[handle_file(image)], mask=None, api_name="/edit")
        outcome = status["status"]
    except AppError as exc:
        outcome = "refused" if "jobs running already" in str(exc) else f"error: {str(exc)[:60]}"
    return outcome, time.monotonic() - started


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    image = write_phone_photo(folder / "in.jpg", size=(512, 384))
    settings = AppSettings(output_dir=folder / "out", trusted_proxy=True)
    with Emulator(key="k", queue_seconds=0.0, processing_seconds=JOB_SECONDS) as emulator:
        backend = Backend(ClientSettings(poll_interval=0.1), emulator=emulator)
        demo = build_app(backend, settings=settings)
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
        try:
            _, alone = _call(url, str(image), "198.51.100.5")
            with ThreadPoolExecutor(FLOOD + 1) as workers:
                flood = [workers.submit(_call, url, str(image), "203.0.113.66") for _ in range(FLOOD)]
                time.sleep(0.5)  # let the flood land first: the visitor arrives in the middle of it
                visitor = workers.submit(_call, url, str(image), "198.51.100.5")
                outcomes = [f.result() for f in flood]
                _, during = visitor.result()
        finally:
            demo.close()
            backend.close()
    completed = sum(o == "COMPLETED" for o, _ in outcomes)
    refused = sum(o == "refused" for o, _ in outcomes)
    rows = [("visitor alone", f"{alone:.1f}", "", ""),
            (f"visitor during {FLOOD} /edit calls from one address", f"{during:.1f}", completed, refused)]
    return table(["case", "visitor's seconds", "flood completed", "flood refused"], rows)


if __name__ == "__main__":
    print(run())
