"""What reaches Gradio's routes at all: request bodies bounded, and the deep-link route closed.

Gradio reads some request bodies whole into memory (a component's server
function gets every uploaded part as bytes, up to a thousand parts) and has a
route, `/gradio_api/deep_link`, that writes a session's every component value
to a file anyone may then fetch by its name: a visitor's typed Segmind key
included. The app uses no deep links, so the route answers 404; bodies past
their bound are refused from their Content-Length, or cut off as they stream.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLOSED_ROUTES = ("/gradio_api/deep_link",)
# Routes that read their body whole into memory: a component's server function (the editor's blobs; a painted
# layer is ~1 MB), and the MCP server (a tool call's JSON, any image sent inline as a data: URI included).
SMALL_BODY_ROUTES = ("/gradio_api/component_server", "/gradio_api/mcp")
SMALL_BODY_BYTES = 20 * 1024 * 1024


class RequestGuard:
    """ASGI middleware: refuse closed routes, and bodies over `max_body` (smaller for in-memory routes)."""

    def __init__(self, app: ASGIApp, *, max_body: int, small_body: int = SMALL_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.small_body = small_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        if path.endswith(CLOSED_ROUTES):
            await PlainTextResponse("Not found", status_code=404)(scope, receive, send)
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

