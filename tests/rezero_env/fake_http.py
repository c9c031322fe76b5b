"""A scripted HTTP server on 127.0.0.1 for the network engines' tests: each POST is answered by a callable, and a
reply may be dripped one byte at a time (to test total deadlines) or may echo what the client sent (to test that
secrets are redacted)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal


@dataclass
class Request:
    """One request the server got."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw or b"null")


@dataclass
class Answer:
    """One scripted answer: ``body`` (bytes as they are, anything else as JSON) with ``status`` and ``headers``.

    ``drip="head"`` sends the whole reply (status line, headers, body) one byte every ``interval`` seconds;
    ``drip="body"`` sends the status line and headers at once and then the body one byte every ``interval`` seconds.
    A drip stops when the client hangs up or the server is stopped, so every loop is bounded.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    drip: Literal["head", "body"] | None = None
    interval: float = 0.05

    def payload(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


class ScriptedServer:
    """Answers the n-th POST (0-based) with ``answer(n, request)``, over TLS with ``tls``; use as a context manager.

    Example:
        >>> import urllib.request
        >>> with ScriptedServer(lambda n, request: Answer(body={"n": n})) as server:
        ...     urllib.request.urlopen(urllib.request.Request(server.url + "/x", data=b"{}")).read()
        b'{"n": 0}'
    """

    def __init__(self, answer: Callable[[int, Request], Answer], tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.scheme = "https" if tls else "http"
        self.received: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()  # ends the drips
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, request: Request) -> Answer:
        with self._lock:
            self.received.append(request)
            n = len(self.received) - 1
        return self.answer(n, request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = fake._next(Request(self.path, dict(self.headers.items()), raw))
                payload = answer.payload()
                head = [f"HTTP/1.1 {answer.status} Scripted", "Content-Type: application/json"]
                head += [f"Content-Length: {len(payload)}", "Connection: close"]
                head += [f"{name}: {value}" for name, value in answer.headers.items()]
                head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                self.close_connection = True
                try:
                    if answer.drip is None:
                        self.wfile.write(head_bytes + payload)
                        return
                    at_once = b"" if answer.drip == "head" else head_bytes
                    dripped = head_bytes + payload if answer.drip == "head" else payload
                    self.wfile.write(at_once)
                    self.wfile.flush()
                    for i in range(len(dripped)):
                        if fake._stopping.wait(answer.interval):
                            return
                        self.wfile.write(dripped[i : i + 1])
                        self.wfile.flush()
                except OSError:  # the client hung up (which is what a deadline does)
                    return

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
