"""The emulated service itself, with no HTTP: jobs, stored files, credits, expiry, keys, rate limits.

Everything the emulator *decides* lives here, so it can be driven and tested
without a socket: operations take parsed inputs and return plain values, or
raise `EmulatorError(status, detail, style)`, which the HTTP adapter turns into
an answer in that style. Time is read only through `clock`, so a test can move
it forward to expire results instead of sleeping.

By default it behaves as the real service does (see shapes.py and issue #12):
- parameters are checked late: a v2 submit with a bad body gets 200 and a
  request id, and the job then ends FAILED (HTTP 422) with Segmind's words
  ("Prompt is Mandatory");
- a v2 submit without credits is refused with 402, v1 with 406;
- a job's record lives `expiry_seconds` from its *submission*, finished or not;
  its output file lives on a separate, key-less host for `output_retention_seconds`
  (about 7 days), after the record is gone;
- an invalid key is answered OAuth-style (`invalid_token` + `error_description`),
  a non-JSON body with a plain-text 406, a wrong method with an HTML 405.
`strict=True` keeps the tidy contract instead: 400 at submit for bad
parameters, 406 for credits on v2 too, every error as `{"error": ...}`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from PIL import Image

from components.api import schema
from components.api.schema import JobState
from components.emulator.faults import FaultPlan, Route
from components.emulator.render import UNREADABLE, Rendered, draw, upright_size
from components.emulator.replay import Output, ReplayTemplates
from components.emulator.shapes import (OAUTH_INVALID_TOKEN, ErrorStyle, OutputShape, SlidingWindow, SyncShape,
                                        insufficient_credits, late_reason, output_fields, reset_at_utc)

log = logging.getLogger("components.emulator")

FAIL_TRIGGER = "#fail"
SWEEP_EVERY_SECONDS = 10.0  # sweeping walks every job, so a busy demo does it now and then, not per request
SYNC_POLL_SECONDS = 0.05
OUTPUT_RETENTION_SECONDS = 7 * 24 * 3600.0
# Outputs outlive their records by days; in a long-running demo this bounds the memory they hold.
MAX_KEPT_OUTPUT_BYTES = 512 * 1024 * 1024
# What a rate limit counts: the inference host's endpoints (uploads and output files are other hosts).
RATE_LIMITED = frozenset({Route.SUBMIT, Route.STATUS, Route.RESULT, Route.SYNC})
POLL_ROUTES = frozenset({Route.STATUS, Route.RESULT})

Clock = Callable[[], float]
Latency = Callable[[dict[str, Any]], tuple[float, float]]  # params -> (seconds queued, seconds processing)


class EmulatorError(Exception):
    """A refusal the service answers with: its HTTP status, the `error` detail, and how it is written."""

    def __init__(self, status: int, detail: str, style: ErrorStyle = ErrorStyle.JSON,
                 headers: Mapping[str, str] | None = None, description: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.style = style
        self.headers = dict(headers or {})
        self.description = description  # OAuth style: the `error_description`


@dataclass
class EmulatedJob:
    request_id: str
    params: dict[str, Any]
    submitted_at: float
    state: JobState = JobState.QUEUED
    started_at: float | None = None      # when a worker took it (end of QUEUED)
    completed_at: float | None = None
    error: str | None = None
    late_failure: str | None = None      # a parameter problem found after the submit was accepted
    model: str = schema.DEFAULT_MODEL
    ignored: tuple[str, ...] = ()        # parameters the model does not take, dropped as Segmind drops them
    output_name: str | None = None
    inference_time: float = 0.0
    cost: float = 0.0
    remaining_credits: float = 0.0
    polls: int = 0


@dataclass
class StoredFile:
    data: bytes
    media_type: str
    stored_at: float


# Rendered pictures kept for repeated requests: a few, bounded in bytes.
RENDER_CACHE_ENTRIES = 16
RENDER_CACHE_BYTES = 64 * 1024 * 1024


def render_key(model: str, params: Mapping[str, Any], image_params: set[str], images: list[bytes | None]) -> str:
    """What a picture depends on: the model, the parameters besides the images' URLs, and the images' bytes."""
    digest = hashlib.sha256(model.encode())
    for name in sorted(set(params) - image_params):
        digest.update(f"\0{name}={params[name]!r}".encode())
    for data in images:
        digest.update(b"\1" + (hashlib.sha256(data).digest() if data is not None else b"-"))
    return digest.hexdigest()


class RenderCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: str, rendered: Rendered) -> None:
        with self._lock:
            if key in self._entries:
                self._bytes -= len(self._entries.pop(key).data)
            self._entries[key] = rendered
            self._bytes += len(rendered.data)
            while len(self._entries) > RENDER_CACHE_ENTRIES or self._bytes > RENDER_CACHE_BYTES:
                self._bytes -= len(self._entries.popitem(last=False)[1].data)


def _not_found(request_id: str) -> EmulatorError:
    return EmulatorError(404, f"Request {request_id} not found or expired "
                              "(request records are kept for 1 hour from submission)")


class EmulatorState:
    """The service's state and rules. `base_url` is where clients reach the API, and `output_base_url`
    the separate host output files are served from, both set once their ports are bound: URLs are built
    from them, and inputs on them are read from `files` (there is no internet)."""

    def __init__(
        self,
        *,
        key: str = "emulator-key",
        queue_seconds: float = 0.5,
        processing_seconds: float = 2.5,
        latency: Latency | None = None,
        expiry_seconds: float = 3600.0,
        output_retention_seconds: float = OUTPUT_RETENTION_SECONDS,
        credits: float = 100.0,
        models: tuple[str, ...] = tuple(schema.MODELS),
        retired_models: tuple[str, ...] = (),
        upload_key: str = "file_urls",
        output_shape: OutputShape | str = OutputShape.URL,
        sync_shape: SyncShape | str = SyncShape.BYTES,
        strict: bool = False,
        rate_limit: int | None = None,
        rate_limit_window: float = 60.0,
        rate_limit_polls: bool = True,
        replay: ReplayTemplates | str | Path | None = None,
        record_keys: bool = False,
        base_url: str = "",
        output_base_url: str = "",
        clock: Clock = time.monotonic,
    ) -> None:
        self.key = key
        self.queue_seconds = queue_seconds
        self.processing_seconds = processing_seconds
        self.latency = latency
        self.expiry_seconds = expiry_seconds
        self.output_retention_seconds = output_retention_seconds
        self.credits = credits
        self.models = set(models)
        self.retired_models = set(retired_models)
        self.upload_key = upload_key
        self.output_shape = output_shape
        self.sync_shape = sync_shape
        self.strict = strict
        self.clock = clock
        self.rate_limit_window = rate_limit_window
        self.rate_limit_polls = rate_limit_polls
        self.rate_limit = rate_limit
        self.replay = replay
        self.base_url = base_url
        self.output_base_url = output_base_url
        self.faults = FaultPlan()
        self.calls: Counter[Route] = Counter()
        self.bytes_received: Counter[Route] = Counter()  # request bodies, for benchmarks
        self.rate_limited: Counter[Route] = Counter()    # requests refused with 429 by the rate limit
        self.keys_sent_to_files = 0                      # requests for stored files that carried a key anyway
        self.jobs: dict[str, EmulatedJob] = {}
        self.files: dict[str, StoredFile] = {}
        self._renders = RenderCache()
        # Which keys arrived, for tests that prove whose key was sent; off by default, since it would
        # keep every key a public demo ever saw.
        self.record_keys = record_keys
        self.received_keys: Counter[str] = Counter()
        self._last_sweep = clock()
        self._lock = threading.Lock()
        self._shutdown = threading.Event()
        self._workers: list[threading.Thread] = []

    # Options that are parsed when set (a test or /_emulator/config may set them as plain values) --------

    @property
    def output_shape(self) -> OutputShape:
        return self._output_shape

    @output_shape.setter
    def output_shape(self, value: OutputShape | str) -> None:
        self._output_shape = OutputShape(value)

    @property
    def sync_shape(self) -> SyncShape:
        return self._sync_shape

    @sync_shape.setter
    def sync_shape(self, value: SyncShape | str) -> None:
        self._sync_shape = SyncShape(value)

    @property
    def rate_limit(self) -> int | None:
        return self._window.limit if self._window else None

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        """Requests per `rate_limit_window` seconds per key (None or 0: no limit); counting starts afresh."""
        self._window = SlidingWindow(int(value), self.rate_limit_window, self.clock) if value else None

    @property
    def replay(self) -> ReplayTemplates | None:
        return self._replay

    @replay.setter
    def replay(self, value: ReplayTemplates | str | Path | None) -> None:
        self._replay = ReplayTemplates.load(value) if isinstance(value, (str, Path)) else value

    # Accounting and access ---------------------------------------------------

    def record_call(self, route: Route) -> None:
        with self._lock:
            self.calls[route] += 1

    def record_bytes(self, route: Route, count: int) -> None:
        with self._lock:
            self.bytes_received[route] += count

    def record_key_on_file(self) -> None:
        with self._lock:
            self.keys_sent_to_files += 1

    def authorise(self, key: str | None) -> None:
        """Accept the configured key, or raise the 401 Segmind gives."""
        if key and self.record_keys:
            with self._lock:
                self.received_keys[key] += 1
        if not key:
            raise EmulatorError(401, "Missing API key: send it in the x-api-key header")
        # Constant-time, so the emulator is no oracle for a key guessed byte by byte.
        if not secrets.compare_digest(key.encode(), self.key.encode()):
            if self.strict:
                raise EmulatorError(401, "Invalid API key")
            raise EmulatorError(401, OAUTH_INVALID_TOKEN, ErrorStyle.OAUTH,
                                description="Invalid API key: check it in your Segmind dashboard")

    def count_request(self, route: Route, key: str) -> None:
        """The plan's rate limit, per key; raises the 429 Segmind gives (only `x-rate-limit-reset-at-utc`)."""
        window = self._window
        if window is None or route not in RATE_LIMITED or (route in POLL_ROUTES and not self.rate_limit_polls):
            return
        # Counted per account, by a hash: the limiter keeps no keys.
        wait = window.take(hashlib.sha256(key.encode()).hexdigest())
        if wait is None:
            return
        with self._lock:
            self.rate_limited[route] += 1
        raise EmulatorError(429, f"Rate limit exceeded: {window.limit} requests per "
                                 f"{window.window:g} seconds on your plan",
                            headers={"x-rate-limit-reset-at-utc": reset_at_utc(wait)})

    def error_style(self, style: ErrorStyle) -> ErrorStyle:
        """The style an error is written in: strict writes every one as `{"error": ...}`."""
        return ErrorStyle.JSON if self.strict else style

    def pause(self, seconds: float) -> bool:
        """Wait real time (not `clock`); True as soon as the emulator is stopping, so nothing holds stop() up."""
        return self._shutdown.wait(seconds)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every job where it stands and wait for the worker threads to end."""
        self._shutdown.set()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=timeout)

    # Inference ---------------------------------------------------------------

    def _admit(self, slug: str, body: dict[str, Any], *, late_checks: bool) -> tuple[schema.Model, str | None]:
        """The checks Segmind makes before it takes a job, in its order: the model and its late failure.

        With `late_checks` (v2, realistic) a parameter problem does not refuse the submit: it is
        returned, in Segmind's words, for the job to fail with once a worker takes it. A parameter
        the model does not take is ignored, as Segmind ignores it (so `image_urls` sent to
        gpt-image-2 makes a text-to-image job, billed); the strict double refuses it with a 400.
        """
        if slug in self.retired_models:
            raise EmulatorError(410, f"Model {slug} has been retired and is no longer available")
        model = schema.MODELS.get(slug)
        if model is None or slug not in self.models:
            raise EmulatorError(404, f"Model {slug} not found")
        issues = model.validate(body)
        if not self.strict:
            issues = [issue for issue in issues if issue.param in model.params_by_name]
        late_failure = None
        if issues:
            if self.strict:
                raise EmulatorError(400, "; ".join(str(i) for i in issues))
            late_failure = late_reason(issues[0])
            if not late_checks:
                raise EmulatorError(400, late_failure)
        # Judged at the price of the size it will render: `auto` follows the first image's shape.
        if self.credits < model.estimated_cost(body, self._first_size(model, body)):
            if late_checks and not self.strict:
                raise EmulatorError(402, insufficient_credits(self.credits))
            raise EmulatorError(406, "Insufficient credits: add credits to your account to continue")
        return model, late_failure

    def submit(self, slug: str, body: dict[str, Any]) -> EmulatedJob:
        """v2: accept a job and return it QUEUED; a worker thread moves it on."""
        model, late_failure = self._admit(slug, body, late_checks=True)
        return self._start_job(model, body, late_failure)

    def run_sync(self, slug: str, body: dict[str, Any]) -> tuple[EmulatedJob, StoredFile] | None:
        """v1: run a job to its end and return it with its image; None when the emulator stops first."""
        model, _ = self._admit(slug, body, late_checks=False)
        job = self._start_job(model, body)
        while job.state not in (JobState.COMPLETED, JobState.FAILED):
            if self.pause(SYNC_POLL_SECONDS):
                return None
        if job.state is JobState.FAILED:
            raise EmulatorError(400, job.error or "failed")
        stored = self.files.get(f"outputs/{job.output_name}")
        if stored is None:  # dropped meanwhile, which only a zero output retention allows
            raise _not_found(job.request_id)
        return job, stored

    def _timings(self, params: dict[str, Any]) -> tuple[float, float]:
        return self.latency(params) if self.latency else (self.queue_seconds, self.processing_seconds)

    def _start_job(self, model: schema.Model, body: dict[str, Any], late_failure: str | None = None) -> EmulatedJob:
        self.sweep()
        known = model.params_by_name
        given = {k: v for k, v in body.items() if v is not None}
        params = {**model.option_defaults(), **{k: v for k, v in given.items() if k in known}}
        job = EmulatedJob(secrets.token_hex(16), params, submitted_at=self.clock(), late_failure=late_failure,
                          model=model.slug, ignored=tuple(k for k in given if k not in known))
        worker = threading.Thread(target=self._run_job, args=(job,), name=f"emulated-job-{job.request_id[:8]}",
                                  daemon=True)
        with self._lock:
            self.jobs[job.request_id] = job
            if self._shutdown.is_set():  # stopping: a job accepted now never runs, and leaves no thread behind
                return job
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return job

    def _finish(self, job: EmulatedJob, state: JobState, error: str | None = None) -> None:
        job.error = error
        job.completed_at = self.clock()
        job.state = state  # last, so a reader that sees the end state sees the rest too

    def _run_job(self, job: EmulatedJob) -> None:
        queued, processing = self._timings(job.params)
        if self.pause(queued):
            return
        job.started_at = self.clock()
        job.state = JobState.PROCESSING
        started = job.started_at
        if job.late_failure:
            # The worker reads the body, finds it wanting and fails the job at once: nothing is billed.
            self._finish(job, JobState.FAILED, job.late_failure)
            return
        if FAIL_TRIGGER in str(job.params.get("prompt", "")):
            if not self.pause(processing):
                job.inference_time = round(self.clock() - started, 3)
                self._finish(job, JobState.FAILED,
                             f"Simulated content block: the prompt contains {FAIL_TRIGGER} (emulator)")
            return
        try:
            # Rendered first, then the rest of the latency waited out, so the job completes on time
            # even when many render at once.
            rendered = self._render(job)
        except Exception as exc:  # a crashed worker must end the job, not leave it PROCESSING forever
            log.exception("emulated job %s failed to render", job.request_id)
            self._finish(job, JobState.FAILED, f"Internal error in the emulator: {type(exc).__name__}")
            return
        if self.pause(max(0.0, processing - (self.clock() - started))):
            return
        name = f"{job.request_id}.{job.params['output_format']}"
        # Billed for the size it rendered, which for `auto` is the size the first image's shape chose.
        cost = schema.MODELS[job.model].pricing.estimate(job.params.get("quality"), (rendered.width, rendered.height))
        with self._lock:
            self.files[f"outputs/{name}"] = StoredFile(rendered.data, rendered.media_type, self.clock())
            self.credits -= cost
            job.remaining_credits = round(self.credits, 4)
        job.output_name = name
        job.cost = cost
        job.inference_time = round(self.clock() - started, 3)
        self._finish(job, JobState.COMPLETED)

    def _bytes_from(self, reference: str) -> bytes | None:
        """An input image's bytes: inline, or one of our own stored files; anything else can't be fetched offline."""
        if reference.startswith("data:"):
            try:
                return schema.parse_data_uri(reference)[1]
            except ValueError:
                return None
        parts = urlsplit(reference)
        if parts.netloc in {urlsplit(self.base_url).netloc, urlsplit(self.output_base_url).netloc}:
            stored = self.files.get(parts.path.lstrip("/"))
            return stored.data if stored else None
        return None

    def _first_size(self, model: schema.Model, body: Mapping[str, Any]) -> tuple[int, int] | None:
        """The first image's size as it will be drawn (upright), from its header; None when it can't be read."""
        given = body.get(model.image_param.name)
        first = (given[0] if given else None) if isinstance(given, list) else given
        data = self._bytes_from(first) if isinstance(first, str) else None
        if data is None:
            return None
        try:
            with Image.open(io.BytesIO(data)) as image:
                return upright_size(image)
        except UNREADABLE:
            return None

    def _render(self, job: EmulatedJob) -> Rendered:
        """The model's picture of what it was sent: without an image it draws from the prompt alone.

        The picture depends only on the images' bytes and the parameters, so the same request is
        drawn once: repeated requests (a demo's, a benchmark's, a flood's) cost the app's CPU little.
        """
        model, params = schema.MODELS[job.model], job.params
        given = params.get(model.image_param.name)
        references = given if isinstance(given, list) else [given] if given else []
        data = [self._bytes_from(u) for u in references]
        mask_data = self._bytes_from(params["mask"]) if params.get("mask") else None
        key = render_key(job.model, params, {model.image_param.name, "mask"}, [*data, mask_data])
        cached = self._renders.get(key)
        if cached is not None:
            return cached
        rendered = draw(data, mask_data, params, model, text_only=not references)
        self._renders.put(key, rendered)
        return rendered

    # Results -----------------------------------------------------------------

    def _expired(self, job: EmulatedJob) -> bool:
        """Records live `expiry_seconds` from submission, whether or not the job ever finished."""
        return self.clock() - job.submitted_at > self.expiry_seconds

    def _forget(self, job: EmulatedJob) -> None:
        """Drop a job's record (the caller holds the lock). Its output file stays: it lives on its own host."""
        self.jobs.pop(job.request_id, None)

    def job(self, request_id: str) -> EmulatedJob | None:
        """The job, unless it is unknown or its record has expired (then it is forgotten on the spot)."""
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None and self._expired(job):
                self._forget(job)
                return None
            return job

    def urls(self, request_id: str) -> dict[str, str]:
        base = f"{self.base_url}/v2/requests/{request_id}"
        return {"status_url": f"{base}/status", "response_url": base}

    def output_url(self, name: str) -> str:
        return f"{self.output_base_url or self.base_url}/outputs/{name}"

    def metrics(self, job: EmulatedJob, state: JobState) -> dict[str, Any]:
        """`metrics` as Segmind reports it: `{}` while pending, times on FAILED (no cost), all on COMPLETED."""
        if not state.is_terminal or job.completed_at is None:
            return {}
        started = job.started_at if job.started_at is not None else job.submitted_at
        times = {"inference_time": job.inference_time, "queue_time": round(started - job.submitted_at, 3),
                 "total_time": round(job.completed_at - job.submitted_at, 3)}
        if state is JobState.FAILED:
            return times
        return {**times, "retry_count": 0, "cost": job.cost, "remaining_credits": job.remaining_credits}

    def submit_body(self, job: EmulatedJob) -> dict[str, Any]:
        """The v2 submit answer: the id, QUEUED, and the URLs (poll_url is the older `/v1/requests/{id}`)."""
        body = {"request_id": job.request_id, "status": JobState.QUEUED.value, **self.urls(job.request_id),
                "poll_url": f"{self.base_url}/v1/requests/{job.request_id}"}
        return self.replay.submit_body(body) if self.replay else body

    def job_body(self, job: EmulatedJob, *, full: bool) -> dict[str, Any]:
        """The status body, or with `full` the result body (output, metrics, images) once COMPLETED."""
        state = job.state  # read once: the worker thread may move it on meanwhile
        body: dict[str, Any] = {"request_id": job.request_id, "status": state.value, **self.urls(job.request_id),
                                "metrics": self.metrics(job, state)}
        if state is JobState.FAILED:
            body["error"] = job.error
        output = None
        if full and state is JobState.COMPLETED:
            stored = self.files.get(f"outputs/{job.output_name}")
            if stored is None:  # dropped between the lookup and now
                raise _not_found(job.request_id)
            url = self.output_url(str(job.output_name))
            output = Output(url, stored.data, stored.media_type)
            body.update(output_fields(self.output_shape, url, stored.data, stored.media_type))
            body["images"] = [{"url": url, "content_type": stored.media_type,
                               "file_name": job.output_name, "file_size": len(stored.data)}]
        if self.replay:
            return self.replay.result_body(body, output) if full else self.replay.status_body(body, output)
        return body

    def job_view(self, request_id: str, *, full: bool, poll: bool | None = None) -> tuple[int, dict[str, Any]]:
        """What a status (`full=False`) or result poll answers: (HTTP status, body); FAILED is served as 422.

        `poll` counts the request as a status poll (the default for status; `/v1/requests/{id}` is both).
        """
        job = self.job(request_id)
        if job is None:
            raise _not_found(request_id)
        if poll if poll is not None else not full:
            with self._lock:
                job.polls += 1
        body = self.job_body(job, full=full)
        # The code follows the state that was read, not a second read of a state that may have moved on.
        return (422 if body.get("status") == JobState.FAILED.value else 200), body

    def sync_answer(self, job: EmulatedJob, stored: StoredFile) -> tuple[dict[str, str], dict[str, Any] | None]:
        """v1's answer: the headers, and a JSON body when `sync_shape` is not raw bytes."""
        headers = {"x-request-id": job.request_id, "x-cost": str(job.cost),
                   "x-remaining-credits": str(job.remaining_credits), "x-generation-time": str(job.inference_time)}
        if self.sync_shape is SyncShape.BYTES:
            return headers, None
        url = self.output_url(str(job.output_name))
        shape = OutputShape.IMAGE if self.sync_shape is SyncShape.IMAGE else OutputShape.IMAGE_URL
        return headers, output_fields(shape, url, stored.data, stored.media_type)

    # Files -------------------------------------------------------------------

    def upload(self, data_urls: Any) -> list[str]:
        """Store base64 image data URLs as assets and return their URLs; all are checked before any is kept."""
        if not isinstance(data_urls, list) or not data_urls:
            raise EmulatorError(400, "data_urls must be a non-empty list of data URLs")
        decoded: list[tuple[bytes, str]] = []
        for position, data_url in enumerate(data_urls, start=1):
            if not schema.is_data_uri(data_url):
                raise EmulatorError(400, f"data_urls[{position}] is not a base64 image data URL")
            try:
                media_type, data = schema.parse_data_uri(data_url)
            except ValueError:
                raise EmulatorError(400, f"data_urls[{position}] is not valid base64") from None
            decoded.append((data, media_type))
        names = [f"assets/{secrets.token_hex(12)}.{media_type.split('/')[1]}" for _, media_type in decoded]
        now = self.clock()
        with self._lock:
            for name, (data, media_type) in zip(names, decoded):
                self.files[name] = StoredFile(data, media_type, now)
        return [f"{self.base_url}/{name}" for name in names]

    def file(self, name: str) -> StoredFile | None:
        """A stored upload (`assets/...`) or job output (`outputs/...`), unless its retention has run out."""
        stored = self.files.get(name)
        if stored is not None and self._file_expired(name, stored, self.clock()):
            return None
        return stored

    def _file_expired(self, name: str, stored: StoredFile, now: float) -> bool:
        keep = self.output_retention_seconds if name.startswith("outputs/") else self.expiry_seconds
        return now - stored.stored_at > keep

    # Housekeeping and control ------------------------------------------------

    def expire(self, request_id: str) -> None:
        """Forget a job's record now, as if its hour had run out (its output file stays)."""
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None:
                self._forget(job)

    def sweep(self, force: bool = False) -> None:
        """Forget expired records, old uploads and outputs, so a long-running demo stays small."""
        now = self.clock()
        if not force and now - self._last_sweep < SWEEP_EVERY_SECONDS:
            return
        self._last_sweep = now
        with self._lock:
            for job in [job for job in self.jobs.values() if self._expired(job)]:
                self._forget(job)
            for name in [n for n, f in self.files.items() if self._file_expired(n, f, now)]:
                del self.files[name]
            # Outputs stay for days; past a memory bound the oldest go first.
            outputs = sorted((f.stored_at, n) for n, f in self.files.items() if n.startswith("outputs/"))
            kept = sum(len(self.files[n].data) for _, n in outputs)
            for _, name in outputs:
                if kept <= MAX_KEPT_OUTPUT_BYTES:
                    break
                kept -= len(self.files.pop(name).data)

    def configure(self, **values: Any) -> None:
        """Change options while running (another process does it over HTTP: `POST /_emulator/config`)."""
        unknown = sorted(set(values) - set(CONFIGURABLE))
        if unknown:
            raise EmulatorError(400, f"{', '.join(unknown)} cannot be configured")
        with self._lock:
            # The window's length first: setting the limit starts a window of the length set.
            for name in sorted(values, key=lambda n: n != "rate_limit_window"):
                setattr(self, name, values[name])
            if "rate_limit_window" in values and "rate_limit" not in values:
                self.rate_limit = self.rate_limit  # a new window length starts counting afresh

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": {route.value: n for route, n in self.calls.items()},
                "rate_limited": {route.value: n for route, n in self.rate_limited.items()},
                "jobs": {state.value: sum(1 for j in self.jobs.values() if j.state is state) for state in JobState},
                "credits": round(self.credits, 4),
            }


# What `configure` (and `POST /_emulator/config`) may change, and how a JSON value is read for each.
CONFIGURABLE: dict[str, Callable[[Any], Any]] = {
    "queue_seconds": float, "processing_seconds": float, "expiry_seconds": float,
    "output_retention_seconds": float, "credits": float,
    "strict": lambda value: value if isinstance(value, bool) else _flag(value),
    "rate_limit": lambda value: int(value) if value else None,
    "rate_limit_window": float,
    "rate_limit_polls": lambda value: value if isinstance(value, bool) else _flag(value),
    "output_shape": OutputShape, "sync_shape": SyncShape, "upload_key": str,
}


def _flag(value: Any) -> bool:
    if str(value).lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a yes or no")


__all__ = ["CONFIGURABLE", "EmulatedJob", "EmulatorError", "EmulatorState", "FAIL_TRIGGER", "Latency",
           "StoredFile"]
