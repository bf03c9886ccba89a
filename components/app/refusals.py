"""Why the app will not start a run. Nothing has been sent when one of these is raised.

They carry facts, not sentences: the UI words them (components/ui/copy.py).
"""

from __future__ import annotations

import enum


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


class Share(enum.Enum):
    """Whose live runs a limit counts."""

    SERVER = "on this server"
    OWNER = "for this browser"
    ADDRESS = "from this network address"


class TooManyRuns(Refusal):
    """This server already follows as many runs as it should (all visitors, this browser, or this address)."""

    def __init__(self, limit: int, share: Share) -> None:
        self.limit = limit
        self.share = share
        super().__init__(f"{limit} runs are live {share.value}")


class UnknownRequestId(Refusal):
    """Resume names a job this app did not start for this browser, and no visitor key of its own was given."""


class NoStorageRoom(Refusal):
    """The run's inputs would not fit this browser's share of the server's storage."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
