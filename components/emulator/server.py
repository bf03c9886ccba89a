"""A local Segmind: a real HTTP server on loopback that speaks the documented contract.

v1 sync, v2 submit / status / result, `/upload-asset` and the files it stores,
with the documented states and codes. It shares only the parameter schema
with the client. Jobs move QUEUED → PROCESSING → COMPLETED on a timer;
a prompt containing FAIL_TRIGGER ends FAILED (served under 422), as a content
block would. Faults are injected per route through `faults` (in process) or
`POST /_emulator/faults` (from another process).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from components import schema
from components.emulator.faults import Fault, FaultKind, FaultPlan, Route
from components.emulator.render import render
from components.models import JobState

log = logging.getLogger("components.emulator")

FAIL_TRIGGER = "#fail"
MAX_BODY_BYTES = 200 * 1024 * 1024
ANSWERED = object()  # a handler step has already sent the answer
ROUTE_BY_PATH = {"v1": Route.SYNC, "v2": Route.SUBMIT, "upload-asset": Route.UPLOAD}

Latency = Callable[[dict[str, Any]], tuple[float, float]]


@dataclass
class EmulatedJob:
    request_id: str
    params: dict[str, Any]
    state: JobState = JobState.QUEUED
    submitted_at: float = field(default_factory=time.monotonic)
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
    stored_at: float = field(default_factory=time.monotonic)


class Emulator:
    """Start with `start()` (or as a context manager); `url` is where it listens."""

    def __init__(
        self,
        *,
        key: str = "emulator-key",
        host: str = "127.0.0.1",
        port: int = 0,
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
        self.faults = FaultPlan()
        self.calls: Counter[Route] = Counter()
        self.bytes_received: Counter[Route] = Counter()  # request bodies, for benchmarks
        self.jobs: dict[str, EmulatedJob] = {}
        self.files: dict[str, StoredFile] = {}
        # Which keys arrived, for tests that prove whose key was sent; off by default, since it would
        # keep every key a public demo ever saw.
        self.record_keys = record_keys
        self.received_keys: Counter[str] = Counter()
        self._last_sweep = time.monotonic()
        self._lock = threading.Lock()
        self._shutdown = threading.Event()
        self._workers: list[threading.Thread] = []
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="segmind-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._shutdown.set()
        self._server.shutdown()
        self._server.server_close()
        # shutdown() only stops accepting: close open keep-alive connections so their threads end too.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for worker in self._workers:
            worker.join(timeout=5)
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Test helpers ------------------------------------------------------------

    def inject(self, route: Route | str, kind: FaultKind | str = FaultKind.STATUS, **options: Any) -> None:
        self.faults.add(Fault(Route(route), FaultKind(kind), **options))

    def expire(self, request_id: str) -> None:
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None:
                self._forget(job)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": {route.value: n for route, n in self.calls.items()},
                "jobs": {state.value: sum(1 for j in self.jobs.values() if j.state is state) for state in JobState},
                "credits": round(self.credits, 4),
            }

    # Jobs --------------------------------------------------------------------

    def _timings(self, params: dict[str, Any]) -> tuple[float, float]:
        return self.latency(params) if self.latency else (self.queue_seconds, self.processing_seconds)

    def sweep(self, force: bool = False) -> None:
        """Forget expired jobs, their outputs and old uploads, so a long-running demo stays small."""
        now = time.monotonic()
        if not force and now - self._last_sweep < 10:
            return
        self._last_sweep = now
        with self._lock:
            for job in [job for job in self.jobs.values() if self._expired(job)]:
                self._forget(job)
            for name in [n for n, f in self.files.items()
                         if n.startswith("assets/") and now - f.stored_at > self.expiry_seconds]:
                del self.files[name]

    def _start_job(self, body: dict[str, Any]) -> EmulatedJob:
        self.sweep()
        params = {**schema.option_defaults(), **body}
        job = EmulatedJob(secrets.token_hex(16), params)
        with self._lock:
            self.jobs[job.request_id] = job
        worker = threading.Thread(target=self._run_job, args=(job,), name=f"emulated-job-{job.request_id[:8]}",
                                  daemon=True)
        with self._lock:
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        worker.start()
        return job

    def _run_job(self, job: EmulatedJob) -> None:
        queued, processing = self._timings(job.params)
        if self._shutdown.wait(queued):
            return
        job.state = JobState.PROCESSING
        started = time.monotonic()
        if FAIL_TRIGGER in str(job.params.get("prompt", "")):
            if not self._shutdown.wait(processing):
                job.error = f"Simulated content block: the prompt contains {FAIL_TRIGGER} (emulator)"
                job.completed_at = time.monotonic()
                job.state = JobState.FAILED
            return
        try:
            # Rendered first, then the rest of the latency waited out, so the job completes on time
            # even when many render at once.
            rendered = self._render(job.params)
        except Exception as exc:  # a crashed worker must end the job, not leave it PROCESSING forever
            log.exception("emulated job %s failed to render", job.request_id)
            job.error = f"Internal error in the emulator: {type(exc).__name__}"
            job.completed_at = time.monotonic()
            job.state = JobState.FAILED
            return
        if self._shutdown.wait(max(0.0, processing - (time.monotonic() - started))):
            return
        name = f"{job.request_id}.{job.params['output_format']}"
        cost = schema.estimated_cost(job.params)
        with self._lock:
            self.files[f"outputs/{name}"] = StoredFile(rendered.data, rendered.media_type)
            self.credits -= cost
            job.remaining_credits = round(self.credits, 4)
        job.output_name = name
        job.cost = cost
        job.inference_time = round(time.monotonic() - started, 3)
        job.completed_at = time.monotonic()
        job.state = JobState.COMPLETED

    def _image_from(self, reference: str) -> Image.Image | None:
        data: bytes | None = None
        if reference.startswith("data:"):
            try:
                data = base64.b64decode(reference.split(",", 1)[1])
            except (binascii.Error, IndexError):
                return None
        else:
            parts = urlsplit(reference)
            if parts.netloc == urlsplit(self.url).netloc:
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

    def _render(self, params: dict[str, Any]):
        images = [self._image_from(u) for u in params["image_urls"]]
        mask = self._image_from(params["mask"]) if params.get("mask") else None
        return render(images[0], images[1:], mask, params)

    def _forget(self, job: EmulatedJob) -> None:
        """Drop a job and its output (the caller holds the lock)."""
        self.jobs.pop(job.request_id, None)
        if job.output_name:
            self.files.pop(f"outputs/{job.output_name}", None)

    def _expired(self, job: EmulatedJob) -> bool:
        return job.completed_at is not None and time.monotonic() - job.completed_at > self.expiry_seconds

    def job(self, request_id: str) -> EmulatedJob | None:
        with self._lock:
            job = self.jobs.get(request_id)
            if job is not None and self._expired(job):
                self._forget(job)
                return None
            return job

    def job_body(self, job: EmulatedJob, *, full: bool) -> dict[str, Any]:
        state = job.state  # read once: the worker thread may move it on meanwhile
        body: dict[str, Any] = {"request_id": job.request_id, "status": state.value}
        if state is JobState.FAILED:
            body["error"] = job.error
        if full and state is JobState.COMPLETED:
            body["output"] = self._output_value(job)
            body["metrics"] = {"inference_time": job.inference_time, "cost": job.cost,
                               "remaining_credits": job.remaining_credits}
            stored = self.files[f"outputs/{job.output_name}"]
            body["images"] = [{"url": f"{self.url}/outputs/{job.output_name}", "content_type": stored.media_type,
                               "file_name": job.output_name, "file_size": len(stored.data)}]
        return body

    def _output_value(self, job: EmulatedJob) -> Any:
        url = f"{self.url}/outputs/{job.output_name}"
        stored = self.files[f"outputs/{job.output_name}"]
        encoded = base64.b64encode(stored.data).decode("ascii")
        return {"url": url, "list": [url], "base64": encoded,
                "data_uri": f"data:{stored.media_type};base64,{encoded}"}[self.output_shape]


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "SegmindEmulator/1.0"
        timeout = 60  # an idle keep-alive connection is dropped, and its thread ends

        def setup(self) -> None:
            super().setup()
            with emulator._lock:
                emulator._connections.add(self.connection)

        def finish(self) -> None:
            with emulator._lock:
                emulator._connections.discard(self.connection)
            try:
                super().finish()
            except OSError:  # the client has gone already
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
            log.debug("%s %s", self.address_string(), format % args)

        def handle(self) -> None:
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass  # the client hung up or went quiet mid-answer: nothing to tell anyone

        # Answers -----------------------------------------------------------

        def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            self._send(code, json.dumps(body).encode(), "application/json", headers)

        def _error(self, code: int, detail: str, headers: dict[str, str] | None = None) -> None:
            self._json(code, {"error": detail}, headers)

        def _apply_fault(self, route: Route) -> bool:
            """Fire the next fault for this route; True when it answered (or hung up)."""
            with emulator._lock:
                emulator.calls[route] += 1
            fault = emulator.faults.take(route)
            if fault is None:
                return False
            if fault.kind is FaultKind.SLOW:
                emulator._shutdown.wait(fault.delay)
                return False
            if fault.kind is FaultKind.DROP:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return True
            if fault.kind is FaultKind.NON_JSON:
                self._send(200, b"<html><body>502 upstream hiccup</body></html>", "text/html")
                return True
            self._error(fault.status, fault.detail, dict(fault.headers))
            return True

        def _authorised(self) -> bool:
            key = self.headers.get("x-api-key")
            if key and emulator.record_keys:
                with emulator._lock:
                    emulator.received_keys[key] += 1
            if not key:
                self._error(401, "Missing API key: send it in the x-api-key header")
                return False
            if not secrets.compare_digest(key.encode(), emulator.key.encode()):
                self._error(401, "Invalid API key")
                return False
            return True

        def _read_json(self) -> Any:
            """The JSON body, or ANSWERED when an error has already been sent."""
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY_BYTES:
                self.close_connection = True  # the body is left unread, so this connection can't be reused
                self._error(413 if length > 0 else 400, "Request body too large or of unknown length")
                return ANSWERED
            raw = self.rfile.read(length) if length else b""
            with emulator._lock:
                emulator.bytes_received[ROUTE_BY_PATH.get(self.path.split("/")[1], Route.CONTROL)] += len(raw)
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                self._error(406, "Content-Type must be application/json")
                return ANSWERED
            try:
                body = json.loads(raw)
            except ValueError:
                self._error(400, "The request body is not valid JSON")
                return ANSWERED
            if not isinstance(body, dict):
                self._error(400, "The request body must be a JSON object")
                return ANSWERED
            return body

        # Routing -----------------------------------------------------------

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = urlsplit(self.path).path
            parts = [p for p in path.split("/") if p]
            if parts[:1] in (["assets"], ["outputs"]) and len(parts) == 2:
                return self._serve_file(path.lstrip("/"))
            if parts[:2] == ["v2", "requests"] and len(parts) in (3, 4):
                if len(parts) == 4 and parts[3] != "status":
                    return self._error(404, "Not found")
                return self._job(parts[2], full=len(parts) == 3)
            if parts == ["_emulator", "stats"]:
                return self._json(200, emulator.stats())
            if parts == ["health"]:
                return self._json(200, {"ok": True})
            self._error(404, "Not found")

        do_HEAD = do_GET

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            parts = [p for p in urlsplit(self.path).path.split("/") if p]
            if len(parts) == 2 and parts[0] in ("v1", "v2"):
                return self._inference(parts[1], sync=parts[0] == "v1")
            if parts == ["upload-asset"]:
                return self._upload()
            if parts[:1] == ["_emulator"]:
                return self._control(parts[1:])
            self._read_body_and_discard()
            self._error(404, "Not found")

        def _read_body_and_discard(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if 0 < length <= MAX_BODY_BYTES:
                self.rfile.read(length)

        # Handlers ----------------------------------------------------------

        def _inference(self, slug: str, *, sync: bool) -> None:
            route = Route.SYNC if sync else Route.SUBMIT
            body = self._read_json()
            if body is ANSWERED:
                return
            if self._apply_fault(route) or not self._authorised():
                return
            if slug in emulator.retired_models:
                return self._error(410, f"Model {slug} has been retired and is no longer available")
            if slug not in emulator.models:
                return self._error(404, f"Model {slug} not found")
            issues = schema.validate(body)
            if issues:
                return self._error(400, "; ".join(str(i) for i in issues))
            if emulator.credits < schema.estimated_cost(body):
                return self._error(406, "Insufficient credits: add credits to your account to continue")
            if sync:
                return self._run_sync(body)
            job = emulator._start_job(body)
            base = f"{emulator.url}/v2/requests/{job.request_id}"
            self._json(200, {"request_id": job.request_id, "status": JobState.QUEUED.value,
                             "status_url": f"{base}/status", "response_url": base, "poll_url": f"{base}/status"})

        def _run_sync(self, body: dict[str, Any]) -> None:
            job = emulator._start_job(body)
            # v1 blocks until the job ends, like the real endpoint.
            while job.state not in (JobState.COMPLETED, JobState.FAILED):
                if emulator._shutdown.wait(0.05):
                    return
            if job.state is JobState.FAILED:
                return self._error(400, job.error or "failed")
            stored = emulator.files[f"outputs/{job.output_name}"]
            self._send(200, stored.data, stored.media_type,
                       {"x-remaining-credits": str(job.remaining_credits)})

        def _job(self, request_id: str, *, full: bool) -> None:
            if self._apply_fault(Route.RESULT if full else Route.STATUS) or not self._authorised():
                return
            job = emulator.job(request_id)
            if job is None:
                return self._error(404, f"Request {request_id} not found or expired (results are kept for 1 hour)")
            job.polls += not full
            body = emulator.job_body(job, full=full)
            # The code follows the body that was built, not a second read of a state that may have moved on.
            self._json(422 if body["status"] == JobState.FAILED.value else 200, body)

        def _upload(self) -> None:
            body = self._read_json()
            if body is ANSWERED:
                return
            if self._apply_fault(Route.UPLOAD) or not self._authorised():
                return
            data_urls = body.get("data_urls")
            if not isinstance(data_urls, list) or not data_urls:
                return self._error(400, "data_urls must be a non-empty list of data URLs")
            urls = []
            for position, data_url in enumerate(data_urls, start=1):
                if not isinstance(data_url, str) or not schema.is_image_reference(data_url) \
                        or not data_url.startswith("data:"):
                    return self._error(400, f"data_urls[{position}] is not a base64 image data URL")
                media_type = data_url[5:].split(";", 1)[0]
                try:
                    data = base64.b64decode(data_url.split(",", 1)[1], validate=True)
                except (binascii.Error, ValueError):
                    return self._error(400, f"data_urls[{position}] is not valid base64")
                name = f"assets/{secrets.token_hex(12)}.{media_type.split('/')[1]}"
                with emulator._lock:
                    emulator.files[name] = StoredFile(data, media_type)
                urls.append(f"{emulator.url}/{name}")
            self._json(200, {emulator.upload_key: urls, "message": "Files uploaded successfully"})

        def _serve_file(self, name: str) -> None:
            if self._apply_fault(Route.FILE):
                return
            stored = emulator.files.get(name)
            if stored is None:
                return self._error(404, "Not found")
            self._send(200, stored.data, stored.media_type, {"Cache-Control": "max-age=3600"})

        def _control(self, parts: list[str]) -> None:
            body = self._read_json()
            if body is ANSWERED:
                return
            if self._apply_fault(Route.CONTROL) or not self._authorised():
                return
            if parts == ["faults"]:
                emulator.faults.add(Fault.from_json(body))
                return self._json(200, {"ok": True})
            if parts == ["expire"]:
                emulator.expire(str(body.get("request_id", "")))
                return self._json(200, {"ok": True})
            if parts == ["config"]:
                for name in ("queue_seconds", "processing_seconds", "expiry_seconds", "credits"):
                    if name in body:
                        setattr(emulator, name, float(body[name]))
                return self._json(200, {"ok": True})
            self._error(404, "Not found")

    return Handler


__all__ = ["Emulator", "EmulatedJob", "FAIL_TRIGGER"]
