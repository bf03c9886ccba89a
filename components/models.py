"""The typed values that cross the client's boundary: job states, events, results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class JobState(enum.Enum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        return self in (JobState.COMPLETED, JobState.FAILED)

    @classmethod
    def parse(cls, value: Any) -> JobState | None:
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class SubmittedJob:
    """What the v2 submit returns: the id and the absolute URLs to poll and fetch."""

    request_id: str
    status_url: str
    response_url: str


@dataclass(frozen=True)
class Metrics:
    inference_time: float | None = None
    cost: float | None = None
    remaining_credits: float | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Metrics:
        raw = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}

        def number(key: str) -> float | None:
            value = raw.get(key, body.get(key))
            try:
                return float(value) if value is not None else None
            except (TypeError, ValueError):
                return None

        return cls(number("inference_time"), number("cost"), number("remaining_credits"))


@dataclass(frozen=True)
class EditResult:
    """A finished edit: the image bytes as the server produced them."""

    image: bytes
    media_type: str
    width: int
    height: int
    metrics: Metrics
    request_id: str | None = None
    source_url: str | None = None
    body: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def extension(self) -> str:
        return self.media_type.rpartition("/")[2] or "img"


@dataclass(frozen=True)
class JobEvent:
    """One observation of a job while it is followed.

    The last event of a completed job carries the result; a FAILED job's last
    event carries the server's error before the iterator raises.
    """

    state: JobState
    request_id: str
    elapsed: float
    polls: int
    result: EditResult | None = None
    error: str | None = None
