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
budget, not the lag, wins.

Rate limits. Segmind's plans allow few requests (about 5 a minute on the free
plan) and do not say whether status polls count. So a 429 on a poll is taken
as "this account polls too fast", not as one unlucky answer: `RateLimitMemory`
keeps a floor under the poll spacing per account, and every job of that
account, this one and the next, waits at least that long between polls. The
floor moves in multiplicative steps, bigger up than down, much as TCP paces
itself against congestion:
- a 429 doubles it (at least twice the base interval), up to
  MAX_RATE_LIMITED_INTERVAL; unless the server said the limit resets within
  one base interval (`Retry-After: 0`): that refusal is not about this pace;
- each successful poll takes RATE_LIMIT_RECOVERY (5 %) off it, so the account
  speeds up again once its traffic calms down;
- it also halves every RATE_LIMIT_HALF_LIFE seconds, which is what lets an
  idle account speed up again.
Why successes count, although a run of them at the floor could mean the floor
merely works: not every 429 is about this account's pace (a burst of other
traffic, an upstream limit). Doubling on each 429 and shrinking 5 % on each
success is stable while fewer than about 7 % of polls draw a 429 (2^p · 0.95^(1-p)
< 1), so scattered 429s leave the pace near the base, while a real limit (every
poll over the pace refused) pushes the floor up to it within a few 429s and
then probes it with about one 429 in ten polls (tests/test_rate_limits.py
simulates both). The wait after a 429 is
also never shorter than the server's `Retry-After` / `x-rate-limit-reset-at-utc`.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from components.api.constants import MAX_RATE_LIMITED_INTERVAL, RATE_LIMIT_HALF_LIFE, RATE_LIMIT_RECOVERY

MIN_INTERVAL = 0.1
MAX_SLOW_FACTOR = 4
SHORT_JOB_ALLOWANCE = 10
HISTORY_PER_BUCKET = 20

Bucket = tuple[str, str, str]
# How far a model page's usual latency is trusted before any job of that kind has finished.
PRIOR_SPREAD = (0.5, 1.5)


def bucket(model: str, options: Mapping[str, Any]) -> Bucket:
    return model, str(options.get("quality")), str(options.get("size"))


class RateLimitMemory:
    """Per account: the least spacing between polls that its 429s have taught. Thread-safe.

    Accounts are named by a hash of their key (`upload_cache.account_of`), never the key.
    """

    def __init__(self, *, recovery: float = RATE_LIMIT_RECOVERY, half_life: float = RATE_LIMIT_HALF_LIFE,
                 ceiling: float = MAX_RATE_LIMITED_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.recovery = recovery
        self.half_life = half_life
        self.ceiling = ceiling
        self.clock = clock
        self._floors: dict[str, tuple[float, float]] = {}  # account -> (floor, when it was last set)
        self._lock = threading.Lock()

    def _current(self, account: str) -> float:
        floor, since = self._floors.get(account, (0.0, 0.0))
        if floor <= 0:
            return 0.0
        return floor * 0.5 ** (max(0.0, self.clock() - since) / self.half_life)

    def interval(self, account: str, base_interval: float) -> float | None:
        """The spacing polls of this account must keep, or None while its 429s are forgotten."""
        with self._lock:
            floor = self._current(account)
            if floor <= base_interval:
                self._floors.pop(account, None)
                return None
            return floor

    def slow_down(self, account: str, base_interval: float, retry_after: float | None = None) -> float:
        """A poll drew a 429: double the account's floor (at least twice the base interval); the spacing now.

        A 429 whose reset comes within one base interval leaves the floor alone: the server says a
        poll at the usual pace would already be let through.
        """
        with self._lock:
            current = self._current(account)
            if retry_after is not None and retry_after <= base_interval:
                return max(current, base_interval)
            floor = min(self.ceiling, max(2 * current, 2 * base_interval))
            self._floors[account] = (floor, self.clock())
            return floor

    def succeeded(self, account: str) -> None:
        """A poll got its answer: take RATE_LIMIT_RECOVERY off the account's floor, if it has one."""
        with self._lock:
            if account in self._floors:
                self._floors[account] = (self._current(account) * self.recovery, self.clock())


class DurationModel:
    """Recent submit-to-completion times per (model, quality, size). Thread-safe and bounded.

    `priors` are each model's usual latency (from the registry, for Segmind itself): until a
    bucket has history, completion is expected around it. It also carries what 429s taught
    about each account (`rate_limits`), so whoever shares a DurationModel between clients (one
    per visitor key, say) shares that lesson too.
    """

    def __init__(self, rate_limits: RateLimitMemory | None = None, priors: Mapping[str, float] | None = None) -> None:
        self._seen: dict[Bucket, deque[float]] = {}
        self._lock = threading.Lock()
        self.rate_limits = rate_limits or RateLimitMemory()
        self.priors = dict(priors or {})

    def record(self, key: Bucket, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self._seen.setdefault(key, deque(maxlen=HISTORY_PER_BUCKET)).append(seconds)

    def window(self, key: Bucket | None) -> tuple[float, float] | None:
        """The range most jobs of this kind took; the model's prior range without history; else None."""
        with self._lock:
            seen = sorted(self._seen.get(key, ())) if key is not None else []
        if not seen:
            prior = self.priors.get(key[0]) if key is not None else None
            return (PRIOR_SPREAD[0] * prior, PRIOR_SPREAD[1] * prior) if prior else None
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
