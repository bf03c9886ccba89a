"""What a client is configured with. Reading it from the environment is the app's job."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from components.api import constants
from components.api.schema import DEFAULT_MODEL


class Secret:
    """A string that will not print itself: repr, str and format all show a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class UploadMode(enum.Enum):
    """How local images reach the model: uploaded to Segmind storage, or inline."""

    UPLOAD = "upload"
    INLINE = "inline"


@dataclass(frozen=True)
class ClientSettings:
    api_key: Secret | None = field(default=None, repr=False)
    api_base: str = constants.DEFAULT_API_BASE
    storage_base: str = constants.DEFAULT_STORAGE_BASE
    model: str = DEFAULT_MODEL
    upload_mode: UploadMode = UploadMode.UPLOAD
    connect_timeout: float = constants.CONNECT_TIMEOUT
    read_timeout: float = constants.READ_TIMEOUT
    deadline: float = constants.DEADLINE
    poll_interval: float = constants.POLL_INTERVAL
    # Capture mode: append every raw exchange, without the key, to this JSON-lines file (see capture.py).
    capture: Path | None = None
