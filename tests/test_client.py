"""The Segmind client against the emulator, over real HTTP."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from components.api import errors
from components.api.config import UploadMode
from components.emulator import FaultKind, Route
from components.api.schema import JobState
from components.api.transport import parse_retry_after
from tests.conftest import edit_inputs, KEY, make_client, mask_bytes, open_sockets, png_bytes


def run(client, request=None, **follow):
    request = request or edit_inputs("paint the sky pink", [png_bytes()])
    return list(client.stream(request, **follow))


def test_v2_flow_streams_typed_states_and_ends_with_the_image(client, emulator):
    events = run(client, edit_inputs("pink sky", [png_bytes((300, 200))], options={"output_format": "webp"}))
    states = [e.state for e in events]
    assert states[0] is JobState.QUEUED and states[-1] is JobState.COMPLETED
    assert JobState.PROCESSING in states
    assert [e.polls for e in events] == sorted(e.polls for e in events)
    assert all(b.elapsed >= a.elapsed for a, b in zip(events, events[1:]))
    final = events[-1]
    assert final.request_id in emulator.jobs
    result = final.result
    assert result.media_type == "image/webp" and (result.width, result.height) == (1536, 1024)
    assert Image.open(io.BytesIO(result.image)).format == "WEBP"
    # `auto` on a 3:2 photo renders 1536x1024, billed at that size's price (quality auto is priced as medium).
    assert result.metrics.inference_time > 0 and result.metrics.cost == 0.063
    assert result.metrics.remaining_credits == pytest.approx(100 - 0.063)


def test_local_images_are_uploaded_once_and_urls_keep_their_order(client, emulator):
    remote = "https://cdn.example.com/ref.png"
    payload = client.prepare_payload(edit_inputs("x", [png_bytes(), remote, png_bytes(color=(1, 2, 3))],
                                                 mask=mask_bytes()))
    assert emulator.calls[Route.UPLOAD] == 1
    urls = payload["image_urls"]
    assert urls[1] == remote
    assert urls[0].startswith(emulator.url + "/assets/") and urls[2].startswith(emulator.url + "/assets/")
    assert payload["mask"].startswith(emulator.url + "/assets/")
    assert len(set(urls)) == 3


def test_upload_answer_named_urls_is_accepted():
    from components.emulator import Emulator
    with Emulator(key=KEY, upload_key="urls") as emu:
        client = make_client(emu)
        assert client.prepare_payload(edit_inputs("x", [png_bytes()]))["image_urls"][0].startswith(emu.url)


def test_inline_mode_sends_data_uris_and_uploads_nothing(emulator):
    client = make_client(emulator, upload_mode=UploadMode.INLINE)
    events = run(client)
    assert events[-1].state is JobState.COMPLETED
    assert emulator.calls[Route.UPLOAD] == 0
    job = emulator.jobs[events[-1].request_id]
    assert job.params["image_urls"][0].startswith("data:image/png;base64,")


def test_v1_returns_the_image_bytes(client):
    result = client.run_sync(edit_inputs("x", [png_bytes()], options={"output_format": "jpeg"}))
    assert result.media_type == "image/jpeg"
    assert Image.open(io.BytesIO(result.image)).size == (1536, 1024)


@pytest.mark.parametrize("shape", ["list", "base64", "data_uri"])
def test_every_output_shape_is_read(shape):
    from components.emulator import Emulator
    with Emulator(key=KEY, queue_seconds=0, processing_seconds=0.05, output_shape=shape) as emu:
        result = run(make_client(emu))[-1].result
        assert Image.open(io.BytesIO(result.image)).format == "PNG"


ERRORS = [
    (400, errors.BadRequestError), (401, errors.AuthenticationError), (402, errors.InsufficientCreditsError),
    (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError), (406, errors.InsufficientCreditsError), (410, errors.ModelRetiredError),
    (429, errors.RateLimitError), (500, errors.InternalServerError), (502, errors.BadGatewayError),
    (503, errors.ServiceUnavailableError), (504, errors.GatewayTimeoutError), (418, errors.UnexpectedStatusError),
]


@pytest.mark.parametrize("code,cls", ERRORS)
def test_each_status_on_submit_has_its_class_detail_and_remedy(client, emulator, code, cls):
    times = 10 if code == 429 else 1
    emulator.inject(Route.SUBMIT, status=code, detail=f"detail-{code}", times=times)
    with pytest.raises(cls) as caught:
        run(client)
    error = caught.value
    assert error.status_code == code and error.detail == f"detail-{code}"
    assert f"detail-{code}" in str(error) and error.remedy in str(error)
    assert KEY not in str(error)
    # Only 429 proves no job was started, so only 429 is retried on submit.
    assert emulator.calls[Route.SUBMIT] == (client.transport.retry.max_retries + 1 if code == 429 else 1)


def test_wrong_key_is_401_with_advice(emulator):
    with pytest.raises(errors.AuthenticationError, match="SEGMIND_API_KEY"):
        run(make_client(emulator, key="wrong-key"))


def test_retired_model_is_410_and_says_how_to_switch():
    from components.emulator import Emulator
    with Emulator(key=KEY, retired_models=("gpt-image-1-edit",)) as emu:
        with pytest.raises(errors.ModelRetiredError) as caught:
            run(make_client(emu))
    error = caught.value
    assert (error.model, error.successor) == ("gpt-image-1-edit", "gpt-image-2")
    assert "gpt-image-1-edit has been retired" in str(error) and "successor is gpt-image-2" in str(error)


def test_a_slug_outside_the_registry_is_refused_before_anything_is_sent(emulator):
    before = sum(emulator.calls.values())
    with pytest.raises(errors.ValidationError, match="unknown model 'no-such-model'.*gpt-image-2"):
        run(make_client(emulator, model="no-such-model"))
    assert sum(emulator.calls.values()) == before


def test_a_model_segmind_does_not_serve_is_404():
    from components.emulator import Emulator
    with Emulator(key=KEY, models=("gpt-image-2",)) as emu:
        with pytest.raises(errors.NotFoundError, match="SEGMIND_MODEL"):
            run(make_client(emu))


def test_submit_rate_limit_then_success_honours_retry_after(client, emulator):
    emulator.inject(Route.SUBMIT, status=429, headers={"Retry-After": "0"}, times=2)
    assert run(client)[-1].state is JobState.COMPLETED
    assert emulator.calls[Route.SUBMIT] == 3 and len(emulator.jobs) == 1


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_while_polling_are_retried(client, emulator, code):
    emulator.inject(Route.STATUS, status=code, times=3)
    emulator.inject(Route.RESULT, status=code, times=1)
    assert run(client)[-1].state is JobState.COMPLETED
    assert emulator.calls[Route.RESULT] == 2


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_a_status_endpoint_failing_longer_than_the_retries_is_waited_out(emulator, code):
    """More failures in a row than the transport retries: following must go on (503 used to end it)."""
    client = make_client(emulator, poll_interval=0.01)
    retries = client.transport.retry.max_retries
    emulator.inject(Route.STATUS, status=code, times=2 * (retries + 1), headers={"Retry-After": "0"})
    events = run(client)
    assert events[-1].state is JobState.COMPLETED
    said = "rate-limiting status checks" if code == 429 else "retrying"
    assert any(e.error and said in e.error for e in events)
    assert emulator.calls[Route.SUBMIT] == 1


def test_polling_rides_out_persistent_server_errors_until_the_deadline(client, emulator):
    emulator.inject(Route.STATUS, status=502, times=10_000)
    events = []
    with pytest.raises(errors.DeadlineExceededError) as caught:
        for event in client.stream(edit_inputs("x", [png_bytes()]), deadline=1.5):
            events.append(event)
    assert caught.value.request_id is not None and "bad gateway" in str(caught.value).lower()
    assert any(e.error and "retrying" in e.error for e in events)
    # Backing off: far fewer status calls than 1.5 s of hammering would make.
    assert emulator.calls[Route.STATUS] < 60


def test_dropped_connections_while_polling_are_retried(client, emulator):
    emulator.inject(Route.STATUS, kind=FaultKind.DROP, times=2)
    assert run(client)[-1].state is JobState.COMPLETED


def test_a_dropped_submit_is_never_resent(client, emulator):
    emulator.inject(Route.SUBMIT, kind=FaultKind.DROP)
    with pytest.raises(errors.SubmitOutcomeUnknownError, match="dashboard"):
        run(client)
    assert emulator.calls[Route.SUBMIT] == 1


def test_a_submit_that_times_out_reading_is_never_resent(emulator):
    client = make_client(emulator, read_timeout=0.2)
    emulator.inject(Route.SUBMIT, kind=FaultKind.SLOW, delay=1.0)
    with pytest.raises(errors.SubmitOutcomeUnknownError):
        run(client)
    assert emulator.calls[Route.SUBMIT] == 1


def test_a_submit_that_never_connected_is_retried_then_reported():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from components.api.client import SegmindClient
    from components.api.config import ClientSettings
    from tests.conftest import FAST_RETRY
    closed = f"http://127.0.0.1:{port}"
    client = SegmindClient(ClientSettings(api_base=closed, storage_base=closed, upload_mode=UploadMode.INLINE),
                           api_key=KEY, retry=FAST_RETRY)
    with pytest.raises(errors.APIConnectionError) as caught:
        run(client)
    assert not isinstance(caught.value, errors.SubmitOutcomeUnknownError)
    assert client.transport.calls == FAST_RETRY.max_retries + 1


def test_slow_status_answers_past_the_read_timeout_are_retried(emulator):
    client = make_client(emulator, read_timeout=0.2)
    emulator.inject(Route.STATUS, kind=FaultKind.SLOW, delay=0.6)
    assert run(client)[-1].state is JobState.COMPLETED


def test_non_json_status_bodies_are_tolerated_a_few_times(client, emulator):
    emulator.inject(Route.STATUS, kind=FaultKind.NON_JSON, times=2)
    assert run(client)[-1].state is JobState.COMPLETED


def test_persistent_non_json_status_bodies_end_at_the_deadline_with_the_id(client, emulator):
    emulator.inject(Route.STATUS, kind=FaultKind.NON_JSON, times=10_000)
    with pytest.raises(errors.DeadlineExceededError) as caught:
        run(client, deadline=1.0)
    assert caught.value.request_id in emulator.jobs and "cannot read" in str(caught.value)


def test_a_stop_before_submit_sends_nothing(client, emulator):
    stop = threading.Event()
    stop.set()
    payload = client.prepare_payload(edit_inputs("x", [png_bytes()]))
    with pytest.raises(errors.PollingStoppedError, match="nothing was sent"):
        client.submit(payload, stop)
    assert emulator.calls[Route.SUBMIT] == 0


def test_a_key_that_cannot_be_a_header_is_refused_before_sending(emulator):
    for bad in ("sk-with\nnewline", "sk-with space", "sk-’quote"):
        with pytest.raises(errors.InvalidKeyError):
            make_client(emulator, key=bad)
    assert sum(emulator.calls.values()) == 0


def test_malformed_rate_limit_headers_are_ignored_not_fatal():
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"x-rate-limit-reset-at-utc": "30"}) == 30
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10


def test_the_key_goes_only_to_the_same_scheme_and_host(client, emulator):
    assert client.transport._headers_for(emulator.url.replace("http://", "https://") + "/v2/x") == {}
    assert client.transport._headers_for(emulator.url + "/v2/x") == {"x-api-key": KEY}


def test_failed_job_under_422_yields_failed_then_raises_with_detail(client):
    events = []
    with pytest.raises(errors.ContentBlockedError) as caught:
        for event in client.stream(edit_inputs("a #fail prompt", [png_bytes()])):
            events.append(event)
    assert events[-1].state is JobState.FAILED and "#fail" in events[-1].error
    assert "#fail" in caught.value.detail and caught.value.request_id == events[-1].request_id
    assert "moderation=low" in str(caught.value)


def test_result_expired_while_polling_is_404_with_the_one_hour_note(client, emulator):
    job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
    emulator.expire(job.request_id)
    with pytest.raises(errors.RequestExpiredError) as caught:
        list(job.events())
    assert "one hour" in str(caught.value) and caught.value.request_id == job.request_id


def test_deadline_raises_with_the_request_id(emulator):
    emulator.processing_seconds = 30
    client = make_client(emulator)
    with pytest.raises(errors.DeadlineExceededError) as caught:
        run(client, deadline=0.3)
    assert caught.value.request_id in emulator.jobs
    assert "resume" in str(caught.value)


def test_stop_from_another_thread_ends_polling_at_once(emulator):
    emulator.processing_seconds = 30
    client = make_client(emulator, poll_interval=10.0)
    stop = threading.Event()
    seen = []
    caught = []

    def follow():
        try:
            for event in client.stream(edit_inputs("x", [png_bytes()]), stop=stop):
                seen.append(event)
                if event.state is JobState.PROCESSING or event.polls == 1:
                    watcher.set()
        except errors.PollingStoppedError as exc:
            caught.append(exc)

    watcher = threading.Event()
    thread = threading.Thread(target=follow)
    thread.start()
    assert watcher.wait(10)
    stopped_at = time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 1.0
    assert caught and caught[0].request_id == seen[0].request_id
    assert "billed" in str(caught[0])


def test_resume_from_a_request_id_in_a_new_client(client, emulator):
    job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
    other = make_client(emulator)
    events = list(other.resume(job.request_id))
    assert events[-1].state is JobState.COMPLETED and events[-1].request_id == job.request_id


def test_resume_an_unknown_id_says_results_expire(client):
    with pytest.raises(errors.RequestExpiredError, match="one hour"):
        list(client.resume("0123456789abcdef"))


def test_key_travels_only_in_the_header_and_never_in_errors(client, emulator):
    run(client)
    assert set(emulator.received_keys) == {KEY}
    emulator.inject(Route.SUBMIT, status=400, detail=f"echo {KEY}")
    with pytest.raises(errors.BadRequestError) as caught:
        run(client)
    assert KEY not in str(caught.value) and "<redacted>" in str(caught.value)
    assert KEY not in repr(client.settings) and KEY not in repr(client.transport.api_key)


def test_the_key_is_not_sent_to_other_hosts(client, emulator):
    # An output URL on another host gets no key: only Segmind's own hosts do.
    assert client.transport._headers_for("https://cdn.example.com/x.png") == {}
    assert client.transport._headers_for(emulator.url + "/v2/x") == {"x-api-key": KEY}


def test_the_emulator_serves_failed_under_422_with_the_error(client, emulator):
    import requests as http
    job = client.submit(client.prepare_payload(edit_inputs("#fail now", [png_bytes()])))
    with pytest.raises(errors.JobFailedError):
        list(job.events())
    answer = http.get(job.status_url, headers={"x-api-key": KEY}, timeout=5)
    assert answer.status_code == 422 and answer.json()["status"] == "FAILED" and "#fail" in answer.json()["error"]


@pytest.mark.parametrize("body", [b"", b"null", b"[1, 2]"])
def test_the_emulator_answers_bodies_that_are_not_objects_with_400(emulator, body):
    import requests as http
    answer = http.post(f"{emulator.url}/v2/gpt-image-1-edit", data=body, timeout=5,
                       headers={"x-api-key": KEY, "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_records_expire_after_retention_and_the_emulator_forgets_them():
    from components.emulator import Emulator
    now = [1_000.0]
    with Emulator(key=KEY, queue_seconds=0, processing_seconds=0.05, expiry_seconds=3600.0,
                  output_retention_seconds=7 * 86400.0, clock=lambda: now[0]) as emu:
        client = make_client(emu)
        job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
        assert list(job.events())[-1].state is JobState.COMPLETED
        now[0] += 3601  # an hour after the submission: the record is gone
        with pytest.raises(errors.RequestExpiredError):
            list(job.events())
        now[0] += 7 * 86400  # and a week on, the output file too
        emu.sweep(force=True)
        assert emu.jobs == {} and not [name for name in emu.files if name.startswith("outputs/")]
        assert not emu.received_keys  # not recorded unless a test asks


def test_retry_after_headers_are_parsed():
    now = 1_790_000_000.0
    assert parse_retry_after({"Retry-After": "7"}, now) == 7
    reset = datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=3)
    assert parse_retry_after({"x-rate-limit-reset-at-utc": reset.isoformat()}, now) == pytest.approx(3)
    assert parse_retry_after({"x-rate-limit-reset-at-utc": str(int(now + 5))}, now) == pytest.approx(5)
    assert parse_retry_after({}, now) is None


def test_retry_after_and_reset_header_set_the_wait(client, emulator):
    waits = []
    emulator.inject(Route.STATUS, status=429, headers={"Retry-After": "7"})
    reset = (datetime.now(timezone.utc) + timedelta(seconds=4)).isoformat()
    emulator.inject(Route.STATUS, status=429, headers={"x-rate-limit-reset-at-utc": reset})
    job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
    response = client.transport.request("GET", job.status_url, idempotent=True, sleep=waits.append)
    assert response.status_code == 200
    assert waits[0] >= 7 and 3 <= waits[1] <= 5


def test_a_retry_after_longer_than_the_cap_is_reported_not_waited(client, emulator):
    emulator.inject(Route.SUBMIT, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(errors.RateLimitError) as caught:
        run(client)
    assert caught.value.retry_after == 3600 and emulator.calls[Route.SUBMIT] == 1


def test_insufficient_credits_from_the_emulator():
    from components.emulator import Emulator
    with Emulator(key=KEY, credits=0.001) as emu:
        with pytest.raises(errors.InsufficientCreditsError, match="credits"):
            run(make_client(emu))


# Size `auto`: rendered at the size the photo's shape picks, and billed at that size ----------------------


def jpeg_bytes(size: tuple[int, int], orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.parametrize("photo,rendered,price", [((4032, 3024), (1536, 1024), 0.063),
                                                  ((3024, 4032), (1024, 1536), 0.063),
                                                  ((2000, 2000), (1024, 1024), 0.042)],
                         ids=["landscape", "portrait", "square"])
def test_size_auto_is_billed_at_the_size_the_emulator_rendered(client, emulator, photo, rendered, price):
    """A phone's landscape photo with `auto` comes out at 1536x1024, and costs what that size costs."""
    result = run(client, edit_inputs("x", [jpeg_bytes(photo)]))[-1].result
    assert (result.width, result.height) == rendered
    assert result.metrics.cost == price  # gpt-image-1 at quality auto, priced as medium
    assert result.metrics.remaining_credits == pytest.approx(100 - price)
    assert emulator.jobs[result.request_id].cost == price


def test_the_credit_check_at_submit_prices_the_size_auto_will_render():
    """Credits enough for a square image (0.042) but not an oblong one (0.063): the landscape photo is refused
    before any job starts, the square one runs."""
    from components.emulator import Emulator
    with Emulator(key=KEY, credits=0.05, queue_seconds=0.01, processing_seconds=0.05) as emu:
        client = make_client(emu)
        with pytest.raises(errors.InsufficientCreditsError):
            run(client, edit_inputs("x", [jpeg_bytes((4032, 3024))]))
        assert emu.jobs == {} and emu.credits == 0.05
        assert run(client, edit_inputs("x", [jpeg_bytes((2000, 2000))]))[-1].result.metrics.cost == 0.042


def test_auto_follows_the_photo_as_shown_when_its_exif_turns_it(client, emulator):
    """A portrait photo stored sideways with an EXIF turn (the app bakes the turn in; a program may not) is
    drawn upright, so `auto` renders it portrait, and bills that size."""
    body = client.prepare_payload(edit_inputs("x", [png_bytes()]))
    body["image_urls"] = ["data:image/jpeg;base64," + base64.b64encode(jpeg_bytes((4032, 3024), 6)).decode()]
    result = list(client.submit(body).events())[-1].result
    assert (result.width, result.height) == (1024, 1536) and result.metrics.cost == 0.063


def test_closing_a_client_closes_its_sockets_at_once_even_after_timeouts(emulator):
    """urllib3 leaves a forgotten pool's sockets to the garbage collector; a closed client must not wait for it."""
    import gc

    gc.disable()  # the finaliser must not be what closes them
    try:
        client = make_client(emulator, read_timeout=0.2)
        emulator.inject(Route.STATUS, kind=FaultKind.SLOW, delay=0.4)
        job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
        assert list(job.events())[-1].state is JobState.COMPLETED
        client.close()
        assert open_sockets(int(emulator.url.rsplit(":", 1)[1].strip("/"))) == 0
    finally:
        gc.enable()
