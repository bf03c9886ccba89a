"""Capture mode: each raw exchange with Segmind written as one JSON line, with no key in it.

Why: nobody here can call Segmind, so what its answers really look like is
pieced together from docs and other people's probes. With `SEGMIND_CAPTURE=path`
the first real (paid) run records every request and answer: method, URL, status,
headers and bodies. That one file settles the remaining unknowns, and the
emulator can replay its shapes (`Emulator(replay=path)`).

What a capture never holds:
- the API key: the `x-api-key` header, and any header whose name looks like a
  credential (constants.KEY_LIKE_HEADER_PARTS: authorization, cookies, tokens...),
  are left out whole (only their names are listed, under `removed_headers`);
- the key's value anywhere else (a server echoing it in a body, a header or a
  URL), in any letter case, reversed, or cut to a piece of 8 characters or
  more: replaced by `<redacted>` (see scrub.py).

What it shortens, and says so: a long base64 string (an uploaded image, an
inline output) keeps its first CAPTURE_TEXT_PREFIX characters followed by
TRUNCATED_MARK and its length; binary bodies (image bytes) are recorded as
their length, SHA-256 and first bytes; a streamed download as its headers.
The file's first line describes the format and states these rules.

The file is created readable by its owner only (0600) and only appended to.
It holds prompts and the URLs of uploaded images: keep it private.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from components.api.constants import (CAPTURE_MAX_TEXT, CAPTURE_TEXT_PREFIX, KEY_LIKE_HEADER_PARTS,
                                      SENSITIVE_HEADERS)
from components.api.scrub import MIN_LEAK, REDACTED, Scrubber

log = logging.getLogger("components.api.capture")

CAPTURE_FORMAT = "segmind-capture/1"
# Written after the kept prefix of a shortened string; the emulator's replay looks for it.
TRUNCATED_MARK = "...[truncated by capture: "
BINARY_PREFIX_BYTES = 16
# A string this long made only of base64 characters (or a data URI) is taken for image data.
BASE64_MIN_LENGTH = 256
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s_-]+")


def is_key_like(header: str) -> bool:
    name = header.lower()
    return name in SENSITIVE_HEADERS or any(part in name for part in KEY_LIKE_HEADER_PARTS)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_for_capture(value: Any, scrubber: Scrubber) -> Any:
    """A JSON value with every string (keys included) scrubbed and long data shortened."""
    if isinstance(value, str):
        return scrubber.text(shorten(value))
    if isinstance(value, list):
        return [json_for_capture(item, scrubber) for item in value]
    if isinstance(value, dict):
        return {scrubber.text(str(k)): json_for_capture(v, scrubber) for k, v in value.items()}
    return value


def shorten(text: str) -> str:
    """A long base64 string or data URI as its prefix and length; other text cut at CAPTURE_MAX_TEXT."""
    looks_like_data = text.startswith("data:") or (len(text) >= BASE64_MIN_LENGTH and _BASE64_TEXT.fullmatch(text))
    limit = CAPTURE_TEXT_PREFIX if looks_like_data and len(text) >= BASE64_MIN_LENGTH else CAPTURE_MAX_TEXT
    if len(text) <= limit:
        return text
    return f"{text[:limit]}{TRUNCATED_MARK}{len(text)} characters]"


def headers_for_capture(headers: Mapping[str, str], scrubber: Scrubber) -> tuple[dict[str, str], list[str]]:
    """The headers without key-like ones (values scrubbed too), and the names left out."""
    kept, removed = {}, []
    for name, value in headers.items():
        if is_key_like(name):
            removed.append(name.lower())
        else:
            kept[name] = scrubber.text(str(value))
    return kept, sorted(set(removed))


def body_for_capture(content: bytes | None, content_type: str, scrubber: Scrubber, *,
                     streamed: bool = False, declared_length: str | None = None) -> dict[str, Any]:
    """A response body as it is kept: parsed JSON, text, or a description of bytes."""
    if streamed or content is None:
        return {"kind": "stream", "note": "streamed download: body not recorded", "length": declared_length}
    kind = content_type.split(";")[0].strip().lower()
    if not content:
        return {"kind": "empty"}
    if "json" in kind or content[:1] in (b"{", b"["):
        try:
            return {"kind": "json", "json": json_for_capture(json.loads(content), scrubber)}
        except ValueError:
            pass
    if kind.startswith("text/") or "html" in kind or "json" in kind:
        return {"kind": "text", "text": scrubber.text(shorten(content.decode("utf-8", "replace")))}
    return {"kind": "bytes", "length": len(content), "sha256": hashlib.sha256(content).hexdigest(),
            "prefix_base64": base64.b64encode(content[:BINARY_PREFIX_BYTES]).decode("ascii"),
            "note": f"binary body: only its length, hash and first {BINARY_PREFIX_BYTES} bytes are kept"}


class CaptureFile:
    """One capture file, appended to by every client of the process (`CaptureFile.at(path)`)."""

    _files: dict[Path, CaptureFile] = {}
    _files_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._failed = False
        self._started = False

    @classmethod
    def at(cls, path: str | os.PathLike) -> CaptureFile:
        resolved = Path(path).expanduser().resolve()
        with cls._files_lock:
            if resolved not in cls._files:
                cls._files[resolved] = cls(resolved)
            return cls._files[resolved]

    def _header(self) -> dict[str, Any]:
        return {
            "type": "capture", "format": CAPTURE_FORMAT, "started": now_iso(),
            "note": ("One JSON object per line, one per HTTP attempt (retries included). The API key and "
                     "key-like headers are removed (their names are listed in removed_headers) and the key's "
                     f"value, or any piece of {MIN_LEAK} or more of its characters, in any letter case or "
                     f"reversed, is replaced by {REDACTED} wherever else it appears. Base64 image data is "
                     f"truncated to its first {CAPTURE_TEXT_PREFIX} characters and its length "
                     f"('{TRUNCATED_MARK}N characters]'); other text over {CAPTURE_MAX_TEXT} characters is "
                     "cut the same way; binary bodies are kept as length, SHA-256 and first bytes."),
        }

    @staticmethod
    def _line(record: Mapping[str, Any], scrubber: Scrubber) -> str:
        """One record as a line, scrubbed again as text after serialising: nothing that escaped the
        structured pass (say, through JSON escaping) survives. Should that second pass break the JSON,
        the record is dropped rather than written with a secret or unreadable."""
        serialised = json.dumps(record, ensure_ascii=False, default=str)
        scrubbed = scrubber.text(serialised)
        if scrubbed != serialised:
            try:
                json.loads(scrubbed)
            except ValueError:
                scrubbed = json.dumps({"type": "dropped", "at": now_iso(),
                                       "note": "this exchange could not be scrubbed safely, so it is left out"})
        return scrubbed + "\n"

    def write(self, record: Mapping[str, Any], scrubber: Scrubber) -> None:
        """Append one record, scrubbed of the secrets `scrubber` knows. A capture that cannot be
        written is switched off, never fatal to a run."""
        if self._failed:
            return
        line = self._line(record, scrubber)
        with self._lock:
            # The header is this module's own words, with no secret in them: it is not scrubbed, since
            # a piece of a non-random key (say "-capture") could otherwise redact its format name.
            # Decided under the lock, so two clients starting at once write it once.
            text = line if self._started else json.dumps(self._header(), ensure_ascii=False) + "\n" + line
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                    handle.write(text)
                self._started = True
            except OSError as exc:
                self._failed = True
                log.warning("capture switched off: cannot write %s (%s)", self.path, type(exc).__name__)


def exchange_record(
    *,
    method: str,
    url: str,
    attempt: int,
    elapsed: float,
    request_headers: Mapping[str, str],
    request_json: Any,
    scrubber: Scrubber,
    status: int | None = None,
    reason: str | None = None,
    response_headers: Mapping[str, str] | None = None,
    body: dict[str, Any] | None = None,
    failure: str | None = None,
) -> dict[str, Any]:
    """One exchange as a capture line (already scrubbed)."""
    sent, removed_sent = headers_for_capture(request_headers, scrubber)
    record: dict[str, Any] = {
        "type": "exchange", "at": now_iso(), "method": method, "url": scrubber.text(url), "attempt": attempt,
        "elapsed": round(elapsed, 4),
        "request": {"headers": sent, "removed_headers": removed_sent,
                    "json": json_for_capture(request_json, scrubber) if request_json is not None else None},
    }
    if failure is not None:
        record["failure"] = failure
        return record
    received, removed_received = headers_for_capture(response_headers or {}, scrubber)
    record["response"] = {"status": status, "reason": reason, "headers": received,
                          "removed_headers": removed_received, "body": body}
    return record


__all__ = ["CAPTURE_FORMAT", "CaptureFile", "TRUNCATED_MARK", "body_for_capture", "exchange_record", "is_key_like",
           "json_for_capture"]
