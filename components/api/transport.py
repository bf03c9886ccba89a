"""HTTP for the Segmind client: timeouts, bounded retries, redacted logs.

Rules this module enforces for every call:
- explicit connect and read timeouts;
- retries bounded in number, with capped exponential backoff and jitter, and
  `Retry-After` / `x-rate-limit-reset-at-utc` honoured;
- a request that is not idempotent (the paid submit) is repeated only when it
  surely never reached the server (the connection was never made) or the
  server refused it with 429 — never after the body may have been received;
- the API key goes out only as the `x-api-key` header, and only to the hosts
  the client was configured with; logs show it as `<redacted>`;
- server text that reaches a person goes through `scrub`, which removes the key
  even echoed in another letter case, cut short or reversed (see scrub.py);
- with a capture file (capture mode), every attempt is written to it, without
  the key (see capture.py).

Job polls ask for 429s back (`retry_rate_limits=False`) instead of having them
waited out here: the poller turns them into a slower schedule for the whole
account and says so (polling.RateLimitMemory), which one call cannot do.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from components.api import constants, errors
from components.api.capture import CaptureFile, body_for_capture, exchange_record
from components.api.config import Secret
from components.api.scrub import REDACTED, Scrubber
from components.api.urls import origin

log = logging.getLogger("components.api.transport")


class ClosingAdapter(HTTPAdapter):
    """An adapter whose close() closes its connections now.

    urllib3 2.x's pool manager forgets its pools on clear() without closing them, leaving their
    sockets to a finaliser that runs when the pool is collected. A timed-out call's error and
    response refer back to their pool, so that can wait for the cycle collector: a closed client
    kept sockets open (CLOSE_WAIT) for as long as no collection happened.
    """

    def close(self) -> None:
        pools = self.poolmanager.pools
        for key in pools.keys():
            pool = pools.get(key)
            if pool is not None:
                pool.close()
        super().close()


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in constants.SENSITIVE_HEADERS else v) for k, v in headers.items()}


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `x-rate-limit-reset-at-utc`."""
    now = time.time() if now is None else now
    for name in ("Retry-After", "x-rate-limit-reset-at-utc"):
        raw = (headers.get(name) or "").strip()
        if raw:
            wait = _seconds_until(raw, now)
            if wait is not None:
                return wait
    return None


def _seconds_until(raw: str, now: float) -> float | None:
    """A wait in seconds, an epoch time (s or ms), an ISO 8601 time or an HTTP date; None if unreadable."""
    try:
        number = float(raw)
    except ValueError:
        pass
    else:
        if number < 1e9:  # too small to be a moment: a number of seconds to wait
            return max(0.0, number)
        return max(0.0, (number / 1000 if number > 1e11 else number) - now)
    for parse in (lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
                  email.utils.parsedate_to_datetime):
        try:
            moment = parse(raw)
        except (TypeError, ValueError, IndexError):
            continue
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


# Requests that could not even be built: nothing was sent, and trying again would not help.
UNSENDABLE = (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
              requests.exceptions.InvalidSchema)

KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def check_key(key: str) -> None:
    """Refuse a key that cannot be sent as a header, before it is used."""
    if not KEY_CHARACTERS.fullmatch(key):
        raise errors.InvalidKeyError()


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
        connect_timeout: float = constants.CONNECT_TIMEOUT,
        read_timeout: float = constants.READ_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        pool_size: int = 64,
        capture: CaptureFile | None = None,
    ) -> None:
        if api_key is not None:
            check_key(api_key.reveal())
        self._api_key = api_key
        # Built once: the key is fixed for the transport's life (a visitor's own client gets a
        # transport of its own, with the visitor's key), and the pattern costs a compile.
        self._scrubber = Scrubber([api_key.reveal()] if api_key else [])
        self.capture = capture
        self._key_hosts = {h.lower() for h in key_hosts}
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self.session = requests.Session()
        # One pool sized for many concurrent jobs: the default (10) would drop
        # and reopen connections once a busy Space runs more jobs than that.
        adapter = ClosingAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = constants.USER_AGENT
        self.calls = 0
        self._calls_lock = threading.Lock()

    @property
    def api_key(self) -> Secret | None:
        return self._api_key

    def scrub(self, text: str | None) -> str | None:
        """Text that came from elsewhere (a server echoing the key back) without this transport's key:
        whole or any piece of 8 characters or more, in any letter case, either way round."""
        return self._scrubber.text(text) if text else text

    def trust(self, url: str) -> None:
        """Let the key go to this URL's host: Segmind itself named it (a job's status or result URL)."""
        trusted = origin(url)
        if trusted:
            self._key_hosts.add(trusted)

    def _headers_for(self, url: str) -> dict[str, str]:
        # Scheme and host both: a key must not go to a look-alike host or over a downgraded scheme.
        if self._api_key and origin(url) in self._key_hosts:
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
        retry_rate_limits: bool = True,
    ) -> requests.Response:
        """One logical call, retried within the policy. Returns the final response.

        The caller maps the status code to an error: what a 404 means depends
        on what was asked. With `retry_rate_limits=False` a 429 comes straight back.
        """
        headers = self._headers_for(url)
        # For log lines only: a status or result URL is the server's text, and could carry the key.
        shown_url = self.scrub(url) if log.isEnabledFor(logging.DEBUG) else url
        retries = 0
        while True:
            started = time.monotonic()
            self._count()
            outcome = self._attempt(method, url, json, headers, stream, timeout)
            if self.capture is not None:
                self._capture(method, url, json, headers, outcome, retries + 1, time.monotonic() - started, stream)
            if isinstance(outcome, requests.Response):
                response = outcome
            else:
                unsent, kind = outcome
                log.debug("%s %s failed after %.2fs: %s", method, shown_url, time.monotonic() - started, kind.__name__)
                if kind in UNSENDABLE:
                    raise errors.APIConnectionError(reason=f"the request could not be built: {kind.__name__}")
                if (idempotent or unsent) and retries < self.retry.max_retries:
                    self._wait(self.retry.backoff(retries), stop, sleep)
                    retries += 1
                    continue
                # Raised here, outside the `except`, so the error carries no context chain: the
                # failed call's frames would otherwise keep its socket open as long as the error lives.
                if not idempotent and not unsent:
                    raise errors.SubmitOutcomeUnknownError(reason=kind.__name__)
                if issubclass(kind, requests.exceptions.Timeout):
                    connect, read = timeout or self.timeout
                    raise errors.APITimeoutError(reason=f"no answer within {connect:g}s to connect / {read:g}s to read")
                raise errors.APIConnectionError(reason=kind.__name__)
            log.debug("%s %s -> %d in %.2fs (headers %s)", method, shown_url, response.status_code,
                      time.monotonic() - started, redact_headers(headers))
            if not stream:
                # Read it all and let go of the socket now: an error kept for later (with its
                # traceback and this response) must not hold a connection open.
                _ = response.content
                response.close()
            code = response.status_code
            if code == 429 and not retry_rate_limits:
                return response
            if code in constants.TRANSIENT_STATUSES and (idempotent or code == 429) and retries < self.retry.max_retries:
                retry_after = parse_retry_after(response.headers)
                if retry_after is None or retry_after <= self.retry.max_retry_after:
                    response.close()
                    self._wait(self.retry.backoff(retries, retry_after), stop, sleep)
                    retries += 1
                    continue
            return response

    def _attempt(self, method: str, url: str, json: Any, headers: dict[str, str], stream: bool,
                         timeout: tuple[float, float] | None) -> requests.Response | tuple[bool, type]:
        """The response, or (surely unsent, exception type) when the call failed."""
        try:
            return self.session.request(method, url, json=json, headers=headers, stream=stream,
                                        timeout=timeout or self.timeout, allow_redirects=False)
        except UNSENDABLE as exc:
            return True, type(exc)
        except requests.exceptions.RequestException as exc:
            return _never_connected(exc), type(exc)

    def _capture(self, method: str, url: str, json: Any, headers: Mapping[str, str],
                 outcome: requests.Response | tuple[bool, type], attempt: int, elapsed: float, stream: bool) -> None:
        """Write one attempt to the capture file: what went out and what came back, without the key."""
        assert self.capture is not None
        scrubber = self._scrubber
        if isinstance(outcome, requests.Response):
            sent = dict(outcome.request.headers) if outcome.request is not None else {**self.session.headers, **headers}
            if stream:
                body = body_for_capture(None, "", scrubber, streamed=True,
                                        declared_length=outcome.headers.get("Content-Length"))
            else:
                body = body_for_capture(outcome.content, outcome.headers.get("Content-Type", ""), scrubber)
            record = exchange_record(method=method, url=url, attempt=attempt, elapsed=elapsed,
                                     request_headers=sent, request_json=json, scrubber=scrubber,
                                     status=outcome.status_code, reason=outcome.reason,
                                     response_headers=outcome.headers, body=body)
        else:
            record = exchange_record(method=method, url=url, attempt=attempt, elapsed=elapsed,
                                     request_headers={**self.session.headers, **headers}, request_json=json,
                                     scrubber=scrubber, failure=outcome[1].__name__)
        self.capture.write(record, scrubber)

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
