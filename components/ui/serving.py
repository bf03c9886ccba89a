"""Handing kept files to the browser without serving OUTPUT_DIR itself.

OUTPUT_DIR is never exposed (no `allowed_paths`): every file the app shows or offers goes to
Gradio as a copy in SERVE_DIR. That folder is inside Gradio's own cache, so Gradio serves the copy
as it is instead of hashing it and copying it again. The copies live in one cache, bounded in files and in bytes: a new copy that
would not fit pushes out the least recently served ones first, so the files handed out last (those
a page is being drawn with) go last, and at the usual pace they last for hours. The bounds hold
even under a flood of requests: refusing new copies instead would let one visitor keep every other
visitor's results from showing. A copy nobody was handed for MAX_IDLE goes too.

The cache keeps its own index, so a copy costs O(1) bookkeeping and never walks the serve folder;
the one walk is at a process's first copy, for what earlier processes left behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gradio.utils import get_upload_folder

SERVE_DIR = Path(get_upload_folder()) / "gpt-image-edit-serve"
# Room for the gallery tiles of a few large histories at once (a tile is 20-150 KB), beside the results,
# zips and compare canvases being handed out; a zip of more than MAX_BYTES is refused, not served.
MAX_BYTES = 256 * 1024**2
MAX_FILES = 4096
MAX_IDLE = 3600.0
# What a file the app writes itself (a working copy, a compare canvas) is counted as until it is
# measured: more than any of them takes (a 1024 px RGBA canvas is about 4 MB).
FRESH_BYTES = 8 * 1024**2
# A file the app writes itself is measured this long after its path was handed out: its writer
# has finished by then, and measuring it once costs one small directory listing.
SETTLE_SECONDS = 30.0


class TooLargeToServe(OSError):
    """A file larger than the whole serve cache: it cannot be handed out without breaking the bound."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes is more than the {limit} bytes the serve folder holds")
        self.size = size
        self.limit = limit


@dataclass
class _Copy:
    size: int                   # bytes counted against the bound (a reservation until measured)
    served: float               # when it was last handed out (the cache's clock)
    created: float
    source: str | None = None   # the unchanging file it copies, when it may be handed out again


class ServeCache:
    """Copies handed to Gradio, each in a folder of its own, bounded in files and bytes (least recently served out)."""

    def __init__(self, folder: Path, *, max_bytes: int = MAX_BYTES, max_files: int = MAX_FILES,
                 max_idle: float = MAX_IDLE, settle: float = SETTLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.max_idle = max_idle
        self.settle = settle
        self.clock = clock
        self._lock = threading.Lock()
        self._copies: OrderedDict[str, _Copy] = OrderedDict()   # by folder name, least recently served first
        self._by_source: dict[str, str] = {}                    # unchanging file -> its copy's folder name
        self._unmeasured: deque[str] = deque()                  # app-written files, oldest first
        self._bytes = 0
        self._started = False

    @property
    def files(self) -> int:
        with self._lock:
            return len(self._copies)

    @property
    def bytes(self) -> int:
        with self._lock:
            return self._bytes

    def copy(self, source: str | Path, *, unchanging: bool = False) -> Path:
        """A new copy of `source`; with `unchanging`, later calls hand out this same copy while it lasts."""
        source = Path(source)
        name = self._admit(source.stat().st_size)
        target = self.folder / name / source.name
        try:
            target.parent.mkdir(parents=True)
            shutil.copyfile(source, target)
        except BaseException:
            self._drop(name)
            raise
        if unchanging:
            # Only a finished copy may be found by `reuse`: one half written would look removed, and be dropped.
            with self._lock:
                held = self._copies.get(name)
                if held is not None:
                    held.source = str(source)
                    self._by_source[held.source] = name
        return target

    def reuse(self, source: str | Path) -> Path | None:
        """The copy of an unchanging file handed out before, if it is still here (it counts as served again)."""
        key = str(source)
        with self._lock:
            name = self._by_source.get(key)
            held = self._copies.get(name) if name is not None else None
            if held is None:
                return None
            held.served = self.clock()
            self._copies.move_to_end(name)
        target = self.folder / name / Path(key).name
        # Checked, not assumed: something outside this process (a temp cleaner) may have removed it.
        if target.is_file():
            return target
        self._drop(name)
        return None

    def reserve(self, name: str, size: int = FRESH_BYTES) -> Path:
        """A path for a file the app is about to write, counted as `size` bytes until it is measured."""
        folder = self._admit(size, measure_later=True)
        target = self.folder / folder / name
        try:
            target.parent.mkdir(parents=True)
        except BaseException:
            self._drop(folder)
            raise
        return target

    def _admit(self, size: int, *, measure_later: bool = False) -> str:
        """Make room for one more copy of `size` bytes, register it, and return its folder name."""
        if size > self.max_bytes:
            raise TooLargeToServe(size, self.max_bytes)
        self._forget_leftovers()
        name = secrets.token_hex(8)
        with self._lock:
            now = self.clock()
            self._measure_settled(now)
            gone = []
            # Least recently served first; the idle ones go even when there is room.
            while self._copies and (next(iter(self._copies.values())).served < now - self.max_idle
                                    or len(self._copies) >= self.max_files or self._bytes + size > self.max_bytes):
                gone.append(self._evict_oldest())
            self._copies[name] = _Copy(size, now, now)
            self._bytes += size
            if measure_later:
                self._unmeasured.append(name)
        for folder in gone:
            shutil.rmtree(self.folder / folder, ignore_errors=True)
        return name

    def _evict_oldest(self) -> str:
        name = next(iter(self._copies))
        self._forget(name)
        return name

    def _forget(self, name: str) -> None:
        """Take a copy out of the index (the caller holds the lock and removes its folder)."""
        held = self._copies.pop(name, None)
        if held is None:
            return
        self._bytes -= held.size
        if held.source is not None and self._by_source.get(held.source) == name:
            del self._by_source[held.source]

    def _drop(self, name: str) -> None:
        """Forget a copy that could not be made, or that is no longer there."""
        with self._lock:
            self._forget(name)
        shutil.rmtree(self.folder / name, ignore_errors=True)

    def _measure_settled(self, now: float) -> None:
        """Count app-written files at their real size once their writers are done (each is measured once)."""
        while self._unmeasured:
            name = self._unmeasured[0]
            held = self._copies.get(name)
            if held is not None and held.created > now - self.settle:
                return
            self._unmeasured.popleft()
            if held is not None:  # not evicted meanwhile
                real = _folder_size(self.folder / name)
                self._bytes += real - held.size
                held.size = real

    def _forget_leftovers(self) -> None:
        """Once per process: remove what earlier processes left in SERVE_DIR and nobody has used for MAX_IDLE."""
        with self._lock:
            if self._started:
                return
            self._started = True
        parent = self.folder.parent
        cutoff = time.time() - self.max_idle
        try:
            leftovers = [p for p in parent.iterdir() if p != self.folder]
        except OSError:
            return
        for path in leftovers:
            try:
                if path.stat().st_mtime >= cutoff:
                    continue  # perhaps another process's, still in use
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
            except OSError:
                pass  # gone already, or not ours to remove


def _folder_size(folder: Path) -> int:
    try:
        with os.scandir(folder) as entries:
            return sum(entry.stat().st_size for entry in entries if entry.is_file())
    except OSError:
        return 0


# One cache for the whole process, in a folder of its own: other processes on the machine keep theirs.
_cache = ServeCache(SERVE_DIR / f"{os.getpid()}-{secrets.token_hex(4)}")


def servable(path: str | Path | None) -> str | None:
    """A copy of a kept file that Gradio may hand to the browser (never the kept file's own path)."""
    if path is None:
        return None
    return str(_cache.copy(path))


def servable_unchanging(path: str | Path | None) -> str | None:
    """`servable` for a file that never changes once written (a thumbnail, a status tile): its copy is
    handed out again while it lasts, so a gallery redraw copies nothing it copied before."""
    if path is None:
        return None
    return str(_cache.reuse(path) or _cache.copy(path, unchanging=True))


def fresh_path(name: str, size: int = FRESH_BYTES) -> Path:
    """A new servable path for a file the app is about to write (a zip, say), of at most `size` bytes."""
    return _cache.reserve(name, size)
