"""When to ask for a job's status next.

How the cadence was chosen. Polling every T seconds costs one request per T
and notices completion T/2 late on average: the vendor SDK's 1.0 s gives a
0.5 s median lag at one request a second. Halving the lag that way doubles
the requests. What beats that trade is knowing *when* a job is likely to
finish, and GPT Image 1's time to finish mostly follows the requested quality
and size. So:

- The time from submit to completion of finished jobs is remembered per
  (quality, size). With no history for a bucket, the schedule is the SDK's:
  every base interval (1.0 s).
- With history, completion is expected in a window: the bucket's usual range
  of durations (10th to 90th percentile), widened by a margin.
- Before the window, slow polls: a quarter of the time left until it opens,
  between one and MAX_SLOW_FACTOR base intervals, so a job that fails early
  is still noticed within seconds.
- Inside the window, polls spaced so that the window costs what the SDK would
  still spend on the job (its expected duration at one request per base
  interval, minus the polls already made), between MIN_INTERVAL and the base
  interval. A short job's budget is tiny, so it gets a small fixed allowance
  (SHORT_JOB_ALLOWANCE polls) instead, for a low lag at a few polls' cost.
- Past the window (an unusually slow job), the base interval again.

The trade, measured in `bench/` and simulated in tests/test_performance.py:
over a 60 s job (GPT Image 1 takes about a minute on Segmind) this spends
about 40 requests where the SDK spends 60, and sees completion within about
0.15 s instead of 0.5 s. Jobs shorter than about 20 s cost a few requests more
than the SDK (the short-job allowance). When past durations are spread widely,
the window is wide and its polls thin out towards the SDK's cadence: the
budget, not the lag, wins. A 429 or Retry-After
overrides the schedule (see client.follow).
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Mapping

MIN_INTERVAL = 0.1
MAX_SLOW_FACTOR = 4
SHORT_JOB_ALLOWANCE = 10
HISTORY_PER_BUCKET = 20

Bucket = tuple[str, str]


def bucket(options: Mapping[str, Any]) -> Bucket:
    return str(options.get("quality")), str(options.get("size"))


class DurationModel:
    """Recent submit-to-completion times per (quality, size). Thread-safe and bounded."""

    def __init__(self) -> None:
        self._seen: dict[Bucket, deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, key: Bucket, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._seen.setdefault(key, deque(maxlen=HISTORY_PER_BUCKET)).append(seconds)

    def window(self, key: Bucket | None) -> tuple[float, float] | None:
        """The range most jobs of this kind took, or None without history."""
        with self._lock:
            seen = sorted(self._seen.get(key, ())) if key is not None else []
        if not seen:
            return None
        if len(seen) < 5:
            return seen[0], seen[-1]
        deciles = statistics.quantiles(seen, n=10)
        return deciles[0], deciles[-1]


@dataclass
class PollSchedule:
    """The wait before each next poll of one job; times are seconds since submit."""

    base_interval: float = 1.0
    expected: tuple[float, float] | None = None
    margin_fraction: float = 0.05
    min_margin: float = 0.3
    _window_interval: float | None = field(default=None, init=False)

    def next_wait(self, now: float, polls: int) -> float:
        if self.expected is None:
            return self.base_interval
        low, high = self.expected
        margin = max(self.min_margin, self.margin_fraction * high)
        opens, closes = low - margin, high + margin
        if now < opens:
            gap = opens - now
            if gap <= self.base_interval:
                return gap
            return min(MAX_SLOW_FACTOR * self.base_interval, max(self.base_interval, gap / 4))
        if now <= closes:
            if self._window_interval is None:
                sdk_would_spend = (low + high) / 2 / self.base_interval
                budget = max(SHORT_JOB_ALLOWANCE, sdk_would_spend - polls)
                self._window_interval = min(self.base_interval, max(MIN_INTERVAL, (closes - now) / budget))
            return self._window_interval
        return self.base_interval

    @staticmethod
    def completion_estimate(last_pending_at: float, completed_seen_at: float) -> float:
        """Completion happened between the last poll that saw it pending and the first that saw it done."""
        return (last_pending_at + completed_seen_at) / 2
