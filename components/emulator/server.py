"""A local Segmind: real HTTP servers on loopback that speak the contract as the service really does.

Two listeners, as Segmind has two kinds of host: the API (`url`: v1 sync, v2
submit / status / result, the older `/v1/requests/{id}` poll, `/upload-asset`
and the assets it stores) and the output host (`output_url`: result files,
served without a key and kept for days after a job's record has expired). It
shares only the parameter schema with the client. Jobs move QUEUED →
PROCESSING → COMPLETED on a timer; a prompt containing FAIL_TRIGGER ends FAILED
(served under 422), as a content block would. Faults are injected per route
through `faults` (in process) or `POST /_emulator/faults` (from another process).

Realistic by default (late parameter checks, 402, full bodies, retention from
submission, error-body variants: see state.py); `strict=True` for the tidy
contract. `rate_limit` turns on a plan-like sliding-window limit; `replay`
answers in the shapes of a captured real run (replay.py).

`Emulator` is the facade callers use: it wires the state (`state.py`), the
route table (`routes.py`) and the HTTP adapter (`adapter.py`) together, runs the
server thread, and exposes the state's attributes under their familiar names.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Generic, TypeVar, overload

from pathlib import Path

from components.api import schema
from components.emulator import routes
from components.emulator.faults import Fault, FaultKind, FaultPlan, Route
from components.emulator.adapter import EmulatorHTTPServer
from components.emulator.replay import ReplayTemplates
from components.emulator.shapes import OutputShape, SyncShape
from components.emulator.state import (FAIL_TRIGGER, OUTPUT_RETENTION_SECONDS, Clock, EmulatedJob, EmulatorState,
                                       Latency, StoredFile)

T = TypeVar("T")


class _OnState(Generic[T]):
    """An Emulator attribute that is the state's, read and set through it: a test that sets
    `emulator.processing_seconds` mid-run changes what the next job waits."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, emulator: None, owner: type | None = None) -> _OnState[T]: ...

    @overload
    def __get__(self, emulator: Emulator, owner: type | None = None) -> T: ...

    def __get__(self, emulator: Emulator | None, owner: type | None = None) -> T | _OnState[T]:
        if emulator is None:  # looked up on the class (help(), introspection)
            return self
        return getattr(emulator.state, self.name)

    def __set__(self, emulator: Emulator, value: T) -> None:
        setattr(emulator.state, self.name, value)


class Emulator:
    """Start with `start()` (or as a context manager); `url` is where it listens."""

    key = _OnState[str]()
    queue_seconds = _OnState[float]()
    processing_seconds = _OnState[float]()
    latency = _OnState["Latency | None"]()
    expiry_seconds = _OnState[float]()
    output_retention_seconds = _OnState[float]()
    credits = _OnState[float]()
    models = _OnState["set[str]"]()
    retired_models = _OnState["set[str]"]()
    upload_key = _OnState[str]()
    output_shape = _OnState["OutputShape | str"]()
    sync_shape = _OnState["SyncShape | str"]()
    strict = _OnState[bool]()
    rate_limit = _OnState["int | None"]()
    rate_limit_window = _OnState[float]()
    rate_limit_polls = _OnState[bool]()
    replay = _OnState["ReplayTemplates | None"]()
    record_keys = _OnState[bool]()
    faults = _OnState[FaultPlan]()
    calls = _OnState["Counter[Route]"]()
    bytes_received = _OnState["Counter[Route]"]()
    rate_limited = _OnState["Counter[Route]"]()
    keys_sent_to_files = _OnState[int]()
    jobs = _OnState["dict[str, EmulatedJob]"]()
    files = _OnState["dict[str, StoredFile]"]()
    received_keys = _OnState["Counter[str]"]()

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
        output_port: int = 0,
        record_keys: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        """`expiry_seconds`: how long a job's record lives from its submission; `output_retention_seconds`:
        how long its output file stays on the output host. `rate_limit` requests per `rate_limit_window`
        seconds per key (polls counted unless `rate_limit_polls=False`). `output_port`: where the output
        host listens (0 picks a free port)."""
        self.state = EmulatorState(
            key=key, queue_seconds=queue_seconds, processing_seconds=processing_seconds, latency=latency,
            expiry_seconds=expiry_seconds, output_retention_seconds=output_retention_seconds, credits=credits,
            models=models, retired_models=retired_models, upload_key=upload_key, output_shape=output_shape,
            sync_shape=sync_shape, strict=strict, rate_limit=rate_limit, rate_limit_window=rate_limit_window,
            rate_limit_polls=rate_limit_polls, replay=replay, record_keys=record_keys, clock=clock,
        )
        self._server = EmulatorHTTPServer((host, port), self.state)
        self._output_server = EmulatorHTTPServer((host, output_port), self.state, routes.OUTPUT_ROUTES)
        # Known only once the ports are bound.
        self.state.base_url = self._server.url
        self.state.output_base_url = self._output_server.url
        self._threads: list[threading.Thread] = []

    # Lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API host (and storage host: `/upload-asset` and its assets)."""
        return self._server.url

    @property
    def output_url(self) -> str:
        """The separate, key-less host result files are served from."""
        return self._output_server.url

    def start(self) -> Emulator:
        for server, name in ((self._server, "segmind-emulator"), (self._output_server, "segmind-emulator-outputs")):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name,
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop jobs, the listeners and every open connection, and wait for their threads."""
        self.state.shutdown()
        for server in (self._server, self._output_server):
            if self._threads:  # shutdown() waits for serve_forever, so only once it has run
                server.shutdown()
            server.server_close()
            # shutdown() only stops accepting: open keep-alive connections are closed so their threads end too.
            server.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Test helpers and state --------------------------------------------------

    def inject(self, route: Route | str, kind: FaultKind | str = FaultKind.STATUS, **options: Any) -> None:
        self.faults.add(Fault(Route(route), FaultKind(kind), **options))

    def expire(self, request_id: str) -> None:
        self.state.expire(request_id)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def sweep(self, force: bool = False) -> None:
        self.state.sweep(force)

    def job(self, request_id: str) -> EmulatedJob | None:
        return self.state.job(request_id)

    def job_body(self, job: EmulatedJob, *, full: bool) -> dict[str, Any]:
        return self.state.job_body(job, full=full)

    def configure(self, **values: Any) -> None:
        """What `POST /_emulator/config` changes (see state.CONFIGURABLE), in process."""
        self.state.configure(**values)


__all__ = ["Emulator", "EmulatedJob", "FAIL_TRIGGER"]
