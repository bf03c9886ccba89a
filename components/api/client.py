"""A client for GPT Image edits on Segmind: uploads, v2 submit → `Job`, and v1.

It knows nothing of Gradio or of where images came from: it takes checked
inputs (`EditInputs`, made by components.media) and speaks HTTP. Typical use:

    job = client.submit(client.prepare_payload(inputs))
    for event in job.events():
        ...

`stream()` does both; `resume()` follows a job from its request id; `run_sync()`
uses the v1 endpoint.
"""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from components.api import errors, schema
from components.api.capture import CaptureFile
from components.api.config import ClientSettings, Secret, UploadMode
from components.api.download import check_download_target, download
from components.api.job import Job
from components.api.models import (V1_REQUEST_ID_HEADER, EditInputs, EditResult, InputImage, JobEvent, LocalImage,
                                   Metrics, RemoteImage)
from components.api.output import decode_image, output_bytes, output_reference
from components.api.constants import MAX_OUTPUT_BYTES
from components.api.polling import DurationModel, RateLimitMemory, bucket
from components.api.transport import RetryPolicy, Transport, parse_retry_after
from components.api.upload_cache import UploadCache, account_of
from components.api.urls import origin, strip_version


class SegmindClient:
    def __init__(
        self,
        settings: ClientSettings | None = None,
        *,
        api_key: str | Secret | None = None,
        retry: RetryPolicy = RetryPolicy(),
        durations: DurationModel | None = None,
        uploads: UploadCache | None = None,
        rate_limits: RateLimitMemory | None = None,
    ) -> None:
        self.settings = settings or ClientSettings()
        if isinstance(api_key, str):
            api_key = Secret(api_key) if api_key.strip() else None
        self.durations = durations or DurationModel()
        # What 429s taught about each account; shared wherever the duration model is shared.
        self.rate_limits = rate_limits or self.durations.rate_limits
        self.uploads = uploads or UploadCache()
        self.uploaded_bytes = 0
        self.api_base = strip_version(self.settings.api_base)
        self.storage_base = self.settings.storage_base.rstrip("/")
        self._account = account_of(api_key or self.settings.api_key)
        self.transport = Transport(
            api_key=api_key or self.settings.api_key,
            key_hosts={origin(self.api_base), origin(self.storage_base)},
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            retry=retry,
            capture=CaptureFile.at(self.settings.capture) if self.settings.capture else None,
        )

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def account(self) -> str:
        """This client's account, as a hash of its key (never the key): what rate limits are counted by."""
        return self._account

    def model_for(self, inputs: EditInputs | None = None) -> schema.Model:
        """The registry's entry for the model an edit names, or this client's default."""
        try:
            return schema.model((inputs.model if inputs is not None else None) or self.model)
        except schema.UnknownModelError as exc:
            raise errors.ValidationError([schema.ValidationIssue("model", str(exc))]) from None

    def v1_url(self, model: str | None = None) -> str:
        return f"{self.api_base}/v1/{model or self.model}"

    def v2_url(self, model: str | None = None) -> str:
        return f"{self.api_base}/v2/{model or self.model}"

    def error_from(
        self,
        response: requests.Response,
        *,
        request_id: str | None = None,
        not_found: type[errors.APIStatusError] = errors.NotFoundError,
        model: str | None = None,
    ) -> errors.SegmindError:
        """The exception for an error answer, with the server's words (the key scrubbed out)."""
        detail = self.transport.scrub(error_detail(response))
        code = response.status_code
        cls = not_found if code == 404 else errors.error_for_status(code, detail)
        if cls is errors.RateLimitError:
            return errors.RateLimitError(detail, retry_after=parse_retry_after(response.headers),
                                         request_id=request_id, status_code=code)
        if cls is errors.ModelRetiredError:
            slug = model or self.model
            entry = schema.MODELS.get(slug)
            return errors.ModelRetiredError(detail, model=slug, successor=entry.successor if entry else None,
                                            request_id=request_id, status_code=code)
        return cls(detail, request_id=request_id, status_code=code)

    # Inputs ------------------------------------------------------------------

    def prepare_payload(self, inputs: EditInputs, stop: threading.Event | None = None) -> dict[str, Any]:
        """Upload the local images (or inline them); the request body in the model's shape, validated.

        A mask goes only to a model that takes one (the inputs keep it either way).
        """
        if not isinstance(inputs, EditInputs):
            raise TypeError("prepare_payload takes EditInputs: check raw images with components.media first")
        model = self.model_for(inputs)
        too_many = model.image_count_problem(len(inputs.images))
        if too_many:
            raise errors.ValidationError([too_many])
        mask = inputs.mask if model.takes_mask else None
        everything: list[InputImage] = list(inputs.images) + ([mask] if mask else [])
        urls = self.image_urls(everything, stop)
        mask_url = urls.pop() if mask else None
        payload = model.build_payload(inputs.prompt, urls, mask_url, **inputs.options)
        issues = model.validate(payload)
        if issues:
            raise errors.ValidationError(issues)
        return payload

    def image_urls(self, images: Sequence[InputImage], stop: threading.Event | None = None) -> list[str]:
        """URLs for the model, in order: remote ones as given, local ones uploaded or inlined."""
        local = [image for image in images if isinstance(image, LocalImage)]
        if self.settings.upload_mode is UploadMode.INLINE:
            uploaded = [image.data_uri() for image in local]
        else:
            uploaded = self.upload(local, stop)
        by_position = iter(uploaded)
        return [image.url if isinstance(image, RemoteImage) else next(by_position) for image in images]

    def upload(self, images: Sequence[LocalImage], stop: threading.Event | None = None) -> list[str]:
        """Store images with Segmind (`POST /upload-asset`); their persistent URLs, in order.

        Bytes this account stored recently are not sent again: their URL is reused.
        """
        known = {image.digest: self.uploads.get(self._account, image.digest) for image in images}
        missing = list({image.digest: image for image in images if not known[image.digest]}.values())
        for image, url in zip(missing, self._store(missing, stop)):
            self.uploads.put(self._account, image.digest, url)
            known[image.digest] = url
        return [known[image.digest] for image in images]

    def _store(self, images: Sequence[LocalImage], stop: threading.Event | None) -> list[str]:
        if not images:
            return []
        data_urls = [image.data_uri() for image in images]
        self.uploaded_bytes += sum(len(u) for u in data_urls)
        response = self.transport.request(
            "POST", f"{self.storage_base}/upload-asset", json={"data_urls": data_urls},
            idempotent=True,  # storing the same bytes twice costs nothing and starts no job
            stop=stop,
        )
        if not response.ok:
            raise self.error_from(response)
        try:
            body = response.json()
        except ValueError:
            raise errors.InvalidResponseError("the upload answer is not JSON") from None
        urls = (body.get("file_urls") or body.get("urls")) if isinstance(body, dict) else None
        if not isinstance(urls, list) or len(urls) != len(images) or not all(
                isinstance(u, str) and schema.is_image_reference(u) for u in urls):
            raise errors.InvalidResponseError("the upload answer has no usable file_urls")
        return urls

    # v2 ----------------------------------------------------------------------

    def submit(self, payload: Mapping[str, Any], stop: threading.Event | None = None, *,
               model: str | None = None) -> Job:
        """Start a paid job on `model` (this client's default without one). Never repeated once it may
        have reached Segmind.

        With `stop` set beforehand nothing is sent; it also interrupts a wait between
        429 retries, and becomes the returned job's stop.
        """
        if stop is not None and stop.is_set():
            raise errors.PollingStoppedError(reason="stopped before the job was submitted; nothing was sent")
        response = self.transport.request("POST", self.v2_url(model), json=dict(payload), idempotent=False,
                                          stop=stop)
        if not response.ok:
            raise self.error_from(response, model=model)
        try:
            body = response.json()
        except ValueError:
            raise errors.InvalidResponseError(
                "the submit answer is not JSON; the job may have started, check the dashboard") from None
        if not isinstance(body, dict) or not all(body.get(k) for k in ("request_id", "status_url", "response_url")):
            keys = sorted(body) if isinstance(body, dict) else type(body).__name__
            raise errors.InvalidResponseError(self.transport.scrub(
                f"the submit answer lacks request_id/status_url/response_url: {keys}"))
        poll_url = body.get("poll_url")
        job = Job(self, str(body["request_id"]), str(body["status_url"]), str(body["response_url"]), stop,
                  poll_url=str(poll_url) if poll_url else None, submit_body=body)
        for url in (job.status_url, job.response_url):
            # Segmind named these URLs itself, so they may carry the key, but never over a weaker scheme.
            if urlsplit(url).scheme == urlsplit(self.api_base).scheme:
                self.transport.trust(url)
        return job

    def job(self, request_id: str, stop: threading.Event | None = None) -> Job:
        """A handle on a job submitted earlier, from its request id."""
        return Job.from_request_id(self, request_id, stop)

    def stream(self, inputs: EditInputs, *, stop: threading.Event | None = None,
               **follow_options: Any) -> Iterator[JobEvent]:
        """Upload, submit and follow one edit."""
        started = time.monotonic()
        payload = self.prepare_payload(inputs, stop)
        model = self.model_for(inputs).slug
        job = self.submit(payload, stop, model=model)
        yield from job.events(started_at=started, kind=bucket(model, payload), **follow_options)

    def resume(self, request_id: str, *, stop: threading.Event | None = None,
               **follow_options: Any) -> Iterator[JobEvent]:
        """Follow a job submitted earlier, while Segmind still keeps it."""
        yield from self.job(request_id, stop).events(**follow_options)

    # v1 ----------------------------------------------------------------------

    def run_sync(self, inputs: EditInputs) -> EditResult:
        """One blocking v1 call: the image comes back in the response body.

        Segmind answers with the image bytes and puts the numbers in headers (`x-request-id`,
        `x-generation-time`, `x-cost`, `x-remaining-credits`); some clients have seen JSON with
        `image_url` or `image` instead, which is read like a v2 result.
        """
        payload = self.prepare_payload(inputs)
        model = self.model_for(inputs).slug
        read_timeout = max(self.settings.read_timeout, self.settings.deadline)
        response = self.transport.request(
            "POST", self.v1_url(model), json=payload, idempotent=False,
            timeout=(self.settings.connect_timeout, read_timeout),
        )
        if not response.ok:
            raise self.error_from(response, model=model)
        request_id = response.headers.get(V1_REQUEST_ID_HEADER) or None
        if len(response.content) > MAX_OUTPUT_BYTES:
            raise errors.OutputError("the v1 answer is larger than this app accepts", request_id=request_id)
        if response.headers.get("Content-Type", "").startswith("application/json"):
            try:
                body = response.json()
            except ValueError:
                raise errors.InvalidResponseError("the v1 answer claims JSON but is not",
                                                  request_id=request_id) from None
            if not isinstance(body, dict):
                body = {"output": body}
            request_id = request_id or (str(body["request_id"]) if body.get("request_id") else None)
            data, source = output_bytes(output_reference(body), self.download)
            metrics = _merged(Metrics.from_body(body), Metrics.from_headers(response.headers))
        else:
            data, source, body = response.content, None, {}
            metrics = Metrics.from_headers(response.headers)
        try:
            media_type, width, height = decode_image(data)
        except errors.SegmindError as exc:
            exc.request_id = request_id
            raise
        return EditResult(data, media_type, width, height, metrics, request_id=request_id, source_url=source,
                          body=body)

    # Downloads ---------------------------------------------------------------

    def download(self, url: str) -> bytes:
        return download(self.transport, url, self.api_base)

    def check_download_target(self, url: str) -> None:
        check_download_target(url, self.api_base)

    def close(self) -> None:
        self.transport.close()


def _merged(first: Metrics, second: Metrics) -> Metrics:
    """`first`'s numbers, with `second`'s where `first` has none."""
    return Metrics(**{name: getattr(first, name) if getattr(first, name) is not None else getattr(second, name)
                      for name in Metrics.__dataclass_fields__})


_TAGS = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
MAX_DETAIL_CHARS = 300


def error_detail(response: requests.Response) -> str | None:
    """The server's own words in an error answer, whatever its shape.

    `{"error": ...}` mostly; OAuth-style `{"error": "invalid_token", "error_description": ...}` for
    some auth failures (both kept: "description (code)"); `message` / `detail` from other layers;
    plain text (a 406 for a wrong content type); an HTML page (a 405 from the front proxy), of
    which only its title is kept.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # {"error": {"message": ..., "code": ...}}
            error = error.get("message") or error.get("code")
        description = body.get("error_description")
        words = [str(part) for part in (description, error) if part]
        if words:
            return f"{words[0]} ({words[1]})" if len(words) == 2 and words[0] != words[1] else words[0]
        other = body.get("message") or body.get("detail")
        return str(other)[:MAX_DETAIL_CHARS] if other else None
    text = response.text.strip()
    if not text:
        return None
    if text.startswith("<"):
        found = _TITLE.search(text)
        title = next((group for group in found.groups() if group), "") if found else ""
        title = " ".join(html.unescape(_TAGS.sub(" ", title)).split())
        return title[:MAX_DETAIL_CHARS] or None
    return text[:MAX_DETAIL_CHARS]
