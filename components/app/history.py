"""Runs kept on disk, so nothing that was paid for is lost when a tab closes or the app restarts.

Each run is a folder under `<OUTPUT_DIR>/runs/`: `record.json`, the result
image (under a meaningful name) and the inputs as sent (`image-1.png`, …,
`mask.png`). Runs belong to an owner (a random id kept in the visitor's
browser), so a public Space never shows one visitor another's history. The
folder is bounded in size; the oldest runs are pruned first.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from PIL import Image

from components.api.models import EditInputs, InputImage, LocalImage, RemoteImage
from components.api.schema import DEFAULT_MODEL
from components.app.status import RunStatus
from components.media.compare import status_tile

log = logging.getLogger("components.app.history")

RECORD_NAME = "record.json"
INTERRUPTED = "The app restarted while following this job; resume it with its request id if it has one."
# A submit cut off before Segmind's answer: the job may exist, but only Segmind knows its id.
INTERRUPTED_IN_SUBMIT = ("The app stopped while submitting this job, before Segmind's answer arrived, so this record "
                         "has no request id. The job may still have started and been billed: check your Segmind "
                         "dashboard (segmind.com) for it.")
THUMBNAIL_SIZE = (256, 256)
# Made for the gallery (the result's thumbnail, or a status tile); never part of a run's zip.
THUMBNAIL_PREFIX = "thumbnail"
DEFAULT_MAX_BYTES = 2 * 1024**3


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def prompt_slug(prompt: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:length].strip("-") or "edit"


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


class HistoryStore:
    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.RLock()
        self._index: dict[str, RunRecord] | None = None  # every record, read from disk once
        self._live: set[str] = set()

    def browser_secret(self) -> str:
        """The key that encrypts visitors' owner ids in their browsers; stable across restarts."""
        path = self.root / ".browser-state-secret"
        with self._lock:
            if not path.exists():
                path.write_text(secrets.token_urlsafe(24))
                path.chmod(0o600)
            return path.read_text().strip()

    # Writing -------------------------------------------------------------------

    def folder(self, run_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", run_id):
            raise ValueError("bad run id")
        return self.runs_dir / run_id

    def create(self, *, owner: str, inputs: EditInputs | None, label: str = "", sweep_id: str | None = None,
               prompt: str | None = None, mask_painted: bool = False, deadline: float | None = None) -> RunRecord:
        """Start a record, keeping a copy of every local input exactly as it will be sent.

        The inputs were checked already: their bytes are written, not decoded again.
        """
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{secrets.token_hex(4)}"
        folder = self.folder(run_id)
        folder.mkdir(parents=True)
        images: Sequence[InputImage] = inputs.images if inputs else ()
        mask = inputs.mask if inputs else None
        names, mask_name = input_names(inputs) if inputs else ([], None)
        kept = [self._keep_input(folder, name, image) for name, image in zip(names, images)]
        kept_mask = self._keep_input(folder, mask_name, mask) if mask is not None and mask_name else None
        record = RunRecord(run_id, owner, now_iso(), prompt if prompt is not None else (inputs.prompt if inputs else ""),
                           dict(inputs.options) if inputs else {}, kept, kept_mask, label, sweep_id,
                           notes=list(inputs.notes) if inputs else [], mask_painted=mask_painted and kept_mask is not None,
                           deadline=deadline, model=(inputs.model if inputs else None) or DEFAULT_MODEL)
        self.save(record)
        return record

    @staticmethod
    def _keep_input(folder: Path, name: str, image: InputImage) -> str:
        if isinstance(image, LocalImage):
            (folder / name).write_bytes(image.data)
        return name

    def save(self, record: RunRecord) -> None:
        folder = self.folder(record.run_id)
        with self._lock:
            temporary = folder / (RECORD_NAME + ".tmp")
            temporary.write_text(json.dumps(record.to_json(), indent=2))
            temporary.replace(folder / RECORD_NAME)  # atomic: a crash never leaves half a record
            if self._index is not None:
                self._index[record.run_id] = record

    def add_result(self, record: RunRecord, filename: str, data: bytes) -> None:
        (self.folder(record.run_id) / filename).write_bytes(data)
        record.result = filename
        self.save(record)
        self.prune(keep={record.run_id})

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
                loaded = (self.load(f.name) for f in self.runs_dir.iterdir() if f.is_dir())
                self._index = {r.run_id: r for r in loaded if r is not None}
                for record in self._index.values():
                    if not record.finished and record.run_id not in self._live:
                        # Left unfinished by a restart: say so, with its request id, instead of "running".
                        submitting = record.status is RunStatus.SUBMITTING and not record.request_id
                        record.status = RunStatus.INTERRUPTED
                        record.error = record.error or (INTERRUPTED_IN_SUBMIT if submitting else INTERRUPTED)
                        self.save(record)
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

    def records(self, owner: str) -> list[RunRecord]:
        """One owner's runs, newest first."""
        if not owner:
            return []
        with self._lock:
            found = [r for r in self._all().values() if r.owner == owner]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    def all_records(self) -> list[RunRecord]:
        with self._lock:
            return sorted(self._all().values(), key=lambda r: r.created_at, reverse=True)

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
            with Image.open(source) as image:
                image.thumbnail(THUMBNAIL_SIZE)
                image.save(thumb)
        return thumb

    def status_tile(self, record: RunRecord, text: str, colour: str) -> Path:
        """A tile for a run with no result: its first input dimmed (or a plain tile) under a band saying `text`.

        Made once per status, so a run that moves on gets a new tile.
        """
        tile = self.folder(record.run_id) / f"{THUMBNAIL_PREFIX}-{record.status.value.lower()}.png"
        if not tile.exists():
            source = self.path(record, record.inputs[0]) if record.inputs else None
            temporary = tile.with_suffix(".tmp")
            status_tile(source, text, colour, THUMBNAIL_SIZE).save(temporary, format="PNG")
            temporary.replace(tile)  # two refreshes at once never serve half a tile
        return tile

    # Export and bounds -----------------------------------------------------------

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

    def size(self) -> int:
        return sum(f.stat().st_size for f in self.runs_dir.rglob("*") if f.is_file())

    def prune(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete the oldest finished runs until the store fits its bound."""
        keep = set(keep)
        removed = []
        with self._lock:
            total = self.size()
            if total <= self.max_bytes:
                return removed
            for record in sorted(self._all().values(), key=lambda r: r.created_at):
                if total <= self.max_bytes:
                    break
                if record.run_id in keep or record.run_id in self._live or not record.finished:
                    continue
                folder = self.folder(record.run_id)
                total -= sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
                shutil.rmtree(folder, ignore_errors=True)
                self._all().pop(record.run_id, None)
                removed.append(record.run_id)
        if removed:
            log.info("pruned %d old runs to stay under %d MB", len(removed), self.max_bytes // 1024**2)
        return removed
