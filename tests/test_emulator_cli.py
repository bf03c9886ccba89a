"""The emulator runs alone: `python -m components.emulator --port ... --key ...`, every option reachable."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest
import requests

from components.api import errors
from components.api.client import SegmindClient
from components.api.config import ClientSettings
from components.emulator.__main__ import parser
from tests.conftest import FAST_RETRY


@contextmanager
def standalone(*options: str):
    """The emulator in its own process; yields (API URL, output URL)."""
    process = subprocess.Popen([sys.executable, "-m", "components.emulator", "--port", "0", "--key", "cli-key",
                                *options], stdout=subprocess.PIPE, text=True)
    try:
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith("Segmind emulator listening on http://127.0.0.1:")
        assert second.startswith("Output files served from http://127.0.0.1:")
        assert "cli-key" not in first + second
        yield first.rsplit(" ", 1)[1].strip(), second.rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(5)


def test_standalone_emulator_prints_its_urls_and_speaks_the_real_contract():
    with standalone("--latency", "0.1", "--queue", "0") as (url, output_url):
        assert output_url != url
        answer = requests.post(f"{url}/v2/gpt-image-1-edit", json={}, timeout=5)
        assert answer.status_code == 401
        # Parameters are checked late: the submit is accepted, and the job then fails in Segmind's words.
        accepted = requests.post(f"{url}/v2/gpt-image-1-edit", json={"prompt": "x", "image_urls": ["ftp://x"]},
                                 headers={"x-api-key": "cli-key"}, timeout=5)
        assert accepted.status_code == 200 and accepted.json()["status"] == "QUEUED"
        client = SegmindClient(ClientSettings(api_base=url, storage_base=url, poll_interval=0.05, deadline=20),
                               api_key="cli-key", retry=FAST_RETRY)
        with pytest.raises(errors.InvalidParameterError) as caught:
            list(client.job(accepted.json()["request_id"]).events())
        assert caught.value.param == "image_urls" and "Nothing was billed" in str(caught.value)
        client.close()
        wrong_type = requests.post(f"{url}/v2/gpt-image-1-edit", data="prompt=x",
                                   headers={"x-api-key": "cli-key", "Content-Type": "text/plain"}, timeout=5)
        assert wrong_type.status_code == 406 and wrong_type.headers["Content-Type"].startswith("text/plain")


def test_strict_and_live_configuration_from_the_command_line_and_over_http():
    with standalone("--strict", "--rate-limit", "1", "--rate-limit-window", "600") as (url, _):
        key = {"x-api-key": "cli-key"}
        bad = requests.post(f"{url}/v2/gpt-image-1-edit", json={"prompt": "x", "image_urls": ["ftp://x"]},
                            headers=key, timeout=5)
        assert bad.status_code == 400 and "image_urls" in bad.json()["error"]
        limited = requests.post(f"{url}/v2/gpt-image-1-edit", json={}, headers=key, timeout=5)
        assert limited.status_code == 429 and "x-rate-limit-reset-at-utc" in limited.headers
        assert "Retry-After" not in limited.headers
        # The same options change over HTTP while it runs.
        changed = requests.post(f"{url}/_emulator/config", headers=key, timeout=5,
                                json={"strict": False, "rate_limit": 0, "output_shape": "json_string"})
        assert changed.status_code == 200
        late = requests.post(f"{url}/v2/gpt-image-1-edit", json={"prompt": "x", "image_urls": ["ftp://x"]},
                             headers=key, timeout=5)
        assert late.status_code == 200
        refused = requests.post(f"{url}/_emulator/config", json={"output_shape": "carrier-pigeon"}, headers=key,
                                timeout=5)
        assert refused.status_code == 400


def test_every_emulator_option_has_a_command_line_flag():
    """The CLI offers each option of Emulator() that a shell can give (a clock or a latency function can't)."""
    import inspect

    from components.emulator import Emulator
    flags = {action.dest for action in parser()._actions}
    aliases = {"queue_seconds": "queue", "processing_seconds": "latency", "expiry_seconds": "expiry",
               "retired_models": "retired", "rate_limit_polls": "rate_limit_ignores_polls",
               "output_retention_seconds": "output_retention"}
    not_for_a_shell = {"latency", "clock", "models", "record_keys"}
    options = set(inspect.signature(Emulator.__init__).parameters) - {"self"} - not_for_a_shell
    assert {aliases.get(name, name) for name in options} <= flags
