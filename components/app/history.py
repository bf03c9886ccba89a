"""Runs kept on disk, so nothing that was paid for is lost when a tab closes or the app restarts.

Each run is a folder under `<OUTPUT_DIR>/runs/`: `record.json`, the result
image (under a meaningful name) and the inputs as sent (`image-1.png`, …,
`mask.png`). Runs belong to an owner (a random id kept in the visitor's
browser), so a public Space never shows one visitor another's history.

An input is stored once, by content, as `<OUTPUT_DIR>/blobs/<sha256>.<ext>`,
and hard-linked into every run folder that sent it: the same photo sent ten
times costs its size once.

The store is bounded in all (`max_bytes`) and per owner (`owner_max_bytes`),
on every write, by byte counts kept in memory (read from disk once). Live and
unfinished runs are never pruned. Runs that hold nothing of value go first,
then emulator results, then the oldest paid results of whoever holds most. An
owner over their share loses only their own runs, so one visitor's failing
requests never evict another visitor's results. A write that cannot fit even
so is refused with `StorageFull` before any of it is written.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import shutil
import threading
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence


from components.api.models import EditInputs, InputImage, LocalImage, RemoteImage
from components.api.schema import DEFAULT_MODEL
from components.app.backend import BackendKind
from components.app.owners import OwnerIds
from components.app.status import RunStatus
from components.media.compare import status_tile
from components.media.decoding import open_bounded

log = logging.getLogger("components.app.history")

RECORD_NAME = "record.json"
INTERRUPTED = "The app restarted while following this job; resume it with its request id if it has one."
# A submit cut off before Segmind's answer: the job may exist, but only Segmind knows its id.
INTERRUPTED_IN_SUBMIT = ("The app stopped while submitting this job, before Segmind's answer arrived, so this record "
                         "has no request id. The job may still have started and been billed: check your Segmind "
                         "dashboard (segmind.com) for it.")
THUMBNAIL_SIZE = (256, 256)
# The most versions a chain is followed through: far more than anyone continues by hand, and a bound on a
# record.json edited into a loop.
MAX_CHAIN = 200
# Made for the gallery (the result's thumbnail, or a status tile); never part of a run's zip.
THUMBNAIL_PREFIX = "thumbnail"
DEFAULT_MAX_BYTES = 2 * 1024**3
RUN_ID = re.compile(r"[A-Za-z0-9_-]+")
# Ended without a result, in a way that resuming would not change.
LOST = frozenset({RunStatus.FAILED, RunStatus.ERROR, RunStatus.INTERRUPTED})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def prompt_slug(prompt: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:length].strip("-") or "edit"


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a crash or a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def amount(size: int) -> str:
    """A byte count as a person reads it, in the MB the OUTPUT_*_MB settings use."""
    return f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{max(1, round(size / 1024))} KB"


def blob_name(image: LocalImage) -> str:
    """An input's name in the blob store: its content's sha256, so equal inputs share one file."""
    return f"{image.digest}.{image.extension}"


class StorageFull(OSError):
    """A write that the store's bounds cannot take even after pruning; nothing of it was written."""

    def __init__(self, message: str, *, needed: int, limit: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.limit = limit


def kept_name(stem: str, image: InputImage) -> str:
    """How an input is named in a run's folder and zip: `<stem>.<ext>`, or the URL as given."""
    if isinstance(image, RemoteImage):
        return image.url
    assert isinstance(image, LocalImage)
    return f"{stem}.{image.extension}"


def input_names(inputs: EditInputs) -> tuple[list[str], str | None]:
    """The names of a request's images (`image-1.<ext>`, … in order) and mask (`mask.<ext>`).

    The one naming rule: the run folders, their zips and the code snippets all use it.
    """
    names = [kept_name(f"image-{i}", image) for i, image in enumerate(inputs.images, start=1)]
    return names, kept_name("mask", inputs.mask) if inputs.mask is not None else None


@dataclass
class RunRecord:
    run_id: str
    owner: str
    created_at: str
    prompt: str
    options: dict[str, Any]
    inputs: list[str]                # file names in the run folder, or URLs as given
    mask: str | None = None          # file name in the run folder, or a URL
    label: str = ""                  # e.g. "quality=high" for a sweep variant
    sweep_id: str | None = None
    request_id: str | None = None
    backend: str = ""
    states: list[dict[str, Any]] = field(default_factory=list)   # {"state": ..., "at": iso}
    status: RunStatus = RunStatus.NEW
    inference_time: float | None = None
    queue_time: float | None = None          # the server's wait for a worker
    server_total_time: float | None = None   # the server's submit-to-end time
    total_time: float | None = None          # this app's, from the click
    cost: float | None = None
    remaining_credits: float | None = None
    result: str | None = None        # file name in the run folder
    error: str | None = None
    notes: list[str] = field(default_factory=list)   # what was changed to fit the model's limits
    mask_painted: bool = False       # painted in the editor (restored as paint), not an uploaded file
    deadline: float | None = None    # how long the run was to be followed, as the form said
    model: str = DEFAULT_MODEL       # the registry slug it ran on (records from before the registry ran on it)
    keep_outside_feather: int | None = None  # asked to keep the original outside the mask, with this feather (px)
    composite: str | None = None     # file name in the run folder: the result laid over the photo through the mask
    composite_note: str | None = None  # why there is no composite, when one was asked for
    parent: str | None = None        # the run whose result this run continued from (its photo is that image)

    @property
    def continued_image(self) -> str | None:
        """The file a run continues from: what its page showed (the composite, when the original was kept
        outside the mask), else the model's result."""
        return self.composite or self.result

    @property
    def finished(self) -> bool:
        return self.status.is_terminal

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        record = cls(**{k: v for k, v in data.items() if k in known})
        record.status = RunStatus.parse(data.get("status"))
        return record



@dataclass
class _Usage:
    """What one run folder holds, as counted: its own files, and the blobs it links (counted apart)."""

    owner: str
    files: dict[str, int] = field(default_factory=dict)   # name -> bytes
    blobs: set[str] = field(default_factory=set)

    @property
    def own_bytes(self) -> int:
        return sum(self.files.values())


class _Plan:
    """Runs chosen for pruning, and the byte counts their removal would leave, before anything is deleted."""

    def __init__(self, store: HistoryStore, writer: str | None, pinned: frozenset[str]) -> None:
        self.store = store
        self.writer = writer
        self.pinned = pinned  # blobs the write is about to link: kept, and still counted for the writer
        self.taken: list[str] = []
        self.total = store._total
        self._held: dict[str, int] = {}
        self._blob_links: Counter[str] = Counter()                # blob -> taken runs linking it
        self._owner_links: Counter[tuple[str, str]] = Counter()  # (owner, blob) -> taken runs of theirs linking it

    def held(self, owner: str) -> int:
        return self._held.get(owner, self.store._owner_bytes.get(owner, 0))

    def take(self, run_id: str) -> None:
        store = self.store
        usage = store._usage[run_id]
        freed_owner = freed_total = usage.own_bytes
        for key in usage.blobs:
            self._blob_links[key] += 1
            self._owner_links[usage.owner, key] += 1
            if (self._owner_links[usage.owner, key] == store._owner_blobs[usage.owner][key]
                    and not (key in self.pinned and usage.owner == self.writer)):
                freed_owner += store._blob_bytes[key]
            if self._blob_links[key] == len(store._blob_runs[key]) and key not in self.pinned:
                freed_total += store._blob_bytes[key]
        self.total -= freed_total
        self._held[usage.owner] = self.held(usage.owner) - freed_owner
        self.taken.append(run_id)


class HistoryStore:
    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, owner_max_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.blobs_dir = self.root / "blobs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.blobs_dir.mkdir(exist_ok=True)
        self.max_bytes = max_bytes
        self.owner_max_bytes = max_bytes if owner_max_bytes is None else owner_max_bytes
        self._lock = threading.RLock()
        self._index: dict[str, RunRecord] | None = None  # every record, read from disk once
        self._live: set[str] = set()
        # Byte counts, read from disk with the index, then kept by every write and removal: no write walks the store.
        self._usage: dict[str, _Usage] = {}                # run id -> its files (a folder without a record too)
        self._by_owner: dict[str, dict[str, None]] = {}    # owner -> their run ids (an ordered set)
        self._owner_bytes: dict[str, int] = {}             # their runs' files, and each blob they link once
        self._owner_blobs: dict[str, Counter[str]] = {}    # owner -> blob -> how many of their runs link it
        self._blob_bytes: dict[str, int] = {}
        self._blob_runs: dict[str, set[str]] = {}
        self._total = 0
        self._seen: dict[str, tuple[RunStatus, str | None]] = {}  # each run's status and result as last saved
        self._versions: dict[str, int] = {}
        self._changes = 0

    def secret(self, name: str) -> str:
        """A random key kept with the runs (so it outlives restarts), readable by this process only."""
        path = self.root / f".{name}-secret"
        with self._lock:
            try:  # created with its final mode: no moment when another user could read it
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_text().strip()
            secret = secrets.token_urlsafe(32)
            with os.fdopen(fd, "w") as handle:
                handle.write(secret)
            return secret

    def browser_secret(self) -> str:
        """The key Gradio encrypts owner tokens with in browsers. Gradio serves it to the page, so it
        hides nothing from a determined visitor: the tokens' signatures (owners.py) are what count."""
        return self.secret("browser-state")

    def owner_ids(self) -> OwnerIds:
        """Owner tokens signed with this store's own secret; an unsigned id is honoured only if it has runs."""
        return OwnerIds(self.secret("owner-signing"), known=lambda owner: self.version(owner) > 0)

    # Writing -------------------------------------------------------------------

    def folder(self, run_id: str) -> Path:
        if not RUN_ID.fullmatch(run_id):
            raise ValueError("bad run id")
        return self.runs_dir / run_id

    def create(self, *, owner: str, inputs: EditInputs | None, label: str = "", sweep_id: str | None = None,
               prompt: str | None = None, mask_painted: bool = False, deadline: float | None = None,
               keep_outside_feather: int | None = None, parent: str | None = None) -> RunRecord:
        """Start a record, keeping every local input exactly as it will be sent.

        The inputs were checked already: their bytes are stored, not decoded again. Raises StorageFull,
        having written nothing and pruned nothing, when the run cannot fit the owner's share or the store.
        """
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{secrets.token_hex(4)}"
        images: Sequence[InputImage] = inputs.images if inputs else ()
        mask = inputs.mask if inputs else None
        names, mask_name = input_names(inputs) if inputs else ([], None)
        record = RunRecord(run_id, owner, now_iso(), prompt if prompt is not None else (inputs.prompt if inputs else ""),
                           dict(inputs.options) if inputs else {}, names, mask_name, label, sweep_id,
                           notes=list(inputs.notes) if inputs else [], mask_painted=mask_painted and mask_name is not None,
                           deadline=deadline, model=(inputs.model if inputs else None) or DEFAULT_MODEL,
                           keep_outside_feather=keep_outside_feather, parent=parent)
        stored = [(name, image) for name, image in zip(names, images) if isinstance(image, LocalImage)]
        if isinstance(mask, LocalImage) and mask_name:
            stored.append((mask_name, mask))
        blobs = {blob_name(image): len(image.data) for _, image in stored}
        record_size = len(self._record_bytes(record))
        with self._lock:
            self._all()
            linked = self._owner_blobs.get(owner, Counter())
            need_owner = record_size + sum(size for key, size in blobs.items() if not linked[key])
            need_total = record_size + sum(size for key, size in blobs.items() if key not in self._blob_bytes)
            self._make_room(owner, need_owner, need_total, keep=(), pinned=frozenset(blobs), what="This run")
            self.folder(run_id).mkdir(parents=True)
            self._register(run_id, owner)
            try:
                self.save(record)  # first, so a crash mid-way leaves a run that says what it is
                for name, image in stored:
                    self._store_input(run_id, name, image)
            except BaseException:
                self._remove(run_id)  # half a run's inputs would mislead, and would hold bytes nobody sees
                raise
        return record

    def _store_input(self, run_id: str, name: str, image: LocalImage) -> None:
        """Link an input into its run folder from the blob store, writing the blob first if it is new."""
        usage = self._usage[run_id]
        key = blob_name(image)
        blob = self.blobs_dir / key
        if key not in self._blob_bytes:
            write_atomic(blob, image.data)
            self._blob_bytes[key] = len(image.data)
            self._blob_runs[key] = set()
            self._total += len(image.data)
        target = self.folder(run_id) / name
        try:
            os.link(blob, target)
        except OSError:
            # No hard links here (another filesystem, or too many links to one file): the run keeps a copy.
            if not self._blob_runs[key]:
                self._drop_blob(key)
            self._make_room(usage.owner, len(image.data), len(image.data), keep={run_id}, what="This run")
            target.write_bytes(image.data)
            self._count_file(usage, name, len(image.data))
            return
        self._link(usage, run_id, key)

    def save(self, record: RunRecord) -> None:
        """Write a run's record, atomically, pruning other runs if the bounds need it.

        Never refused: after `create` a record only grows by a few hundred bytes (states, an error, the
        metrics), and refusing it would leave a paid job's state unknown. So when only live runs are
        left to prune, a record may take the bound over by that much until they finish.
        """
        data = self._record_bytes(record)
        with self._lock:
            index = self._all()
            self._write_file(record.run_id, RECORD_NAME, data, refuse=False)
            index[record.run_id] = record
            state = (record.status, record.result)
            if self._seen.get(record.run_id) != state:
                self._seen[record.run_id] = state
                self._changed(record.owner)

    def add_result(self, record: RunRecord, filename: str, data: bytes) -> None:
        """Keep a run's result; StorageFull (an OSError) if the owner's share or the store cannot take it."""
        self._write_file(record.run_id, filename, data, what="This result")
        record.result = filename
        self.save(record)

    def add_composite(self, record: RunRecord, filename: str, data: bytes) -> None:
        """Keep the result laid over the photo, beside the result itself; StorageFull if it cannot fit.
        The record names it from its next save (the run's COMPLETED, which follows at once)."""
        self._write_file(record.run_id, filename, data, what="The composite")
        record.composite = filename

    @staticmethod
    def _record_bytes(record: RunRecord) -> bytes:
        return json.dumps(record.to_json(), indent=2).encode()

    def _write_file(self, run_id: str, name: str, data: bytes, *, what: str = "", refuse: bool = True) -> None:
        """Write one of a run's own files atomically, pruning other runs first if the bounds need it."""
        with self._lock:
            usage = self._usage.get(run_id)
            if usage is None:
                raise FileNotFoundError(f"run {run_id} is no longer kept")
            need = len(data) - usage.files.get(name, 0)
            self._make_room(usage.owner, need, need, keep={run_id}, what=what, refuse=refuse)
            write_atomic(self.folder(run_id) / name, data)
            self._count_file(usage, name, len(data))

    def reassign(self, from_owner: str, to_owner: str) -> int:
        """Move every run of one owner to another (a browser's runs to the account it signed in to).

        All or nothing: StorageFull, with nothing moved, when the runs would take `to_owner` past its share
        (its own runs are never pruned to make room for them). Each record.json is rewritten first, then the
        counts move; a record that could not be rewritten puts back those that were. A crash in between
        leaves some runs moved and the rest with `from_owner`, to be moved the next time. Returns how many
        runs moved.
        """
        with self._lock:
            self._all()
            if not from_owner or from_owner == to_owner:
                return 0
            runs = [run_id for run_id in self._by_owner.get(from_owner, {}) if run_id in self._index]
            if not runs:
                return 0
            linked = self._owner_blobs.get(to_owner, Counter())
            blobs = {key for run_id in runs for key in self._usage[run_id].blobs if not linked[key]}
            need = sum(self._usage[run_id].own_bytes for run_id in runs) + sum(self._blob_bytes[k] for k in blobs)
            held = self._owner_bytes.get(to_owner, 0)
            if held + need > self.owner_max_bytes:
                raise StorageFull(f"{len(runs)} runs ({amount(need)}) would take this owner past its "
                                  f"{amount(self.owner_max_bytes)} share, which holds {amount(held)}",
                                  needed=need, limit=self.owner_max_bytes)
            moved: list[RunRecord] = []
            try:
                for run_id in runs:
                    record = self._index[run_id]
                    record.owner = to_owner
                    moved.append(record)
                    write_atomic(self.folder(run_id) / RECORD_NAME, self._record_bytes(record))
            except OSError:
                for record in moved:
                    record.owner = from_owner
                    try:
                        write_atomic(self.folder(record.run_id) / RECORD_NAME, self._record_bytes(record))
                    except OSError:
                        log.exception("could not put run %s back with its owner", record.run_id)
                raise
            for run_id in runs:
                self._move_usage(run_id, to_owner)
                self._count_file(self._usage[run_id], RECORD_NAME, len(self._record_bytes(self._index[run_id])))
            self._forget_if_empty(from_owner)
            self._changed(to_owner)
        log.info("moved %d runs to another owner", len(runs))
        return len(runs)

    def _move_usage(self, run_id: str, to_owner: str) -> None:
        """Move one run's byte counts from its owner to `to_owner` (each blob counted once per owner)."""
        usage = self._usage[run_id]
        old = usage.owner
        own = usage.own_bytes
        self._owner_bytes[old] -= own
        links = self._owner_blobs.get(old, Counter())
        for key in usage.blobs:
            links[key] -= 1
            if links[key] <= 0:
                del links[key]
                self._owner_bytes[old] -= self._blob_bytes[key]
        del self._by_owner[old][run_id]
        blobs, usage.blobs = usage.blobs, set()
        usage.owner = to_owner
        self._by_owner.setdefault(to_owner, {})[run_id] = None
        self._owner_bytes[to_owner] = self._owner_bytes.get(to_owner, 0) + own
        for key in blobs:
            self._link(usage, run_id, key)

    def _forget_if_empty(self, owner: str) -> None:
        """An owner with no runs left keeps no entry (visitors come and go); version() reads 0."""
        if self._by_owner.get(owner):
            self._changed(owner)
            return
        for table in (self._by_owner, self._owner_bytes, self._owner_blobs, self._versions):
            table.pop(owner, None)

    # Reading -------------------------------------------------------------------

    def load(self, run_id: str) -> RunRecord | None:
        try:
            data = json.loads((self.folder(run_id) / RECORD_NAME).read_text())
            return RunRecord.from_json(data)
        except (OSError, ValueError, TypeError):
            return None

    def _all(self) -> dict[str, RunRecord]:
        with self._lock:
            if self._index is None:
                self._index = {}
                self._count_disk()
                for record in list(self._index.values()):
                    if not record.finished and record.run_id not in self._live:
                        # Left unfinished by a restart: say so, with its request id, instead of "running".
                        submitting = record.status is RunStatus.SUBMITTING and not record.request_id
                        record.status = RunStatus.INTERRUPTED
                        record.error = record.error or (INTERRUPTED_IN_SUBMIT if submitting else INTERRUPTED)
                        try:
                            self.save(record)
                        except OSError:  # it still reads as interrupted here; only its file says otherwise
                            log.exception("could not mark run %s as interrupted", record.run_id)
            return self._index

    def protect(self, run_id: str) -> None:
        """A live run: never pruned, never marked interrupted."""
        with self._lock:
            self._live.add(run_id)

    def release(self, run_id: str) -> None:
        with self._lock:
            self._live.discard(run_id)

    def get(self, run_id: str) -> RunRecord | None:
        return self._all().get(run_id)

    def owned(self, run_id: object, owner: str) -> RunRecord | None:
        """The run `run_id` names, only when it is `owner`'s: never another owner's, whatever a page sends."""
        record = self.get(run_id) if isinstance(run_id, str) and run_id else None
        return record if record is not None and owner and record.owner == owner else None

    def records(self, owner: str) -> list[RunRecord]:
        """One owner's runs, newest first."""
        if not owner:
            return []
        with self._lock:
            index = self._all()
            found = [index[run_id] for run_id in self._by_owner.get(owner, ()) if run_id in index]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    def parent_of(self, record: RunRecord) -> RunRecord | None:
        """The run this one continued from, when it is still kept and has the same owner (a record never leads
        into another owner's runs, whatever its file says)."""
        parent = self.get(record.parent) if isinstance(record.parent, str) and record.parent else None
        return parent if parent is not None and parent.owner == record.owner else None

    def lineage(self, record: RunRecord) -> list[RunRecord]:
        """The run's chain of versions, oldest first, ending with the run itself: each run the one after it
        continued from. It starts at the first run whose parent is gone (or was never there)."""
        chain = [record]
        seen = {record.run_id}
        while len(chain) < MAX_CHAIN and (parent := self.parent_of(chain[-1])) is not None \
                and parent.run_id not in seen:
            chain.append(parent)
            seen.add(parent.run_id)
        return chain[::-1]

    def children(self, record: RunRecord) -> list[RunRecord]:
        """The runs that continued from this one, oldest first."""
        return [r for r in reversed(self.records(record.owner)) if r.parent == record.run_id]

    def all_records(self) -> list[RunRecord]:
        with self._lock:
            return sorted(self._all().values(), key=lambda r: r.created_at, reverse=True)

    def version(self, owner: str) -> int:
        """A number that changes whenever one of this owner's runs is created, changes status or result, or
        is pruned (0 while they have none): the same number means the same list of runs."""
        with self._lock:
            self._all()
            return self._versions.get(owner, 0)

    def path(self, record: RunRecord, name: str | None) -> Path | None:
        if not name or "://" in name or "/" in name or "\\" in name or name.startswith("."):
            return None
        candidate = self.folder(record.run_id) / name
        return candidate if candidate.is_file() else None

    def thumbnail(self, record: RunRecord) -> Path | None:
        """A small PNG of the result, made once (the gallery should not ship full images)."""
        source = self.path(record, record.result)
        if source is None:
            return None
        thumb = self.folder(record.run_id) / f"{THUMBNAIL_PREFIX}.png"
        if not thumb.exists():
            buffer = io.BytesIO()
            with open_bounded(source, "the result", longest=max(THUMBNAIL_SIZE)) as image:
                image.thumbnail(THUMBNAIL_SIZE)
                image.save(buffer, format="PNG")
            self._write_file(record.run_id, thumb.name, buffer.getvalue(), what="This thumbnail")
        return thumb

    def status_tile(self, record: RunRecord, text: str, colour: str) -> Path:
        """A tile for a run with no result: its first input dimmed (or a plain tile) under a band saying `text`.

        Made once per status, so a run that moves on gets a new tile.
        """
        tile = self.folder(record.run_id) / f"{THUMBNAIL_PREFIX}-{record.status.value.lower()}.png"
        if not tile.exists():
            source = self.path(record, record.inputs[0]) if record.inputs else None
            buffer = io.BytesIO()
            status_tile(source, text, colour, THUMBNAIL_SIZE).save(buffer, format="PNG")
            self._write_file(record.run_id, tile.name, buffer.getvalue(), what="This status tile")
        return tile

    # Export ----------------------------------------------------------------------

    def zip_runs(self, records: Iterable[RunRecord], target: Path) -> Path:
        """One zip of the given runs, each in its own folder, streamed to `target`.

        Each record goes in without its owner id: that id opens the whole history of a browser, and a
        zip is made to be shared.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for record in records:
                for item in sorted(self.folder(record.run_id).iterdir()):
                    if not item.is_file() or item.name.startswith(THUMBNAIL_PREFIX) or item.name.endswith(".tmp"):
                        continue
                    if item.name == RECORD_NAME:
                        shared = {k: v for k, v in record.to_json().items() if k != "owner"}
                        archive.writestr(f"{record.run_id}/{item.name}", json.dumps(shared, indent=2))
                    else:
                        archive.write(item, f"{record.run_id}/{item.name}")
        return target

    # Bounds ------------------------------------------------------------------------

    def size(self, owner: str | None = None) -> int:
        """Bytes kept, each blob once however many runs link it: in all, or for one owner's runs."""
        with self._lock:
            self._all()
            return self._total if owner is None else self._owner_bytes.get(owner, 0)

    @staticmethod
    def _rank(record: RunRecord | None) -> int | None:
        """Where a run stands in the pruning order (0 goes first); None while it must be kept.

        0: nothing of value: a folder without a readable record, or a finished run without a result that
           never got a request id or failed, errored or was interrupted (what a hostile visitor piles up).
        1: an emulator run: its result costs nothing to make again.
        2: a paid result, or a job that may still have one.
        """
        if record is None:
            return 0
        if not record.finished:
            return None
        if not record.result and (not record.request_id or record.status in LOST):
            return 0
        return 1 if record.backend == BackendKind.EMULATOR.value else 2

    def _prunable(self, keep: Iterable[str]) -> list[tuple[int, str]]:
        """(rank, run id) of every run that may go, in pruning order: by rank, then oldest first."""
        keep = set(keep)
        index = self._all()
        found = []
        for run_id in self._usage:
            record = index.get(run_id)
            rank = self._rank(record)
            if rank is not None and run_id not in keep and run_id not in self._live:
                found.append((rank, record.created_at if record else "", run_id))
        found.sort(key=lambda item: item[:2])  # stable: runs made in the same millisecond keep their order
        return [(rank, run_id) for rank, _, run_id in found]

    def _make_room(self, owner: str, need_owner: int, need_total: int, *, keep: Iterable[str],
                   pinned: frozenset[str] = frozenset(), what: str = "", refuse: bool = True) -> None:
        """Prune so that a write adding `need_owner` bytes to `owner`'s share and `need_total` to the store fits.

        An owner over their share loses only their own runs. Over the store's bound, everyone's runs of no
        value go first, then emulator results, then the oldest paid results of whoever holds the most.
        The plan is made before anything is deleted: a write that cannot fit raises StorageFull and prunes
        nothing; one that adds nothing (need <= 0), or may not be refused, prunes what it can and goes on.
        """
        with self._lock:
            owner_fits = self._owner_bytes.get(owner, 0) + need_owner <= self.owner_max_bytes
            if owner_fits and self._total + need_total <= self.max_bytes:
                return
            plan = _Plan(self, owner, pinned)
            prunable = self._prunable(keep)
            for _, run_id in prunable:
                if plan.held(owner) + need_owner <= self.owner_max_bytes:
                    break
                if self._usage[run_id].owner == owner:
                    plan.take(run_id)
            if plan.held(owner) + need_owner > self.owner_max_bytes and need_owner > 0 and refuse:
                raise self._refusal(what, need_owner, plan.held(owner), self.owner_max_bytes,
                                    "one visitor's runs may keep", "OUTPUT_OWNER_MAX_MB")
            taken = set(plan.taken)
            left = [(rank, run_id) for rank, run_id in prunable if run_id not in taken]
            for rank, run_id in left:
                if rank == 2 or plan.total + need_total <= self.max_bytes:
                    break
                plan.take(run_id)
            paid: dict[str, list[str]] = {}
            for rank, run_id in left:
                if rank == 2:
                    paid.setdefault(self._usage[run_id].owner, []).append(run_id)
            while paid and plan.total + need_total > self.max_bytes:
                biggest = max(paid, key=plan.held)
                plan.take(paid[biggest].pop(0))
                if not paid[biggest]:
                    del paid[biggest]
            if plan.total + need_total > self.max_bytes and need_total > 0 and refuse:
                raise self._refusal(what, need_total, plan.total, self.max_bytes, "the app may keep in all",
                                    "OUTPUT_MAX_MB")
            for run_id in plan.taken:
                self._remove(run_id, pinned)
        if plan.taken:
            log.info("pruned %d runs to stay under %s (%s per visitor)", len(plan.taken), amount(self.max_bytes),
                     amount(self.owner_max_bytes))

    @staticmethod
    def _refusal(what: str, need: int, held: int, limit: int, whose: str, setting: str) -> StorageFull:
        if need > limit:
            message = (f"{what} needs {amount(need)} of storage, more than the {amount(limit)} {whose} "
                       f"({setting}). Use fewer or smaller images.")
        else:
            message = (f"{what} needs {amount(need)} of storage, but {whose} {amount(limit)} ({setting}) and runs "
                       f"still in progress hold {amount(held)} of that. Try again when they finish, or use "
                       "smaller images.")
        return StorageFull(message, needed=need, limit=limit)

    # Counting ----------------------------------------------------------------------

    def _count_disk(self) -> None:
        """Read every record and count every byte kept, each blob once (by inode), as the store starts."""
        assert self._index is not None
        inodes: dict[tuple[int, int], str] = {}
        for blob in self.blobs_dir.iterdir():
            if blob.name.endswith(".tmp"):
                blob.unlink(missing_ok=True)  # cut off mid-write by a crash
                continue
            stat = blob.stat()
            inodes[stat.st_dev, stat.st_ino] = blob.name
            self._blob_bytes[blob.name] = stat.st_size
            self._blob_runs[blob.name] = set()
            self._total += stat.st_size
        found = []
        for folder in self.runs_dir.iterdir():
            if folder.is_dir() and RUN_ID.fullmatch(folder.name):
                record = self.load(folder.name)
                found.append((record.created_at if record else "", folder, record))
        # Oldest first, so runs made in the same millisecond keep one order for pruning.
        for _, folder, record in sorted(found, key=lambda item: (item[0], item[1].name)):
            # A folder without a readable record belongs to nobody: it is counted, and pruned first.
            usage = self._register(folder.name, record.owner if record else "")
            for item in folder.iterdir():
                if not item.is_file():
                    continue
                stat = item.stat()
                key = inodes.get((stat.st_dev, stat.st_ino))
                if key is None:
                    self._count_file(usage, item.name, stat.st_size)
                else:
                    self._link(usage, folder.name, key)
            if record is not None:
                self._index[record.run_id] = record
                self._seen[record.run_id] = (record.status, record.result)
        for key in [key for key, runs in self._blob_runs.items() if not runs]:
            self._drop_blob(key)  # written, then a crash before any run linked it: nothing can reach it
        for owner in self._by_owner:
            self._changed(owner)

    def _register(self, run_id: str, owner: str) -> _Usage:
        usage = self._usage[run_id] = _Usage(owner)
        self._by_owner.setdefault(owner, {})[run_id] = None
        self._owner_bytes.setdefault(owner, 0)
        return usage

    def _count_file(self, usage: _Usage, name: str, size: int) -> None:
        delta = size - usage.files.get(name, 0)
        usage.files[name] = size
        self._total += delta
        self._owner_bytes[usage.owner] += delta

    def _link(self, usage: _Usage, run_id: str, key: str) -> None:
        """Count a blob as linked by a run: its bytes count once in all, and once for the run's owner."""
        self._blob_runs[key].add(run_id)
        if key in usage.blobs:
            return
        usage.blobs.add(key)
        links = self._owner_blobs.setdefault(usage.owner, Counter())
        links[key] += 1
        if links[key] == 1:
            self._owner_bytes[usage.owner] += self._blob_bytes[key]

    def _drop_blob(self, key: str) -> None:
        """Delete a blob no run links any more (st_nlink 1: the blob store's own name is its last)."""
        blob = self.blobs_dir / key
        try:
            if blob.stat().st_nlink > 1:
                return  # linked from a folder this store does not count (another store on the same root)
            blob.unlink()
        except FileNotFoundError:
            pass
        self._total -= self._blob_bytes.pop(key)
        del self._blob_runs[key]

    def _remove(self, run_id: str, pinned: frozenset[str] = frozenset()) -> None:
        """Delete a run and its counts, and each blob it was the last to link (unless a write is about to)."""
        usage = self._usage.pop(run_id)
        shutil.rmtree(self.runs_dir / run_id, ignore_errors=True)
        own = usage.own_bytes
        self._total -= own
        self._owner_bytes[usage.owner] -= own
        links = self._owner_blobs.get(usage.owner, Counter())
        for key in usage.blobs:
            links[key] -= 1
            if links[key] <= 0:
                del links[key]
                self._owner_bytes[usage.owner] -= self._blob_bytes[key]
            self._blob_runs[key].discard(run_id)
            if not self._blob_runs[key] and key not in pinned:
                self._drop_blob(key)
        if self._index is not None:
            self._index.pop(run_id, None)
        self._seen.pop(run_id, None)
        del self._by_owner[usage.owner][run_id]
        self._forget_if_empty(usage.owner)

    def _changed(self, owner: str) -> None:
        # One counter for the whole store, so an owner's number never comes back to a value it had.
        self._changes += 1
        self._versions[owner] = self._changes
