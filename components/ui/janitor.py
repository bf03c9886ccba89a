"""Gradio's upload and cache folder, kept bounded in age and bytes.

Gradio's own `delete_cache` only removes files it registered, on a timer;
uploads aborted midway leave their partial files behind, unregistered, and
nothing bounds the folder's size. On a public Space a script can fill the disk
with them. The janitor walks the folder at most once every SWEEP_EVERY seconds
(on a daemon thread, and on demand for tests), removes what is older than
MAX_AGE, then the oldest files until the folder fits MAX_BYTES.

A file's age is how long it has been in the folder (its inode's change time),
not its content's modification time: Gradio copies files in with `copy2`, which
keeps the source's mtime, so an example checked out hours before the app started
would look expired the moment it arrived. Files the
apps must keep for their whole life (examples, initial values: Gradio's own
`keep_in_cache`) are never removed, as Gradio's clean-up never removes them.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    # Weakly: a closed app (tests make many in one process) is not kept alive for its files' sake.
    apps: weakref.WeakSet = field(default_factory=weakref.WeakSet, repr=False)

    def spare_files_of(self, app: Any) -> None:
        """Never remove the files `app` (a gr.Blocks) keeps for its whole life: its examples and initial values."""
        self.apps.add(app)

    def kept(self) -> set[str] | None:
        """The kept files' paths, resolved; None if an app changed its set while it was read (try next sweep)."""
        try:
            paths = {path for app in list(self.apps) for component in list(app.blocks.values())
                     for path in list(getattr(component, "keep_in_cache", ()))}
        except RuntimeError:  # a set or dict grew on another thread mid-read
            return None
        return {os.path.realpath(path) for path in paths}

    def sweep(self, now: float | None = None) -> int:
        """Remove what is too old, then the oldest until the folder fits, then empty folders; returns files gone.

        `now`: the time the ages are measured at (tests move it on)."""
        kept = self.kept()
        if kept is None:
            return 0
        files: list[tuple[float, int, str]] = []
        folders: list[str] = []
        # Deepest first, so folders empty out; from the real folder, so its paths compare with the kept ones as they are.
        for root, names, file_names in os.walk(os.path.realpath(self.folder), topdown=False):
            folders += [os.path.join(root, name) for name in names]
            for name in file_names:
                path = os.path.join(root, name)
                try:
                    stat = os.lstat(path)
                except OSError:
                    continue
                files.append((stat.st_ctime, stat.st_size, path))
        files.sort()
        total = sum(size for _, size, _ in files)
        cutoff = (time.time() if now is None else now) - self.max_age
        gone = 0
        for arrived, size, path in files:
            if arrived >= cutoff and total <= self.max_bytes:
                break
            if path in kept:
                continue
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
def keep_bounded(folder: Path) -> CacheJanitor:
    """Start the one janitor for `folder` (later calls for it return the same one)."""
    janitor = CacheJanitor(folder)
    janitor.start()
    return janitor
