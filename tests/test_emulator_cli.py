"""The emulator runs alone: `python -m components.emulator --port ... --key ...`."""

from __future__ import annotations

import subprocess
import sys

import requests



def test_standalone_emulator_prints_its_url_and_speaks_the_contract():
    process = subprocess.Popen(
        [sys.executable, "-m", "components.emulator", "--port", "0", "--key", "cli-key", "--latency", "0.1"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Segmind emulator listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1].strip()
        assert requests.post(f"{url}/v2/gpt-image-1-edit", json={}, timeout=5).status_code == 401
        bad = requests.post(f"{url}/v2/gpt-image-1-edit", json={"prompt": "x", "image_urls": ["ftp://x"]},
                            headers={"x-api-key": "cli-key"}, timeout=5)
        assert bad.status_code == 400 and "image_urls" in bad.json()["error"]
        wrong_type = requests.post(f"{url}/v2/gpt-image-1-edit", data="prompt=x",
                                   headers={"x-api-key": "cli-key", "Content-Type": "text/plain"}, timeout=5)
        assert wrong_type.status_code == 406
        assert "cli-key" not in line
    finally:
        process.terminate()
        process.wait(5)
