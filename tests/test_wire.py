"""Issue #12: the wire as Segmind really speaks it, through the client, over HTTP against the emulator.

Each test names the point of the issue it covers. The emulator runs in its
realistic default unless a test asks for `strict`.
"""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from components.api import errors
from components.api.client import error_detail
from components.api.constants import OUTPUT_RETENTION_SECONDS, RESULT_RETENTION, RESULT_RETENTION_SECONDS
from components.api.models import Metrics
from components.api.schema import JobState
from components.emulator import Emulator, OutputShape, Route, SyncShape
from tests.conftest import KEY, edit_inputs, make_client, png_bytes


def fast(**options) -> Emulator:
    return Emulator(key=KEY, queue_seconds=0.05, processing_seconds=0.1, **options)


def payload(client, prompt="paint the sky pink", **options):
    return client.prepare_payload(edit_inputs(prompt, [png_bytes()], options=options))


def follow(job):
    return list(job.events())


# 1. Parameters are checked late -------------------------------------------------------------------------


@pytest.mark.parametrize("change,param,words", [
    ({"prompt": ""}, "prompt", "Prompt is Mandatory"),
    ({"prompt": None}, "prompt", "Prompt is Mandatory"),
    ({"size": "2x2"}, "size", "Invalid value for size"),
    ({"output_compression": 0}, "output_compression", "Invalid value for output_compression"),
])
def test_a_bad_body_is_accepted_then_fails_late_naming_the_parameter_and_nothing_is_billed(change, param, words):
    with fast() as emu:
        client = make_client(emu)
        body = {**payload(client), **change}
        job = client.submit(body)  # 200 with a request id, as Segmind's media endpoints answer
        assert job.request_id in emu.jobs and job.submit_body["status"] == "QUEUED"
        events = []
        with pytest.raises(errors.InvalidParameterError) as caught:
            for event in job.events():
                events.append(event)
        failure = caught.value
        assert failure.kind is errors.FailureKind.PARAMETER and failure.param == param
        assert words in failure.detail and f"`{param}`" in str(failure) and "Nothing was billed" in str(failure)
        assert "moderation" not in str(failure)
        assert events[-1].state is JobState.FAILED and events[-1].metrics.cost is None
        assert emu.credits == 100.0 and failure.request_id == job.request_id


def test_strict_refuses_a_bad_body_at_submit_with_400():
    with fast(strict=True) as emu:
        client = make_client(emu)
        with pytest.raises(errors.BadRequestError, match="prompt"):
            client.submit({**payload(client), "prompt": ""})
        assert emu.jobs == {}


def test_a_moderation_block_and_an_unexplained_failure_get_their_own_remedies():
    with fast() as emu:
        client = make_client(emu)
        with pytest.raises(errors.ContentBlockedError) as blocked:
            follow(client.submit(payload(client, "please #fail")))
        assert "moderation=low" in str(blocked.value) and blocked.value.kind is errors.FailureKind.MODERATION
    assert errors.job_failed("Your request was rejected by the safety system: the prompt is not allowed").kind \
        is errors.FailureKind.MODERATION
    other = errors.job_failed("Worker ran out of GPU memory")
    assert type(other) is errors.JobFailedError and "moderation" not in str(other) and "GPU" in str(other)


# 2. Out of credits: 402 on v2, 406 on v1 -------------------------------------------------------------


def test_out_of_credits_is_402_on_v2_and_406_on_v1_both_the_credits_error():
    with fast(credits=0.0) as emu:
        client = make_client(emu)
        with pytest.raises(errors.InsufficientCreditsError) as v2:
            client.submit(payload(client))
        assert v2.value.status_code == 402 and v2.value.detail == "Insufficient credits. You have 0.0 credits."
        assert "Add credits" in str(v2.value) and "not billed" in str(v2.value)
        with pytest.raises(errors.InsufficientCreditsError) as v1:
            client.run_sync(edit_inputs("x", [png_bytes()]))
        assert v1.value.status_code == 406
        assert emu.jobs == {} and emu.calls[Route.SUBMIT] == 1  # a refused submit is not retried


def test_strict_answers_406_for_credits_on_v2_too():
    with fast(credits=0.0, strict=True) as emu:
        with pytest.raises(errors.InsufficientCreditsError) as caught:
            make_client(emu).submit(payload(make_client(emu)))
        assert caught.value.status_code == 406


# 3. Full bodies, poll_url served, metrics with queue and total time ------------------------------------


def test_every_answer_carries_the_full_body_and_the_client_reads_all_metrics():
    with fast() as emu:
        client = make_client(emu)
        job = client.submit(payload(client))
        submitted = job.submit_body
        assert set(submitted) >= {"request_id", "status", "status_url", "response_url", "poll_url"}
        assert submitted["status"] == "QUEUED" and submitted["poll_url"] == f"{emu.url}/v1/requests/{job.request_id}"
        state, pending = job.status()
        assert state is JobState.QUEUED and pending["metrics"] == {}
        assert pending["status_url"] == job.status_url and pending["response_url"] == job.response_url
        # The older way to poll is served too.
        old = requests.get(submitted["poll_url"], headers={"x-api-key": KEY}, timeout=5)
        assert old.status_code == 200 and old.json()["status"] in ("QUEUED", "PROCESSING")
        result = follow(job)[-1].result
        metrics = result.metrics
        assert metrics.inference_time > 0 and metrics.queue_time >= 0 and metrics.retry_count == 0
        assert metrics.total_time >= metrics.inference_time and metrics.cost > 0
        assert metrics.remaining_credits == pytest.approx(100 - metrics.cost)
        state, done = job.status()
        assert state is JobState.COMPLETED and set(done["metrics"]) >= {"queue_time", "total_time", "cost"}
        assert requests.get(submitted["poll_url"], headers={"x-api-key": KEY}, timeout=5).json()["output"]


def test_a_failed_body_carries_times_and_no_cost_and_the_error_keeps_them():
    with fast() as emu:
        client = make_client(emu)
        job = client.submit(payload(client, "#fail"))
        with pytest.raises(errors.JobFailedError) as caught:
            follow(job)
        answer = requests.get(job.status_url, headers={"x-api-key": KEY}, timeout=5)
        assert answer.status_code == 422
        assert set(answer.json()["metrics"]) == {"inference_time", "queue_time", "total_time"}
        metrics = caught.value.metrics
        assert metrics.total_time is not None and metrics.queue_time is not None and metrics.cost is None


def test_metrics_are_read_from_metrics_or_the_top_level_and_v1_headers():
    body = {"metrics": {"inference_time": "3.5", "queue_time": 1, "total_time": 4.75, "retry_count": 2}, "cost": 0.1}
    assert Metrics.from_body(body) == Metrics(3.5, 0.1, None, 1.0, 4.75, 2)
    assert Metrics.from_body({"metrics": {}}).is_empty
    headers = {"x-generation-time": "2.25", "x-cost": "0.042", "x-remaining-credits": "9.5"}
    assert Metrics.from_headers(headers) == Metrics(inference_time=2.25, cost=0.042, remaining_credits=9.5)


# 4. Retention from submission; outputs on a separate key-less host that outlive the record ------------


def test_a_record_lives_an_hour_from_submission_even_if_the_job_never_finishes():
    now = [0.0]
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=60.0, clock=lambda: now[0]) as emu:
        client = make_client(emu)
        job = client.submit(payload(client))
        assert job.status()[0] in (JobState.QUEUED, JobState.PROCESSING)
        now[0] += RESULT_RETENTION_SECONDS + 1
        with pytest.raises(errors.RequestExpiredError) as caught:
            job.status()
        assert "from submission" in str(caught.value) and "7 days" in str(caught.value)


def test_outputs_live_on_their_own_host_without_a_key_and_outlive_the_record():
    now = [0.0]
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=0.05, clock=lambda: now[0],
                  record_keys=True) as emu:
        client = make_client(emu)
        job = client.submit(payload(client))
        result = follow(job)[-1].result
        assert result.source_url.startswith(emu.output_url + "/outputs/") and emu.output_url != emu.url
        assert emu.keys_sent_to_files == 0  # the key went to the API host only
        assert requests.get(result.source_url, timeout=5).content == result.image  # no key needed
        assert requests.get(emu.url + "/" + result.source_url.split("/", 3)[3], timeout=5).status_code == 404
        now[0] += RESULT_RETENTION_SECONDS + 1  # the record is gone...
        with pytest.raises(errors.RequestExpiredError):
            job.result()
        assert requests.get(result.source_url, timeout=5).status_code == 200  # ...the file is not
        now[0] += OUTPUT_RETENTION_SECONDS
        assert requests.get(result.source_url, timeout=5).status_code == 404


def test_the_retention_sentence_is_the_truth_and_is_the_one_used():
    from components.ui import copy
    assert "one hour from submission" in RESULT_RETENTION and "7 days" in RESULT_RETENTION
    assert RESULT_RETENTION in errors.RequestExpiredError.remedy and RESULT_RETENTION in copy.RETENTION
    assert OUTPUT_RETENTION_SECONDS == 7 * 24 * 3600 and RESULT_RETENTION_SECONDS == 3600


# 5. v1: image bytes with metrics and the request id in headers; JSON variants ----------------------------


@pytest.mark.parametrize("shape", list(SyncShape))
def test_v1_results_carry_their_request_id_and_metrics(shape):
    with fast(sync_shape=shape) as emu:
        client = make_client(emu)
        result = client.run_sync(edit_inputs("x", [png_bytes()], options={"output_format": "webp"}))
        assert result.request_id in emu.jobs and result.media_type == "image/webp"
        assert result.metrics.cost == emu.jobs[result.request_id].cost and result.metrics.inference_time > 0
        assert result.metrics.remaining_credits == pytest.approx(100 - result.metrics.cost)
        if shape is SyncShape.IMAGE_URL:
            assert result.source_url.startswith(emu.output_url)


# 6. Error bodies vary --------------------------------------------------------------------------------------


def test_an_invalid_key_answered_oauth_style_reads_both_fields():
    with fast() as emu:
        answer = requests.post(f"{emu.url}/v2/gpt-image-1-edit", json={}, headers={"x-api-key": "wrong"}, timeout=5)
        assert answer.json() == {"error": "invalid_token", "error_description": answer.json()["error_description"],
                                 "status_code": 401}
        with pytest.raises(errors.AuthenticationError) as caught:
            make_client(emu, key="wrong").submit({"prompt": "x"})
        assert "Invalid API key" in caught.value.detail and "invalid_token" in caught.value.detail
        assert "SEGMIND_API_KEY" in str(caught.value)


def test_a_wrong_content_type_is_a_plain_text_406_and_not_a_credits_problem():
    with fast() as emu:
        answer = requests.post(f"{emu.url}/v2/gpt-image-1-edit", data="prompt=x", timeout=5,
                               headers={"x-api-key": KEY, "Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 406 and answer.headers["Content-Type"].startswith("text/plain")
        error = make_client(emu).error_from(answer)
        assert isinstance(error, errors.ContentTypeError) and "application/json" in str(error)


def test_a_wrong_method_is_an_html_405_whose_title_becomes_the_detail():
    with fast() as emu:
        answer = requests.get(f"{emu.url}/v2/gpt-image-1-edit", headers={"x-api-key": KEY}, timeout=5)
        assert answer.status_code == 405 and answer.headers["Content-Type"].startswith("text/html")
        error = make_client(emu).error_from(answer)
        assert isinstance(error, errors.UnexpectedStatusError) and error.detail == "405 Not Allowed"
        assert "<" not in str(error)


@pytest.mark.parametrize("body,content_type,cls,detail", [
    ('{"error": "invalid_token", "error_description": "Token expired", "status_code": 401}', "application/json",
     errors.AuthenticationError, "Token expired (invalid_token)"),
    ("Content-Type must be application/json", "text/plain", errors.ContentTypeError,
     "Content-Type must be application/json"),
    ("<html><head><title>405 Not Allowed</title></head><body>nginx</body></html>", "text/html",
     errors.UnexpectedStatusError, "405 Not Allowed"),
    ('{"error": {"message": "nested words"}}', "application/json", errors.BadRequestError, "nested words"),
])
def test_every_error_body_variant_reaches_the_user_through_the_client(body, content_type, cls, detail):
    status = {errors.AuthenticationError: 401, errors.ContentTypeError: 406, errors.UnexpectedStatusError: 405,
              errors.BadRequestError: 400}[cls]
    with fast() as emu:
        emu.inject(Route.SUBMIT, status=status, body=body, content_type=content_type)
        client = make_client(emu)
        with pytest.raises(cls) as caught:
            client.submit(payload(client))
        assert caught.value.detail == detail and caught.value.status_code == status


# 7. Output shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", list(OutputShape))
def test_every_output_shape_goes_through_end_to_end(shape):
    with fast(output_shape=shape) as emu:
        client = make_client(emu)
        events = list(client.stream(edit_inputs("x", [png_bytes()], options={"output_format": "jpeg"})))
        result = events[-1].result
        assert Image.open(io.BytesIO(result.image)).format == "JPEG" and result.request_id in emu.jobs
        body = requests.get(f"{emu.url}/v2/requests/{result.request_id}", headers={"x-api-key": KEY}, timeout=5).json()
        if shape is OutputShape.JSON_STRING:
            assert isinstance(body["output"], str) and body["output"].startswith('["http')
        if shape is OutputShape.BASE64_LINES:
            assert "\n" in body["output"]
        if shape in (OutputShape.IMAGE, OutputShape.IMAGE_URL):
            assert "output" not in body


# 9. "mask": null ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True])
def test_mask_null_is_accepted_as_no_mask(strict):
    with fast(strict=strict) as emu:
        client = make_client(emu)
        body = {**payload(client), "mask": None}
        assert follow(client.submit(body))[-1].state is JobState.COMPLETED


def test_error_detail_reads_what_there_is():
    with fast() as emu:
        answer = requests.get(f"{emu.url}/no/such/path", timeout=5)
        assert error_detail(answer) == "Not found"
