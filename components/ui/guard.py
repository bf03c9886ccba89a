"""What reaches Gradio's routes at all: request bodies bounded, the deep-link route closed, and no one
address allowed to monopolise the routes that cost the server most.

Gradio reads some request bodies whole into memory (a component's server
function gets every uploaded part as bytes, up to a thousand parts) and has a
route, `/gradio_api/deep_link`, that writes a session's every component value
to a file anyone may then fetch by its name: a visitor's typed Segmind key
included. The app uses no deep links, so the route answers 404; bodies past
their bound are refused from their Content-Length, or cut off as they stream.

A script can also open a fresh Gradio client per call: each fetches the page's
config (~170 KB of JSON built per request) and uploads its files (multipart,
parsed in Python) before anything can tell it that its address already has its
share of live runs. So those routes are rate-limited per client address (the
address as the edit service reads it, behind a trusted proxy too): a token
bucket generous enough for any page (one config per load, a few uploads), that
answers a flood with 429 and Retry-After before reading its bodies. This
machine's own address is not limited: it is the person running the app (or,
behind a proxy not declared with TRUSTED_PROXY, everyone, who then share it).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from components.ui import copy

CLOSED_ROUTES = ("/gradio_api/deep_link",)
# Routes that read their body whole into memory: a component's server function (the editor's blobs; a painted
# layer is ~1 MB), and the MCP server (a tool call's JSON, any image sent inline as a data: URI included).
SMALL_BODY_ROUTES = ("/gradio_api/component_server", "/gradio_api/mcp")
SMALL_BODY_BYTES = 20 * 1024 * 1024
# The routes a page calls a few times per visit, and each costs real CPU: the config, the API's info, uploads.
COSTLY_ROUTES = ("/config", "/gradio_api/info", "/gradio_api/upload")
COSTLY_BURST = 30           # a page load is one config and a handful of uploads
COSTLY_PER_SECOND = 5.0
MAX_TRACKED_ADDRESSES = 10_000


class AddressBuckets:
    """A token bucket per client address; the least recently seen addresses are forgotten past a bound."""

    def __init__(self, burst: float = COSTLY_BURST, per_second: float = COSTLY_PER_SECOND,
                 clock=time.monotonic) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        """0 when the request may go ahead (a token taken); else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, since = self._buckets.pop(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.per_second)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.per_second
            self._buckets[address] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > MAX_TRACKED_ADDRESSES:
                self._buckets.popitem(last=False)
            return wait


class RequestGuard:
    """ASGI middleware: refuse closed routes, and bodies over `max_body` (smaller for in-memory routes)."""

    def __init__(self, app: ASGIApp, *, max_body: int, small_body: int = SMALL_BODY_BYTES,
                 buckets: AddressBuckets | None = None) -> None:
        self.app = app
        self.max_body = max_body
        self.small_body = small_body
        self.buckets = buckets or AddressBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        if path.endswith(CLOSED_ROUTES):
            await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
            return
        if path.endswith(COSTLY_ROUTES) and not is_loopback(address := client_address(scope)):
            wait = self.buckets.take(address)
            if wait:
                await PlainTextResponse(copy.TOO_MANY_REQUESTS, status_code=429,
                                        headers={"Retry-After": str(max(1, round(wait)))})(scope, receive, send)
                return
        limit = self.small_body if any(route in path for route in SMALL_BODY_ROUTES) else self.max_body
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # As if the client had gone: whatever reads the body stops, and its partial files go.
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, bounded_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None



def client_address(scope: Scope) -> str:
    """The address the edit service would count this request under (its trusted-proxy rule included)."""
    peer = (scope.get("client") or ("", 0))[0]
    forwarded = next((v.decode("latin-1") for n, v in scope.get("headers", ()) if n == b"x-forwarded-for"), None)
    blocks = getattr(scope.get("app"), "get_blocks", lambda: None)()
    service = getattr(blocks, "service", None)
    return (service.client_address(peer, forwarded) if service is not None else peer) or peer


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
