"""One exception hierarchy for everything that can go wrong talking to Segmind.

Each class carries the server's `error` detail (when there was one), the
request id (when a job exists) and a sentence saying what a person can do,
in terms of the API, never of a particular UI. None of them ever holds the
API key: the client scrubs it from server details before building an exception.

    SegmindError
    ├── ValidationError            refused before sending
    ├── InvalidKeyError            a key that cannot be a header
    ├── APIStatusError             one class per documented HTTP status (402 and 406 are both credits)
    │   ├── NotFoundError → RequestExpiredError
    │   └── ContentTypeError       a 406 that is about the body's type, not credits
    ├── APIConnectionError → APITimeoutError, SubmitOutcomeUnknownError
    ├── InvalidResponseError
    ├── JobFailedError             FAILED, classified by what the server says (`kind`):
    │   ├── ContentBlockedError    moderation / safety
    │   └── InvalidParameterError  a parameter checked late (Segmind's media endpoints accept
    │                              the submit, then fail the job); names the parameter
    └── DeadlineExceededError, PollingStoppedError, OutputError

`transient` says whether the answer means "not now" (see constants.TRANSIENT_STATUSES):
the transport retries those, and following a job waits them out.
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING, ClassVar, Iterable, Sequence

from components.api.constants import RESULT_RETENTION, TRANSIENT_STATUSES
from components.api.schema import ALL_PARAM_NAMES, ValidationIssue

if TYPE_CHECKING:
    from components.api.models import Metrics

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
    # Other codes that mean the same thing (Segmind answers "out of credits" as 402 on v2, 406 on v1).
    also_statuses: ClassVar[tuple[int, ...]] = ()

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
    also_statuses = (402,)
    summary = "Not enough credits for this request"
    remedy = ("Add credits or raise the team spend limit in the Segmind dashboard, then retry "
              "(this request was refused before it started, so it was not billed).")


class ContentTypeError(APIStatusError):
    """A 406 whose words are about the body's type: Segmind answers a non-JSON body that way."""

    summary = "Segmind refused the request's content type"
    remedy = ("The request must be JSON (Content-Type: application/json); a proxy between this app and "
              "Segmind may have changed it. Nothing was started.")


class ModelRetiredError(APIStatusError):
    """A 410: the model is gone. Names it, and its successor when the registry knows one."""

    http_status = 410
    summary = "This model has been retired"
    remedy = "Choose a model Segmind still serves; this request was not charged."

    def __init__(self, detail: str | None = None, *, model: str | None = None, successor: str | None = None,
                 **kwargs) -> None:
        self.model = model
        self.successor = successor
        if model:
            self.summary = f"The model {model} has been retired"
        if successor:
            self.remedy = f"Its successor is {successor}: switch to it and run again. This request was not charged."
        super().__init__(detail, **kwargs)


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
    code: cls
    for cls in (
        BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError,
        InsufficientCreditsError, ModelRetiredError, RateLimitError, InternalServerError,
        BadGatewayError, ServiceUnavailableError, GatewayTimeoutError,
    )
    for code in (cls.http_status, *cls.also_statuses)
}

# A 406 that speaks of the content type rather than credits.
_CONTENT_TYPE_WORDS = re.compile(r"content[ -]?type|media type|application/json", re.IGNORECASE)


def error_for_status(status_code: int, detail: str | None = None) -> type[APIStatusError]:
    """The class for an error answer; the detail decides between the two meanings of 406."""
    if status_code == InsufficientCreditsError.http_status and detail and _CONTENT_TYPE_WORDS.search(detail):
        return ContentTypeError
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


class FailureKind(enum.Enum):
    """What a FAILED job's words say went wrong; each kind has its own remedy."""

    MODERATION = "moderation"   # a content / safety block
    PARAMETER = "parameter"     # a parameter checked late by the server
    OTHER = "other"


class JobFailedError(SegmindError):
    """The job reached FAILED. Build it with `job_failed()`, which picks the subclass from the words.

    `metrics` holds what the FAILED body reported (inference, queue and total time; never a cost).
    """

    kind: ClassVar[FailureKind] = FailureKind.OTHER
    summary = "The job failed"
    remedy = "The server's reason is above: retry, and if it fails the same way, change what it names."

    def __init__(self, detail: str | None = None, *, metrics: Metrics | None = None, **kwargs) -> None:
        self.metrics = metrics
        super().__init__(detail, **kwargs)


class ContentBlockedError(JobFailedError):
    kind = FailureKind.MODERATION
    summary = "The job was blocked by moderation"
    remedy = ("Rephrase the prompt (or change the images), or try moderation=low. "
              "A failed job carries no cost.")


class InvalidParameterError(JobFailedError):
    """Segmind's media endpoints accept a bad body with a request id, then fail the job."""

    kind = FailureKind.PARAMETER
    summary = "Segmind refused a parameter"

    def __init__(self, detail: str | None = None, *, param: str | None = None, **kwargs) -> None:
        self.param = param
        super().__init__(detail, **kwargs)

    @property  # type: ignore[override]
    def remedy(self) -> str:
        what = f"the parameter `{self.param}`" if self.param else "the parameter the server's message names"
        return f"Fix {what} and submit again. Nothing was billed: a job that fails this way carries no cost."


# Words of a content or safety block (OpenAI's `moderation_blocked`, "safety system", Segmind's RAI blocks).
_MODERATION_WORDS = re.compile(
    r"safety|content[ _-]?(?:policy|block|filter|moderation)|blocked|\brai\b|responsible ai|nsfw|flagged|"
    r"inappropriate|violat", re.IGNORECASE)
# Words of a complaint about a value ("Prompt is Mandatory", "Invalid value for size").
_PARAMETER_WORDS = re.compile(
    r"mandatory|required|missing|invalid|must be|must have|not one of|not allowed|not supported|unsupported|"
    r"out of range|should be|expected|validation|not a valid|cannot be|too (?:long|large|many|big)|exceed",
    re.IGNORECASE)


def _named_param(detail: str, params: Iterable[str]) -> str | None:
    """The first known parameter the words name (`image_urls` also as "image urls" or "imageUrls")."""
    found: list[tuple[int, str]] = []
    for name in params:
        pattern = r"(?<![a-z0-9])" + r"[ _]?".join(map(re.escape, name.split("_"))) + r"(?![a-z0-9])"
        match = re.search(pattern, detail, re.IGNORECASE)
        if match:
            found.append((match.start(), -len(name), name))  # at one place, the longest name: image_urls, not image
    return min(found)[2] if found else None


def classify_failure(detail: str | None, params: Iterable[str] | None = None) -> tuple[FailureKind, str | None]:
    """What a FAILED job's words say: (kind, the parameter named if any).

    A block is recognised first: a safety message may also say the prompt is "not allowed".
    """
    text = detail or ""
    if _MODERATION_WORDS.search(text):
        return FailureKind.MODERATION, None
    if _PARAMETER_WORDS.search(text):
        return FailureKind.PARAMETER, _named_param(text, ALL_PARAM_NAMES if params is None else params)
    return FailureKind.OTHER, None


def job_failed(detail: str | None, *, request_id: str | None = None, metrics: Metrics | None = None,
               params: Iterable[str] | None = None) -> JobFailedError:
    """The JobFailedError subclass that fits what the server said."""
    kind, param = classify_failure(detail, params)
    if kind is FailureKind.MODERATION:
        return ContentBlockedError(detail, request_id=request_id, metrics=metrics)
    if kind is FailureKind.PARAMETER:
        return InvalidParameterError(detail, param=param, request_id=request_id, metrics=metrics)
    return JobFailedError(detail, request_id=request_id, metrics=metrics)


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
