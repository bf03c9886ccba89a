"""The emulated service itself, with no HTTP: jobs, stored files, credits, expiry and keys.

Everything the emulator *decides* lives here, so it can be driven and tested
without a socket: operations take parsed inputs and return plain values, or
raise `EmulatorError(status, detail)`, which the HTTP adapter turns into the
documented `{"error": ...}` answer. Time is read only through `clock`, so a
test can move it forward to expire results instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from components.api import schema
from components.api.schema import JobState
from components.emulator.faults import FaultPlan, Route
from components.emulator.render import Rendered, render

log = logging.getLogger("components.emulator")

FAIL_TRIGGER = "#fail"
SWEEP_EVERY_SECONDS = 10.0  # sweeping walks every job, so a busy demo does it now and then, not per request
SYNC_POLL_SECONDS = 0.05

Clock = Callable[[], float]
Latency = Callable[[dict[str, Any]], tuple[float, float]]  # params -> (seconds queued, seconds processing)


class EmulatorError(Exception):
    """A refusal the service answers with: its HTTP status and the `error` detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class EmulatedJob:
    request_id: str
    params: dict[str, Any]
    submitted_at: float
    state: JobState = JobState.QUEUED
    completed_at: float | None = None
    error: str | None = None
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


def _not_found(request_id: str) -> EmulatorError:
    return EmulatorError(404, f"Request {request_id} not found or expired (results are kept for 1 hour)")


class EmulatorState:
    """The service's state and rules. `base_url` is where clients reach it, set once a port is bound:
    output and asset URLs are built from it, and inputs on it are read from `files` (there is no internet)."""

    def __init__(
        self,
        *,
        key: str = "emulator-key",
        queue_seconds: float = 0.5,
        processing_seconds: float = 2.5,
        latency: Latency | None = None,
        expiry_seconds: float = 3600.0,
        credits: float = 100.0,
        models: tuple[str, ...] = (schema.MODEL_SLUG,),
        retired_models: tuple[str, ...] = (),
        upload_key: str = "file_urls",
        output_shape: str = "url",
        record_keys: bool = False,
        base_url: str = "",
        clock: Clock = time.monotonic,
    ) -> None:
        self.key = key
        self.queue_seconds = queue_seconds
        self.processing_seconds = processing_seconds
        self.latency = latency
        self.expiry_seconds = expiry_seconds
        self.credits = credits
        self.models = set(models)
        self.retired_models = set(retired_models)
        self.upload_key = upload_key
        self.output_shape = output_shape  # url | list | base64 | data_uri
        self.base_url = base_url
        self.clock = clock
        self.faults = FaultPlan()
        self.calls: Counter[Route] = Counter()
        self.bytes_received: Counter[Route] = Counter()  # request bodies, for benchmarks
        self.jobs: dict[str, EmulatedJob] = {}
        self.files: dict[str, StoredFile] = {}
        # Which keys arrived, for tests that prove whose key was sent; off by default, since it would
        # keep every key a public demo ever saw.
        self.record_keys = record_keys
        self.received_keys: Counter[str] = Counter()
        self._last_sweep = clock()
        self._lock = threading.Lock()
        self._shutdown = threading.Event()
        self._workers: list[threading.Thread] = []

    # Accounting and access ---------------------------------------------------

    def record_call(self, route: Route) -> None:
        with self._lock:
            self.calls[route] += 1

    def record_bytes(self, route: Route, count: int) -> None:
        with self._lock:
            self.bytes_received[route] += count

    def authorise(self, key: str | None) -> None:
        """Accept the configured key, or raise the 401 Segmind gives."""
        if key and self.record_keys:
            with self._lock:
                self.received_keys[key] += 1
        if not key:
            raise EmulatorError(401, "Missing API key: send it in the x-api-key header")
        # Constant-time, so the emulator is no oracle for a key guessed byte by byte.
        if not secrets.compare_digest(key.encode(), self.key.encode()):
            raise EmulatorError(401, "Invalid API key")

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

    def _admit(self, slug: str, body: dict[str, Any]) -> None:
        """The checks Segmind makes before it takes a job, in its order."""
        if slug in self.retired_models:
            raise EmulatorError(410, f"Model {slug} has been retired and is no longer available")
        if slug not in self.models:
            raise EmulatorError(404, f"Model {slug} not found")
        issues = schema.validate(body)
        if issues:
            raise EmulatorError(400, "; ".join(str(i) for i in issues))
        if self.credits < schema.estimated_cost(body):
            raise EmulatorError(406, "Insufficient credits: add credits to your account to continue")

    def submit(self, slug: str, body: dict[str, Any]) -> EmulatedJob:
        """v2: accept a job and return it QUEUED; a worker thread moves it on."""
        self._admit(slug, body)
        return self._start_job(body)

    def run_sync(self, slug: str, body: dict[str, Any]) -> tuple[EmulatedJob, StoredFile] | None:
        """v1: run a job to its end and return it with its image; None when the emulator stops first."""
        self._admit(slug, body)
        job = self._start_job(body)
        while job.state not in (JobState.COMPLETED, JobState.FAILED):
            if self.pause(SYNC_POLL_SECONDS):
                return None
        if job.state is JobState.FAILED:
            raise EmulatorError(400, job.error or "failed")
        stored = self.files.get(f"outputs/{job.output_name}")
        if stored is None:  # expired meanwhile, which only a zero expiry allows
            raise _not_found(job.request_id)
        return job, stored

    def _timings(self, params: dict[str, Any]) -> tuple[float, float]:
        return self.latency(params) if self.latency else (self.queue_seconds, self.processing_seconds)

    def _start_job(self, body: dict[str, Any]) -> EmulatedJob:
        self.sweep()
        params = {**schema.option_defaults(), **body}
        job = EmulatedJob(secrets.token_hex(16), params, submitted_at=self.clock())
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
        job.state = JobState.PROCESSING
        started = self.clock()
        if FAIL_TRIGGER in str(job.params.get("prompt", "")):
            if not self.pause(processing):
                self._finish(job, JobState.FAILED,
                             f"Simulated content block: the prompt contains {FAIL_TRIGGER} (emulator)")
            return
        try:
            # Rendered first, then the rest of the latency waited out, so the job completes on time
            # even when many render at once.
            rendered = self._render(job.params)
        except Exception as exc:  # a crashed worker must end the job, not leave it PROCESSING forever
            log.exception("emulated job %s failed to render", job.request_id)
            self._finish(job, JobState.FAILED, f"Internal error in the emulator: {type(exc).__name__}")
            return
        if self.pause(max(0.0, processing - (self.clock() - started))):
            return
        name = f"{job.request_id}.{job.params['output_format']}"
        cost = schema.estimated_cost(job.params)
        with self._lock:
            self.files[f"outputs/{name}"] = StoredFile(rendered.data, rendered.media_type, self.clock())
            self.credits -= cost
            job.remaining_credits = round(self.credits, 4)
        job.output_name = name
        job.cost = cost
        job.inference_time = round(self.clock() - started, 3)
        self._finish(job, JobState.COMPLETED)

    def _image_from(self, reference: str) -> Image.Image | None:
        """An input image: inline, or one of our own stored files; anything else can't be fetched offline."""
        data: bytes | None = None
        if reference.startswith("data:"):
            try:
                data = base64.b64decode(reference.split(",", 1)[1])
            except (binascii.Error, IndexError):
                return None
        else:
            parts = urlsplit(reference)
            if parts.netloc == urlsplit(self.base_url).netloc:
                stored = self.files.get(parts.path.lstrip("/"))
                data = stored.data if stored else None
        if data is None:
            return None
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
            return image
        except (UnidentifiedImageError, OSError):
            return None

    def _render(self, params: dict[str, Any]) -> Rendered:
        images = [self._image_from(u) for u in params["image_urls"]]
        mask = self._image_from(params["mask"]) if params.get("mask") else None
        return render(images[0], images[1:], mask, params)

    # Results -----------------------------------------------------------------

    def _expired(self, job: EmulatedJob) -> bool:
        return job.completed_at is not None and self.clock() - job.completed_at > self.expiry_seconds

    def _forget(self, job: EmulatedJob) -> None:
        """Drop a job and its output (the caller holds the lock)."""
        self.jobs.pop(job.request_id, None)
        if job.output_name:
            self.files.pop(f"outputs/{job.output_name}", None)

    def job(self, request_id: str) -> EmulatedJob | None:
        """The job, unless it is unknown or its result has expired (then it is forgotten on the spot)."""
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None and self._expired(job):
                self._forget(job)
                return None
            return job

    def job_body(self, job: EmulatedJob, *, full: bool) -> dict[str, Any]:
        """The status body, or with `full` the result body (output, metrics, images) once COMPLETED."""
        state = job.state  # read once: the worker thread may move it on meanwhile
        body: dict[str, Any] = {"request_id": job.request_id, "status": state.value}
        if state is JobState.FAILED:
            body["error"] = job.error
        if full and state is JobState.COMPLETED:
            stored = self.files.get(f"outputs/{job.output_name}")
            if stored is None:  # expired between the lookup and now
                raise _not_found(job.request_id)
            url = f"{self.base_url}/outputs/{job.output_name}"
            body["output"] = self._output_value(url, stored)
            body["metrics"] = {"inference_time": job.inference_time, "cost": job.cost,
                               "remaining_credits": job.remaining_credits}
            body["images"] = [{"url": url, "content_type": stored.media_type,
                               "file_name": job.output_name, "file_size": len(stored.data)}]
        return body

    def _output_value(self, url: str, stored: StoredFile) -> Any:
        """`output` in the shape this emulator was told to use: models on Segmind differ here."""
        if self.output_shape == "url":
            return url
        if self.output_shape == "list":
            return [url]
        encoded = base64.b64encode(stored.data).decode("ascii")
        return {"base64": encoded, "data_uri": f"data:{stored.media_type};base64,{encoded}"}[self.output_shape]

    def job_view(self, request_id: str, *, full: bool) -> tuple[int, dict[str, Any]]:
        """What a status (`full=False`) or result poll answers: (HTTP status, body); FAILED is served as 422."""
        job = self.job(request_id)
        if job is None:
            raise _not_found(request_id)
        if not full:
            with self._lock:
                job.polls += 1
        body = self.job_body(job, full=full)
        # The code follows the body that was built, not a second read of a state that may have moved on.
        return (422 if body["status"] == JobState.FAILED.value else 200), body

    # Files -------------------------------------------------------------------

    def upload(self, data_urls: Any) -> list[str]:
        """Store base64 image data URLs as assets and return their URLs; all are checked before any is kept."""
        if not isinstance(data_urls, list) or not data_urls:
            raise EmulatorError(400, "data_urls must be a non-empty list of data URLs")
        decoded: list[tuple[bytes, str]] = []
        for position, data_url in enumerate(data_urls, start=1):
            if not isinstance(data_url, str) or not schema.is_image_reference(data_url) \
                    or not data_url.startswith("data:"):
                raise EmulatorError(400, f"data_urls[{position}] is not a base64 image data URL")
            media_type = data_url[5:].split(";", 1)[0]
            try:
                data = base64.b64decode(data_url.split(",", 1)[1], validate=True)
            except (binascii.Error, ValueError):
                raise EmulatorError(400, f"data_urls[{position}] is not valid base64") from None
            decoded.append((data, media_type))
        names = [f"assets/{secrets.token_hex(12)}.{media_type.split('/')[1]}" for _, media_type in decoded]
        now = self.clock()
        with self._lock:
            for name, (data, media_type) in zip(names, decoded):
                self.files[name] = StoredFile(data, media_type, now)
        return [f"{self.base_url}/{name}" for name in names]

    def file(self, name: str) -> StoredFile | None:
        """A stored upload (`assets/...`) or job output (`outputs/...`)."""
        return self.files.get(name)

    # Housekeeping and control ------------------------------------------------

    def expire(self, request_id: str) -> None:
        """Forget a job now, as if its retention had run out."""
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None:
                self._forget(job)

    def sweep(self, force: bool = False) -> None:
        """Forget expired jobs, their outputs and old uploads, so a long-running demo stays small."""
        now = self.clock()
        if not force and now - self._last_sweep < SWEEP_EVERY_SECONDS:
            return
        self._last_sweep = now
        with self._lock:
            for job in [job for job in self.jobs.values() if self._expired(job)]:
                self._forget(job)
            for name in [n for n, f in self.files.items()
                         if n.startswith("assets/") and now - f.stored_at > self.expiry_seconds]:
                del self.files[name]

    def configure(self, *, queue_seconds: float | None = None, processing_seconds: float | None = None,
                  expiry_seconds: float | None = None, credits: float | None = None) -> None:
        """Change timings, retention or credits while running (another process does it over HTTP)."""
        with self._lock:
            if queue_seconds is not None:
                self.queue_seconds = queue_seconds
            if processing_seconds is not None:
                self.processing_seconds = processing_seconds
            if expiry_seconds is not None:
                self.expiry_seconds = expiry_seconds
            if credits is not None:
                self.credits = credits

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": {route.value: n for route, n in self.calls.items()},
                "jobs": {state.value: sum(1 for j in self.jobs.values() if j.state is state) for state in JobState},
                "credits": round(self.credits, 4),
            }


__all__ = ["EmulatedJob", "EmulatorError", "EmulatorState", "FAIL_TRIGGER", "Latency", "StoredFile"]
