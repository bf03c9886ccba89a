"""Gradio's upload and cache folder, kept bounded in age and bytes.

Gradio's own `delete_cache` only removes files it registered, on a timer;
uploads aborted midway leave their partial files behind, unregistered, and
nothing bounds the folder's size. On a public Space a script can fill the disk
with them. The janitor walks the folder at most once every SWEEP_EVERY seconds
(on a daemon thread, and on demand for tests), removes what is older than
MAX_AGE, then the oldest files until the folder fits MAX_BYTES.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("components.ui.janitor")

# A page may still use a file it uploaded an hour ago (a photo left in the form): longer than any run's deadline.
MAX_AGE_SECONDS = 2 * 3600.0
MAX_BYTES = 2 * 1024**3
SWEEP_EVERY = 60.0


@dataclass
class CacheJanitor:
    folder: Path
    max_age: float = MAX_AGE_SECONDS
    max_bytes: int = MAX_BYTES
    removed: int = field(default=0, init=False)   # files removed so far (for the log and tests)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def sweep(self, now: float | None = None) -> int:
        """Remove what is too old, then the oldest until the folder fits; returns how many files went."""
        now = time.time() if now is None else now
        files: list[tuple[float, int, str]] = []
        for root, _, names in os.walk(self.folder):
            for name in names:
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except OSError:
                    continue
                files.append((stat.st_mtime, stat.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        gone = 0
        for changed, size, path in files:
            if changed >= now - self.max_age and total <= self.max_bytes:
                break
            try:
                os.remove(path)
            except OSError:
                continue
            total -= size
            gone += 1
        self._remove_empty_folders()
        self.removed += gone
        if gone:
            log.info("removed %d old files from Gradio's cache (%d MB left)", gone, total // 1024**2)
        return gone

    def _remove_empty_folders(self) -> None:
        for root, folders, _ in os.walk(self.folder, topdown=False):
            for name in folders:
                try:
                    os.rmdir(os.path.join(root, name))   # only succeeds when empty
                except OSError:
                    pass

    def start(self, every: float = SWEEP_EVERY) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(every):
                try:
                    self.sweep()
                except Exception:  # a sweep must never end the loop: the next one may succeed
                    log.exception("sweeping Gradio's cache failed")

        self._thread = threading.Thread(target=loop, name="gradio-cache-janitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


_started: dict[Path, CacheJanitor] = {}
_lock = threading.Lock()


def keep_bounded(folder: str | Path, *, max_bytes: int = MAX_BYTES) -> CacheJanitor:
    """The one janitor for `folder`, started on first call."""
    path = Path(folder).resolve()
    with _lock:
        janitor = _started.get(path)
        if janitor is None:
            janitor = _started[path] = CacheJanitor(path, max_bytes=max_bytes)
            janitor.start()
        return janitor
