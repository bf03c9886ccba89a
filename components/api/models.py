"""The typed values that cross the client's boundary: inputs, events, results."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping, Union

from components.api.schema import JobState


@dataclass(frozen=True)
class LocalImage:
    """Checked image bytes ready to send, in a format the model takes (made by components.media)."""

    data: bytes = field(repr=False)
    media_type: str
    width: int
    height: int
    has_alpha: bool
    name: str = "image"
    original_size: tuple[int, int] | None = None  # before any reduction
    note: str | None = None                       # what was changed, for the person who sent it

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return self.media_type.rpartition("/")[2]

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class RemoteImage:
    """An http(s) URL passed to the model untouched."""

    url: str


InputImage = Union[LocalImage, RemoteImage]


@dataclass(frozen=True)
class EditInputs:
    """An edit whose images have been read and checked: what the client uploads and submits."""

    prompt: str
    images: tuple[InputImage, ...]
    mask: InputImage | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()   # what was changed to fit the model's limits
    model: str | None = None      # a registry slug; the client's default model without one


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no measurement


# v1 answers with the image bytes and puts the numbers in headers instead of `metrics`.
V1_METRIC_HEADERS = {"inference_time": "x-generation-time", "cost": "x-cost",
                     "remaining_credits": "x-remaining-credits"}
V1_REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True)
class Metrics:
    """What the server measured, in seconds and dollars; None where it said nothing.

    `inference_time` is compute time, `queue_time` the wait for a worker, `total_time` the server's own
    submit-to-end time (not this app's elapsed time, which also counts uploads and polling lag).
    A FAILED job reports times but never a cost.
    """

    inference_time: float | None = None
    cost: float | None = None
    remaining_credits: float | None = None
    queue_time: float | None = None
    total_time: float | None = None
    retry_count: int | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Metrics:
        """From a status or result body: `metrics` first (`{}` while pending), the top level as a fallback."""
        raw = body.get("metrics") if isinstance(body.get("metrics"), dict) else {}

        def number(key: str) -> float | None:
            return _number(raw.get(key, body.get(key)))

        retries = number("retry_count")
        return cls(number("inference_time"), number("cost"), number("remaining_credits"),
                   number("queue_time"), number("total_time"), int(retries) if retries is not None else None)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Metrics:
        """From a v1 answer's headers (`x-generation-time`, `x-cost`, `x-remaining-credits`)."""
        values = {field_name: _number((headers.get(header) or "").strip() or None)
                  for field_name, header in V1_METRIC_HEADERS.items()}
        return cls(**values)

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


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
    event carries the server's error (and the FAILED body's `metrics`) before the
    iterator raises. `error` on a non-terminal event is a passing problem being
    waited out, already worded for a status line. `note` says how polling is
    being paced when that is not the usual: `rate_limit_interval` is then the
    spacing (seconds) this account's rate limit has pushed polls to.
    """

    state: JobState
    request_id: str
    elapsed: float
    polls: int
    result: EditResult | None = None
    error: str | None = None
    note: str | None = None
    rate_limit_interval: float | None = None
    metrics: Metrics | None = None
