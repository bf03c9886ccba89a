"""Handing kept files to the browser without serving OUTPUT_DIR itself."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

SERVE_DIR = Path(tempfile.gettempdir()) / "gpt-image-edit-serve"
SERVE_MAX_AGE = 3600.0
FORGET_EVERY = 60.0
MAX_REUSED = 4096

_lock = threading.Lock()
_last_forget = 0.0
_reused: OrderedDict[str, str] = OrderedDict()  # unchanging file -> its served copy


def servable(path: str | Path | None) -> str | None:
    """A copy of a kept file that Gradio may hand to the browser.

    OUTPUT_DIR itself is never exposed (no `allowed_paths`): every file the app shows or
    offers for download goes out as a short-lived copy, which Gradio moves into its cache.
    """
    if path is None:
        return None
    source = Path(path)
    target = fresh_path(source.name)
    shutil.copyfile(source, target)
    _forget_old_copies()
    return str(target)


def fresh_path(name: str) -> Path:
    """A new servable path for a file the app is about to write (a zip, say)."""
    target = SERVE_DIR / secrets.token_hex(8) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def servable_unchanging(path: str | Path | None) -> str | None:
    """`servable` for a file that never changes once written (a thumbnail, a status tile): its copy is
    reused while it lasts, so a gallery redraw copies nothing it copied before."""
    if path is None:
        return None
    key = str(path)
    with _lock:
        served = _reused.get(key)
    if served is not None and os.path.exists(served):
        return served
    served = servable(path)
    with _lock:
        _reused[key] = served
        _reused.move_to_end(key)
        while len(_reused) > MAX_REUSED:
            _reused.popitem(last=False)
    return served


def _forget_old_copies() -> None:
    """Drop copies older than SERVE_MAX_AGE; the folder is walked at most once every FORGET_EVERY seconds."""
    global _last_forget
    now = time.time()
    with _lock:
        if now - _last_forget < FORGET_EVERY:
            return
        _last_forget = now
    cutoff = now - SERVE_MAX_AGE
    for folder in SERVE_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
