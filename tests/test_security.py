"""Keys never leak; bad input is refused before sending; public-Space limits hold; faults leave nothing behind."""

from __future__ import annotations

import io
import json
import logging
import os
import random
import tempfile
import threading
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from components.api import errors
from components.api.schema import DEFAULT_MODEL
from components.app.backend import Backend
from components.app.refusals import HourlyQuotaUsed, SessionQuotaUsed
from components.app.status import RunStatus
from components.media.images import EditRequest, prepare
from components.ui.copy import banner, error_message
from components.api.config import Secret, ClientSettings
from components.emulator import Emulator, FaultKind, Route
from components.app.history import HistoryStore
from components.app.service import EditService
from components.app.quota import DeployerQuota
from components.ui import build_app, launch_options
from tests.conftest import wait_until, owner_token, FAST_RETRY, mask_bytes, open_sockets, png_bytes

SENTINEL = "sk-SENTINEL-5e1d0c7b9a"
VISITOR_SENTINEL = "sk-VISITOR-SENTINEL-8c2f"
OPTIONS = ["auto", "auto", "opaque", 100, "png", "auto"]
CUSTOM_SIZE = [None, None]  # the custom width and height boxes, between the options and the deadline


def launch(backend: Backend, history_root: Path):
    history = HistoryStore(history_root)
    demo = build_app(backend, history=history, service=EditService(backend, history))
    _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    return demo, url


def every_file_under(*roots: Path) -> list[Path]:
    return [p for root in roots for p in Path(root).rglob("*") if p.is_file()]


def test_the_deployer_key_appears_nowhere_a_visitor_or_a_log_could_see(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes((64, 48)))
    mask = tmp_path / "mask.png"
    mask.write_bytes(mask_bytes((64, 48)))
    seen: list[str] = []
    with Emulator(key=SENTINEL, queue_seconds=0.02, processing_seconds=0.1, record_keys=True) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret(SENTINEL),
                            poll_interval=0.02, deadline=20)
        demo, url = launch(Backend(settings), tmp_path / "history")
        try:
            client = Client(url, verbose=False)
            seen.append(json.dumps(client.predict(prompt="ok", images=[handle_file(str(image))],
                                                  mask=handle_file(str(mask)), api_name="/edit"), default=str))
            editor = {"background": None, "layers": [], "composite": None}
            # /run_ui's inputs: the ticket, the owner, then the form (model first) as `Form.kwargs` orders it,
            # then keeping the original outside the mask (off), its feather, and one take.
            form = ["ticket-s", owner_token(demo, "owner-s"), DEFAULT_MODEL, "ui run", handle_file(str(image)), editor,
                    None, "", None, *OPTIONS, *CUSTOM_SIZE, 20, ""]
            seen.append(json.dumps(client.predict(*form, False, 0, 1, api_name="/run_ui"), default=str))
            seen.append(json.dumps(client.predict(owner_token(demo, "owner-s"), 0, "quality", ["low", "high"], "",
                                                  "none", [], "", 2, "", "", "", "", *form[2:], False, 0,
                                                  api_name="/sweep"),
                                   default=str))
            seen.append(json.dumps(client.predict(*form[2:], api_name="/show_code"), default=str))
            archive = client.predict(owner_token(demo, "owner-s"), api_name="/download_all")
            seen.append(Path(archive["value"] if isinstance(archive, dict) else archive).read_bytes().decode("latin-1"))
            # Boards are made to be passed around: the sweep's, and one of every run this browser may name.
            every_run, token = [record.run_id for record in demo.history.all_records()], owner_token(demo, "owner-s")
            for board in (client.predict(token, api_name="/sweep_board_html"),
                          client.predict(token, every_run, "selection", "", api_name="/board_html"),
                          client.predict(token, every_run, "selection", "", api_name="/board_png")):
                seen.append(Path(board["value"] if isinstance(board, dict) else board).read_bytes().decode("latin-1"))
            # Every error path, including a server that echoes the key back in its error.
            for route, fault in [(Route.SUBMIT, dict(status=401, detail=f"bad key {SENTINEL}")),
                                 (Route.SUBMIT, dict(status=406)), (Route.SUBMIT, dict(status=410)),
                                 (Route.SUBMIT, dict(status=400, detail=f"echo {SENTINEL}")),
                                 (Route.SUBMIT, dict(kind=FaultKind.DROP)),
                                 (Route.STATUS, dict(status=404, detail=f"gone {SENTINEL}"))]:
                emulator.inject(route, **fault)
                with pytest.raises(AppError) as caught:
                    client.predict(prompt="fails", images=[handle_file(str(image))], mask=None, api_name="/edit")
                seen.append(str(caught.value))
            with pytest.raises(AppError) as caught:
                client.predict(prompt="#fail", images=[handle_file(str(image))], mask=None, api_name="/edit")
            seen.append(str(caught.value))
            import requests
            seen += [requests.get(url, timeout=10).text, requests.get(url + "config", timeout=10).text,
                     requests.get(url + "gradio_api/info", timeout=10).text]
            assert demo.service.wait_idle(20)
        finally:
            demo.close()
        assert set(emulator.received_keys) == {SENTINEL}  # it was used, as the header
    seen.append(caplog.text)
    seen += [p.read_bytes().decode("latin-1") for p in every_file_under(tmp_path / "history")]
    assert "<redacted>" in caplog.text  # request logs show the header, masked
    leaks = [text[max(0, text.find(SENTINEL) - 80):text.find(SENTINEL) + 40] for text in seen if SENTINEL in text]
    assert leaks == []


def test_a_visitors_key_is_used_for_them_and_never_shown_stored_or_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes((64, 48)))
    with Emulator(key=VISITOR_SENTINEL, queue_seconds=0.02, processing_seconds=0.1, record_keys=True) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, poll_interval=0.02)
        backend = Backend(settings, emulator=None)  # no deployer key: visitors bring theirs
        demo, url = launch(backend, tmp_path / "history")
        try:
            editor = {"background": None, "layers": [], "composite": None}
            typed = Client(url, verbose=False).predict("ticket-v", owner_token(demo, "owner-v"), DEFAULT_MODEL, "typed",
                                                       handle_file(str(image)), editor, None, "", None, *OPTIONS,
                                                       *CUSTOM_SIZE, 20, VISITOR_SENTINEL, False, 0, 1,
                                                       api_name="/run_ui")
            header = Client(url, verbose=False, headers={"x-api-key": VISITOR_SENTINEL}).predict(
                prompt="header", images=[handle_file(str(image))], mask=None, api_name="/edit")
            assert demo.service.wait_idle(20)
        finally:
            demo.close()
        assert set(emulator.received_keys) == {VISITOR_SENTINEL}
    texts = [json.dumps(typed, default=str), json.dumps(header, default=str), caplog.text]
    texts += [p.read_bytes().decode("latin-1") for p in every_file_under(tmp_path / "history")]
    assert not [t for t in texts if VISITOR_SENTINEL in t]


def test_two_hundred_jobs_with_faults_leave_no_threads_sockets_or_temporary_files(tmp_path):
    rng = random.Random(11)
    threads_before = threading.active_count()
    sockets_before = open_sockets()
    temporary_before = set(os.listdir(tempfile.gettempdir()))
    faults = [None, (Route.STATUS, dict(status=429, headers={"Retry-After": "0"})),
              (Route.STATUS, dict(status=500)), (Route.STATUS, dict(status=502)), (Route.STATUS, dict(status=504)),
              (Route.STATUS, dict(kind=FaultKind.DROP)), (Route.STATUS, dict(kind=FaultKind.NON_JSON)),
              (Route.RESULT, dict(status=503)), (Route.UPLOAD, dict(status=500)),
              (Route.SUBMIT, dict(status=429, headers={"Retry-After": "0"})), (Route.SUBMIT, dict(kind=FaultKind.DROP)),
              (Route.STATUS, dict(kind=FaultKind.SLOW, delay=0.4))]
    outcomes: dict[str, int] = {}
    with Emulator(key="soak", queue_seconds=0.0, processing_seconds=0.02) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret("soak"),
                            poll_interval=0.01, read_timeout=0.2, deadline=20)
        backend = Backend(settings)
        manager = EditService(backend, HistoryStore(tmp_path / "history"))
        for batch in range(20):
            for _ in range(10):
                fault = rng.choice(faults)
                if fault:
                    emulator.inject(fault[0], **fault[1])
            runs = [manager.start_edit(EditRequest(f"soak {batch}-{i}", [png_bytes(color=(batch, i, 7))]), owner="soak")
                    for i in range(10)]
            assert manager.wait_idle(60)
            for run in runs:
                outcomes[run.record.status.value] = outcomes.get(run.record.status.value, 0) + 1
                if run.record.status is RunStatus.FAILED and not isinstance(run.error, errors.SubmitOutcomeUnknownError):
                    assert run.record.request_id or isinstance(run.error, errors.APIConnectionError)
        backend.close()
    assert sum(outcomes.values()) == 200 and outcomes.get("COMPLETED", 0) >= 150
    assert wait_until(lambda: threading.active_count() <= threads_before), [t.name for t in threading.enumerate()]
    assert wait_until(lambda: open_sockets() <= sockets_before), (open_sockets(), sockets_before)
    assert set(os.listdir(tempfile.gettempdir())) - temporary_before == set(), outcomes


# Bad input ---------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_before_sending(client, emulator):
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG")  # 400 Mpx in a few kB
    with pytest.raises(errors.ValidationError, match="at most 50 megapixels"):
        prepare(EditRequest("x", [bomb.getvalue()]))
    assert sum(emulator.calls.values()) == 0


def test_a_text_file_named_png_is_refused(client, emulator, tmp_path):
    fake = tmp_path / "holiday.png"
    fake.write_text("definitely not an image")
    with pytest.raises(errors.ValidationError, match="not an image"):
        prepare(EditRequest("x", [str(fake)]))
    assert sum(emulator.calls.values()) == 0


@pytest.mark.parametrize("target", ["http://127.0.0.1/x.png", "http://10.1.2.3/x.png", "http://[::1]/x.png",
                                    "http://169.254.169.254/latest/meta-data", "http://192.168.0.9/x.png",
                                    "file:///etc/passwd"])
def test_downloads_refuse_private_and_local_addresses_when_the_api_is_public(target):
    public = make_client_for("https://api.segmind.com")
    with pytest.raises(errors.OutputError):
        public.check_download_target(target)
    public.check_download_target("https://93.184.216.34/output.png")  # a public address is allowed


def test_a_local_api_may_serve_local_outputs(client, emulator):
    client.check_download_target(emulator.url + "/outputs/x.png")


def make_client_for(api_base: str):
    from components.api.client import SegmindClient
    return SegmindClient(ClientSettings(api_base=api_base, storage_base=api_base), api_key="k", retry=FAST_RETRY)


# Public Spaces -----------------------------------------------------------------------


def test_deployer_caps_per_session_and_per_hour():
    quota = DeployerQuota(per_session=2, per_hour=3)
    quota.take("a")
    quota.take("a")
    with pytest.raises(SessionQuotaUsed) as caught:
        quota.take("a")
    assert "2 jobs" in error_message(caught.value)
    quota.take("b")
    with pytest.raises(HourlyQuotaUsed) as caught:
        quota.take("c")
    assert "this hour" in error_message(caught.value)
    with pytest.raises(HourlyQuotaUsed):
        DeployerQuota(per_hour=2).take("d", jobs=3)  # a sweep counts every variant


def test_caps_and_required_keys_through_the_app(tmp_path):
    image = tmp_path / "in.png"
    image.write_bytes(png_bytes((64, 48)))
    with Emulator(key="deployer", queue_seconds=0.0, processing_seconds=0.05) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret("deployer"),
                            poll_interval=0.02)
        capped = Backend(settings, quota=DeployerQuota(per_session=1))
        demo, url = launch(capped, tmp_path / "capped")
        try:
            client = Client(url, verbose=False)
            client.predict(prompt="one", images=[handle_file(str(image))], mask=None, api_name="/edit")
            with pytest.raises(AppError, match="used its 1 jobs"):
                client.predict(prompt="two", images=[handle_file(str(image))], mask=None, api_name="/edit")
        finally:
            demo.close()
        required = Backend(settings, quota=DeployerQuota(require_visitor_keys=True))
        demo, url = launch(required, tmp_path / "required")
        try:
            with pytest.raises(AppError, match="own Segmind key"):
                Client(url, verbose=False).predict(prompt="x", images=[handle_file(str(image))], mask=None,
                                                   api_name="/edit")
            emulator.key = "visitor"
            _, status = Client(url, verbose=False, headers={"x-api-key": "visitor"}).predict(
                prompt="x", images=[handle_file(str(image))], mask=None, api_name="/edit")
            assert status["status"] == "COMPLETED"
        finally:
            demo.close()
    assert "own Segmind key" in banner(required)


def test_the_gradio_upload_limit_is_the_models(tmp_path):
    options = launch_options()
    assert options["max_file_size"] == "50mb"


def test_a_paid_result_that_failed_to_download_is_fetched_later_by_resume(tmp_path):
    with Emulator(key="k", queue_seconds=0.0, processing_seconds=0.05) as emulator:
        settings = ClientSettings(api_base=emulator.url, storage_base=emulator.url, api_key=Secret("k"), poll_interval=0.02)
        backend = Backend(settings)
        manager = EditService(backend, HistoryStore(tmp_path))
        emulator.inject(Route.FILE, status=503, times=50)
        failed = manager.start_edit(EditRequest("x", [png_bytes()]), owner="o")
        assert manager.wait_idle(20)
        assert failed.record.status is RunStatus.FAILED and failed.record.request_id
        assert "its request id" in failed.record.error and failed.record.request_id in failed.record.error
        emulator.faults.clear()
        fetched = manager.resume(failed.record.request_id, owner="o")
        assert manager.wait_idle(20)
        assert fetched.record.status is RunStatus.COMPLETED and fetched.record.result
        backend.close()
