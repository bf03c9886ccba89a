"""Issue #12, point 3: rate-limit manners, over HTTP against the emulator's sliding-window limit.

The free plan allows about 5 requests a minute, and whether status polls count
is undocumented, so the emulator counts them. The window is scaled from 60 s
down to 2 s so that a test takes seconds; every wait in it is the client's own.
"""

from __future__ import annotations

import pytest
import requests

from components.api.client import SegmindClient
from components.api.polling import RateLimitMemory
from components.api.schema import JobState
from components.api.transport import parse_retry_after
from components.emulator import Emulator, Route
from tests.conftest import KEY, edit_inputs, make_client, png_bytes

WINDOW = 2.0  # stands for the free plan's minute


def free_plan(**options) -> Emulator:
    return Emulator(key=KEY, rate_limit=5, rate_limit_window=WINDOW, **options)


def test_a_free_plan_limit_with_polls_counted_completes_one_job_with_one_submit_and_slows_the_account():
    with free_plan(queue_seconds=0.1, processing_seconds=1.0) as emu:
        client = make_client(emu, poll_interval=0.05, deadline=60)
        events = list(client.stream(edit_inputs("pink sky", [png_bytes()])))
        final = events[-1]
        assert final.state is JobState.COMPLETED and final.result.image and final.result.request_id in emu.jobs
        # One paid job: the submit went once and was accepted once.
        assert emu.calls[Route.SUBMIT] == 1 and len(emu.jobs) == 1
        # Polls drew 429s, and the status line said so, with the new spacing.
        assert emu.rate_limited[Route.STATUS] >= 1
        told = [e for e in events if e.error and "rate-limiting status checks" in e.error]
        assert told and all(e.rate_limit_interval and e.rate_limit_interval > 0.05 for e in told)
        # Polling slowed rather than hammering: few refusals for the whole job.
        assert sum(emu.rate_limited.values()) <= 8

        # The next job of the same account starts at the slower pace: the lesson was kept.
        slowed = client.rate_limits.interval(client.account, 0.05)
        assert slowed is not None and slowed > 0.05
        events = list(client.stream(edit_inputs("blue sky", [png_bytes(color=(9, 9, 9))])))
        assert events[-1].state is JobState.COMPLETED and len(emu.jobs) == 2
        assert events[0].rate_limit_interval == pytest.approx(slowed, rel=0.01)
        assert events[0].note and "rate limit" in events[0].note


def test_the_lesson_is_per_account_and_shared_by_clients_that_share_a_duration_model():
    with free_plan(queue_seconds=0.0, processing_seconds=0.05) as emu:
        first = make_client(emu, poll_interval=0.05)
        first.rate_limits.slow_down(first.account, 0.05)
        same_account = SegmindClient(first.settings, api_key=KEY, durations=first.durations)
        other_account = SegmindClient(first.settings, api_key="another-key", durations=first.durations)
        assert same_account.rate_limits.interval(same_account.account, 0.05) == pytest.approx(0.1, rel=0.05)
        assert other_account.rate_limits.interval(other_account.account, 0.05) is None
        assert KEY not in first.account


def test_the_emulator_limit_answers_429_with_only_the_reset_header_and_frees_slots_as_the_window_slides():
    now = [100.0]
    with free_plan(queue_seconds=0.0, processing_seconds=0.05, clock=lambda: now[0]) as emu:
        client = make_client(emu)
        job = client.submit(client.prepare_payload(edit_inputs("x", [png_bytes()])))
        for _ in range(4):
            assert requests.get(job.status_url, headers={"x-api-key": KEY}, timeout=5).status_code == 200
        refused = requests.get(job.status_url, headers={"x-api-key": KEY}, timeout=5)
        assert refused.status_code == 429 and "Retry-After" not in refused.headers
        wait = parse_retry_after(refused.headers)
        assert wait is not None and 0 < wait <= WINDOW + 0.5
        # Another account has its own window.
        other = requests.get(job.status_url, headers={"x-api-key": "someone-else"}, timeout=5)
        assert other.status_code == 401
        now[0] += WINDOW  # the first requests leave the window
        assert requests.get(job.status_url, headers={"x-api-key": KEY}, timeout=5).status_code == 200
        assert emu.rate_limited[Route.STATUS] == 1


def test_polls_can_be_left_out_of_the_count():
    with Emulator(key=KEY, queue_seconds=0.0, processing_seconds=0.3, rate_limit=1, rate_limit_window=600,
                  rate_limit_polls=False) as emu:
        client = make_client(emu, poll_interval=0.02)
        events = list(client.stream(edit_inputs("x", [png_bytes()])))
        assert events[-1].state is JobState.COMPLETED and emu.calls[Route.STATUS] > 3
        assert sum(emu.rate_limited.values()) == 0


def test_rate_limit_memory_doubles_on_429_recovers_on_success_fades_when_idle_and_keeps_a_ceiling():
    now = [0.0]
    memory = RateLimitMemory(recovery=0.5, half_life=100.0, ceiling=8.0, clock=lambda: now[0])
    assert memory.interval("a", 1.0) is None
    assert [memory.slow_down("a", 1.0) for _ in range(4)] == [2.0, 4.0, 8.0, 8.0]
    assert memory.interval("b", 1.0) is None  # per account
    assert memory.slow_down("a", 1.0, retry_after=0.0) == 8.0  # "retry now" is not about the pace
    memory.succeeded("a")
    assert memory.interval("a", 1.0) == pytest.approx(4.0)
    now[0] += 100.0  # idle for a half-life
    assert memory.interval("a", 1.0) == pytest.approx(2.0)
    now[0] += 100.0  # faded to the base interval: forgotten
    assert memory.interval("a", 1.0) is None
    memory.succeeded("b")
    assert memory.interval("b", 1.0) is None


def simulate(memory: RateLimitMemory, now: list[float], refused, polls: int = 300) -> tuple[float, int]:
    """An account polling at its floor (base 1 s) against a server that refuses when `refused(spacing, n)`."""
    refusals = 0
    for n in range(polls):
        spacing = memory.interval("acct", 1.0) or 1.0
        now[0] += spacing
        if refused(spacing, n):
            refusals += 1
            memory.slow_down("acct", 1.0)
        else:
            memory.succeeded("acct")
    return memory.interval("acct", 1.0) or 1.0, refusals


def test_scattered_429s_leave_the_pace_near_the_base_and_a_real_limit_settles_just_above_it():
    now = [0.0]
    # One poll in 25 refused whatever the pace (another client's burst, an upstream hiccup).
    spacing, _ = simulate(RateLimitMemory(clock=lambda: now[0]), now, lambda spacing, n: n % 25 == 24)
    assert spacing < 3.0
    # A free plan: 5 a minute, so polls closer than 12 s apart are refused.
    spacing, refusals = simulate(RateLimitMemory(clock=lambda: now[0]), now, lambda spacing, n: spacing < 12.0)
    # It probes the limit with about one refused poll in ten (recovery and idle fading both lower the floor).
    assert 12.0 <= spacing <= 30.0 and refusals < 300 / 8


def test_a_finished_job_whose_result_is_rate_limited_is_not_called_completed_before_its_image_is_here(emulator):
    """The run reads FETCHING while the result is waited for; COMPLETED comes with the image."""
    from components.app.runs import RunUpdate
    from components.app.status import RunStatus

    client = make_client(emulator, poll_interval=0.02)
    emulator.inject(Route.RESULT, status=429, headers={"Retry-After": "0"}, times=2)
    updates = [RunUpdate.from_event(event) for event in client.stream(edit_inputs("x", [png_bytes(color=(2, 7, 1))]))]
    statuses = [update.status for update in updates]
    assert RunStatus.FETCHING in statuses and statuses[-1] is RunStatus.COMPLETED
    assert all(update.result is not None for update in updates if update.status is RunStatus.COMPLETED)
