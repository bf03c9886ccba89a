"""A submitted job: the handle carries its own status, events, result and stop.

The shape fal_client's and replicate's handles use: `client.submit()` returns a
`Job`; `Job.from_request_id()` picks one up later (Segmind keeps a job's record
for an hour from submission; see constants.RESULT_RETENTION). `stop()` is safe from any thread and takes effect at once: every wait in
here is a wait on the job's stop event.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import quote

from components.api import errors
from components.api.constants import MAX_TROUBLE_WAIT
from components.api.models import EditResult, JobEvent, Metrics
from components.api.output import decode_image, output_bytes, output_reference
from components.api.polling import Bucket, PollSchedule
from components.api.schema import JobState, ValidationIssue

if TYPE_CHECKING:
    from components.api.client import SegmindClient


class Job:
    def __init__(self, client: SegmindClient, request_id: str, status_url: str, response_url: str,
                 stop: threading.Event | None = None, *, poll_url: str | None = None,
                 submit_body: dict[str, Any] | None = None) -> None:
        self.client = client
        self.request_id = request_id
        self.status_url = status_url
        self.response_url = response_url
        self.poll_url = poll_url          # kept for reference; status_url is what is polled
        self.submit_body = submit_body or {}
        self._stop = stop or threading.Event()

    @classmethod
    def from_request_id(cls, client: SegmindClient, request_id: str,
                        stop: threading.Event | None = None) -> Job:
        """A job known only by its id: its URLs are the documented v2 ones."""
        request_id = request_id.strip()
        if not request_id:
            raise errors.ValidationError([ValidationIssue("request_id", "is empty")])
        base = f"{client.api_base}/v2/requests/{quote(request_id, safe='')}"
        return cls(client, request_id, f"{base}/status", base, stop)

    def __repr__(self) -> str:
        return f"Job({self.request_id!r})"

    # Stopping ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop following. Segmind has no cancel endpoint: the job itself goes on."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # One look ----------------------------------------------------------------

    def _get(self, url: str) -> tuple[JobState | None, dict[str, Any]]:
        """GET a status or result URL. A body naming a terminal state is valid under any code.

        A 429 comes back as a RateLimitError at once (not waited out by the transport), so the
        poller can slow the whole account down.
        """
        try:
            response = self.client.transport.request("GET", url, idempotent=True, stop=self._stop,
                                                     retry_rate_limits=False)
        except errors.PollingStoppedError:
            raise errors.PollingStoppedError(request_id=self.request_id) from None
        except errors.SegmindError as exc:
            exc.request_id = self.request_id
            raise
        try:
            body = response.json()
        except ValueError:
            body = None
        state = JobState.parse(body.get("status")) if isinstance(body, dict) else None
        if state is not None and (state.is_terminal or response.ok):
            return state, body
        if not response.ok:
            raise self.client.error_from(response, request_id=self.request_id,
                                         not_found=errors.RequestExpiredError)
        return None, body if isinstance(body, dict) else {}

    def status(self) -> tuple[JobState, dict[str, Any]]:
        state, body = self._get(self.status_url)
        if state is None:
            raise errors.InvalidResponseError("the status answer names no known state", request_id=self.request_id)
        return state, body

    def failure(self, body: dict[str, Any]) -> errors.JobFailedError:
        """The error for a FAILED body, classified by its words, with its metrics."""
        return errors.job_failed(self._failure_detail(body), request_id=self.request_id,
                                 metrics=Metrics.from_body(body))

    def _failure_detail(self, body: dict[str, Any]) -> str:
        for key in ("error", "error_description", "message", "detail"):
            value = body.get(key)
            if isinstance(value, dict):  # {"error": {"message": ...}}, as some upstreams nest it
                value = value.get("message") or value.get("error")
            if value:
                return self.client.transport.scrub(str(value)) or ""
        return "no detail given"

    def result(self) -> EditResult:
        state, body = self._get(self.response_url)
        if state is JobState.FAILED:
            raise self.failure(body)
        if state is not JobState.COMPLETED and "output" not in body:
            raise errors.InvalidResponseError("the result is not ready", request_id=self.request_id)
        try:
            data, source = output_bytes(output_reference(body), self.client.download)
            media_type, width, height = decode_image(data)
        except errors.SegmindError as exc:
            exc.request_id = self.request_id
            raise
        return EditResult(data, media_type, width, height, Metrics.from_body(body),
                          request_id=self.request_id, source_url=source, body=body)

    # Following ---------------------------------------------------------------

    def events(
        self,
        *,
        deadline: float | None = None,
        poll_interval: float | None = None,
        started_at: float | None = None,
        kind: Bucket | None = None,
    ) -> Iterator[JobEvent]:
        """Poll until the job ends; an event per observation, the last with the result.

        `kind` (the job's quality and size) lets the poll schedule use how long such jobs
        took before; see components/api/polling.py for how the cadence is chosen, and how
        429s slow it for the whole account.

        Raises a JobFailedError subclass (after a FAILED event), DeadlineExceededError,
        PollingStoppedError (at once when stopped) or the error that ended
        polling. Every error carries the request id. Once COMPLETED is seen, passing
        trouble fetching the result is waited out like trouble polling: the job is paid for.
        """
        settings = self.client.settings
        durations = self.client.durations
        limits = self.client.rate_limits
        account = self.client.account
        start = time.monotonic() if started_at is None else started_at
        deadline_at = start + (settings.deadline if deadline is None else deadline)
        interval = settings.poll_interval if poll_interval is None else poll_interval
        polls = troubles = 0
        state = JobState.QUEUED
        completed = False  # COMPLETED seen: what is left is fetching the result
        last_trouble: errors.SegmindError | None = None
        submitted = time.monotonic()  # durations are learnt from here, not from before the uploads
        schedule = PollSchedule(interval, durations.window(kind))
        last_pending = 0.0

        def event(**fields: Any) -> JobEvent:
            slowed = limits.interval(account, interval)
            note = fields.pop("note", None)
            if slowed is not None and note is None and "error" not in fields:
                note = f"Polling every {_span(slowed)} to stay under Segmind's rate limit"
            return JobEvent(state, self.request_id, time.monotonic() - start, polls, note=note,
                            rate_limit_interval=slowed, **fields)

        yield event()
        while True:
            if self._stop.is_set():
                raise errors.PollingStoppedError(request_id=self.request_id)
            if time.monotonic() >= deadline_at:
                seen = f"; last problem: {last_trouble.message}" if last_trouble else ""
                raise errors.DeadlineExceededError(
                    f"still {'fetching the result of a finished job' if completed else state.value} after "
                    f"{time.monotonic() - start:.0f}s{seen}", request_id=self.request_id)
            wait = interval
            try:
                if completed:
                    result = self.result()
                    yield event(result=result)
                    return
                state, body = self.status()
            except errors.SegmindError as exc:
                if not exc.transient:
                    raise
                # The paid job goes on whatever the status endpoint says: keep asking, more slowly,
                # until the deadline, rather than lose the result.
                troubles += 1
                last_trouble = exc
                retry_after = getattr(exc, "retry_after", None) or 0.0
                if isinstance(exc, errors.RateLimitError):
                    # Polls count against the plan's limit: the account polls too fast, not just this job.
                    floor = limits.slow_down(account, interval, getattr(exc, "retry_after", None))
                    wait = max(retry_after, floor) * random.uniform(1.0, 1.1)
                    yield event(error=f"Segmind is rate-limiting status checks (HTTP 429); polling every "
                                      f"{_span(floor)}, next in {_span(wait)}", note=None)
                else:
                    wait = min(MAX_TROUBLE_WAIT, max(retry_after, interval * 2 ** min(troubles, 6)))
                    yield event(error=f"{exc.summary}; retrying in {wait:.0f}s")
            else:
                troubles = 0
                last_trouble = None
                polls += 1
                limits.succeeded(account)
                since_submit = time.monotonic() - submitted
                if state is JobState.COMPLETED and kind is not None:
                    durations.record(kind, PollSchedule.completion_estimate(last_pending, since_submit))
                last_pending = since_submit
                wait = schedule.next_wait(since_submit, polls)
                if state is JobState.COMPLETED:
                    completed = True
                    continue  # fetch the result now, without waiting
                if state is JobState.FAILED:
                    failure = self.failure(body)
                    yield event(error=failure.detail, metrics=failure.metrics)
                    raise failure
                yield event()
            slowed = limits.interval(account, interval)
            if slowed is not None:
                wait = max(wait, slowed)
            remaining = deadline_at - time.monotonic()
            if self._stop.wait(max(0.0, min(wait, remaining))):
                raise errors.PollingStoppedError(request_id=self.request_id)


def _span(seconds: float) -> str:
    """Seconds for a status line: "12 s", "2.5 s", "0.2 s"."""
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.2g} s"
