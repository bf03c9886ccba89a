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
