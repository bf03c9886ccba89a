"""A client for GPT Image 1 Edit on Segmind: v2 submit → status → result, and v1.

It knows nothing of Gradio. Callers build an `EditRequest`, then either
`stream()` it (an iterator of `JobEvent`s ending in the result), or take the
steps one by one: `prepare_payload()`, `submit()`, `follow()`; `resume()`
picks up a job from its request id, and `run_sync()` uses the v1 endpoint.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import quote, urljoin, urlsplit

import requests

from components import errors, schema
from components.config import Secret, Settings, UploadMode
from components.inputs import EditRequest, InputImage, LocalImage, RemoteImage, check_request
from components.models import EditResult, JobEvent, JobState, Metrics, SubmittedJob
from components.output import MAX_OUTPUT_BYTES, decode_image, output_bytes, output_reference
from components.polling import Bucket, DurationModel, PollSchedule, bucket
from components.transport import RetryPolicy, Transport, parse_retry_after
from components.upload_cache import UploadCache, account_of

# Status answers that say nothing about the job itself: polling rides them out until the deadline.
TRANSIENT = (errors.RateLimitError, errors.InternalServerError, errors.BadGatewayError, errors.GatewayTimeoutError,
             errors.APIConnectionError, errors.InvalidResponseError)
MAX_TROUBLE_WAIT = 30.0
MAX_REDIRECTS = 5


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _strip_version(base: str) -> str:
    base = base.rstrip("/")
    head, _, tail = base.rpartition("/")
    return head if head and tail in ("v1", "v2") else base


class SegmindClient:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        api_key: str | Secret | None = None,
        retry: RetryPolicy = RetryPolicy(),
        durations: DurationModel | None = None,
        uploads: UploadCache | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        if isinstance(api_key, str):
            api_key = Secret(api_key) if api_key.strip() else None
        self.durations = durations or DurationModel()
        self.uploads = uploads or UploadCache()
        self.uploaded_bytes = 0
        self.api_base = _strip_version(self.settings.api_base)
        self.storage_base = self.settings.storage_base.rstrip("/")
        self._account = account_of(api_key or self.settings.api_key)
        self.transport = Transport(
            api_key=api_key or self.settings.api_key,
            key_hosts={_origin(self.api_base), _origin(self.storage_base)},
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            retry=retry,
        )

    # URLs --------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def v1_url(self) -> str:
        return f"{self.api_base}/v1/{self.model}"

    @property
    def v2_url(self) -> str:
        return f"{self.api_base}/v2/{self.model}"

    def job_for(self, request_id: str) -> SubmittedJob:
        """The URLs of a job known only by its id (to resume it)."""
        request_id = request_id.strip()
        if not request_id:
            raise errors.ValidationError([schema.ValidationIssue("request_id", "is empty")])
        base = f"{self.api_base}/v2/requests/{quote(request_id, safe='')}"
        return SubmittedJob(request_id, f"{base}/status", base)

    # Errors ------------------------------------------------------------------

    def _error(
        self,
        response: requests.Response,
        *,
        request_id: str | None = None,
        not_found: type[errors.APIStatusError] = errors.NotFoundError,
    ) -> errors.SegmindError:
        detail = None
        try:
            body = response.json()
            if isinstance(body, dict):
                detail = body.get("error") or body.get("message") or body.get("detail")
        except ValueError:
            text = response.text.strip()
            if text and not text.lstrip().startswith("<"):
                detail = text[:300]
        detail = self.transport.scrub(str(detail)) if detail else None
        code = response.status_code
        cls = not_found if code == 404 else errors.error_for_status(code)
        if cls is errors.RateLimitError:
            return errors.RateLimitError(detail, retry_after=parse_retry_after(response.headers),
                                         request_id=request_id, status_code=code)
        return cls(detail, request_id=request_id, status_code=code)

    # Inputs ------------------------------------------------------------------

    def prepare_payload(self, request: EditRequest, stop: threading.Event | None = None,
                        notes: list[str] | None = None) -> dict[str, Any]:
        """Check everything, then upload local images; the body to submit.

        Raises ValidationError listing every problem before anything is sent. What had to be
        changed to fit the model's limits (a reduced image, say) is appended to `notes`.
        """
        inputs, issues = check_request(request)
        if issues:
            raise errors.ValidationError(issues)
        assert inputs is not None
        if notes is not None:
            notes.extend(inputs.notes)
        everything: list[InputImage] = list(inputs.images) + ([inputs.mask] if inputs.mask else [])
        urls = self.image_urls(everything, stop)
        mask_url = urls.pop() if inputs.mask else None
        payload = schema.build_payload(request.prompt, urls, mask_url, **request.options)
        issues = schema.validate(payload)
        if issues:
            raise errors.ValidationError(issues)
        return payload

    def image_urls(self, images: Sequence[InputImage], stop: threading.Event | None = None) -> list[str]:
        """URLs for the model, in order: remote ones as given, local ones uploaded or inlined."""
        local = [image for image in images if isinstance(image, LocalImage)]
        if self.settings.upload_mode is UploadMode.INLINE:
            uploaded = [image.data_uri() for image in local]
        else:
            uploaded = self.upload(local, stop)
        by_position = iter(uploaded)
        return [image.url if isinstance(image, RemoteImage) else next(by_position) for image in images]

    def upload(self, images: Sequence[LocalImage], stop: threading.Event | None = None) -> list[str]:
        """Store images with Segmind (`POST /upload-asset`); their persistent URLs, in order.

        Bytes this account stored recently are not sent again: their URL is reused.
        """
        known = {image.digest: self.uploads.get(self._account, image.digest) for image in images}
        missing = list({image.digest: image for image in images if not known[image.digest]}.values())
        for image, url in zip(missing, self._store(missing, stop)):
            self.uploads.put(self._account, image.digest, url)
            known[image.digest] = url
        return [known[image.digest] for image in images]

    def _store(self, images: Sequence[LocalImage], stop: threading.Event | None) -> list[str]:
        if not images:
            return []
        data_urls = [image.data_uri() for image in images]
        self.uploaded_bytes += sum(len(u) for u in data_urls)
        response = self.transport.request(
            "POST", f"{self.storage_base}/upload-asset", json={"data_urls": data_urls},
            idempotent=True,  # storing the same bytes twice costs nothing and starts no job
            stop=stop,
        )
        if not response.ok:
            raise self._error(response)
        try:
            body = response.json()
        except ValueError:
            raise errors.InvalidResponseError("the upload answer is not JSON") from None
        urls = (body.get("file_urls") or body.get("urls")) if isinstance(body, dict) else None
        if not isinstance(urls, list) or len(urls) != len(images) or not all(
                isinstance(u, str) and schema.is_image_reference(u) for u in urls):
            raise errors.InvalidResponseError("the upload answer has no usable file_urls")
        return urls

    # v2 ----------------------------------------------------------------------

    def submit(self, payload: Mapping[str, Any], stop: threading.Event | None = None) -> SubmittedJob:
        """Start a paid job. Never repeated once it may have reached Segmind.

        With `stop` set beforehand nothing is sent; it also interrupts a wait between 429 retries.
        """
        if stop is not None and stop.is_set():
            raise errors.PollingStoppedError(reason="stopped before the job was submitted; nothing was sent")
        response = self.transport.request("POST", self.v2_url, json=dict(payload), idempotent=False, stop=stop)
        if not response.ok:
            raise self._error(response)
        try:
            body = response.json()
        except ValueError:
            raise errors.InvalidResponseError(
                "the submit answer is not JSON; the job may have started, check the dashboard") from None
        if not isinstance(body, dict) or not all(body.get(k) for k in ("request_id", "status_url", "response_url")):
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise errors.InvalidResponseError(f"the submit answer lacks request_id/status_url/response_url: {keys}")
        job = SubmittedJob(str(body["request_id"]), str(body["status_url"]), str(body["response_url"]))
        for url in (job.status_url, job.response_url):
            # Segmind named these URLs itself, so they may carry the key, but never over a weaker scheme.
            if urlsplit(url).scheme == urlsplit(self.api_base).scheme:
                self.transport.trust(url)
        return job

    def _terminal_tolerant_get(
        self, url: str, job: SubmittedJob, stop: threading.Event | None
    ) -> tuple[JobState | None, dict[str, Any]]:
        """GET a status or result URL. A body naming a terminal state is valid under any code."""
        try:
            response = self.transport.request("GET", url, idempotent=True, stop=stop)
        except errors.PollingStoppedError:
            raise errors.PollingStoppedError(request_id=job.request_id) from None
        except errors.SegmindError as exc:
            exc.request_id = job.request_id
            raise
        try:
            body = response.json()
        except ValueError:
            body = None
        state = JobState.parse(body.get("status")) if isinstance(body, dict) else None
        if state is not None and (state.is_terminal or response.ok):
            return state, body
        if not response.ok:
            raise self._error(response, request_id=job.request_id, not_found=errors.RequestExpiredError)
        return None, body if isinstance(body, dict) else {}

    def status(self, job: SubmittedJob, stop: threading.Event | None = None) -> tuple[JobState, dict[str, Any]]:
        state, body = self._terminal_tolerant_get(job.status_url, job, stop)
        if state is None:
            raise errors.InvalidResponseError("the status answer names no known state", request_id=job.request_id)
        return state, body

    def result(self, job: SubmittedJob, stop: threading.Event | None = None) -> EditResult:
        state, body = self._terminal_tolerant_get(job.response_url, job, stop)
        if state is JobState.FAILED:
            raise errors.JobFailedError(self.transport.scrub(body.get("error")), request_id=job.request_id)
        if state is not JobState.COMPLETED and "output" not in body:
            raise errors.InvalidResponseError("the result is not ready", request_id=job.request_id)
        try:
            data, source = output_bytes(output_reference(body), self.download)
            media_type, width, height = decode_image(data)
        except errors.SegmindError as exc:
            exc.request_id = job.request_id
            raise
        return EditResult(data, media_type, width, height, Metrics.from_body(body),
                          request_id=job.request_id, source_url=source, body=body)

    def follow(
        self,
        job: SubmittedJob,
        *,
        deadline: float | None = None,
        poll_interval: float | None = None,
        stop: threading.Event | None = None,
        started_at: float | None = None,
        kind: Bucket | None = None,
    ) -> Iterator[JobEvent]:
        """Poll a submitted job; yield an event per observation, the last with the result.

        `kind` (the job's quality and size) lets the poll schedule use how long such jobs
        took before; see components/polling.py for how the cadence is chosen.

        Raises JobFailedError (after a FAILED event), DeadlineExceededError,
        PollingStoppedError (when `stop` is set, at once between polls) or
        the error that ended polling. Every error carries the request id.
        """
        stop = stop or threading.Event()
        start = time.monotonic() if started_at is None else started_at
        deadline_at = start + (self.settings.deadline if deadline is None else deadline)
        interval = self.settings.poll_interval if poll_interval is None else poll_interval
        polls = troubles = 0
        state = JobState.QUEUED
        last_trouble: errors.SegmindError | None = None
        submitted = time.monotonic()  # durations are learnt from here, not from before the uploads
        schedule = PollSchedule(interval, self.durations.window(kind))
        last_pending = 0.0
        yield JobEvent(state, job.request_id, time.monotonic() - start, polls)
        while True:
            if stop.is_set():
                raise errors.PollingStoppedError(request_id=job.request_id)
            if time.monotonic() >= deadline_at:
                seen = f"; last problem: {last_trouble.message}" if last_trouble else ""
                raise errors.DeadlineExceededError(
                    f"still {state.value} after {time.monotonic() - start:.0f}s{seen}", request_id=job.request_id)
            wait = interval
            try:
                state, body = self.status(job, stop)
            except TRANSIENT as exc:
                # The paid job goes on whatever the status endpoint says: keep asking, more slowly,
                # until the deadline, rather than lose the result.
                troubles += 1
                last_trouble = exc
                retry_after = getattr(exc, "retry_after", None) or 0.0
                wait = min(MAX_TROUBLE_WAIT, max(retry_after, interval * 2 ** min(troubles, 6)))
                yield JobEvent(state, job.request_id, time.monotonic() - start, polls,
                               error=f"{exc.summary}; retrying in {wait:.0f}s")
            else:
                troubles = 0
                last_trouble = None
                polls += 1
                since_submit = time.monotonic() - submitted
                if state is JobState.COMPLETED and kind is not None:
                    self.durations.record(kind, PollSchedule.completion_estimate(last_pending, since_submit))
                last_pending = since_submit
                wait = schedule.next_wait(since_submit, polls)
                if state is JobState.COMPLETED:
                    result = self.result(job, stop)
                    yield JobEvent(state, job.request_id, time.monotonic() - start, polls, result=result)
                    return
                if state is JobState.FAILED:
                    detail = self.transport.scrub(body.get("error")) or "no detail given"
                    yield JobEvent(state, job.request_id, time.monotonic() - start, polls, error=detail)
                    raise errors.JobFailedError(detail, request_id=job.request_id)
                yield JobEvent(state, job.request_id, time.monotonic() - start, polls)
            remaining = deadline_at - time.monotonic()
            if stop.wait(max(0.0, min(wait, remaining))):
                raise errors.PollingStoppedError(request_id=job.request_id)

    def stream(self, request: EditRequest, **follow_options: Any) -> Iterator[JobEvent]:
        """Validate, upload, submit and follow one edit."""
        started = time.monotonic()
        payload = self.prepare_payload(request)
        job = self.submit(payload)
        yield from self.follow(job, started_at=started, kind=bucket(payload), **follow_options)

    def resume(self, request_id: str, **follow_options: Any) -> Iterator[JobEvent]:
        """Follow a job submitted earlier (results are kept for one hour)."""
        yield from self.follow(self.job_for(request_id), **follow_options)

    # v1 ----------------------------------------------------------------------

    def run_sync(self, request: EditRequest) -> EditResult:
        """One blocking v1 call: the image comes back in the response body."""
        payload = self.prepare_payload(request)
        read_timeout = max(self.settings.read_timeout, self.settings.deadline)
        response = self.transport.request(
            "POST", self.v1_url, json=payload, idempotent=False,
            timeout=(self.settings.connect_timeout, read_timeout),
        )
        if not response.ok:
            raise self._error(response)
        if len(response.content) > MAX_OUTPUT_BYTES:
            raise errors.OutputError("the v1 answer is larger than this app accepts")
        if response.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = response.json()
            except ValueError:
                raise errors.InvalidResponseError("the v1 answer claims JSON but is not") from None
            data, source = output_bytes(output_reference(body), self.download)
            metrics = Metrics.from_body(body)
        else:
            data, source, body = response.content, None, {}
            metrics = Metrics(remaining_credits=_float_or_none(response.headers.get("x-remaining-credits")))
        media_type, width, height = decode_image(data)
        return EditResult(data, media_type, width, height, metrics, source_url=source, body=body)

    # Downloads ---------------------------------------------------------------

    def download(self, url: str) -> bytes:
        """Fetch an output image, capped in size and time; the key is sent only to Segmind's hosts.

        Redirects (to a CDN, say) are followed here, one hop at a time, so each hop's
        headers are chosen for its own host.
        """
        for _ in range(MAX_REDIRECTS + 1):
            self.check_download_target(url)
            response = self.transport.request("GET", url, idempotent=True, stream=True)
            if response.is_redirect and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                response.close()
                continue
            break
        else:
            raise errors.OutputError("the output URL redirected too many times")
        with response:
            if not response.ok:
                raise errors.OutputError(f"downloading the output answered HTTP {response.status_code}")
            kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if kind and not (kind.startswith("image/") or kind == "application/octet-stream"):
                raise errors.OutputError(f"the output URL served {kind}, not an image")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_OUTPUT_BYTES:
                    raise errors.OutputError("the output image is larger than this app accepts")
                chunks.append(chunk)
        return b"".join(chunks)

    def check_download_target(self, url: str) -> None:
        """Refuse to fetch from this machine's network (a server could point `output` anywhere).

        Private, loopback, link-local and other special addresses are refused unless the
        configured API is itself on such an address (the emulator, a test server).
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.OutputError("the output is not an http(s) URL")
        if _is_internal(urlsplit(self.api_base).hostname or ""):
            return
        if _is_internal(parts.hostname):
            raise errors.OutputError("refused to download the output from a private or local address")

    def close(self) -> None:
        self.transport.close()


def _is_internal(host: str) -> bool:
    """True when the host is, or resolves to, an address that is not on the public internet."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False  # unresolvable: the download fails on its own, with its own message
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return True
    return False


def _float_or_none(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
