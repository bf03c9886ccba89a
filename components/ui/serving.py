"""Handing kept files to the browser without serving OUTPUT_DIR itself."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

SERVE_DIR = Path(tempfile.gettempdir()) / "gpt-image-edit-serve"
SERVE_MAX_AGE = 3600.0


def servable(path: str | Path | None) -> str | None:
    """A copy of a kept file that Gradio may hand to the browser.

    OUTPUT_DIR itself is never exposed (no `allowed_paths`): every file the app shows or
    offers for download goes out as a short-lived copy, which Gradio moves into its cache.
    """
    if path is None:
        return None
    source = Path(path)
    target = SERVE_DIR / secrets.token_hex(8) / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    _forget_old_copies()
    return str(target)


def fresh_path(name: str) -> Path:
    """A new servable path for a file the app is about to write (a zip, say)."""
    target = SERVE_DIR / secrets.token_hex(8) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _forget_old_copies() -> None:
    cutoff = time.time() - SERVE_MAX_AGE
    for folder in SERVE_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
