"""The small job API the UI calls: runs that live on the server, watched as async streams.

Each run owns a thread that checks, uploads, submits and follows its job with
the synchronous client, and writes the run's history record as it goes. The
UI only *watches* a run: closing the tab ends the watching, not the run, so
a paid job is still followed to the end and lands in the history. Stopping
is explicit (`JobManager.stop`), and takes effect at once: the poller waits
on the run's stop event between polls.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import AsyncIterator, Callable

from components import errors
from components.backend import Backend, BackendKind
from components.client import SegmindClient
from components.history import HistoryStore, RunRecord, now_iso, prompt_slug
from components.inputs import EditRequest
from components.models import EditResult, JobEvent, JobState
from components.polling import bucket

log = logging.getLogger("components.jobs")

# Watchers get a fresh status at least once a second, even while a poll is slow.
TICK_SECONDS = 1.0
# Runs outlive the page that started them, so they are bounded here, not by Gradio's queue.
MAX_LIVE_RUNS = 128
MAX_RUNS_PER_OWNER = 16


class Phase(enum.Enum):
    WAITING = "WAITING"        # a sweep variant waiting for a free slot
    PREPARING = "PREPARING"    # checking and uploading inputs
    SUBMITTING = "SUBMITTING"
    QUEUED = JobState.QUEUED.value
    PROCESSING = JobState.PROCESSING.value
    COMPLETED = JobState.COMPLETED.value
    FAILED = JobState.FAILED.value
    STOPPED = "STOPPED"
    ERROR = "ERROR"


@dataclass(frozen=True)
class JobUpdate:
    phase: Phase
    elapsed: float
    request_id: str | None = None
    polls: int = 0
    result: EditResult | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def from_event(cls, event: JobEvent) -> JobUpdate:
        return cls(Phase(event.state.value), event.elapsed, event.request_id, event.polls, event.result,
                   event.error)


Emit = Callable[[JobUpdate], None]
Work = Callable[[SegmindClient, Emit, threading.Event, float], None]


@dataclass(eq=False)
class Run:
    record: RunRecord
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    latest: JobUpdate | None = None
    kind: BackendKind | None = None
    error: BaseException | None = None
    result_path: str | None = None
    _watchers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def _notify(self, item: object) -> None:
        with self._lock:
            watchers = list(self._watchers)
        for loop, queue in watchers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # that watcher's loop has closed
                pass


class JobManager:
    def __init__(self, backend: Backend, history: HistoryStore) -> None:
        self.backend = backend
        self.history = history
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    # Starting --------------------------------------------------------------------

    def start(self, request: EditRequest, *, owner: str, visitor_key: str | None = None,
              deadline: float | None = None, label: str = "", sweep_id: str | None = None,
              gate: threading.Semaphore | None = None) -> Run:
        """Run one edit on the server; returns at once."""
        if gate is None:
            self.admit(owner)
        record = self.history.create(owner=owner, prompt=request.prompt, options=dict(request.options),
                                     images=request.images, mask=request.mask, label=label, sweep_id=sweep_id)

        def work(client: SegmindClient, emit: Emit, stop: threading.Event, started: float) -> None:
            emit(JobUpdate(Phase.PREPARING, time.monotonic() - started))
            notes: list[str] = []
            payload = client.prepare_payload(request, stop, notes)
            record.notes = notes
            emit(JobUpdate(Phase.SUBMITTING, time.monotonic() - started, notes=tuple(notes)))
            job = client.submit(payload, stop)  # refuses to start once stop is set
            for event in client.follow(job, deadline=deadline, stop=stop, started_at=started, kind=bucket(payload)):
                emit(JobUpdate.from_event(event))

        return self._launch(record, work, visitor_key, gate)

    def start_sweep(self, variants: list[tuple[str, EditRequest]], *, owner: str, limit: int,
                    visitor_key: str | None = None, deadline: float | None = None) -> list[Run]:
        """Several labelled variants, at most `limit` running at a time."""
        self.admit(owner, len(variants))
        gate = threading.Semaphore(max(1, limit))
        sweep_id = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
        return [self.start(request, owner=owner, visitor_key=visitor_key, deadline=deadline, label=label,
                           sweep_id=sweep_id, gate=gate) for label, request in variants]

    def resume(self, request_id: str, *, owner: str, visitor_key: str | None = None,
               deadline: float | None = None) -> Run:
        """Follow a job submitted earlier (results are kept for one hour) into the history."""
        self.admit(owner)
        record = self.history.create(owner=owner, prompt=f"(resumed {request_id})", options={}, images=[],
                                     label="resumed")
        record.request_id = request_id

        def work(client: SegmindClient, emit: Emit, stop: threading.Event, started: float) -> None:
            for event in client.resume(request_id, deadline=deadline, stop=stop, started_at=started):
                emit(JobUpdate.from_event(event))

        return self._launch(record, work, visitor_key, None)

    def admit(self, owner: str, runs: int = 1) -> None:
        """Refuse more live runs than a server should carry; they outlive the page that started them."""
        with self._lock:
            live = list(self._runs.values())
        if len(live) + runs > MAX_LIVE_RUNS or sum(r.record.owner == owner for r in live) + runs > MAX_RUNS_PER_OWNER:
            raise errors.TooManyRunsError()

    def _launch(self, record: RunRecord, work: Work, visitor_key: str | None,
                gate: threading.Semaphore | None) -> Run:
        run = Run(record)
        self.history.protect(run.run_id)
        with self._lock:
            self._runs[run.run_id] = run
        thread = threading.Thread(target=self._execute, args=(run, work, visitor_key, gate),
                                  name=f"run-{run.run_id}", daemon=True)
        thread.start()
        return run

    def _execute(self, run: Run, work: Work, visitor_key: str | None, gate: threading.Semaphore | None) -> None:
        record = run.record
        acquired = False
        try:
            if gate is not None:
                self._emit(run, JobUpdate(Phase.WAITING, 0.0))
                while not (acquired := gate.acquire(timeout=0.2)):
                    if run.stop.is_set():
                        raise errors.PollingStoppedError()
                run.started = time.monotonic()
            with self.backend.client(visitor_key) as (client, kind):
                run.kind = kind
                record.backend = kind.value
                work(client, lambda update: self._emit(run, update), run.stop, run.started)
        except errors.SegmindError as exc:
            run.error = exc
            record.error = exc.message
            record.request_id = exc.request_id or record.request_id
            phase = Phase.STOPPED if isinstance(exc, errors.PollingStoppedError) else Phase.FAILED
            self._emit(run, JobUpdate(phase, time.monotonic() - run.started, record.request_id,
                                      error=exc.message))
        except Exception as exc:  # reported to watchers; the run must still end cleanly
            log.exception("run %s ended with an unexpected error", run.run_id)
            run.error = exc
            record.error = "unexpected error inside the app"
            self._emit(run, JobUpdate(Phase.ERROR, time.monotonic() - run.started, record.request_id))
        finally:
            if acquired and gate is not None:
                gate.release()
            record.total_time = round(time.monotonic() - run.started, 3)
            try:
                self.history.save(record)
            except OSError:  # a full disk must not leave the run "running" for ever
                log.exception("could not save the record of run %s", run.run_id)
            finally:
                with self._lock:
                    self._runs.pop(run.run_id, None)
                self.history.release(run.run_id)
                with run._lock:
                    run.done.set()
                run._notify(None)

    def _emit(self, run: Run, update: JobUpdate) -> None:
        record = run.record
        if update.request_id:
            record.request_id = update.request_id
        if update.result is not None:
            # The paid image is on disk before the record says COMPLETED.
            result = update.result
            record.inference_time = result.metrics.inference_time
            record.cost = result.metrics.cost
            record.remaining_credits = result.metrics.remaining_credits
            record.total_time = round(update.elapsed, 3)
            name = f"{self.backend.settings.model}_{record.run_id}_{prompt_slug(record.prompt)}.{result.extension}"
            self.history.add_result(record, name, result.image)
            run.result_path = str(self.history.folder(record.run_id) / name)
        if record.status != update.phase.value:
            record.status = update.phase.value
            record.states.append({"state": update.phase.value, "at": now_iso()})
            self.history.save(record)
        run.latest = update
        run._notify(update)

    # Watching and stopping -----------------------------------------------------------

    async def watch(self, run: Run) -> AsyncIterator[JobUpdate]:
        """Updates until the run ends; raises the run's error at the end, if any.

        Cancelling the watcher (a closed tab) leaves the run going.
        """
        queue: asyncio.Queue = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with run._lock:
            run._watchers.append(entry)
            latest, finished = run.latest, run.done.is_set()
        if finished:
            queue.put_nowait(None)  # the end was announced before this watcher registered
        try:
            if latest is not None:
                yield latest
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=TICK_SECONDS)
                except asyncio.TimeoutError:
                    if run.latest is not None and not run.done.is_set():
                        yield replace(run.latest, elapsed=time.monotonic() - run.started)
                    continue
                if item is None:  # only the end marker ends the watch: nothing queued before it is lost
                    break
                if item is not latest:
                    yield item
            if run.error is not None:
                raise run.error
        finally:
            with run._lock:
                run._watchers.remove(entry)

    def get(self, run_id: str) -> Run | None:
        """A run still going, by its id."""
        with self._lock:
            return self._runs.get(run_id)

    def stop(self, run_id: str) -> bool:
        with self._lock:
            run = self._runs.get(run_id)
        if run is None:
            return False
        run.stop.set()
        return True

    def running(self, owner: str | None = None) -> list[Run]:
        with self._lock:
            runs = list(self._runs.values())
        return [r for r in runs if owner is None or r.record.owner == owner]

    def active_count(self) -> int:
        with self._lock:
            return len(self._runs)

    def wait_idle(self, timeout: float) -> bool:
        """True once no run is left (for shutdown and tests)."""
        deadline = time.monotonic() + timeout
        for run in self.running():
            if not run.done.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True


__all__ = ["JobManager", "JobUpdate", "Phase", "Run"]
