"""How the real service words and shapes its answers, where that differs from the tidy contract.

Sources: Segmind's async and storage docs, the vendor SDK's code across versions,
and live probes recorded by other open-source clients (issue #12 lists them).
The emulator speaks this way by default; `strict` keeps the tidy contract
(400 at submit, 406 for credits, every error as `{"error": ...}`).
"""

from __future__ import annotations

import base64
import enum
import json
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from components.api.schema import ValidationIssue


class OutputShape(enum.Enum):
    """Where and how a COMPLETED result body carries the image; models on Segmind differ here."""

    URL = "url"                    # "output": "https://..."
    LIST = "list"                  # "output": ["https://..."]
    JSON_STRING = "json_string"    # "output": "[\"https://...\"]", a JSON document inside a string
    BASE64 = "base64"              # "output": "iVBOR..."
    BASE64_LINES = "base64_lines"  # the same, wrapped at 76 characters as MIME encoders do
    DATA_URI = "data_uri"          # "output": "data:image/png;base64,..."
    IMAGE = "image"                # no `output`: "image": "<base64>"
    IMAGE_URL = "image_url"        # no `output`: "image_url": "https://..."


class SyncShape(enum.Enum):
    """What v1 answers with: the image bytes (Segmind's usual), or JSON some clients have seen."""

    BYTES = "bytes"
    IMAGE_URL = "image_url"
    IMAGE = "image"


class ErrorStyle(enum.Enum):
    """How an error answer's body is written."""

    JSON = "json"    # {"error": "..."}
    OAUTH = "oauth"  # {"error": "invalid_token", "error_description": "...", "status_code": 401}
    TEXT = "text"    # text/plain
    HTML = "html"    # an HTML page from the front proxy


OAUTH_INVALID_TOKEN = "invalid_token"
# What the front proxy answers for a method a path does not take.
HTML_405 = ("<html>\r\n<head><title>405 Not Allowed</title></head>\r\n<body>\r\n<center><h1>405 Not Allowed</h1>"
            "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


def insufficient_credits(credits: float) -> str:
    """Segmind's words for a v2 submit refused for credits (HTTP 402)."""
    return f"Insufficient credits. You have {max(0.0, round(credits, 2))} credits."


def late_reason(issue: ValidationIssue) -> str:
    """A parameter problem in the words Segmind's workers use when they fail a job for it."""
    name = issue.param[:1].upper() + issue.param[1:]
    if issue.message.startswith(("is required", "is empty")):
        return f"{name} is Mandatory"
    return f"Invalid value for {issue.param}: {issue.message}"


def b64(data: bytes, *, wrapped: bool = False) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    if not wrapped:
        return encoded
    return "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def output_fields(shape: OutputShape, url: str, data: bytes, media_type: str) -> dict[str, Any]:
    """The body fields that carry the image, in this shape."""
    if shape is OutputShape.URL:
        return {"output": url}
    if shape is OutputShape.LIST:
        return {"output": [url]}
    if shape is OutputShape.JSON_STRING:
        return {"output": json.dumps([url])}
    if shape is OutputShape.BASE64:
        return {"output": b64(data)}
    if shape is OutputShape.BASE64_LINES:
        return {"output": b64(data, wrapped=True)}
    if shape is OutputShape.DATA_URI:
        return {"output": f"data:{media_type};base64,{b64(data)}"}
    if shape is OutputShape.IMAGE:
        return {"image": b64(data)}
    return {"image_url": url}


def reset_at_utc(seconds_from_now: float) -> str:
    """`x-rate-limit-reset-at-utc`: an ISO 8601 UTC moment, to the millisecond."""
    moment = datetime.now(timezone.utc) + timedelta(seconds=max(0.0, seconds_from_now))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SlidingWindow:
    """At most `limit` requests per account in any `window` seconds (a sliding log, as API gateways keep).

    A refused request takes no slot, so a client that waits as told gets through.
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, account: str) -> float | None:
        """Count a request; None when it is allowed, else the seconds until a slot frees."""
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(account, deque())
            while seen and now - seen[0] >= self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return seen[0] + self.window - now
            seen.append(now)
            return None


__all__ = ["ErrorStyle", "HTML_405", "OAUTH_INVALID_TOKEN", "OutputShape", "SlidingWindow", "SyncShape", "b64",
           "insufficient_credits", "late_reason", "output_fields", "reset_at_utc"]
