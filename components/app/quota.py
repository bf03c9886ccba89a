"""Limits on jobs paid with the deployer's key, for public Spaces.

A public Space pays with its owner's key. The deployer can require visitors to
bring their own key, or to sign in with Hugging Face, and cap the jobs the
deployer's key pays for: per session, per hour across everyone, and per
signed-in account per day. Jobs on a visitor's own key, and on the emulator,
are not counted.

The counts are kept in memory: a restart starts them again. A day is any 24
hours (a sliding window, like the hour), so an account's jobs come back one by
one, a day after each was taken, with no midnight rush.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from components.app.refusals import (
    AccountQuotaUsed, HourlyQuotaUsed, SessionQuotaUsed, SignInRequired, VisitorKeyRequired,
)

HOUR = 3600.0
DAY = 24 * HOUR


def _expire(times: deque[float], now: float, window: float) -> None:
    while times and now - times[0] > window:
        times.popleft()


@dataclass
class DeployerQuota:
    require_visitor_keys: bool = False
    per_session: int | None = None
    per_hour: int | None = None
    require_sign_in: bool = False
    per_account_per_day: int | None = None
    sign_in_offered: bool = False   # whether this app offers sign-in at all (what a refusal can advise)
    _session_counts: dict[str, int] = field(default_factory=dict, repr=False)
    _recent: deque[float] = field(default_factory=deque, repr=False)
    _by_account: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, session: str, jobs: int = 1, *, account: str | None = None) -> None:
        """Count `jobs` against the limits, or raise the Refusal that says which limit stops them.

        `account` is the signed-in visitor's account owner id (None when not signed in).
        """
        if self.require_visitor_keys:
            raise VisitorKeyRequired()
        if self.require_sign_in and account is None:
            raise SignInRequired(self.sign_in_offered)
        now = time.monotonic()
        with self._lock:
            _expire(self._recent, now, HOUR)
            used = self._session_counts.get(session, 0)
            if self.per_session is not None and used + jobs > self.per_session:
                raise SessionQuotaUsed(self.per_session)
            if self.per_hour is not None and len(self._recent) + jobs > self.per_hour:
                raise HourlyQuotaUsed(self.per_hour, HOUR - (now - self._recent[0]) if self._recent else HOUR)
            mine: deque[float] | None = None
            if account is not None and self.per_account_per_day is not None:
                mine = self._by_account.setdefault(account, deque())
                _expire(mine, now, DAY)
                if len(mine) + jobs > self.per_account_per_day:
                    raise AccountQuotaUsed(self.per_account_per_day, DAY - (now - mine[0]) if mine else DAY)
                # Accounts come and go: keep none whose every job is over a day old.
                for gone in [a for a, times in self._by_account.items() if not times or now - times[-1] > DAY]:
                    if gone != account:
                        del self._by_account[gone]
            self._session_counts[session] = used + jobs
            self._recent.extend([now] * jobs)
            if mine is not None:
                mine.extend([now] * jobs)
