"""HTTP for the Segmind client: timeouts, bounded retries, redacted logs.

Rules this module enforces for every call:
- explicit connect and read timeouts;
- retries bounded in number, with capped exponential backoff and jitter, and
  `Retry-After` / `x-rate-limit-reset-at-utc` honoured;
- a request that is not idempotent (the paid submit) is repeated only when it
  surely never reached the server (the connection was never made) or the
  server refused it with 429 — never after the body may have been received;
- the API key goes out only as the `x-api-key` header, and only to the hosts
  the client was configured with; logs show it as `<redacted>`.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from components import errors
from components.config import Secret

log = logging.getLogger("components.transport")

USER_AGENT = "gpt-image-1-edit-explorer/1.0 (+python-requests)"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "cookie"})


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: ("<redacted>" if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `x-rate-limit-reset-at-utc`."""
    now = time.time() if now is None else now
    raw = headers.get("Retry-After")
    if raw:
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    raw = headers.get("x-rate-limit-reset-at-utc")
    if raw:
        raw = raw.strip()
        try:
            stamp = float(raw)
            # Epoch milliseconds are as plausible as seconds; pick by magnitude.
            return max(0.0, (stamp / 1000 if stamp > 1e11 else stamp) - now)
        except ValueError:
            try:
                moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return max(0.0, moment.timestamp() - now)
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 8.0
    # A server asking for a longer wait than this gets an error instead of a silent stall.
    max_retry_after: float = 60.0

    def backoff(self, retry_number: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max_delay, self.initial_delay * (2 ** retry_number))
        # "Equal jitter": never less than half the step, so retries stay spread out
        # without ever firing back-to-back.
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, retry_after + random.uniform(0, 0.1 * max(retry_after, 0.1)))
        return delay


def _never_connected(exc: requests.exceptions.RequestException) -> bool:
    """True when the request surely never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        return isinstance(reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
    return False


class Transport:
    """A requests session with Segmind's rules. Knows nothing of Gradio or the schema."""

    def __init__(
        self,
        *,
        api_key: Secret | None,
        key_hosts: Iterable[str],
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        pool_size: int = 64,
    ) -> None:
        self._api_key = api_key
        self._key_hosts = frozenset(h.lower() for h in key_hosts)
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self.session = requests.Session()
        # One pool sized for many concurrent jobs: the default (10) would drop
        # and reopen connections once a busy Space runs more jobs than that.
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.calls = 0
        self._calls_lock = threading.Lock()

    @property
    def api_key(self) -> Secret | None:
        return self._api_key

    def scrub(self, text: str | None) -> str | None:
        """Remove the key from text that came from elsewhere (a server echoing it back)."""
        if text and self._api_key and self._api_key.reveal() and self._api_key.reveal() in text:
            return text.replace(self._api_key.reveal(), "<redacted>")
        return text

    def _headers_for(self, url: str) -> dict[str, str]:
        host = (urlsplit(url).netloc or "").lower()
        if self._api_key and host in self._key_hosts:
            return {"x-api-key": self._api_key.reveal()}
        return {}

    def _count(self) -> None:
        with self._calls_lock:
            self.calls += 1

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        idempotent: bool,
        stop: threading.Event | None = None,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> requests.Response:
        """One logical call, retried within the policy. Returns the final response.

        The caller maps the status code to an error: what a 404 means depends
        on what was asked.
        """
        headers = self._headers_for(url)
        retries = 0
        while True:
            started = time.monotonic()
            self._count()
            try:
                response = self.session.request(
                    method, url, json=json, headers=headers, stream=stream,
                    timeout=timeout or self.timeout, allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                unsent = _never_connected(exc)
                log.debug("%s %s failed after %.2fs: %s", method, url, time.monotonic() - started,
                          type(exc).__name__)
                if (idempotent or unsent) and retries < self.retry.max_retries:
                    self._wait(self.retry.backoff(retries), stop, sleep)
                    retries += 1
                    continue
                if not idempotent and not unsent:
                    raise errors.SubmitOutcomeUnknownError(type(exc).__name__) from None
                if isinstance(exc, requests.exceptions.Timeout):
                    raise errors.APITimeoutError(
                        f"no answer within {self.timeout[0]:g}s to connect / {self.timeout[1]:g}s to read"
                    ) from None
                raise errors.APIConnectionError(type(exc).__name__) from None
            log.debug("%s %s -> %d in %.2fs (headers %s)", method, url, response.status_code,
                      time.monotonic() - started, redact_headers(headers))
            code = response.status_code
            if code in RETRYABLE_STATUS and (idempotent or code == 429) and retries < self.retry.max_retries:
                retry_after = parse_retry_after(response.headers)
                if retry_after is None or retry_after <= self.retry.max_retry_after:
                    response.close()
                    self._wait(self.retry.backoff(retries, retry_after), stop, sleep)
                    retries += 1
                    continue
            return response

    @staticmethod
    def _wait(seconds: float, stop: threading.Event | None, sleep: Callable[[float], None] | None) -> None:
        if sleep is not None:
            sleep(seconds)
        elif stop is not None:
            if stop.wait(seconds):
                raise errors.PollingStoppedError()
        else:
            time.sleep(seconds)

    def close(self) -> None:
        self.session.close()
