"""Shared fixtures: an emulator on loopback, clients pointed at it, small images."""

from __future__ import annotations

import io
import os
import tempfile
from datetime import date, timedelta

import pytest
from PIL import Image

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Results the app saves during tests go to a scratch folder, not the project's outputs/.
os.environ["OUTPUT_DIR"] = tempfile.mkdtemp(prefix="gpt-image-edit-test-outputs-")
# The apps tests launch start on the seed's model, whatever today's date: without SEGMIND_MODEL the model
# follows OpenAI's shutdown dates (test_config pins dates to test that), and most tests exercise what
# gpt-image-1-edit takes (references, a mask). A test of another model names it.
os.environ["SEGMIND_MODEL"] = "gpt-image-1-edit"
# `make test` runs the suite in two processes (pytest-xdist). Each searches its own range of ports for the
# apps it launches, so two launches at the same moment never race for one port (Gradio reads where its search
# starts from GRADIO_SERVER_PORT, at import). Each has its own temporary folder, and so its own Gradio cache:
# an app closing in one process clears its cache, and tests count what is left in theirs.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
os.environ["GRADIO_SERVER_PORT"] = str(7860 + 200 * int(_WORKER or 0))
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["TMPDIR"] = tempfile.mkdtemp(prefix=f"worker-{_WORKER}-")
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again

from bench.browser_loop import CHROMIUM_FLAGS  # noqa: E402
from components.api.client import SegmindClient  # noqa: E402
from components.api.schema import MODELS  # noqa: E402
from components.api.config import ClientSettings  # noqa: E402
from components.emulator import Emulator  # noqa: E402
from components.api.models import EditInputs  # noqa: E402
from components.api.transport import RetryPolicy  # noqa: E402
from components.media.images import EditRequest, prepare  # noqa: E402

KEY = "test-key-7f3a9c"
# A day every model in the registry still runs: apps and handlers that tick models by OpenAI's shutdown dates
# are pinned to it where a test needs the whole lineup, whatever the calendar says.
BEFORE_ANY_SHUTDOWN = min(date.fromisoformat(m.retires_on) for m in MODELS.values() if m.retires_on) - timedelta(days=1)
FAST_RETRY = RetryPolicy(max_retries=4, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def emulator():
    with Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.2, record_keys=True) as emu:
        yield emu


def edit_inputs(prompt, images, mask=None, options=None, model=None) -> EditInputs:
    """Checked inputs, as the app's media layer makes them before the client sends anything.

    Without a model they go to the client's own."""
    return prepare(EditRequest(prompt, images, mask, options or {}, model=model))


def make_client(emulator: Emulator, key: str = KEY, **settings) -> SegmindClient:
    options = dict(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.05,
                   read_timeout=5.0, deadline=30.0)
    options.update(settings)
    return SegmindClient(ClientSettings(**options), api_key=key, retry=FAST_RETRY)


@pytest.fixture
def service(emulator, tmp_path):
    """The edit service on the emulator, as the app runs it, with a history of its own."""
    from components.api.config import Secret
    from components.app.backend import Backend
    from components.app.history import HistoryStore
    from components.app.service import EditService
    settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.02,
                              api_key=Secret(KEY))
    service = EditService(Backend(settings), HistoryStore(tmp_path / "history"))
    yield service
    assert service.wait_idle(20)
    service.backend.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, driven by Playwright (never a browser Playwright downloads)."""
    import shutil
    from playwright.sync_api import sync_playwright
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (scripts/install-chromium.sh)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def client(emulator):
    client = make_client(emulator)
    yield client
    client.close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Wait for a condition the app reaches by itself (not a sleep standing in for one); False if it never does.

    Always assert the answer: `assert wait_until(...), what_was_seen`.
    """
    import threading
    import time
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.02)
    return True


def owner_id(name: str) -> str:
    """A well-formed browser owner id (24 URL-safe characters), stable for a test's readable name."""
    import hashlib
    return hashlib.sha256(name.encode()).hexdigest()[:24]


def owner_token(service, name: str) -> str:
    """What a browser holds for `owner_id(name)`: the id signed by this service's (or app's) own secret."""
    return getattr(service, "service", service).owners.token(owner_id(name))


def open_sockets(port: int | None = None) -> int:
    """This process's open sockets; with a port, only TCP connections to it (not the listener's own)."""
    inodes = None
    if port is not None:
        inodes = {line.split()[9] for line in open("/proc/net/tcp").read().splitlines()[1:]
                  if line.split()[2].endswith(f":{port:04X}")}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:  # the listing's own handle, already closed
            continue
        count += target.startswith("socket:") and (inodes is None or target[8:-1] in inodes)
    return count


def png_bytes(size=(64, 48), color=(20, 120, 220), mode="RGB", fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color if mode != "RGBA" else color + (255,)).save(buffer, format=fmt)
    return buffer.getvalue()


def mask_bytes(size=(64, 48), hole=(10, 10, 30, 30)) -> bytes:
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), hole)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()
