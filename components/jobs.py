"""The small job API the UI calls: run or resume an edit as an async stream of updates.

The client is synchronous (requests); each job runs it on a thread of its own
and hands updates to the event loop. That keeps the loop free while many
jobs wait on Segmind, and lets a cancelled coroutine stop its poller at once:
the `finally` below sets the stop event the poller waits on between polls.
"""

from __future__ import annotations

import asyncio
import enum
import threading
import time
from dataclasses import dataclass, replace
from typing import AsyncIterator, Callable

from components.client import SegmindClient
from components.inputs import EditRequest
from components.models import EditResult, JobEvent, JobState

# The UI promises a fresh status at least once a second, even while a poll is slow.
TICK_SECONDS = 1.0


class Phase(enum.Enum):
    PREPARING = "PREPARING"    # checking and uploading inputs
    SUBMITTING = "SUBMITTING"
    QUEUED = JobState.QUEUED.value
    PROCESSING = JobState.PROCESSING.value
    COMPLETED = JobState.COMPLETED.value
    FAILED = JobState.FAILED.value


@dataclass(frozen=True)
class JobUpdate:
    phase: Phase
    elapsed: float
    request_id: str | None = None
    polls: int = 0
    result: EditResult | None = None
    error: str | None = None

    @classmethod
    def from_event(cls, event: JobEvent) -> JobUpdate:
        return cls(Phase(event.state.value), event.elapsed, event.request_id, event.polls, event.result,
                   event.error)


Emit = Callable[[JobUpdate], None]

_live_pollers: set[threading.Thread] = set()
_live_lock = threading.Lock()


def live_pollers() -> int:
    """How many job threads are still running (each stops promptly once its stream ends)."""
    with _live_lock:
        return len(_live_pollers)


async def _stream(work: Callable[[Emit, threading.Event, float], None]) -> AsyncIterator[JobUpdate]:
    loop = asyncio.get_running_loop()
    updates: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
    stop = threading.Event()
    started = time.monotonic()

    def post(kind: str, value: object) -> None:
        try:
            loop.call_soon_threadsafe(updates.put_nowait, (kind, value))
        except RuntimeError:  # the loop has closed: nobody is listening any more
            stop.set()

    def pump() -> None:
        try:
            work(lambda update: post("update", update), stop, started)
            post("done", None)
        except BaseException as exc:  # handed to the coroutine, which re-raises it
            post("error", exc)
        finally:
            with _live_lock:
                _live_pollers.discard(threading.current_thread())

    thread = threading.Thread(target=pump, name="segmind-job", daemon=True)
    with _live_lock:
        _live_pollers.add(thread)
    thread.start()
    last: JobUpdate | None = None
    try:
        while True:
            try:
                kind, value = await asyncio.wait_for(updates.get(), timeout=TICK_SECONDS)
            except asyncio.TimeoutError:
                if last is not None:
                    last = replace(last, elapsed=time.monotonic() - started)
                    yield last
                continue
            if kind == "update":
                last = value  # type: ignore[assignment]
                yield last
            elif kind == "error":
                raise value  # type: ignore[misc]
            else:
                return
    finally:
        stop.set()


def run_job(client: SegmindClient, request: EditRequest, *, deadline: float | None = None) -> AsyncIterator[JobUpdate]:
    """Check, upload, submit and follow one edit."""

    def work(emit: Emit, stop: threading.Event, started: float) -> None:
        emit(JobUpdate(Phase.PREPARING, time.monotonic() - started))
        payload = client.prepare_payload(request)
        emit(JobUpdate(Phase.SUBMITTING, time.monotonic() - started))
        job = client.submit(payload)
        for event in client.follow(job, deadline=deadline, stop=stop, started_at=started):
            emit(JobUpdate.from_event(event))

    return _stream(work)


def resume_job(client: SegmindClient, request_id: str, *, deadline: float | None = None) -> AsyncIterator[JobUpdate]:
    """Follow a job submitted earlier, known by its request id."""

    def work(emit: Emit, stop: threading.Event, started: float) -> None:
        for event in client.resume(request_id, deadline=deadline, stop=stop, started_at=started):
            emit(JobUpdate.from_event(event))

    return _stream(work)
