"""A flood of `/edit` calls from one address, and a normal visitor's job beside it.

The app runs as it is deployed: `python app.py` in its own process (with its
built-in emulator, jobs of JOB_SECONDS), behind a (pretend) trusted proxy, so
each caller's X-Forwarded-For is its address. This process is the internet:
the attacker sends FLOOD concurrent `/edit` calls with a 12 MP photo, first
each from a fresh client (config, info and upload each time), then all from one
client; a normal visitor from another address runs one job alone, then again
in the middle of each flood. Prints the visitor's seconds, the app's CPU
seconds, what the flood got, and the app's peak memory.

    .venv/bin/python -m bench.flood
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError, ValidationError

from bench.app_load import free_port, memory_kb
from bench.common import table
from bench.photo import write_phone_photo
from components.ui import copy

ROOT = Path(__file__).resolve().parents[1]
FLOOD = 60
JOB_SECONDS = 3.0
VISITOR, ATTACKER = "198.51.100.5", "203.0.113.66"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _call(url: str, image: str, address: str, client: Client | None = None) -> tuple[str, float]:
    """One /edit call: from a fresh client (as a script that opens one per call), or from a shared one."""
    started = time.monotonic()
    try:
        client = client or Client(url, verbose=False, headers={"x-forwarded-for": address})
        _, status = client.predict(prompt="x", images=[handle_file(image)], mask=None, api_name="/edit")
        outcome = status["status"]
    except (AppError, ValidationError) as exc:
        outcome = "refused" if "jobs running already" in str(exc) else f"error: {str(exc)[:60]}"
    except Exception as exc:  # noqa: BLE001 - what a script sees when the app turns it away before Gradio
        response = getattr(exc, "response", None)
        status = response.status_code if response is not None else None
        outcome = "turned away" if status == 429 or "TooManyRequests" in type(exc).__name__ \
            or copy.TOO_MANY_REQUESTS[:40] in str(exc) \
            else f"error: {type(exc).__name__} {str(exc)[:80]}"
    return outcome, time.monotonic() - started


def _start_app(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "OUTPUT_DIR": str(folder / "out"), "TRUSTED_PROXY": "1", "EMULATOR_LATENCY": str(JOB_SECONDS),
           "EMULATOR_QUEUE_SECONDS": "0", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("SEGMIND_API_KEY", None)
    app = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return app, url
        except requests.ConnectionError:
            pass
        if app.poll() is not None:
            raise RuntimeError("the app exited while starting")
        time.sleep(0.2)  # a benchmark waiting for a server to listen, not a test synchronising on work
    app.kill()
    raise RuntimeError("the app did not start within 120 s")


def run() -> str:
    folder = Path(tempfile.mkdtemp(prefix="bench-flood-"))
    image = str(write_phone_photo(folder / "in.jpg"))  # a 12 MP phone photo: what costs the server most to open
    app, url = _start_app(folder)
    try:
        _, warm = _call(url, image, VISITOR)   # the first call pays for imports and the emulator's start
        cpu_before = _cpu_seconds(app.pid)
        _, alone = _call(url, image, VISITOR)
        cpu_alone = _cpu_seconds(app.pid) - cpu_before
        floods = {}
        for kind in ("a fresh client per call", "one client"):
            shared = Client(url, verbose=False, headers={"x-forwarded-for": ATTACKER}) if kind == "one client" \
                else None
            with ThreadPoolExecutor(FLOOD + 1) as workers:
                flood = [workers.submit(_call, url, image, ATTACKER, shared) for _ in range(FLOOD)]
                time.sleep(0.5)  # the visitor arrives in the middle of the flood
                visitor = workers.submit(_call, url, image, VISITOR)
                outcomes = [f.result() for f in flood]
                _, during = visitor.result()
            floods[kind] = (outcomes, during, _cpu_seconds(app.pid))
            time.sleep(2 * JOB_SECONDS)  # the flood's admitted jobs end, and its address's bucket refills
        peak = memory_kb(app.pid)["VmHWM"] / 1024
    finally:
        app.terminate()
        app.wait(30)
    rows = [("visitor alone", f"{alone:.1f}", f"{cpu_alone:.2f}", "", "", "", "", f"{peak:.0f}")]
    cpu_before = cpu_before + cpu_alone
    for kind, (outcomes, during, cpu_after) in floods.items():
        others = sorted({o for o, _ in outcomes if o not in ("COMPLETED", "refused", "turned away")})
        if others:
            print(f"other outcomes ({kind}):", others)
        count = {name: sum(o == name for o, _ in outcomes) for name in ("COMPLETED", "refused", "turned away")}
        slowest = max((s for o, s in outcomes if o in ("refused", "turned away")), default=float("nan"))
        rows.append((f"visitor during {FLOOD} /edit calls from one address, {kind}", f"{during:.1f}",
                     f"{cpu_after - cpu_before:.2f}", count["COMPLETED"], count["refused"], count["turned away"],
                     f"{slowest:.1f}", ""))
        cpu_before = cpu_after
    return table(["case", "visitor's seconds", "app CPU seconds", "flood completed", "refused at its share",
                  "turned away (429)", "slowest refusal (s)", "app peak RSS (MB)"], rows)

if __name__ == "__main__":
    print(run())
