"""Models Segmind has answered 410 for: remembered across restarts, so a page says so at once.

Kept as a small JSON list beside the history. Nothing secret is in it: slugs only.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from components.api.schema import MODELS
from components.app.history import write_atomic

log = logging.getLogger(__name__)


class RetiredModels:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._slugs: set[str] = set()
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text())
                self._slugs = {slug for slug in loaded if slug in MODELS} if isinstance(loaded, list) else set()
            except (OSError, ValueError):
                log.warning("could not read %s; starting with no retired models known", path)

    def __contains__(self, slug: object) -> bool:
        with self._lock:
            return slug in self._slugs

    def learn(self, slug: str) -> None:
        """Remember a 410 for this model."""
        if slug not in MODELS:
            return
        with self._lock:
            if slug in self._slugs:
                return
            self._slugs.add(slug)
            slugs = sorted(self._slugs)
        if self.path is not None:
            try:
                write_atomic(self.path, json.dumps(slugs).encode())
            except OSError:
                log.warning("could not save the retired models to %s", self.path)

    def replacement(self, slug: str) -> str | None:
        """The nearest successor not known to be retired (None when the chain runs out)."""
        seen = {slug}
        successor = MODELS[slug].successor if slug in MODELS else None
        while successor and successor not in seen:
            if successor not in self:
                return successor
            seen.add(successor)
            successor = MODELS[successor].successor
        return None
