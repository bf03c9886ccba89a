"""Why the app will not start a run. Nothing has been sent when one of these is raised.

They carry facts, not sentences: the UI words them (components/ui/copy.py).
"""

from __future__ import annotations


class Refusal(Exception):
    """A run this server will not start."""


class VisitorKeyRequired(Refusal):
    """The deployer pays for nothing: visitors bring their own Segmind key."""


class SessionQuotaUsed(Refusal):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the session's {limit} deployer-paid jobs are used")


class HourlyQuotaUsed(Refusal):
    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        super().__init__(f"the deployer's {limit} jobs this hour are used")


class TooManyRuns(Refusal):
    """This server already follows as many runs as it should (all visitors, or this owner)."""

    def __init__(self, limit: int, per_owner: bool) -> None:
        self.limit = limit
        self.per_owner = per_owner
        super().__init__(f"{limit} runs are live {'for this owner' if per_owner else 'on this server'}")
