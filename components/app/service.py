"""The edit service: the one way anything starts a run (the Edit tab, `/edit`, sweeps, resume).

Every entry point goes the same way: check the inputs (each image decoded
once, then carried forward as bytes), admit (deployer limits and this
server's capacity, raising a typed Refusal), record, launch. What the UI
does with a run afterwards is to subscribe to it.

Cancelling tells the truth in every window. A click on Run carries a ticket
(an id the page makes); Cancel names the same ticket. A cancelled ticket never
becomes a submit: the run checks it at its submit gate, after which a cancel
can only stop the following, and says so.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable, Sequence

from components.api import errors, schema
from components.api.client import SegmindClient
from components.api.models import EditInputs, LocalImage
from components.api.polling import bucket
from components.api.schema import ValidationIssue
from components.app.backend import Backend
from components.app.settings import AppSettings
from components.app.history import HistoryStore, RunRecord, StorageFull
from components.app.owners import Account, Owner
from components.app.refusals import NoStorageRoom, Share, TooManyRuns, UnknownRequestId
from components.app.retired import RetiredModels
from components.app.runs import CancelledBeforeSubmit, Run, RunContext, RunManager, RunUpdate
from components.app.status import RunStatus
from components.media.images import EditRequest, prepare

# Runs outlive the page that started them, so they are bounded here, not by Gradio's queue: in all, per
# browser, and per client address (a script can make owner ids, and /edit calls have none, but not addresses).
MAX_LIVE_RUNS = 128
MAX_RUNS_PER_OWNER = 16
MAX_RUNS_PER_ADDRESS = AppSettings.max_runs_per_address
# How long Cancel waits to learn the request id of a submit already on its way.
CANCEL_SETTLE_SECONDS = 5.0
# The most takes one click on Run may start: each is a paid job.
MAX_TAKES = 8
MAX_TICKETS = 10_000


class CancelOutcome(enum.Enum):
    NOT_SUBMITTED = "not submitted"      # nothing was sent, and nothing will be
    SUBMIT_IN_FLIGHT = "submit in flight"  # the submit left; whether Segmind got it is not known yet
    SUBMITTED = "submitted"              # a job exists (request id known): it may finish and be billed


@dataclass(frozen=True)
class Cancelled:
    outcome: CancelOutcome
    request_id: str | None = None


@dataclass(frozen=True)
class Claimed:
    """What signing in did with the runs this browser made while signed out."""
    moved: int = 0        # now the account's
    kept: int = 0         # left with this browser: the account's share could not hold them
    needed: int = 0       # bytes the kept runs would have added to the account's share
    room: int = 0         # bytes the account's share had left


class Tickets:
    """Clicks on Run, by the page's id for each: when they came, and whether Cancel named them."""

    def __init__(self, max_entries: int = MAX_TICKETS) -> None:
        self._clicked: OrderedDict[str, float] = OrderedDict()
        self._cancelled: OrderedDict[str, None] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def clicked(self, ticket: str) -> float:
        """When this click arrived (the first time it is named)."""
        with self._lock:
            at = self._clicked.setdefault(ticket, time.monotonic())
            while len(self._clicked) > self._max:
                self._clicked.popitem(last=False)
            return at

    def cancel(self, ticket: str) -> None:
        with self._lock:
            self._cancelled[ticket] = None
            while len(self._cancelled) > self._max:
                self._cancelled.popitem(last=False)

    def is_cancelled(self, ticket: str | None) -> bool:
        with self._lock:
            return bool(ticket) and ticket in self._cancelled


class EditService:
    def __init__(self, backend: Backend, history: HistoryStore, *, max_live_runs: int = MAX_LIVE_RUNS,
                 max_runs_per_owner: int = MAX_RUNS_PER_OWNER,
                 max_runs_per_address: int = MAX_RUNS_PER_ADDRESS, trusted_proxy: bool = False,
                 today: Callable[[], date] = date.today) -> None:
        """`today`: the clock OpenAI's shutdown dates are read against (tests pin it)."""
        self.backend = backend
        self.today = today
        self.history = history
        self.owners = history.owner_ids()
        self.runs = RunManager(backend, history)
        self.tickets = Tickets()
        self.max_live_runs = max_live_runs
        self.max_runs_per_owner = max_runs_per_owner
        self.max_runs_per_address = max_runs_per_address
        self.trusted_proxy = trusted_proxy

    def client_address(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """Whose share of live runs a request counts against.

        Behind a trusted proxy (a Hugging Face Space), the peer is the proxy and X-Forwarded-For's last
        entry is the address that proxy saw; earlier entries are whatever the client wrote, so they are
        ignored. Without a trusted proxy the header is the client's own word and is ignored entirely.
        """
        if self.trusted_proxy and forwarded_for:
            last = forwarded_for.split(",")[-1].strip()
            if last:
                return last[:64]
        return peer

    @property
    def retired(self) -> RetiredModels:
        """The models Segmind has answered 410 for (the runs learn them)."""
        return self.runs.retired

    # Admission -------------------------------------------------------------------

    def admit(self, owner: str, visitor_key: str | None, jobs: int = 1, *, quota_session: str | None = None,
              address: str | None = None, signed_in: bool = False) -> None:
        """Raise a Refusal unless `jobs` more runs may start for this owner and address now.

        Deployer limits count per `quota_session` (the owner unless said otherwise), and, for a visitor
        signed in with Hugging Face (`owner` is then their account's), per account.
        """
        self.check_capacity(owner, jobs, address=address)
        self.backend.admit(quota_session or owner, visitor_key, jobs, account=owner if signed_in else None)

    def check_capacity(self, owner: str, jobs: int = 1, *, address: str | None = None) -> None:
        """The live-run limits alone: cheap, so it is asked before any image is decoded, and again at admission."""
        live = self.runs.live()
        if len(live) + jobs > self.max_live_runs:
            raise TooManyRuns(self.max_live_runs, Share.SERVER)
        if sum(r.owner == owner for r in live) + jobs > self.max_runs_per_owner:
            raise TooManyRuns(self.max_runs_per_owner, Share.OWNER)
        if address and sum(r.address == address for r in live) + jobs > self.max_runs_per_address:
            raise TooManyRuns(self.max_runs_per_address, Share.ADDRESS)

    def check(self, request: EditRequest | EditInputs) -> EditInputs:
        """The checked inputs, on the model they name or the deployer's; or ValidationError naming every problem."""
        if request.model is None:
            request = replace(request, model=self.backend.settings.model)
        return request if isinstance(request, EditInputs) else prepare(request)

    # Owners ------------------------------------------------------------------------

    def arrive(self, token: object, account: Account | None = None) -> tuple[Owner, Claimed]:
        """A page opens: whose runs it shows, and, for a visitor signed in, what became of the runs
        this browser made while signed out (they move to the account if its share can hold them)."""
        owner = self.owners.ensure(token, account)
        if account is None:
            return owner, Claimed()
        browser = self.owners.browser_of(owner.token)
        if browser is None:
            return owner, Claimed()
        try:
            return owner, Claimed(moved=self.history.reassign(browser, owner.id))
        except StorageFull as exc:
            kept = len(self.history.records(browser))
            return owner, Claimed(kept=kept, needed=exc.needed, room=max(0, exc.limit - self.history.size(owner.id)))

    # Starting --------------------------------------------------------------------

    def start_edit(self, request: EditRequest | EditInputs, *, owner: str, visitor_key: str | None = None,
                   deadline: float | None = None, quota_session: str | None = None,
                   ticket: str | None = None, address: str | None = None, signed_in: bool = False,
                   parent: str | None = None) -> Run:
        """Check, admit and launch one edit; returns at once.

        With a ticket, the run's clock starts at the click, and a cancelled ticket starts nothing. `parent`
        is the run whose result this edit continues from: recorded only when it is one of the owner's runs.
        """
        (run,) = self.start_takes(request, [""], owner=owner, visitor_key=visitor_key, deadline=deadline,
                                  quota_session=quota_session, ticket=ticket, address=address, signed_in=signed_in,
                                  parent=parent)
        return run

    def start_takes(self, request: EditRequest | EditInputs, labels: Sequence[str], *, owner: str,
                    visitor_key: str | None = None, deadline: float | None = None, quota_session: str | None = None,
                    ticket: str | None = None, address: str | None = None, signed_in: bool = False,
                    parent: str | None = None) -> list[Run]:
        """The same edit once per label, all at once: GPT Image takes no seed, so each take comes out different.

        The request is checked once; every take counts as a job against each limit, and either all start or
        none does. They share the click's ticket (Cancel stops them all) and the parent.
        """
        if not 1 <= len(labels) <= MAX_TAKES:
            raise ValueError(f"between 1 and {MAX_TAKES} takes")
        started = self.tickets.clicked(ticket) if ticket else None
        self.check_capacity(owner, len(labels), address=address)  # a flood is refused before it costs a decode
        inputs = self.check(request)
        mask_painted = bool(getattr(request, "mask_painted", False))
        keep_outside = getattr(request, "keep_outside", None)
        if self.tickets.is_cancelled(ticket):
            raise CancelledBeforeSubmit(reason="cancelled before the job was submitted; nothing was sent")
        self.admit(owner, visitor_key, len(labels), quota_session=quota_session, address=address,
                   signed_in=signed_in)
        parent = self.own_run(owner, parent)
        return [self._launch_edit(inputs, owner=owner, visitor_key=visitor_key, deadline=deadline, label=label,
                                  ticket=ticket, started=started, mask_painted=mask_painted, address=address,
                                  keep_outside_feather=keep_outside.feather if keep_outside else None, parent=parent)
                for label in labels]

    def own_run(self, owner: str, run_id: object) -> str | None:
        """`run_id` when it names one of this owner's kept runs; otherwise None (never another owner's run)."""
        record = self.history.owned(run_id, owner)
        return record.run_id if record is not None else None

    def start_sweep(self, variants: Sequence[tuple[str, EditRequest | EditInputs]], *, owner: str, limit: int,
                    visitor_key: str | None = None, deadline: float | None = None,
                    address: str | None = None, signed_in: bool = False, parent: str | None = None) -> list[Run]:
        """Several labelled variants, every one checked before any starts, at most `limit` at a time.

        Every variant counts as a live run against each limit, waiting or not. Each keeps the original
        outside the mask when its request says so, and records `parent` (one of this owner's runs) as the
        run its photo came from.
        """
        self.check_capacity(owner, len(variants), address=address)
        checked, issues = [], []
        for label, request in variants:
            try:
                checked.append((label, self.check(request)))
            except errors.ValidationError as exc:
                issues += [ValidationIssue(issue.param, f"{issue.message} (variant {label})") for issue in exc.issues]
        if issues:
            raise errors.ValidationError(issues)
        self.admit(owner, visitor_key, len(checked), address=address, signed_in=signed_in)
        gate = threading.Semaphore(max(1, limit))
        sweep_id = f"sweep-{time.strftime('%Y%m%d-%H%M%S')}"
        painted = {label: bool(getattr(request, "mask_painted", False)) for label, request in variants}
        keep = {label: getattr(request, "keep_outside", None) for label, request in variants}
        parent = self.own_run(owner, parent)
        return [self._launch_edit(inputs, owner=owner, visitor_key=visitor_key, deadline=deadline, label=label,
                                  sweep_id=sweep_id, gate=gate, mask_painted=painted[label], address=address,
                                  keep_outside_feather=keep[label].feather if keep[label] else None, parent=parent)
                for label, inputs in checked]

    def resume(self, request_id: str, *, owner: str, visitor_key: str | None = None,
               deadline: float | None = None, quota_session: str | None = None, address: str | None = None,
               signed_in: bool = False) -> Run:
        """Follow a job submitted earlier into the history, while Segmind still keeps it.

        A job this owner's history already has is followed into that same run, with its
        prompt, inputs and settings. Any other request id would let a visitor collect a job
        someone else paid for (a request id is no secret: it is in every status line), so it
        is followed only with the visitor's own key, which Segmind checks against the job.
        """
        request_id = request_id.strip()
        record = next((r for r in self.history.records(owner) if r.request_id == request_id), None)
        if record is None and not self.backend.own_key(visitor_key):
            raise UnknownRequestId(request_id)
        self.admit(owner, visitor_key, quota_session=quota_session, address=address, signed_in=signed_in)
        if record is None:
            record = self._create(owner=owner, inputs=None, prompt=f"(resumed {request_id})", label="resumed")
            record.request_id = request_id
            record.model = self.backend.settings.model  # a guess: a request id does not say its model
        else:
            live = [run for run in self.runs.live(owner) if run.record.run_id == record.run_id]
            if live:
                return live[0]  # already being followed: watch that
            record.error = None
            record.notes = [*record.notes, "resumed by request id"]

        def work(client: SegmindClient, context: RunContext) -> None:
            for event in client.job(request_id, context.stop).events(deadline=deadline, started_at=context.started):
                context.emit(RunUpdate.from_event(event))

        return self.runs.launch(record, work, visitor_key, address=address)

    def _create(self, **kwargs: Any) -> RunRecord:
        """A new record, or NoStorageRoom when its inputs would not fit the owner's share of the store."""
        try:
            return self.history.create(**kwargs)
        except StorageFull as exc:
            raise NoStorageRoom(str(exc)) from None

    def _launch_edit(self, inputs: EditInputs, *, owner: str, visitor_key: str | None, deadline: float | None,
                     label: str = "", sweep_id: str | None = None, gate: threading.Semaphore | None = None,
                     ticket: str | None = None, started: float | None = None, mask_painted: bool = False,
                     address: str | None = None, keep_outside_feather: int | None = None,
                     parent: str | None = None) -> Run:
        record = self._create(owner=owner, inputs=inputs, label=label, sweep_id=sweep_id,
                              mask_painted=mask_painted, deadline=deadline, keep_outside_feather=keep_outside_feather,
                              parent=parent)
        model = schema.model(record.model)
        sent = (*inputs.images, inputs.mask) if model.takes_mask else inputs.images
        local = [image for image in sent if isinstance(image, LocalImage)]
        size = sum(len(image.data) for image in {image.digest: image for image in local}.values())

        def work(client: SegmindClient, context: RunContext) -> None:
            # A Cancel that came while this run was being launched marked its ticket but could not find the run
            # to stop it (once launched, Cancel stops it itself): nothing is uploaded or sent.
            if self.tickets.is_cancelled(ticket):
                context.run.stop()
                context.enter_submit()  # raises: stopped before the submit
            context.emit(RunUpdate(RunStatus.PREPARING, context.elapsed(), notes=inputs.notes,
                                   detail=f"uploading {size / 1e6:.1f} MB" if size else "checking inputs"))
            payload = client.prepare_payload(inputs, context.stop)
            context.enter_submit()  # from here on a cancel cannot keep the job from being billed
            context.emit(RunUpdate(RunStatus.SUBMITTING, context.elapsed(), detail="submitting the job"))
            job = client.submit(payload, context.stop, model=model.slug)
            for event in job.events(deadline=deadline, started_at=context.started, kind=bucket(model.slug, payload)):
                context.emit(RunUpdate.from_event(event))

        return self.runs.launch(record, work, visitor_key, gate, ticket=ticket, started=started, address=address)

    # Live runs ---------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def stop(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        if run is None:
            return False
        run.stop()
        return True

    def cancel(self, ticket: str, *, settle: float = CANCEL_SETTLE_SECONDS) -> Cancelled:
        """Cancel the click with this ticket, wherever it is, and say truthfully what that did."""
        self.tickets.cancel(ticket)
        outcome = Cancelled(CancelOutcome.NOT_SUBMITTED)
        for run in self.runs.by_ticket(ticket):
            stopped = self.cancel_run(run, settle=settle)
            if stopped.outcome is CancelOutcome.SUBMITTED:
                return stopped
            if stopped.outcome is CancelOutcome.SUBMIT_IN_FLIGHT:
                outcome = stopped
        return outcome

    @staticmethod
    def cancel_run(run: Run, *, settle: float = CANCEL_SETTLE_SECONDS) -> Cancelled:
        """Stop one run; if its submit had started, wait briefly for Segmind's answer to learn the request id."""
        if not run.stop():
            return Cancelled(CancelOutcome.NOT_SUBMITTED)  # stopped before its submit gate: it never submits
        deadline = time.monotonic() + settle
        while not run.record.request_id and not run.done and time.monotonic() < deadline:
            run.wait(0.05)
        if run.record.request_id:
            return Cancelled(CancelOutcome.SUBMITTED, run.record.request_id)
        return Cancelled(CancelOutcome.SUBMIT_IN_FLIGHT)

    def live(self, owner: str | None = None) -> list[Run]:
        return self.runs.live(owner)

    def wait_idle(self, timeout: float) -> bool:
        return self.runs.wait_idle(timeout)
