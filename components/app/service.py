"""The edit service: the one way anything starts a run (the Edit tab, `/edit`, sweeps, resume).

Every entry point goes the same way: check the inputs (each image decoded
once, then carried forward as bytes), admit (deployer limits and this
server's capacity, raising a typed Refusal), record, launch. What the UI
does with a run afterwards is to subscribe to it.
"""

from __future__ import annotations

import threading
import time
from typing import Sequence

from components.api import errors
from components.api.client import SegmindClient
from components.api.schema import ValidationIssue
from components.api.models import EditInputs
from components.api.polling import bucket
from components.app.backend import Backend
from components.app.history import HistoryStore
from components.app.refusals import TooManyRuns
from components.app.runs import Emit, Run, RunManager, RunUpdate
from components.app.status import RunStatus
from components.media.images import EditRequest, prepare

# Runs outlive the page that started them, so they are bounded here, not by Gradio's queue.
MAX_LIVE_RUNS = 128
MAX_RUNS_PER_OWNER = 16


class EditService:
    def __init__(self, backend: Backend, history: HistoryStore, *, max_live_runs: int = MAX_LIVE_RUNS,
                 max_runs_per_owner: int = MAX_RUNS_PER_OWNER) -> None:
        self.backend = backend
        self.history = history
        self.runs = RunManager(backend, history)
        self.max_live_runs = max_live_runs
        self.max_runs_per_owner = max_runs_per_owner

    # Admission -------------------------------------------------------------------

    def admit(self, owner: str, visitor_key: str | None, jobs: int = 1, *, quota_session: str | None = None) -> None:
        """Raise a Refusal unless `jobs` more runs may start for this owner now.

        Deployer limits count per `quota_session` (the owner unless said otherwise).
        """
        live = self.runs.live()
        if len(live) + jobs > self.max_live_runs:
            raise TooManyRuns(self.max_live_runs, per_owner=False)
        if sum(r.owner == owner for r in live) + jobs > self.max_runs_per_owner:
            raise TooManyRuns(self.max_runs_per_owner, per_owner=True)
        self.backend.admit(quota_session or owner, visitor_key, jobs)

    @staticmethod
    def check(request: EditRequest | EditInputs) -> EditInputs:
        """The checked inputs, or ValidationError naming every problem."""
        return request if isinstance(request, EditInputs) else prepare(request)

    # Starting --------------------------------------------------------------------

    def start_edit(self, request: EditRequest | EditInputs, *, owner: str, visitor_key: str | None = None,
                   deadline: float | None = None, quota_session: str | None = None) -> Run:
        """Check, admit and launch one edit; returns at once."""
        inputs = self.check(request)
        self.admit(owner, visitor_key, quota_session=quota_session)
        return self._launch_edit(inputs, owner=owner, visitor_key=visitor_key, deadline=deadline)

    def start_sweep(self, variants: Sequence[tuple[str, EditRequest | EditInputs]], *, owner: str, limit: int,
                    visitor_key: str | None = None, deadline: float | None = None) -> list[Run]:
        """Several labelled variants, every one checked before any starts, at most `limit` at a time."""
        checked, issues = [], []
        for label, request in variants:
            try:
                checked.append((label, self.check(request)))
            except errors.ValidationError as exc:
                issues += [ValidationIssue(issue.param, f"{issue.message} (variant {label})") for issue in exc.issues]
        if issues:
            raise errors.ValidationError(issues)
        self.admit(owner, visitor_key, len(checked))
        gate = threading.Semaphore(max(1, limit))
        sweep_id = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
        return [self._launch_edit(inputs, owner=owner, visitor_key=visitor_key, deadline=deadline, label=label,
                                  sweep_id=sweep_id, gate=gate) for label, inputs in checked]

    def resume(self, request_id: str, *, owner: str, visitor_key: str | None = None,
               deadline: float | None = None) -> Run:
        """Follow a job submitted earlier into the history, while Segmind still keeps it."""
        self.admit(owner, visitor_key)
        record = self.history.create(owner=owner, inputs=None, prompt=f"(resumed {request_id})", label="resumed")
        record.request_id = request_id

        def work(client: SegmindClient, emit: Emit, stop: threading.Event, started: float) -> None:
            for event in client.job(request_id, stop).events(deadline=deadline, started_at=started):
                emit(RunUpdate.from_event(event))

        return self.runs.launch(record, work, visitor_key)

    def _launch_edit(self, inputs: EditInputs, *, owner: str, visitor_key: str | None, deadline: float | None,
                     label: str = "", sweep_id: str | None = None, gate: threading.Semaphore | None = None) -> Run:
        record = self.history.create(owner=owner, inputs=inputs, label=label, sweep_id=sweep_id)

        def work(client: SegmindClient, emit: Emit, stop: threading.Event, started: float) -> None:
            emit(RunUpdate(RunStatus.PREPARING, time.monotonic() - started, notes=inputs.notes))
            payload = client.prepare_payload(inputs, stop)
            emit(RunUpdate(RunStatus.SUBMITTING, time.monotonic() - started))
            job = client.submit(payload, stop)  # refuses to start once stop is set
            for event in job.events(deadline=deadline, started_at=started, kind=bucket(payload)):
                emit(RunUpdate.from_event(event))

        return self.runs.launch(record, work, visitor_key, gate)

    # Live runs ---------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def stop(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        if run is None:
            return False
        run.stop()
        return True

    def live(self, owner: str | None = None) -> list[Run]:
        return self.runs.live(owner)

    def wait_idle(self, timeout: float) -> bool:
        return self.runs.wait_idle(timeout)
