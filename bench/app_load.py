"""Through the app: concurrent /edit jobs, the app's memory, and cold start.

The app runs as `python app.py` in a subprocess, as a person would start it,
pointed at the emulator running in a process of its own (5 s jobs) as if it were
Segmind; the jobs come from gradio_client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from gradio_client import Client, handle_file

from bench.common import percentile, table

ROOT = Path(__file__).resolve().parent.parent
JOB_SECONDS = 5.0
KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_emulator() -> tuple[subprocess.Popen, str]:
    """The emulator in a process of its own, so its rendering is not counted as the app's work."""
    process = subprocess.Popen(
        [sys.executable, "-m", "components.emulator", "--port", "0", "--key", KEY, "--queue", "0",
         "--latency", str(JOB_SECONDS)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().rsplit(" ", 1)[1].strip()


def start_app(output_dir: str, api: str) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
           "OUTPUT_DIR": output_dir, "SEGMIND_API_KEY": KEY, "SEGMIND_API_BASE": api,
           "SEGMIND_STORAGE_BASE": api}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return process, url, time.monotonic() - started
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise RuntimeError("the app exited before answering")
        time.sleep(0.05)


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def run() -> str:
    emulator, api = start_emulator()
    with tempfile.TemporaryDirectory() as folder:
        image = Path(folder) / "input.png"
        image.write_bytes((ROOT / "examples" / "mug.png").read_bytes())
        cold = []
        for _ in range(3):
            process, _, seconds = start_app(folder, api)
            cold.append(seconds)
            process.terminate()
            process.wait(10)
        process, url, _ = start_app(folder, api)
        try:
            rows = []
            for wave, count in enumerate([1, 8, 32, 32]):
                # Sessions are made before timing. Plain HTTP on loopback: skipping certificate loading
                # keeps gradio_client (which builds an SSL context per request) from being the bottleneck.
                clients = [Client(url, verbose=False, ssl_verify=False) for _ in range(count)]
                started = time.monotonic()
                with ThreadPoolExecutor(count) as pool:
                    results = list(pool.map(lambda c: c.predict(prompt="bench", images=[handle_file(str(image))],
                                                                mask=None, api_name="/edit"), clients))
                wall = time.monotonic() - started
                done = sum(1 for _, status in results if status["status"] == "COMPLETED")
                inside = max(status["elapsed"] for _, status in results)
                memory = memory_kb(process.pid)
                label = f"{count}" + (" (again, after 41 earlier jobs)" if wave == 3 else "")
                rows.append([label, done, wall, wall / JOB_SECONDS, inside, memory["VmRSS"] // 1024,
                             memory["VmHWM"] // 1024])
        finally:
            process.terminate()
            process.wait(10)
            emulator.terminate()
            emulator.wait(10)
    concurrency = table(["concurrent /edit jobs", "completed", "wall time (s)", "in job lengths",
                         "slowest job inside the app (s)", "app RSS after (MB)", "app peak RSS (MB)"], rows)
    start = table(["cold start: `python app.py` until the page answers", "p50 (s)", "max (s)"],
                  [["3 starts", percentile(cold, 0.5), max(cold)]])
    note = (f"Each job takes {JOB_SECONDS:.0f} s on the emulator. *Wall time* is seen by the load generator "
            "(gradio_client threads in one process, on the same 2 cores as the app and the emulator); *inside the "
            "app* is from the job's start in the app to its result in hand, the app's own share.")
    return f"{note}\n\n{concurrency}\n\n{start}"


if __name__ == "__main__":
    print(run())
