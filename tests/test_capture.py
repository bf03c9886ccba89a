"""Issue #12, point 4: capture mode writes every exchange without the key; the emulator replays its shapes."""

from __future__ import annotations

import base64
import json
import secrets
import stat

import pytest

from components.api import errors
from components.api.capture import CAPTURE_FORMAT, TRUNCATED_MARK
from components.api.schema import JobState
from components.app.settings import AppSettings
from components.emulator import Emulator, OutputShape, ReplayTemplates, Route
from components.emulator import replay as replay_module
from tests.conftest import edit_inputs, make_client, mask_bytes, png_bytes

SECRET = "sk-CAPTURE-Sentinel-93c1f7"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def key_forms(key: str) -> list[str]:
    return [key, key.upper(), key.lower(), key[::-1], key[::-1].upper(), key[::-1].lower()]


def test_a_capture_holds_every_exchange_and_no_key_in_any_form(tmp_path):
    capture = tmp_path / "capture.jsonl"
    with Emulator(key=SECRET, queue_seconds=0.02, processing_seconds=0.05, output_shape=OutputShape.BASE64) as emu:
        client = make_client(emu, key=SECRET, capture=capture)
        events = list(client.stream(edit_inputs("pink sky", [png_bytes((300, 200))], mask=mask_bytes((300, 200)))))
        assert events[-1].state is JobState.COMPLETED
        client.run_sync(edit_inputs("v1 run", [png_bytes()]))
        with pytest.raises(errors.ContentBlockedError):
            list(client.stream(edit_inputs("#fail", [png_bytes()])))
        # A server that echoes the key back, in a body and in headers, in several letter cases.
        echo = {"x-echo": SECRET.upper(), "x-api-key": SECRET, "Set-Cookie": f"session={SECRET}",
                "x-auth-token": "t0ken"}
        emu.inject(Route.SUBMIT, status=400, detail=f"bad key {SECRET} / {SECRET.lower()} / {SECRET[::-1]}",
                   headers=echo)
        with pytest.raises(errors.BadRequestError):
            list(client.stream(edit_inputs("echo", [png_bytes()])))
        client.close()
    text = capture.read_text()
    assert [form for form in key_forms(SECRET) if form in text] == []
    records = lines(capture)
    header, exchanges = records[0], records[1:]
    assert header["type"] == "capture" and header["format"] == CAPTURE_FORMAT
    assert "truncated" in header["note"] and "removed" in header["note"]
    assert stat.S_IMODE(capture.stat().st_mode) == 0o600
    # Each call of the run is there: upload, submit, polls, result, v1, the echoing error.
    urls = [(r["method"], r["url"].replace(emu.url, "").split("/")[1]) for r in exchanges]
    assert ("POST", "upload-asset") in urls and ("POST", "v2") in urls and ("GET", "v2") in urls
    assert ("POST", "v1") in urls
    for record in exchanges:
        for side in (record["request"], record.get("response") or {}):
            names = {name.lower() for name in side.get("headers", {})}
            assert not names & {"x-api-key", "set-cookie", "x-auth-token", "authorization", "cookie"}
    submit = next(r for r in exchanges if r["method"] == "POST" and "/v2/" in r["url"])
    assert "x-api-key" in submit["request"]["removed_headers"] and submit["response"]["status"] == 200
    assert set(submit["response"]["body"]["json"]) >= {"request_id", "status_url", "response_url", "poll_url"}
    echoed = [r for r in exchanges if r.get("response", {}).get("status") == 400][0]
    assert echoed["response"]["body"]["json"]["error"].count("<redacted>") == 3
    assert echoed["response"]["headers"]["x-echo"] == "<redacted>"
    assert {"x-api-key", "set-cookie", "x-auth-token"} <= set(echoed["response"]["removed_headers"])
    # Long base64 is shortened, and says so with its length; v1's image bytes are described, not kept.
    upload = next(r for r in exchanges if r["url"].endswith("/upload-asset"))
    sent = upload["request"]["json"]["data_urls"][0]
    assert sent.startswith("data:image/png;base64,") and TRUNCATED_MARK in sent and sent.endswith("characters]")
    result = next(r for r in exchanges if r["method"] == "GET" and r["response"]["body"].get("json", {}).get("output"))
    assert TRUNCATED_MARK in result["response"]["body"]["json"]["output"]
    v1 = next(r for r in exchanges if "/v1/" in r["url"])
    assert v1["response"]["body"]["kind"] == "bytes" and v1["response"]["body"]["length"] > 1000
    assert v1["response"]["headers"]["x-request-id"] and v1["response"]["headers"]["x-cost"]
    assert len(text) < 100_000  # images are not kept whole


def test_a_short_key_and_a_key_with_json_characters_are_scrubbed_too(tmp_path):
    for key in ('ab"c\\d', "sk_2"):
        capture = tmp_path / f"capture-{len(key)}.jsonl"
        with Emulator(key=key, queue_seconds=0.0, processing_seconds=0.02) as emu:
            client = make_client(emu, key=key, capture=capture)
            emu.inject(Route.SUBMIT, status=400, detail=f"echo {key}")
            with pytest.raises(errors.BadRequestError):
                list(client.stream(edit_inputs("x", [png_bytes()])))
            client.close()
        text = capture.read_text()
        assert [form for form in key_forms(key) if form in text] == []
        assert [form for form in key_forms(json.dumps(key)[1:-1]) if form in text] == []
        assert all(json.loads(line) for line in text.splitlines())


def test_segmind_capture_is_read_from_the_environment_into_every_client(tmp_path):
    settings = AppSettings.from_env({"SEGMIND_CAPTURE": str(tmp_path / "run.jsonl")})
    assert settings.capture == tmp_path / "run.jsonl" and settings.client.capture == tmp_path / "run.jsonl"
    assert AppSettings.from_env({}).client.capture is None


def test_replay_answers_in_the_shapes_of_a_captured_run(tmp_path):
    # First "real" run: a service whose answers differ from the emulator's default shapes.
    capture = tmp_path / "real.jsonl"
    with Emulator(key=SECRET, queue_seconds=0.02, processing_seconds=0.05,
                  output_shape=OutputShape.JSON_STRING) as real:
        client = make_client(real, key=SECRET, capture=capture)
        assert list(client.stream(edit_inputs("x", [png_bytes()])))[-1].state is JobState.COMPLETED
        client.close()
    templates = ReplayTemplates.load(capture)
    assert templates.submit is not None and "COMPLETED" in templates.result
    # Replayed: the default emulator now answers with a JSON-string output, as the capture did.
    with Emulator(key="other", queue_seconds=0.02, processing_seconds=0.05, replay=capture) as emu:
        client = make_client(emu, key="other")
        result = list(client.stream(edit_inputs("y", [png_bytes()])))[-1].result
        body = result.body
        assert isinstance(body["output"], str) and json.loads(body["output"]) == [result.source_url]
        assert result.source_url.startswith(emu.output_url) and result.request_id in emu.jobs


def test_replay_keeps_the_captured_key_set_and_values_it_does_not_know(tmp_path):
    """A hand-written capture, as a real one may look: extra keys, no poll_url, a list output, nested metrics."""
    captured_id = "cap-0123"
    real = "https://api.segmind.com"
    exchanges = [
        {"method": "POST", "url": f"{real}/v2/gpt-image-1-edit", "status": 200,
         "json": {"request_id": captured_id, "status": "QUEUED", "status_url": f"{real}/v2/requests/{captured_id}/status",
                  "response_url": f"{real}/v2/requests/{captured_id}", "queue_position": 3}},
        {"method": "GET", "url": f"{real}/v2/requests/{captured_id}/status", "status": 200,
         "json": {"status": "PROCESSING", "metrics": {}, "logs": f"worker took {captured_id}"}},
        {"method": "GET", "url": f"{real}/v2/requests/{captured_id}", "status": 200,
         "json": {"status": "COMPLETED", "output": ["https://segmind-output.s3.amazonaws.com/x.png"],
                  "metrics": {"inference_time": 50.2, "cost": 0.14, "gpu": "A100"}, "seed": 42}},
    ]
    capture = tmp_path / "hand.jsonl"
    capture.write_text("\n".join(json.dumps({"type": "exchange", "method": e["method"], "url": e["url"],
                                             "response": {"status": e["status"], "body": {"kind": "json",
                                                                                          "json": e["json"]}}})
                                 for e in exchanges) + "\nnot json\n")
    with Emulator(key=SECRET, queue_seconds=0.3, processing_seconds=0.3, replay=capture) as emu:
        client = make_client(emu, key=SECRET)
        job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
        assert set(job.submit_body) == {"request_id", "status", "status_url", "response_url", "queue_position"}
        assert job.submit_body["queue_position"] == 3 and job.status_url.startswith(emu.url)
        events = list(job.events())
        processing = [e for e in events if e.state is JobState.PROCESSING]
        assert processing  # the captured PROCESSING body (no request_id, a `logs` line) still reads as a state
        state, body = job.status()
        assert state is JobState.COMPLETED  # no COMPLETED status in the capture: the emulator's own shape
        result = events[-1].result
        assert set(result.body) == {"status", "output", "metrics", "seed"}
        assert result.body["output"] == [result.source_url] and result.body["metrics"]["gpu"] == "A100"
        assert result.body["metrics"]["cost"] == emu.jobs[job.request_id].cost
        assert captured_id not in json.dumps(result.body)


def test_replay_reads_the_capture_truncation_mark_as_written_by_the_client():
    assert replay_module.TRUNCATED_MARK == TRUNCATED_MARK
    data = png_bytes()
    output = replay_module.Output("http://127.0.0.1:1/outputs/x.png", data, "image/png")
    wrapped = replay_module._output_like("iVBORw0KGgo\nAAAA" + TRUNCATED_MARK + "9000 characters]", output)
    assert "\n" in wrapped and base64.b64decode("".join(wrapped.split())) == data
    assert replay_module._output_like("data:image/png;base64,iVBO" + TRUNCATED_MARK + "9 characters]",
                                      output).startswith("data:image/png;base64,")


def test_a_capture_holds_no_piece_of_the_key_cut_short_or_in_another_case(tmp_path):
    """Issue #13: the capture goes through the shared scrubber, so truncated echoes are caught too."""
    from components.api.scrub import MIN_LEAK
    key = "SG_" + secrets.token_hex(16)
    capture = tmp_path / "capture.jsonl"
    with Emulator(key=key, queue_seconds=0.0, processing_seconds=0.02) as emu:
        client = make_client(emu, key=key, capture=capture)
        emu.inject(Route.SUBMIT, status=400, detail=f"bad key {key.upper()[:12]} / {key[::-1][:10]}",
                   headers={"x-echo": key[-10:].upper(), "x-trace": f"id=1;k={key[5:19]}"})
        with pytest.raises(errors.BadRequestError):
            list(client.stream(edit_inputs("echo", [png_bytes()])))
        client.close()
    text = capture.read_text().lower()
    pieces = {form[i:i + MIN_LEAK].lower() for form in (key, key[::-1]) for i in range(len(form) - MIN_LEAK + 1)}
    assert [piece for piece in pieces if piece in text] == []
    records = lines(capture)
    assert records[0]["format"] == CAPTURE_FORMAT
    echoed = [r for r in records[1:] if r.get("response", {}).get("status") == 400][0]
    assert echoed["response"]["body"]["json"]["error"] == "bad key <redacted> / <redacted>"
    assert echoed["response"]["headers"]["x-echo"] == "<redacted>"
    assert echoed["response"]["headers"]["x-trace"] == "id=1;k=<redacted>"
