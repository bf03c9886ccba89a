"""The emulator's one route table, and the handlers it names.

Each entry says which method and path it answers, which `Route` it is counted
and faulted under, whether it needs the key, and which handler answers. The
HTTP adapter dispatches, counts calls and body bytes, and looks up faults
from this table alone, so an endpoint is added (or renamed) here and nowhere
else. Handlers translate between a parsed request and `EmulatorState`; they
know nothing of sockets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from components.emulator.faults import Fault, Route
from components.emulator.shapes import HTML_405, ErrorStyle
from components.emulator.state import CONFIGURABLE, EmulatorError, EmulatorState


@dataclass(frozen=True)
class Request:
    params: Mapping[str, str]  # the named groups of the matched path
    body: Mapping[str, Any]    # the JSON object a POST carried; empty for GET


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


# Answer nothing and close the connection: a dropped-connection fault, or a v1 call cut short by stop().
HANG_UP = Reply(0)


def json_reply(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), "application/json", dict(headers or {}))


def error_reply(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Reply:
    """Segmind's usual error shape: `{"error": detail}`."""
    return json_reply(status, {"error": detail}, headers)


def refusal_reply(refused: EmulatorError, style: ErrorStyle | None = None) -> Reply:
    """A refusal written in its style (the state decides which; strict makes every one JSON)."""
    style = style or refused.style
    if style is ErrorStyle.OAUTH:
        return json_reply(refused.status, {"error": refused.detail, "error_description": refused.description,
                                           "status_code": refused.status}, refused.headers)
    if style is ErrorStyle.TEXT:
        return Reply(refused.status, refused.detail.encode(), "text/plain; charset=utf-8", refused.headers)
    if style is ErrorStyle.HTML:
        return Reply(refused.status, HTML_405.encode() if refused.status == 405 else
                     f"<html><head><title>{refused.status} {refused.detail}</title></head></html>".encode(),
                     "text/html", refused.headers)
    return error_reply(refused.status, refused.detail, refused.headers)


Handler = Callable[[EmulatorState, Request], Reply]


# Handlers --------------------------------------------------------------------

def submit(state: EmulatorState, request: Request) -> Reply:
    job = state.submit(request.params["slug"], dict(request.body))
    return json_reply(200, state.submit_body(job))


def run_sync(state: EmulatorState, request: Request) -> Reply:
    finished = state.run_sync(request.params["slug"], dict(request.body))
    if finished is None:
        return HANG_UP
    job, stored = finished
    headers, body = state.sync_answer(job, stored)
    if body is not None:
        return json_reply(200, body, headers)
    return Reply(200, stored.data, stored.media_type, headers)


def status(state: EmulatorState, request: Request) -> Reply:
    return json_reply(*state.job_view(request.params["request_id"], full=False))


def result(state: EmulatorState, request: Request) -> Reply:
    return json_reply(*state.job_view(request.params["request_id"], full=True))


def old_poll(state: EmulatorState, request: Request) -> Reply:
    """`poll_url`, `/v1/requests/{id}`: the older way to poll. A poll that answers the result once done."""
    return json_reply(*state.job_view(request.params["request_id"], full=True, poll=True))


def upload(state: EmulatorState, request: Request) -> Reply:
    urls = state.upload(request.body.get("data_urls"))
    return json_reply(200, {state.upload_key: urls, "message": "Files uploaded successfully"})


def serve_file(state: EmulatorState, request: Request) -> Reply:
    stored = state.file(request.params["name"])
    if stored is None:
        return error_reply(404, "Not found")
    return Reply(200, stored.data, stored.media_type, {"Cache-Control": "max-age=3600"})


def add_fault(state: EmulatorState, request: Request) -> Reply:
    try:
        fault = Fault.from_json(request.body)
    except (KeyError, TypeError, ValueError) as exc:
        raise EmulatorError(400, f"Not a fault: {exc}") from None
    state.faults.add(fault)
    return json_reply(200, {"ok": True})


def expire(state: EmulatorState, request: Request) -> Reply:
    state.expire(str(request.body.get("request_id", "")))
    return json_reply(200, {"ok": True})


def configure(state: EmulatorState, request: Request) -> Reply:
    unknown = sorted(set(request.body) - set(CONFIGURABLE))
    if unknown:
        raise EmulatorError(400, f"Not configurable: {', '.join(unknown)} (these are: {', '.join(CONFIGURABLE)})")
    values = {}
    for name, value in request.body.items():
        try:
            values[name] = CONFIGURABLE[name](value)
        except (TypeError, ValueError):
            raise EmulatorError(400, f"{name}: {value!r} is not a valid value") from None
    state.configure(**values)
    return json_reply(200, {"ok": True})


def not_found(state: EmulatorState, request: Request) -> Reply:
    return error_reply(404, "Not found")


def stats(state: EmulatorState, request: Request) -> Reply:
    return json_reply(200, state.stats())


def health(state: EmulatorState, request: Request) -> Reply:
    return json_reply(200, {"ok": True})


# The table -------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    method: str             # GET (which also answers HEAD) or POST (which carries a JSON object)
    pattern: re.Pattern[str]
    route: Route | None     # counted and faulted under; None for the emulator's own unmetered probes
    handler: Handler
    keyed: bool             # needs x-api-key

    @property
    def reads_body(self) -> bool:
        return self.method == "POST"


def _endpoint(method: str, pattern: str, route: Route | None, handler: Handler, *, keyed: bool = True) -> Endpoint:
    return Endpoint(method, re.compile(pattern), route, handler, keyed)


SEGMENT = "[^/]+"

# First match wins. Paths are matched with empty segments removed, without the query.
ROUTES: tuple[Endpoint, ...] = (
    _endpoint("POST", rf"/v2/(?P<slug>{SEGMENT})", Route.SUBMIT, submit),
    _endpoint("GET", rf"/v2/requests/(?P<request_id>{SEGMENT})/status", Route.STATUS, status),
    _endpoint("GET", rf"/v2/requests/(?P<request_id>{SEGMENT})", Route.RESULT, result),
    _endpoint("GET", rf"/v1/requests/(?P<request_id>{SEGMENT})", Route.STATUS, old_poll),
    _endpoint("POST", rf"/v1/(?P<slug>{SEGMENT})", Route.SYNC, run_sync),
    _endpoint("POST", r"/upload-asset", Route.UPLOAD, upload),
    # Stored files are fetched by URL alone, as Segmind's storage links are. Outputs are not here:
    # they live on the output host (OUTPUT_ROUTES).
    _endpoint("GET", rf"/(?P<name>assets/{SEGMENT})", Route.FILE, serve_file, keyed=False),
    _endpoint("POST", r"/_emulator/faults", Route.CONTROL, add_fault),
    _endpoint("POST", r"/_emulator/expire", Route.CONTROL, expire),
    _endpoint("POST", r"/_emulator/config", Route.CONTROL, configure),
    # Any other control path is still behind the key, so a caller without it learns nothing of them.
    _endpoint("POST", r"/_emulator(?:/.*)?", Route.CONTROL, not_found),
    _endpoint("GET", r"/_emulator/stats", None, stats, keyed=False),
    _endpoint("GET", r"/health", None, health, keyed=False),
)


# The output host: a separate origin, like Segmind's storage bucket, that needs no key and keeps files
# for days after their job's record has gone.
OUTPUT_ROUTES: tuple[Endpoint, ...] = (
    _endpoint("GET", rf"/(?P<name>outputs/{SEGMENT})", Route.FILE, serve_file, keyed=False),
    _endpoint("GET", r"/health", None, health, keyed=False),
)


def _normal(path: str) -> str:
    return "/" + "/".join(part for part in path.split("/") if part)


def match(method: str, path: str, table: tuple[Endpoint, ...] = ROUTES) -> tuple[Endpoint, dict[str, str]] | None:
    """The endpoint for a request and its path parameters, or None (the adapter answers 404 or 405)."""
    method = "GET" if method == "HEAD" else method
    path = _normal(path)
    for endpoint in table:
        if endpoint.method == method:
            found = endpoint.pattern.fullmatch(path)
            if found:
                return endpoint, found.groupdict()
    return None


def allowed_methods(path: str, table: tuple[Endpoint, ...] = ROUTES) -> list[str]:
    """The methods some endpoint takes at this path (a request with another one gets 405)."""
    path = _normal(path)
    return sorted({endpoint.method for endpoint in table if endpoint.pattern.fullmatch(path)})


__all__ = ["Endpoint", "HANG_UP", "OUTPUT_ROUTES", "ROUTES", "Reply", "Request", "allowed_methods", "error_reply",
           "json_reply", "match", "refusal_reply"]
