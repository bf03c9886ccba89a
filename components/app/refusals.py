"""Why the app will not start a run. Nothing has been sent when one of these is raised.

They carry facts, not sentences: the UI words them (components/ui/copy.py).
"""

from __future__ import annotations

import enum


class Refusal(Exception):
    """A run this server will not start."""


class VisitorKeyRequired(Refusal):
    """The deployer pays for nothing: visitors bring their own Segmind key."""


class SignInRequired(Refusal):
    """The deployer's key pays only for visitors signed in with Hugging Face (SEGMIND_REQUIRE_LOGIN).

    `offered`: whether this app offers sign-in at all (only a Space with `hf_oauth: true` does).
    """

    def __init__(self, offered: bool) -> None:
        self.offered = offered
        super().__init__("the deployer's key pays only for visitors signed in with Hugging Face")


class SessionQuotaUsed(Refusal):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the session's {limit} deployer-paid jobs are used")


class HourlyQuotaUsed(Refusal):
    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        super().__init__(f"the deployer's {limit} jobs this hour are used")


class AccountQuotaUsed(Refusal):
    """A signed-in account has had its share of deployer-paid jobs for the day (DEPLOYER_JOBS_PER_ACCOUNT_PER_DAY)."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        super().__init__(f"the account's {limit} deployer-paid jobs in 24 hours are used")


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
