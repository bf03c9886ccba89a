"""One exception hierarchy for everything that can go wrong talking to Segmind.

Each class carries the server's `error` detail (when there was one), the
request id (when a job exists) and a sentence saying what a person can do,
in terms of the API, never of a particular UI. None of them ever holds the
API key: the client scrubs it from server details before building an exception.

    SegmindError
    ├── ValidationError            refused before sending
    ├── InvalidKeyError            a key that cannot be a header
    ├── APIStatusError             one class per documented HTTP status
    │   └── NotFoundError → RequestExpiredError
    ├── APIConnectionError → APITimeoutError, SubmitOutcomeUnknownError
    ├── InvalidResponseError
    └── JobFailedError, DeadlineExceededError, PollingStoppedError, OutputError

`transient` says whether the answer means "not now" (see constants.TRANSIENT_STATUSES):
the transport retries those, and following a job waits them out.
"""

from __future__ import annotations

from typing import ClassVar, Sequence

from components.api.constants import RESULT_RETENTION, TRANSIENT_STATUSES
from components.api.schema import ValidationIssue

RESULT_RETENTION_NOTE = f"{RESULT_RETENTION}."


class SegmindError(Exception):
    """Base class. `remedy` says what to do; `detail` is the server's own words."""

    remedy: ClassVar[str] = "Try again; if it keeps failing, check Segmind's status page."
    summary: ClassVar[str] = "The request to Segmind failed"
    transient: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        request_id: str | None = None,
        status_code: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.detail = detail
        self.request_id = request_id
        self.status_code = status_code
        self.reason = reason  # what this side saw (e.g. "ReadTimeout"), as opposed to the server's words
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.summary + (f" ({self.reason})." if self.reason else ".")]
        if self.detail:
            parts.append(f"Server said: {self.detail}.")
        parts.append(self.remedy)
        if self.request_id:
            parts.append(f"Request id: {self.request_id}.")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.message


class ValidationError(SegmindError, ValueError):
    """The request was refused before anything was sent."""

    summary = "The request is not valid"
    remedy = "Fix the parameters named; nothing was sent."

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(i) for i in self.issues))


# HTTP answers --------------------------------------------------------------


class APIStatusError(SegmindError):
    """Segmind answered with an error status."""

    http_status: ClassVar[int | None] = None

    @property  # type: ignore[override]
    def transient(self) -> bool:
        return self.status_code in TRANSIENT_STATUSES

    @property
    def message(self) -> str:
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return super().message.replace(self.summary + ".", self.summary + code + ".", 1)


class InvalidKeyError(SegmindError, ValueError):
    """A key that cannot travel in an HTTP header; refused before anything is sent."""

    summary = "The API key contains characters an API key cannot have"
    remedy = "Paste it again: it must be printable ASCII with no spaces (look for a stray quote or line break)."


class BadRequestError(APIStatusError):
    http_status = 400
    summary = "Segmind rejected the parameters"
    remedy = "Check the parameter values named in the server's message."


class AuthenticationError(APIStatusError):
    http_status = 401
    summary = "The API key is missing or not valid"
    remedy = "Check the API key (SEGMIND_API_KEY, or a visitor's own) against your Segmind dashboard."


class PermissionDeniedError(APIStatusError):
    http_status = 403
    summary = "This API key may not use this model"
    remedy = "Check the key's permissions and your plan in the Segmind dashboard."


class NotFoundError(APIStatusError):
    http_status = 404
    summary = "Segmind does not know this model or endpoint"
    remedy = "Check SEGMIND_MODEL and SEGMIND_API_BASE."


class RequestExpiredError(NotFoundError):
    """404 for a request id: unknown, or its result has expired."""

    summary = "Segmind has no job with this request id"
    remedy = f"The id is wrong or its result has expired: {RESULT_RETENTION_NOTE}"


class InsufficientCreditsError(APIStatusError):
    http_status = 406
    summary = "Not enough credits for this request"
    remedy = "Add credits or raise the team spend limit in the Segmind dashboard, then retry."


class ModelRetiredError(APIStatusError):
    http_status = 410
    summary = "This model has been retired"
    remedy = (
        "OpenAI retired gpt-image-1 on 2026-10-23. Set SEGMIND_MODEL to a successor "
        "listed on segmind.com (the request was not charged)."
    )


class RateLimitError(APIStatusError):
    http_status = 429
    summary = "Segmind's rate limit was reached"
    remedy = "Wait a minute and retry, or use a plan with a higher limit."

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None, **kwargs) -> None:
        self.retry_after = retry_after
        super().__init__(detail, **kwargs)


class InternalServerError(APIStatusError):
    http_status = 500
    summary = "Segmind had an internal error"


class BadGatewayError(APIStatusError):
    http_status = 502
    summary = "Segmind is temporarily unavailable (bad gateway)"


class ServiceUnavailableError(APIStatusError):
    http_status = 503
    summary = "Segmind is temporarily unavailable"


class GatewayTimeoutError(APIStatusError):
    http_status = 504
    summary = "Segmind timed out"


class UnexpectedStatusError(APIStatusError):
    summary = "Segmind answered with an unexpected status"


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    cls.http_status: cls
    for cls in (
        BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
        InsufficientCreditsError, ModelRetiredError, RateLimitError, InternalServerError,
        BadGatewayError, ServiceUnavailableError, GatewayTimeoutError,
    )
}


def error_for_status(status_code: int) -> type[APIStatusError]:
    return STATUS_ERRORS.get(status_code, UnexpectedStatusError)


# No answer -----------------------------------------------------------------


class APIConnectionError(SegmindError):
    summary = "Could not reach Segmind"
    transient = True
    remedy = "Check the network and SEGMIND_API_BASE, then retry."


class APITimeoutError(APIConnectionError):
    summary = "Segmind did not answer in time"


class SubmitOutcomeUnknownError(APIConnectionError):
    """The submit may have reached Segmind, so it is not repeated (a job costs money)."""

    transient = False

    summary = "The connection broke after the job was sent, so it may or may not have started"
    remedy = (
        "It was not resent, to avoid paying twice. Check the request log in your "
        "Segmind dashboard before submitting again."
    )


class InvalidResponseError(SegmindError):
    summary = "Segmind sent an answer this app cannot read"
    transient = True  # a garbled status answer says nothing about the job itself


# Jobs ----------------------------------------------------------------------


class JobFailedError(SegmindError):
    """The job reached FAILED (content and safety blocks included)."""

    summary = "The job failed"
    remedy = (
        "If it was blocked by moderation, rephrase the prompt or try moderation=low; "
        "otherwise retry."
    )


class DeadlineExceededError(SegmindError):
    summary = "The job did not finish before the deadline"
    remedy = (
        "It may still finish on Segmind's side (and be billed): resume it with its "
        f"request id. {RESULT_RETENTION_NOTE}"
    )


class PollingStoppedError(SegmindError):
    summary = "Stopped following the job"
    remedy = (
        "Segmind has no cancel endpoint: the job may still finish and be billed. "
        f"Resume it with its request id. {RESULT_RETENTION_NOTE}"
    )


class OutputError(SegmindError):
    summary = "The result could not be retrieved as an image"
    remedy = f"If the job finished, fetch its result again with its request id. {RESULT_RETENTION_NOTE}"
