"""Cancel tells the truth in every window: before the submit nothing is ever sent; after it, the job may be billed.

The service is driven directly against the emulator over HTTP; slow answers
(emulator faults) hold the run in each window while Cancel lands.
"""

from __future__ import annotations

import threading

import pytest

from components.app.service import CancelOutcome
from components.app.status import RunStatus
from components.emulator import FaultKind, Route
from tests.conftest import edit_inputs, png_bytes


def reached(emulator, route: Route) -> threading.Event:
    """Set once the emulator has received a request on this route (its counter moved)."""
    seen = threading.Event()
    start = emulator.calls[route]

    def watch():
        while not seen.is_set():
            if emulator.calls[route] > start:
                seen.set()
            threading.Event().wait(0.005)
    threading.Thread(target=watch, daemon=True).start()
    return seen


def test_a_ticket_cancelled_before_its_run_exists_never_starts(service, emulator):
    assert service.cancel("early").outcome is CancelOutcome.NOT_SUBMITTED
    with pytest.raises(Exception, match="nothing was sent"):
        service.start_edit(edit_inputs("x", [png_bytes()]), owner="o" * 24, ticket="early")
    assert emulator.calls[Route.SUBMIT] == 0


def test_cancel_while_uploading_sends_nothing_ever(service, emulator):
    emulator.inject(Route.UPLOAD, kind=FaultKind.SLOW, delay=0.5)
    uploading = reached(emulator, Route.UPLOAD)
    run = service.start_edit(edit_inputs("x", [png_bytes(color=(1, 2, 3))]), owner="o" * 24, ticket="t-upload")
    assert uploading.wait(5)
    cancelled = service.cancel("t-upload")
    assert cancelled.outcome is CancelOutcome.NOT_SUBMITTED
    assert service.wait_idle(10)
    assert run.record.status is RunStatus.STOPPED and run.record.request_id is None
    assert emulator.calls[Route.SUBMIT] == 0


def test_cancel_during_the_submit_says_it_may_be_billed_with_the_request_id(service, emulator):
    emulator.inject(Route.SUBMIT, kind=FaultKind.SLOW, delay=0.5)
    submitting = reached(emulator, Route.SUBMIT)
    run = service.start_edit(edit_inputs("x", [png_bytes(color=(4, 5, 6))]), owner="o" * 24, ticket="t-submit")
    assert submitting.wait(5)
    cancelled = service.cancel("t-submit")
    assert cancelled.outcome is CancelOutcome.SUBMITTED and cancelled.request_id in emulator.jobs
    assert service.wait_idle(10)
    assert run.record.request_id == cancelled.request_id and emulator.calls[Route.SUBMIT] == 1


def test_cancel_after_queued_names_the_job(service, emulator):
    emulator.processing_seconds = 5
    run = service.start_edit(edit_inputs("x", [png_bytes(color=(7, 8, 9))]), owner="o" * 24, ticket="t-queued")
    queued = threading.Event()

    def watch():
        while not (run.record.request_id or run.done):
            run.wait(0.01)
        queued.set()
    threading.Thread(target=watch, daemon=True).start()
    assert queued.wait(10)
    cancelled = service.cancel("t-queued")
    assert cancelled.outcome is CancelOutcome.SUBMITTED and cancelled.request_id == run.record.request_id
    assert service.wait_idle(10) and run.record.status is RunStatus.STOPPED
    assert emulator.calls[Route.SUBMIT] == 1


def test_resume_attaches_to_the_run_already_in_history(service, emulator):
    emulator.processing_seconds = 0.3
    owner = "r" * 24
    run = service.start_edit(edit_inputs("resume me", [png_bytes(color=(9, 9, 1))]), owner=owner, ticket="t-resume")
    while not run.record.request_id:
        run.wait(0.01)
    run.stop()
    assert service.wait_idle(10) and run.record.status is RunStatus.STOPPED
    for _ in range(2):  # resuming twice still makes one entry
        resumed = service.resume(run.record.request_id, owner=owner)
        assert service.wait_idle(10)
    (record,) = service.history.records(owner)
    assert resumed.record.run_id == run.run_id == record.run_id
    assert record.prompt == "resume me" and record.inputs and record.status is RunStatus.COMPLETED and record.result
