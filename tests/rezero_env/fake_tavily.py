"""A stand-in for the Tavily API on 127.0.0.1 that serves scripted replies and records what it was sent."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply. ``body=None`` answers like Tavily (results built from the query and ``max_results``);
    a dict or list is sent as JSON, bytes as they are. ``delay`` seconds pass before the reply is sent."""

    status: int = 200
    body: dict[str, Any] | list[Any] | bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """One request the server got."""

    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


def tavily_results(query: str, max_results: int) -> dict[str, Any]:
    """What the fake answers for ``query``: ``max_results`` hits, scores deliberately not in order."""
    scores = [0.5, 0.9, 0.7, 0.3, 0.8, 0.1, 0.6, 0.2, 0.4, 0.05] * 2
    results = [
        {
            "url": f"https://example.org/{query.replace(' ', '-')}/{i}",
            "title": f"Page {i} about {query}",
            "content": f"Text {i} about {query}.",
            "score": scores[i],
            "raw_content": None,
        }
        for i in range(max_results)
    ]
    return {"query": query, "answer": None, "images": [], "results": results, "response_time": 0.01}


class FakeTavily:
    """Serves ``replies`` in order, then ``default`` forever; use as a context manager.

    Example:
        >>> import requests
        >>> with FakeTavily([Reply(500)]) as server:
        ...     first = requests.post(server.url + "/search", json={"query": "q", "max_results": 1}, timeout=5)
        ...     second = requests.post(server.url + "/search", json={"query": "q", "max_results": 1}, timeout=5)
        >>> first.status_code, second.json()["results"][0]["url"], len(server.received)
        (500, 'https://example.org/q/0', 2)
    """

    def __init__(self, replies: Iterable[Reply] = (), default: Reply | None = None) -> None:
        self.replies = deque(replies)
        self.default = default or Reply()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-tavily", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeTavily:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()  # cuts short the delay of slow replies
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            return self.replies.popleft() if self.replies else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = fake._next(Received(self.path, dict(self.headers.items()), raw))
                if reply.delay and fake._stopping.wait(reply.delay):
                    return
                body = reply.body
                if body is None:
                    request = json.loads(raw or b"{}")
                    body = tavily_results(str(request.get("query")), int(request.get("max_results", 5)))
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
