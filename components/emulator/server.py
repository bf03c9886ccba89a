"""A local Segmind: a real HTTP server on loopback that speaks the documented contract.

v1 sync, v2 submit / status / result, `/upload-asset` and the files it stores,
with the documented states and codes. It shares only the parameter schema
with the client. Jobs move QUEUED → PROCESSING → COMPLETED on a timer;
a prompt containing FAIL_TRIGGER ends FAILED (served under 422), as a content
block would. Faults are injected per route through `faults` (in process) or
`POST /_emulator/faults` (from another process).

`Emulator` is the facade callers use: it wires the state (`state.py`), the
route table (`routes.py`) and the HTTP adapter (`adapter.py`) together, runs the
server thread, and exposes the state's attributes under their familiar names.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Generic, TypeVar, overload

from components.api import schema
from components.emulator.faults import Fault, FaultKind, FaultPlan, Route
from components.emulator.adapter import EmulatorHTTPServer
from components.emulator.state import FAIL_TRIGGER, Clock, EmulatedJob, EmulatorState, Latency, StoredFile

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
    credits = _OnState[float]()
    models = _OnState["set[str]"]()
    retired_models = _OnState["set[str]"]()
    upload_key = _OnState[str]()
    output_shape = _OnState[str]()
    record_keys = _OnState[bool]()
    faults = _OnState[FaultPlan]()
    calls = _OnState["Counter[Route]"]()
    bytes_received = _OnState["Counter[Route]"]()
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
        credits: float = 100.0,
        models: tuple[str, ...] = (schema.MODEL_SLUG,),
        retired_models: tuple[str, ...] = (),
        upload_key: str = "file_urls",
        output_shape: str = "url",
        record_keys: bool = False,
        clock: Clock = time.monotonic,
    ) -> None:
        self.state = EmulatorState(
            key=key, queue_seconds=queue_seconds, processing_seconds=processing_seconds, latency=latency,
            expiry_seconds=expiry_seconds, credits=credits, models=models, retired_models=retired_models,
            upload_key=upload_key, output_shape=output_shape, record_keys=record_keys, clock=clock,
        )
        self._server = EmulatorHTTPServer((host, port), self.state)
        self.state.base_url = self._server.url  # known only once the port is bound
        self._thread: threading.Thread | None = None

    # Lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="segmind-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop jobs, the listener and every open connection, and wait for their threads."""
        self.state.shutdown()
        if self._thread is not None:  # shutdown() waits for serve_forever, so only once it has run
            self._server.shutdown()
        self._server.server_close()
        # shutdown() only stops accepting: open keep-alive connections are closed so their threads end too.
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

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


__all__ = ["Emulator", "EmulatedJob", "FAIL_TRIGGER"]
