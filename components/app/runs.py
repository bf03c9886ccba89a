"""Runs that live on the server, each watched by any number of subscribers.

Each run owns a thread that uploads, submits and follows its job with the
synchronous client, and writes the run's history record as it goes. A page
only *subscribes* to a run: closing the tab ends the subscription, not the
run, so a paid job is still followed to the end and lands in the history.
Stopping is explicit (`Run.stop`) and takes effect at once: the poller waits
on the run's stop event between polls.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import AsyncIterator, Callable

from components.api import constants, errors
from components.api.client import SegmindClient
from components.api.models import EditResult, JobEvent
from components.app.backend import Backend, BackendKind
from components.app.retired import RetiredModels
from components.app.history import HistoryStore, RunRecord, StorageFull, now_iso, prompt_slug
from components.media.composite import NotComposited, keep_outside_mask
from components.media.decoding import InputError
from components.media.memory import give_back_memory
from components.app.status import RunStatus

log = logging.getLogger("components.app.runs")

# Subscribers get a fresh status at least once a second, even while a poll is slow.
TICK_SECONDS = 1.0
# The composite's file is the result's name with this added: `<result>_original-outside-mask.png`.
COMPOSITE_SUFFIX = "original-outside-mask"
NO_LOCAL_PHOTO = "The photo was given as a URL, which this app never fetched, so there is no original to keep."
NO_MASK_KEPT = "This run kept no mask file, so there is nothing to keep the original outside of."
COMPOSITE_FAILED = "Something went wrong laying the result over the photo (it has been logged); the result is kept."


@dataclass(frozen=True)
class RunUpdate:
    status: RunStatus
    elapsed: float
    request_id: str | None = None
    polls: int = 0
    result: EditResult | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    detail: str | None = None     # what is happening now, e.g. how much is being uploaded

    @classmethod
    def from_event(cls, event: JobEvent) -> RunUpdate:
        return cls(RunStatus.of_job(event.state, event.result is not None), event.elapsed, event.request_id,
                   event.polls, event.result,
                   event.error, detail=event.note)


Emit = Callable[[RunUpdate], None]


class ResultNotKept(errors.SegmindError):
    """The job completed (and was billed), but this server's storage bounds left no room for its result."""

    summary = "The job completed at Segmind, but this server had no room left to keep its result"
    remedy = (f"Resume it by its request id once some of your runs have finished or been deleted. "
              f"{constants.RESULT_RETENTION}.")


class CancelledBeforeSubmit(errors.PollingStoppedError):
    """Stopped before the paid submit left: nothing was sent, and nothing ever will be for this run."""


@dataclass(frozen=True)
class RunContext:
    """What a run's work gets besides its client."""

    run: Run
    emit: Emit

    @property
    def stop(self) -> threading.Event:
        return self.run.stop_event

    @property
    def started(self) -> float:
        return self.run.started

    def elapsed(self) -> float:
        return time.monotonic() - self.run.started

    def enter_submit(self) -> None:
        """Pass the point after which a cancel can no longer keep the job from being billed."""
        self.run.enter_submit()


# What a run does once it has a client: upload, submit and follow, emitting updates.
Work = Callable[[SegmindClient, RunContext], None]


@dataclass(eq=False)
class Run:
    record: RunRecord
    started: float = field(default_factory=time.monotonic)
    ticket: str | None = None   # the page's id for the click that started it, so Cancel can find it
    address: str | None = None  # the client's network address, for its share of live runs (never written down)
    latest: RunUpdate | None = None
    kind: BackendKind | None = None
    error: BaseException | None = None
    result_path: str | None = None
    composite_path: str | None = None   # the result laid over the photo through the mask, when asked and made
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _submit_started: bool = field(default=False, repr=False)
    # Makes "stop" and "start the submit" exclusive: a cancel is either before the submit (and it
    # never happens) or after it started (and the job may be billed), never a mix of the two.
    _submit_gate: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def shown_path(self) -> str | None:
        """What the run's page shows: the composite when one was made, else the model's result."""
        return self.composite_path or self.result_path

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def owner(self) -> str:
        return self.record.owner

    @property
    def status(self) -> RunStatus:
        return self.latest.status if self.latest else RunStatus.NEW

    @property
    def stop_event(self) -> threading.Event:
        return self._stop

    def stop(self) -> bool:
        """Stop following; before the submit, never submit. Safe from any thread.

        Returns whether the submit had already started (so the job may be billed).
        """
        with self._submit_gate:
            self._stop.set()
            return self._submit_started

    def enter_submit(self) -> None:
        """Called by the run's thread right before the paid submit; raises if it was stopped first."""
        with self._submit_gate:
            if self._stop.is_set():
                raise CancelledBeforeSubmit(reason="stopped before the job was submitted; nothing was sent")
            self._submit_started = True

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has ended; False on timeout."""
        return self._done.wait(timeout)

    # Publishing (from the run's thread) -------------------------------------------

    def publish(self, update: RunUpdate) -> None:
        self.latest = update
        self._notify(update)

    def finish(self) -> None:
        with self._lock:
            self._done.set()
        self._notify(None)

    def _notify(self, item: RunUpdate | None) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for loop, queue in subscribers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # that subscriber's loop has closed
                pass

    # Subscribing (from an event loop) -----------------------------------------------

    async def subscribe(self) -> AsyncIterator[RunUpdate]:
        """Updates until the run ends, at least one a second; raises the run's error at the end.

        Once the run is stopped, only its end is told: a late "uploading" must not cover what the
        stop said. Cancelling the subscriber (a closed tab) leaves the run going.
        """
        queue: asyncio.Queue = asyncio.Queue()
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.append(entry)
            latest, finished = self.latest, self._done.is_set()
        if finished:
            queue.put_nowait(None)  # the end was announced before this subscriber registered
        try:
            if latest is not None:
                yield latest
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=TICK_SECONDS)
                except asyncio.TimeoutError:
                    if self.latest is not None and not self.done and not self.stopping:
                        yield replace(self.latest, elapsed=time.monotonic() - self.started)
                    continue
                if item is None:  # only the end marker ends it: nothing queued before it is lost
                    break
                if item is not latest and (item.status.is_terminal or not self.stopping):
                    yield item
            if self.error is not None:
                raise self.error
        finally:
            with self._lock:
                self._subscribers.remove(entry)


RETIRED_FILE = "retired-models.json"


class RunManager:
    """The live runs: each on its own thread, bounded by the service that admits them."""

    def __init__(self, backend: Backend, history: HistoryStore) -> None:
        self.backend = backend
        self.history = history
        self.retired = RetiredModels(history.root / RETIRED_FILE)
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def launch(self, record: RunRecord, work: Work, visitor_key: str | None,
               gate: threading.Semaphore | None = None, *, ticket: str | None = None,
               started: float | None = None, address: str | None = None) -> Run:
        run = Run(record, ticket=ticket, address=address)
        if started is not None:
            run.started = started  # the click, so "total time" is what the person waited
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
                self._emit(run, RunUpdate(RunStatus.WAITING, 0.0))
                while not (acquired := gate.acquire(timeout=0.2)):
                    if run.stopping:
                        raise CancelledBeforeSubmit(reason="stopped before the job was submitted; nothing was sent")
                run.started = time.monotonic()
            if run.stopping:
                raise CancelledBeforeSubmit(reason="stopped before the job was submitted; nothing was sent")
            with self.backend.client(visitor_key) as (client, kind):
                run.kind = kind
                record.backend = kind.value
                work(client, RunContext(run, lambda update: self._emit(run, update)))
        except errors.SegmindError as exc:
            if isinstance(exc, errors.ModelRetiredError) and exc.model:
                self.retired.learn(exc.model)
            run.error = exc
            record.error = exc.message
            record.request_id = exc.request_id or record.request_id
            status = RunStatus.STOPPED if isinstance(exc, errors.PollingStoppedError) else RunStatus.FAILED
            self._emit(run, RunUpdate(status, time.monotonic() - run.started, record.request_id, error=exc.message))
        except Exception as exc:  # reported to subscribers; the run must still end cleanly
            log.exception("run %s ended with an unexpected error", run.run_id)
            run.error = exc
            record.error = "unexpected error inside the app"
            self._emit(run, RunUpdate(RunStatus.ERROR, time.monotonic() - run.started, record.request_id))
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
                run.finish()
                give_back_memory()

    def _emit(self, run: Run, update: RunUpdate) -> None:
        record = run.record
        if update.request_id:
            record.request_id = update.request_id
        if update.result is not None:
            # The paid image is on disk before the record says COMPLETED.
            result = update.result
            record.inference_time = result.metrics.inference_time
            record.queue_time = result.metrics.queue_time
            record.server_total_time = result.metrics.total_time
            record.cost = result.metrics.cost
            record.remaining_credits = result.metrics.remaining_credits
            record.total_time = round(update.elapsed, 3)
            name = f"{record.model}_{record.run_id}_{prompt_slug(record.prompt)}.{result.extension}"
            try:
                self.history.add_result(record, name, result.image)
            except StorageFull as exc:
                raise ResultNotKept(str(exc), request_id=record.request_id) from None
            run.result_path = str(self.history.folder(record.run_id) / name)
            if record.keep_outside_feather is not None:
                self._keep_outside(run, result, name)
        if record.status is not update.status:
            record.status = update.status
            record.states.append({"state": update.status.value, "at": now_iso()})
            self.history.save(record)
        run.publish(update)

    def _keep_outside(self, run: Run, result: EditResult, result_name: str) -> None:
        """Lay the result over the photo through the mask, as asked; or note why not. Never fails the run:
        the result was paid for and is kept whatever happens here."""
        record = run.record
        photo = self.history.path(record, record.inputs[0]) if record.inputs else None
        mask = self.history.path(record, record.mask)
        record.composite_note = None
        try:
            if photo is None or mask is None:
                raise NotComposited(NO_LOCAL_PHOTO if photo is None else NO_MASK_KEPT)
            made = keep_outside_mask(photo, result.image, mask, record.keep_outside_feather or 0)
            name = f"{result_name.rsplit('.', 1)[0]}_{COMPOSITE_SUFFIX}.png"
            self.history.add_composite(record, name, made.data)
        except (NotComposited, InputError, StorageFull) as exc:
            record.composite_note = str(exc)
        except Exception:  # noqa: BLE001 - the paid result must still be delivered
            log.exception("run %s: the composite could not be made", run.run_id)
            record.composite_note = COMPOSITE_FAILED
        else:
            run.composite_path = str(self.history.folder(record.run_id) / name)
        finally:
            give_back_memory()

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def by_ticket(self, ticket: str) -> list[Run]:
        with self._lock:
            return [run for run in self._runs.values() if ticket and run.ticket == ticket]

    def live(self, owner: str | None = None) -> list[Run]:
        with self._lock:
            runs = list(self._runs.values())
        return [r for r in runs if owner is None or r.owner == owner]

    def wait_idle(self, timeout: float) -> bool:
        """True once no run is left (for shutdown and tests)."""
        deadline = time.monotonic() + timeout
        for run in self.live():
            if not run.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True
