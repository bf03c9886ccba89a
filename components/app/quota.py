"""Limits on jobs paid with the deployer's key, for public Spaces.

A public Space pays with its owner's key. The deployer can require visitors to
bring their own key, or cap the jobs the deployer's key pays for: per session
and per hour across everyone. Jobs on a visitor's own key, and on the
emulator, are not counted.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from components.app.refusals import HourlyQuotaUsed, SessionQuotaUsed, VisitorKeyRequired

HOUR = 3600.0


@dataclass
class DeployerQuota:
    require_visitor_keys: bool = False
    per_session: int | None = None
    per_hour: int | None = None
    _session_counts: dict[str, int] = field(default_factory=dict, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, session: str, jobs: int = 1) -> None:
        """Count `jobs` against the limits, or raise the Refusal that says which limit stops them."""
        if self.require_visitor_keys:
            raise VisitorKeyRequired()
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] > HOUR:
                self._recent.popleft()
            used = self._session_counts.get(session, 0)
            if self.per_session is not None and used + jobs > self.per_session:
                raise SessionQuotaUsed(self.per_session)
            if self.per_hour is not None and len(self._recent) + jobs > self.per_hour:
                raise HourlyQuotaUsed(self.per_hour, HOUR - (now - self._recent[0]) if self._recent else HOUR)
            self._session_counts[session] = used + jobs
            self._recent.extend([now] * jobs)
