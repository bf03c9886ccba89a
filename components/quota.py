"""Limits on jobs paid with the deployer's key, for public Spaces.

A public Space pays with its owner's key. The deployer can require visitors to
bring their own key, or cap the jobs the deployer's key pays for: per session
and per hour across everyone. Jobs on a visitor's own key, and on the
emulator, are not counted.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Mapping


@dataclass
class DeployerQuota:
    require_visitor_keys: bool = False
    per_session: int | None = None
    per_hour: int | None = None
    _session_counts: dict[str, int] = field(default_factory=dict, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeployerQuota:
        env = os.environ if env is None else env

        def limit(name: str) -> int | None:
            raw = env.get(name, "").strip()
            if not raw:
                return None
            if not raw.isdigit():
                raise ValueError(f"{name} must be a whole number of jobs")
            return int(raw)

        require = env.get("SEGMIND_REQUIRE_VISITOR_KEYS", "").strip().lower() in ("1", "true", "yes", "on")
        return cls(require, limit("DEPLOYER_JOBS_PER_SESSION"), limit("DEPLOYER_JOBS_PER_HOUR"))

    def take(self, session: str, jobs: int = 1) -> str | None:
        """Count `jobs` against the limits; a message saying why not, or None when allowed."""
        if self.require_visitor_keys:
            return ("This Space asks each visitor to use their own Segmind key: enter it under "
                    "*API key and deadline* (it stays in your browser tab).")
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] > 3600:
                self._recent.popleft()
            used = self._session_counts.get(session, 0)
            if self.per_session is not None and used + jobs > self.per_session:
                return (f"This session has used its {self.per_session} jobs on the Space's key. Enter your own "
                        "Segmind key under *API key and deadline* to keep going.")
            if self.per_hour is not None and len(self._recent) + jobs > self.per_hour:
                wait = 3600 - (now - self._recent[0]) if self._recent else 3600
                return (f"The Space's key has paid for its {self.per_hour} jobs this hour. Try again in about "
                        f"{wait / 60:.0f} minutes, or enter your own Segmind key.")
            self._session_counts[session] = used + jobs
            self._recent.extend([now] * jobs)
        return None
