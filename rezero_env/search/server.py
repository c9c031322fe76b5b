"""Serve any :class:`~rezero_env.search.base.SearchEngine` over HTTP with Search-R1's retriever protocol.

The server side of :mod:`rezero_env.search.remote`; ``scripts/serve_retriever.py`` runs it with uvicorn::

    python scripts/serve_retriever.py --dataset synthetic --engine bm25 --port 8000
    curl -s localhost:8000/retrieve -H 'Content-Type: application/json' \\
         -d '{"queries": ["Where was Orlen Vask born?"], "topk": 3, "return_scores": true}'

    env = gym.make("SearchQA-v0", search_engine="remote", search_options={"url": "http://127.0.0.1:8000/retrieve"})

Endpoints:

- ``POST /retrieve`` with ``{"queries": [str, ...], "topk": int, "return_scores": bool}`` (``topk`` defaults to 3,
  ``return_scores`` to false, as in Search-R1) answers ``{"result": [hits of query 1, ...]}``; a hit is
  ``{"document": {"id", "contents", "title", "text"}, "score"}`` with scores, or the document alone without.
  ``contents`` is Search-R1's ``"Title"\\ntext`` (the text alone for an untitled document); ``title`` and ``text``
  are extra fields Search-R1's clients ignore and :class:`~rezero_env.search.remote.RemoteSearch` reads.
  Errors, each with a readable ``detail``: 413 for a body over ``max_request_bytes`` (refused before it is parsed);
  415 without ``Content-Type: application/json``; 400 for a body that is not JSON or is nested deeper than Python's
  JSON parser allows (about 1,000 levels); 422 (pydantic's validation errors) for JSON that is not the schema above,
  more than ``max_queries`` queries or a ``topk`` outside ``[1, max_topk]``; 503 when the engine raises
  :class:`~rezero_env.search.base.SearchError`.
- ``GET /health`` answers ``{"status": "ok", "documents": corpus size or null, "engine": class name, ...}``.

FastAPI is imported when :func:`create_app` is called (``pip install 'rezero[serve]'``), never by ``import
rezero_env``. The server has no authentication: bind it to 127.0.0.1 or a private network.
"""

# No ``from __future__ import annotations``: FastAPI and pydantic read the annotations of the request model and the
# endpoints defined inside create_app, which must therefore be real objects, not strings naming local variables.

import json
import logging
import math
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sized
from typing import TYPE_CHECKING, Any

from rezero_env.search.base import SearchEngine, SearchError
from rezero_env.search.remote import join_contents
from rezero_env.types import SearchResult

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_TOPK = 3  # Search-R1's retrieval_topk default


def create_app(
    engine: SearchEngine,
    *,
    max_request_bytes: int = 1 << 20,
    max_queries: int = 1024,
    max_topk: int = 100,
    default_topk: int = DEFAULT_TOPK,
) -> "FastAPI":
    """A FastAPI app serving ``engine`` at ``POST /retrieve`` and ``GET /health`` (see the module docstring).

    Each request makes one ``engine.batch_search`` call; calls are serialised with a lock, so an engine need not be
    thread-safe.

    Args:
        engine: The engine to serve.
        max_request_bytes: Larger request bodies are refused with 413 before they are parsed.
        max_queries: Most queries one request may carry.
        max_topk: Largest ``topk`` a request may ask for.
        default_topk: ``topk`` of a request that does not give one.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> from rezero_env.search import BM25Search
        >>> from rezero_env.types import Document
        >>> app = create_app(BM25Search([Document("a", "Velmora lies on the Kesh.", title="Velmora")]))
        >>> TestClient(app).post("/retrieve", json={"queries": ["Velmora"], "topk": 1}).json()["result"][0][0]["id"]
        'a'
    """
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

    for name, value in (
        ("max_request_bytes", max_request_bytes),
        ("max_queries", max_queries),
        ("max_topk", max_topk),
        ("default_topk", default_topk),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"create_app: {name} must be an integer >= 1, got {value!r}")
    if default_topk > max_topk:
        raise ValueError(f"create_app: default_topk ({default_topk}) must not exceed max_topk ({max_topk})")
    if not isinstance(engine, SearchEngine):
        raise TypeError(
            f"create_app needs a SearchEngine (search and batch_search methods), got {type(engine).__name__}"
        )

    class RetrieveRequest(BaseModel):
        """A Search-R1 retrieve request."""

        model_config = ConfigDict(extra="ignore")

        queries: list[StrictStr] = Field(max_length=max_queries, description="The queries, answered in order.")
        topk: StrictInt = Field(default=default_topk, ge=1, le=max_topk, description="Results per query.")
        return_scores: StrictBool = Field(default=False, description="Wrap each document with its score.")

    lock = threading.Lock()
    documents = getattr(engine, "documents", None)
    n_documents = len(documents) if isinstance(documents, Sized) else None

    app = FastAPI(
        title="rezero retriever",
        description="Search-R1's retriever protocol over a rezero search engine.",
        version="1",
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_request_bytes)

    def search(request: RetrieveRequest) -> list[list[SearchResult]]:
        with lock:
            return engine.batch_search(request.queries, request.topk)

    request_schema = {
        "required": True,
        "content": {"application/json": {"schema": RetrieveRequest.model_json_schema()}},
    }

    @app.post("/retrieve", openapi_extra={"requestBody": request_schema})
    async def retrieve(http_request: Request) -> JSONResponse:
        """Search every query (one ``batch_search`` call) and return Search-R1's ``{"result": [...]}``."""
        media_type = http_request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise HTTPException(
                status_code=415,
                detail=f"send the body as JSON with 'Content-Type: application/json' (got {media_type or 'none'!r})",
            )
        try:
            payload = json.loads(await http_request.body())
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HTTPException(status_code=400, detail=f"request body is not valid JSON: {error}") from None
        except RecursionError:
            raise HTTPException(
                status_code=400,
                detail="request body is nested too deeply: a retrieve request is an object of flat lists",
            ) from None
        try:
            request = RetrieveRequest.model_validate(payload)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_input=False)
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
        try:
            hits = await run_in_threadpool(search, request)
        except SearchError as error:
            logger.warning("Search failed for a request of %d queries: %s", len(request.queries), error)
            raise HTTPException(status_code=503, detail=f"search engine failed: {error}") from None
        result = [[_hit(hit, request.return_scores) for hit in per_query[: request.topk]] for per_query in hits]
        return JSONResponse({"result": result})

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness, corpus size (null if the engine does not say) and the server's limits."""
        return {
            "status": "ok",
            "documents": n_documents,
            "engine": type(engine).__name__,
            "max_queries": max_queries,
            "max_topk": max_topk,
            "max_request_bytes": max_request_bytes,
        }

    return app


def _hit(result: SearchResult, with_score: bool) -> dict[str, Any]:
    """One result as Search-R1 sends it (plus ``title`` and ``text``)."""
    document = {
        "id": result.doc_id,
        "contents": join_contents(result.title, result.text),
        "title": result.title,
        "text": result.text,
    }
    if not with_score:
        return document
    score = float(result.score)
    return {"document": document, "score": score if math.isfinite(score) else None}


class BodyLimitMiddleware:
    """ASGI middleware answering 413 to a request whose body is over ``max_bytes`` (declared or actually sent).

    The body is read (up to the limit) before the app sees the request and replayed to it. An oversized body is
    never parsed nor kept; up to ``drain_bytes`` of it are read and dropped before the 413 is sent, so that a client
    still sending sees the 413 rather than a reset connection.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, drain_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(8 * max_bytes, 8 << 20) if drain_bytes is None else drain_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(receive, send, f"Content-Length is {declared}", drain=declared <= self.drain_bytes)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > self.max_bytes:
                await self._refuse(receive, send, f"over {self.max_bytes} bytes were sent", drain=more, sent=size)
                return
            chunks.append(chunk)
            if not more:
                break
        replayed = False

        async def replay() -> ASGIMessage:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, receive: Receive, send: Send, what: str, *, drain: bool, sent: int = 0) -> None:
        while drain and sent <= self.drain_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return
            sent += len(message.get("body", b""))
            drain = bool(message.get("more_body", False))
        detail = f"request body too large: {what}; the limit is {self.max_bytes} bytes"
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


__all__ = ["BodyLimitMiddleware", "create_app"]
