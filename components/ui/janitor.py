"""Gradio's upload and cache folder, kept bounded in age and bytes.

Gradio's own `delete_cache` only removes files it registered, on a timer;
uploads aborted midway leave their partial files behind, unregistered, and
nothing bounds the folder's size. On a public Space a script can fill the disk
with them. The janitor walks the folder at most once every SWEEP_EVERY seconds
(on a daemon thread, and on demand for tests), removes what is older than
MAX_AGE, then the oldest files until the folder fits MAX_BYTES.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
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

    def sweep(self) -> int:
        """Remove what is too old, then the oldest until the folder fits, then empty folders; returns files gone."""
        files: list[tuple[float, int, str]] = []
        folders: list[str] = []
        for root, names, file_names in os.walk(self.folder, topdown=False):   # deepest first: folders empty out
            folders += [os.path.join(root, name) for name in names]
            for name in file_names:
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except OSError:
                    continue
                files.append((stat.st_mtime, stat.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        cutoff = time.time() - self.max_age
        gone = 0
        for changed, size, path in files:
            if changed >= cutoff and total <= self.max_bytes:
                break
            try:
                os.remove(path)
            except OSError:
                continue
            total -= size
            gone += 1
        for folder in folders:
            try:
                os.rmdir(folder)   # only succeeds when empty
            except OSError:
                pass
        if gone:
            log.info("removed %d old files from Gradio's cache (%d MB left)", gone, total // 1024**2)
        return gone

    def start(self) -> None:
        def loop() -> None:
            while True:
                time.sleep(SWEEP_EVERY)
                try:
                    self.sweep()
                except Exception:  # a sweep must never end the loop: the next one may succeed
                    log.exception("sweeping Gradio's cache failed")

        threading.Thread(target=loop, name="gradio-cache-janitor", daemon=True).start()


@functools.cache
def keep_bounded(folder: Path) -> None:
    """Start the one janitor for `folder` (later calls for it do nothing)."""
    CacheJanitor(folder).start()
