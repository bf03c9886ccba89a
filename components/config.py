"""Settings from the environment (and `.env`, loaded by python-dotenv)."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Mapping

from dotenv import load_dotenv

from components.schema import MODEL_SLUG

DEFAULT_API_BASE = "https://api.segmind.com"
DEFAULT_STORAGE_BASE = "https://workflows-api.segmind.com"


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


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    api_key: Secret | None = field(default=None, repr=False)
    api_base: str = DEFAULT_API_BASE
    storage_base: str = DEFAULT_STORAGE_BASE
    model: str = MODEL_SLUG
    upload_mode: UploadMode = UploadMode.UPLOAD
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 600.0
    poll_interval: float = 1.0

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, dotenv: bool = True, dotenv_path: str | None = None
    ) -> Settings:
        """Read the environment; unless told otherwise, `.env` fills in what it does not set."""
        if env is None:
            if dotenv:
                load_dotenv(dotenv_path, override=False)
            env = os.environ
        key = env.get("SEGMIND_API_KEY", "").strip()
        mode = env.get("SEGMIND_UPLOAD_MODE", UploadMode.UPLOAD.value).strip().lower()
        try:
            upload_mode = UploadMode(mode)
        except ValueError as exc:
            raise ValueError("SEGMIND_UPLOAD_MODE must be 'upload' or 'inline'") from exc
        return cls(
            api_key=Secret(key) if key else None,
            api_base=env.get("SEGMIND_API_BASE", "").strip().rstrip("/") or DEFAULT_API_BASE,
            storage_base=env.get("SEGMIND_STORAGE_BASE", "").strip().rstrip("/") or DEFAULT_STORAGE_BASE,
            model=env.get("SEGMIND_MODEL", "").strip() or MODEL_SLUG,
            upload_mode=upload_mode,
            connect_timeout=_number(env, "SEGMIND_CONNECT_TIMEOUT", cls.connect_timeout),
            read_timeout=_number(env, "SEGMIND_READ_TIMEOUT", cls.read_timeout),
            deadline=_number(env, "SEGMIND_DEADLINE", cls.deadline),
            poll_interval=_number(env, "SEGMIND_POLL_INTERVAL", cls.poll_interval),
        )
