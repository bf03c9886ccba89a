"""The thin HTTP layer: bytes in, the route table consulted, bytes out.

It owns only what is about the wire: body limits and JSON parsing, fault
injection (which is about how an answer is delivered), keep-alive, and
closing connections on stop. What to answer is decided by `routes` and
`state`.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from components.emulator import routes
from components.emulator.faults import Fault, FaultKind
from components.emulator.routes import HANG_UP, Endpoint, Reply, Request, error_reply, refusal_reply
from components.emulator.shapes import ErrorStyle
from components.emulator.state import EmulatorError, EmulatorState

log = logging.getLogger("components.emulator")

MAX_BODY_BYTES = 200 * 1024 * 1024
IDLE_SECONDS = 60  # an idle keep-alive connection is dropped, and its thread ends


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading server that carries the state its handlers answer from, and knows its open connections
    so stop() can end keep-alive threads that `shutdown()` alone would leave waiting for a next request."""

    daemon_threads = True  # a forgotten emulator must not keep the interpreter alive

    def __init__(self, address: tuple[str, int], state: EmulatorState,
                 table: tuple[Endpoint, ...] = routes.ROUTES) -> None:
        self.state = state
        self.table = table  # the API host's routes, or the output host's
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._closing = False
        super().__init__(address, EmulatorRequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def track(self, connection: socket.socket) -> None:
        """Note a connection its handler thread now serves (a late one during stop() is cut at once)."""
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()
            closing = self._closing
        if closing:
            _hang_up(connection)

    def forget(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Cut every open connection and wait for the threads serving them to end."""
        with self._connections_lock:
            self._closing = True
            open_now = list(self._connections.items())
        for connection, _ in open_now:
            _hang_up(connection)
        for _, thread in open_now:
            if thread is not threading.current_thread():
                thread.join(timeout=timeout)


def _hang_up(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:  # already gone
        pass


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SegmindEmulator/1.0"
    timeout = IDLE_SECONDS
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        self.server.forget(self.connection)
        try:
            super().finish()
        except OSError:  # the client has gone already
            pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the client hung up or went quiet mid-answer: nothing to tell anyone

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    # Methods no endpoint takes: answered 405 where the path exists, 404 elsewhere.
    do_PUT = do_DELETE = do_PATCH = do_POST

    # Dispatch ----------------------------------------------------------------

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        found = routes.match(self.command, path, self.server.table)
        if found is None:
            if self.command not in ("GET", "HEAD"):
                self._discard_body()
            if routes.allowed_methods(path, self.server.table):
                # Segmind's front proxy answers a wrong method itself, with an HTML page.
                refused = EmulatorError(405, "Method Not Allowed", ErrorStyle.HTML)
                self._answer(refusal_reply(refused, state.error_style(refused.style)))
                return
            self._answer(error_reply(404, "Not found"))
            return
        endpoint, params = found
        try:
            # A malformed body is refused before the call is counted or a fault fires; the bytes that
            # arrived are counted all the same, since the benchmarks measure what clients send.
            body = self._read_json(endpoint) if endpoint.reads_body else {}
            if endpoint.route is not None:
                state.record_call(endpoint.route)
                fault = state.faults.take(endpoint.route)
                if fault is not None:
                    reply = self._fault_reply(fault)
                    if reply is not None:
                        self._answer(reply)
                        return
            if endpoint.keyed:
                key = self.headers.get("x-api-key")
                state.authorise(key)
                if endpoint.route is not None:
                    state.count_request(endpoint.route, str(key))
            elif self.headers.get("x-api-key"):
                state.record_key_on_file()
            reply = endpoint.handler(state, Request(params, body))
        except EmulatorError as refused:
            reply = refusal_reply(refused, state.error_style(refused.style))
        self._answer(reply)

    def _fault_reply(self, fault: Fault) -> Reply | None:
        """How an injected fault answers; None when the request then goes on (a slow answer)."""
        if fault.kind is FaultKind.SLOW:
            self.server.state.pause(fault.delay)
            return None
        if fault.kind is FaultKind.DROP:
            return HANG_UP
        if fault.kind is FaultKind.NON_JSON:
            return Reply(200, b"<html><body>502 upstream hiccup</body></html>", "text/html")
        if fault.body is not None:
            return Reply(fault.status, fault.body.encode(), fault.content_type, dict(fault.headers))
        return error_reply(fault.status, fault.detail, fault.headers)

    # Bodies ------------------------------------------------------------------

    def _declared_length(self) -> int:
        """The Content-Length sent (0 when none); -1 when it is not a number."""
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return -1

    def _read_json(self, endpoint: Endpoint) -> dict[str, Any]:
        length = self._declared_length()
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is left unread, so this connection can't be reused
            raise EmulatorError(413 if length > 0 else 400, "Request body too large or of unknown length")
        raw = self.rfile.read(length) if length else b""
        if endpoint.route is not None:
            self.server.state.record_bytes(endpoint.route, len(raw))
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            # Segmind answers this one in plain text, not JSON.
            raise EmulatorError(406, "Unsupported Content-Type: the body must be application/json", ErrorStyle.TEXT)
        try:
            body = json.loads(raw)
        except ValueError:
            raise EmulatorError(400, "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise EmulatorError(400, "The request body must be a JSON object")
        return body

    def _discard_body(self) -> None:
        length = self._declared_length()
        if 0 <= length <= MAX_BODY_BYTES:
            self.rfile.read(length)
        else:
            self.close_connection = True  # unread, the body would be taken for the next request

    # Answers -----------------------------------------------------------------

    def _answer(self, reply: Reply) -> None:
        if reply is HANG_UP:
            self.close_connection = True
            _hang_up(self.connection)
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


__all__ = ["EmulatorHTTPServer", "EmulatorRequestHandler", "MAX_BODY_BYTES"]
