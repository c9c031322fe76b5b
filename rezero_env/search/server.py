"""Serve any :class:`~rezero_env.search.base.SearchEngine` over HTTP in the request forms of the RL libraries'
retrieval clients, with bounds on what one request may cost.

The server side of :mod:`rezero_env.search.remote`; ``scripts/serve_retriever.py`` runs it with uvicorn::

    python scripts/serve_retriever.py --dataset synthetic --engine bm25 --port 8000
    curl -s localhost:8000/retrieve -H 'Content-Type: application/json' \\
         -d '{"queries": ["Where was Orlen Vask born?"], "topk": 3, "return_scores": true}'

    env = gym.make("SearchQA-v0", search_engine="remote", search_options={"url": "http://127.0.0.1:8000/retrieve"})

``POST /retrieve`` speaks three dialects behind one engine:

- **Search-R1 / veRL** (and :class:`~rezero_env.search.remote.RemoteSearch`): JSON ``{"queries": [str, ...],
  "topk": int, "return_scores": bool}`` → ``{"result": [hits of query 1, ...]}``.
- **SkyRL-Gym's search tool**: JSON ``{"query": str, "topk", "return_scores"}`` → ``{"result": [hits]}`` wrapped in
  one more list (``{"result": [[hit, ...]]}``), as SkyRL reads it.
- **GEM's search tool**: the same dict as MessagePack (``Content-Type`` ``application/msgpack``, or none at all, as
  GEM sends it) → a MessagePack reply ``{"result": [hit, ...]}`` (one flat list, GEM's own server's shape).
  A MessagePack ``queries`` batch gets one list per query.

``topk`` defaults to 3 and ``return_scores`` to false, as in Search-R1. A hit is ``{"document": {"id", "contents",
"title", "text", "url"}, "score"}``; a JSON request without ``return_scores`` gets the document alone (Search-R1's
form), a MessagePack one always the wrapped form with ``"score": null`` (GEM's). ``contents`` is Search-R1's
``"Title"\\ntext`` (the text alone for an untitled document), which every client reads; ``title``, ``text`` and
``url`` (null: rezero documents have none) are for the clients that read them (:class:`RemoteSearch`, ASearcher).

Bounds (each refusal names its limit in ``detail``; ``GET /health`` lists them):

- 413 for a request body over ``max_request_bytes`` (refused before it is parsed) and for a reply that would pass
  ``max_response_bytes``;
- 422 for more than ``max_queries`` queries, a ``topk`` outside ``[1, max_topk]``, ``queries × topk`` over
  ``max_results`` or a body that is not the schema above (pydantic's errors);
- 400 for a body that is not JSON/MessagePack, is nested too deeply, or holds an integer of more than
  :data:`MAX_INT_DIGITS` digits (``"topk": 1`` followed by 5,000 zeros); 415 for another ``Content-Type``;
- 503 with ``Retry-After`` when ``max_in_flight`` requests are already admitted, 503 for an engine's
  :class:`~rezero_env.search.base.SearchError`; 408 for a body not received within ``body_timeout`` seconds.

Admitted requests share the engine fairly (:class:`FairEngine`): one worker thread runs the engine (which therefore
need not be thread-safe) on slices of at most ``slice_results`` results (queries × topk), each turn for the request
that has been served least so far, so a one-query request waits for the slice in progress, not for whole batches
of larger ones (and a request passed over 8 turns in a row goes next, so large ones keep moving).
:func:`uvicorn_config` adds the connection-level bound: a connection that has not sent a whole request
``request_timeout`` seconds after it opened (or after its last reply) is closed, and idle keep-alive connections
after ``keep_alive`` seconds.

FastAPI, uvicorn and msgpack are imported when they are needed (``pip install 'rezero[serve]'``), never by
``import rezero_env``. The server has no authentication: bind it to 127.0.0.1 or a private network.
"""

# No ``from __future__ import annotations``: FastAPI and pydantic read the annotations of the request model and the
# endpoints defined inside create_app, which must therefore be real objects, not strings naming local variables.

import asyncio
import concurrent.futures
import itertools
import json
import logging
import math
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence, Sized
from typing import TYPE_CHECKING, Any, Literal

from rezero_env.search.base import SearchEngine, SearchError
from rezero_env.search.remote import join_contents
from rezero_env.types import SearchResult

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
WireFormat = Literal["json", "msgpack"]

DEFAULT_TOPK = 3  # Search-R1's retrieval_topk default
#: Integers in a request body may have at most this many digits (a 64-bit integer has 19 or 20).
MAX_INT_DIGITS = 20
MSGPACK_TYPES = frozenset({"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"})
#: Bytes a reply spends on one hit besides its texts (keys, quotes, the score), used to stop a reply early.
HIT_OVERHEAD_BYTES = 96


class ResponseTooLarge(Exception):
    """A reply would pass the server's ``max_response_bytes``."""


def create_app(
    engine: SearchEngine,
    *,
    max_request_bytes: int = 1 << 20,
    max_queries: int = 1024,
    max_topk: int = 100,
    default_topk: int = DEFAULT_TOPK,
    max_results: int = 4096,
    max_response_bytes: int = 8 << 20,
    max_in_flight: int = 64,
    slice_results: int = 256,
    retry_after: int = 1,
    body_timeout: float = 30.0,
) -> "FastAPI":
    """A FastAPI app serving ``engine`` at ``POST /retrieve`` and ``GET /health`` (see the module docstring).

    Args:
        engine: The engine to serve.
        max_request_bytes: Larger request bodies are refused with 413 before they are parsed.
        max_queries: Most queries one request may carry.
        max_topk: Largest ``topk`` a request may ask for.
        default_topk: ``topk`` of a request that does not give one.
        max_results: Most results one request may ask for (``queries × topk``); more is a 422.
        max_response_bytes: A reply that would be longer is refused with 413 (the search stops as soon as the
            results pass it).
        max_in_flight: Requests admitted at once (searching or waiting for their turn at the engine); more get
            503 with ``Retry-After``.
        slice_results: Results (queries × topk) the engine computes for one request before taking the next
            request's turn.
        retry_after: Seconds a refused client is told to wait (``Retry-After``).
        body_timeout: Seconds a client has to send its whole body (408 after that).

    Example:
        >>> from fastapi.testclient import TestClient
        >>> from rezero_env.search import BM25Search
        >>> from rezero_env.types import Document
        >>> app = create_app(BM25Search([Document("a", "Velmora lies on the Kesh.", title="Velmora")]))
        >>> TestClient(app).post("/retrieve", json={"queries": ["Velmora"], "topk": 1}).json()["result"][0][0]["id"]
        'a'
        >>> reply = TestClient(app).post("/retrieve", json={"query": "Velmora", "topk": 1, "return_scores": True})
        >>> reply.json()["result"][0][0]["score"] > 0
        True
    """
    from fastapi import FastAPI, HTTPException, Request, Response
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StrictBool,
        StrictInt,
        StrictStr,
        ValidationError,
        model_validator,
    )

    for name, value in (
        ("max_request_bytes", max_request_bytes),
        ("max_queries", max_queries),
        ("max_topk", max_topk),
        ("default_topk", default_topk),
        ("max_results", max_results),
        ("max_response_bytes", max_response_bytes),
        ("max_in_flight", max_in_flight),
        ("slice_results", slice_results),
        ("retry_after", retry_after),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"create_app: {name} must be an integer >= 1, got {value!r}")
    if default_topk > max_topk:
        raise ValueError(f"create_app: default_topk ({default_topk}) must not exceed max_topk ({max_topk})")
    if isinstance(body_timeout, bool) or not isinstance(body_timeout, int | float) or not body_timeout > 0:
        raise ValueError(f"create_app: body_timeout must be a number of seconds > 0, got {body_timeout!r}")
    if not isinstance(engine, SearchEngine):
        raise TypeError(
            f"create_app needs a SearchEngine (search and batch_search methods), got {type(engine).__name__}"
        )

    class RetrieveRequest(BaseModel):
        """A retrieve request: Search-R1's ``queries`` batch or SkyRL's and GEM's single ``query``."""

        model_config = ConfigDict(extra="ignore")

        queries: list[StrictStr] | None = Field(
            default=None, max_length=max_queries, description="The queries, answered in order (Search-R1, veRL)."
        )
        query: StrictStr | None = Field(default=None, description="One query (SkyRL-Gym, GEM).")
        topk: StrictInt = Field(default=default_topk, ge=1, le=max_topk, description="Results per query.")
        return_scores: StrictBool = Field(default=False, description="Wrap each document with its score.")

        @model_validator(mode="after")
        def one_form(self) -> "RetrieveRequest":
            if (self.queries is None) == (self.query is None):
                raise ValueError("give either 'queries' (a list of strings) or 'query' (one string), not both")
            n_results = len(self.all_queries) * self.topk
            if n_results > max_results:
                raise ValueError(
                    f"queries × topk = {len(self.all_queries)} × {self.topk} = {n_results} results is over the "
                    f"server's max_results of {max_results} per request; split the request"
                )
            return self

        @property
        def all_queries(self) -> list[str]:
            return list(self.queries) if self.queries is not None else [str(self.query)]

    fair = FairEngine(
        engine,
        slice_results=slice_results,
        max_in_flight=max_in_flight,
        max_response_bytes=max_response_bytes,
    )
    documents = getattr(engine, "documents", None)
    n_documents = len(documents) if isinstance(documents, Sized) else None
    limits = {
        "max_queries": max_queries,
        "max_topk": max_topk,
        "max_results": max_results,
        "max_request_bytes": max_request_bytes,
        "max_response_bytes": max_response_bytes,
        "max_in_flight": max_in_flight,
    }

    app = FastAPI(
        title="rezero retriever",
        description="Search-R1's retriever protocol (and SkyRL's and GEM's forms of it) over a rezero search engine.",
        version="2",
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_request_bytes, body_timeout=float(body_timeout))
    app.state.fair_engine = fair

    request_schema = {
        "required": True,
        "content": {
            "application/json": {"schema": RetrieveRequest.model_json_schema()},
            "application/msgpack": {"schema": RetrieveRequest.model_json_schema()},
        },
    }

    @app.post("/retrieve", openapi_extra={"requestBody": request_schema})
    async def retrieve(http_request: Request) -> Response:
        """Search every query (fairly interleaved with other requests) and return ``{"result": [...]}``."""
        body = await http_request.body()
        wire = wire_format(http_request.headers.get("content-type", ""), body)
        if wire is None:
            media_type = http_request.headers.get("content-type", "").split(";")[0].strip().lower()
            raise HTTPException(
                status_code=415,
                detail=(
                    "send the body as JSON with 'Content-Type: application/json' or as MessagePack with "
                    f"'Content-Type: application/msgpack' (got {media_type!r})"
                ),
            )
        try:
            payload = parse_body(body, wire)
        except ValueError as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        try:
            request = RetrieveRequest.model_validate(payload)
        except ValidationError as error:
            errors = error.errors(include_url=False, include_input=False, include_context=False)
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
        queries = request.all_queries
        try:
            hits = await fair.search(queries, request.topk)
        except Overloaded as error:
            raise HTTPException(status_code=503, detail=str(error), headers={"Retry-After": str(retry_after)}) from None
        except ResponseTooLarge as error:
            raise HTTPException(status_code=413, detail=str(error)) from None
        except SearchError as error:
            logger.warning("Search failed for a request of %d queries: %s", len(queries), error)
            raise HTTPException(status_code=503, detail=f"search engine failed: {error}") from None
        flat = wire == "msgpack" and request.query is not None  # GEM's server answers one query with one list
        content = await run_in_threadpool(render_reply, hits, wire, request.return_scores, flat)
        if len(content) > max_response_bytes:
            raise HTTPException(
                status_code=413,
                detail=(
                    f"the reply would be {len(content)} bytes, over the server's max_response_bytes of "
                    f"{max_response_bytes}; ask for fewer queries or a smaller topk"
                ),
            )
        media_type = "application/msgpack" if wire == "msgpack" else "application/json"
        return Response(content=content, media_type=media_type)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness, corpus size (null if the engine does not say), requests in flight and the server's limits."""
        return {
            "status": "ok",
            "documents": n_documents,
            "engine": type(engine).__name__,
            "in_flight": fair.in_flight,
            **limits,
        }

    return app


class Overloaded(Exception):
    """The server already holds ``max_in_flight`` requests."""


_SEQUENCE = itertools.count()


class _Job:
    """One admitted request: its queries, the results so far and the future its handler awaits."""

    def __init__(self, queries: Sequence[str], k: int, slice_queries: int) -> None:
        self.queries = list(queries)
        self.k = k
        self.slice_queries = slice_queries
        self.results: list[list[SearchResult]] = []
        self.bytes = 0
        self.future: concurrent.futures.Future[list[list[SearchResult]]] = concurrent.futures.Future()
        self.cancelled = False
        self.seq = next(_SEQUENCE)
        self.skips = 0

    def next_slice(self) -> list[str]:
        start = len(self.results)
        return self.queries[start : start + self.slice_queries]

    @property
    def done(self) -> bool:
        return len(self.results) >= len(self.queries)


class FairEngine:
    """Runs an engine in one worker thread on slices of the admitted requests, least served first.

    Each turn searches at most ``slice_results // k`` queries (at least one) of the admitted request that has
    received the fewest results so far (the earliest among equals), so a new one-query request runs right after the
    slice in progress instead of after every larger batch; a request passed over ``max_skips`` turns in a row goes
    next whatever its share, so large requests keep moving under a stream of small ones. The worker thread stops
    after ``idle_seconds`` without work and starts again with the next request.

    Args:
        engine: The engine (called from the worker thread only).
        slice_results: Results (queries × k) per slice.
        max_in_flight: Requests admitted at once; :meth:`search` raises :class:`Overloaded` beyond.
        max_response_bytes: A request whose results pass this many bytes (texts plus
            :data:`HIT_OVERHEAD_BYTES` per hit) fails with :class:`ResponseTooLarge` without searching further.
        idle_seconds: How long the worker thread waits for work before it exits.
        max_skips: Turns a waiting request may be passed over before it goes next.
    """

    def __init__(
        self,
        engine: SearchEngine,
        *,
        slice_results: int = 256,
        max_in_flight: int = 64,
        max_response_bytes: int = 8 << 20,
        idle_seconds: float = 30.0,
        max_skips: int = 8,
    ) -> None:
        self.engine = engine
        self.max_skips = max_skips
        self.slice_results = slice_results
        self.max_in_flight = max_in_flight
        self.max_response_bytes = max_response_bytes
        self.idle_seconds = idle_seconds
        self._waiting: list[_Job] = []
        self._admitted = 0
        self._condition = threading.Condition()
        self._worker: threading.Thread | None = None

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet answered."""
        return self._admitted

    async def search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """The engine's top ``k`` results per query, computed in turn with the other admitted requests.

        Raises:
            Overloaded: when ``max_in_flight`` requests are already admitted.
            ResponseTooLarge: when the results pass ``max_response_bytes``.
            SearchError: when the engine raises one.
        """
        job = self.submit(queries, k)
        try:
            return await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.cancelled = True  # the client went away: the worker drops the rest of its slices
            raise

    def submit(self, queries: Sequence[str], k: int) -> _Job:
        """Admit a request (or raise :class:`Overloaded`) and return its job."""
        job = _Job(queries, k, max(1, self.slice_results // max(k, 1)))
        with self._condition:
            if self._admitted >= self.max_in_flight:
                raise Overloaded(
                    f"the server is busy: {self._admitted} requests are in flight, its max_in_flight is "
                    f"{self.max_in_flight}; retry later"
                )
            self._admitted += 1
            if not job.queries:
                self._admitted -= 1
                job.future.set_result([])
                return job
            self._waiting.append(job)
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="rezero-retriever-engine", daemon=True)
                self._worker.start()
            self._condition.notify()
        return job

    def _run(self) -> None:
        while True:
            with self._condition:
                if not self._waiting:
                    self._condition.wait(self.idle_seconds)
                if not self._waiting:
                    self._worker = None
                    return
                job = self._next_job()
            if job.cancelled:
                self._finish(job, None)
                continue
            queries = job.next_slice()
            try:
                hits = self.engine.batch_search(queries, job.k)
                if len(hits) != len(queries):
                    raise SearchError(f"the engine returned {len(hits)} result lists for {len(queries)} queries")
                for per_query in hits:
                    per_query = list(per_query[: job.k])
                    job.results.append(per_query)
                    job.bytes += sum(_hit_bytes(hit) for hit in per_query)
                if job.bytes > self.max_response_bytes:
                    raise ResponseTooLarge(
                        f"the reply would be over {self.max_response_bytes} bytes (the server's max_response_bytes) "
                        f"after {len(job.results)} of {len(job.queries)} queries; ask for fewer queries or a "
                        "smaller topk"
                    )
            except Exception as error:  # delivered to the request's handler, which maps it to a status
                self._finish(job, error)
                continue
            if job.done:
                self._finish(job, None)
            else:
                with self._condition:
                    self._waiting.append(job)

    def _next_job(self) -> _Job:
        """Remove and return the job to serve next (call with the condition held)."""
        overdue = [job for job in self._waiting if job.skips >= self.max_skips]
        job = overdue[0] if overdue else min(self._waiting, key=lambda j: (len(j.results) * j.k, j.seq))
        self._waiting.remove(job)
        for other in self._waiting:
            other.skips += 1
        job.skips = 0
        return job

    def _finish(self, job: _Job, error: Exception | None) -> None:
        with self._condition:
            self._admitted -= 1
        if job.future.done():
            return
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(job.results)


def _hit_bytes(result: SearchResult) -> int:
    """About the bytes ``result`` takes in a reply (its text and title appear twice: in ``contents`` and alone)."""
    return 2 * (len(result.text) + len(result.title or "")) + len(result.doc_id) + HIT_OVERHEAD_BYTES


def wire_format(content_type: str, body: bytes) -> WireFormat | None:
    """The request's wire format: JSON for ``application/json`` (or ``*+json``), MessagePack for
    ``application/msgpack`` (or ``x-msgpack``, ``vnd.msgpack``); a body without a content type (GEM's client sends
    none) or sent as ``application/octet-stream`` is read by its first byte (``{``: JSON, a map: MessagePack).
    None for anything else.

    Example:
        >>> wire_format("application/json; charset=utf-8", b"{}"), wire_format("", b"\\x81\\xa5query\\xa1a")
        ('json', 'msgpack')
        >>> wire_format("text/plain", b"{}") is None
        True
    """
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return "json"
    if media_type in MSGPACK_TYPES:
        return "msgpack"
    if media_type not in ("", "application/octet-stream"):
        return None
    first = body.lstrip()[:1]
    if first == b"{":
        return "json"
    if first and (0x80 <= first[0] <= 0x8F or first[0] in (0xDE, 0xDF)):
        return "msgpack"
    return None


def parse_body(body: bytes, wire: WireFormat) -> Any:
    """Decode a request body, with integers bounded to :data:`MAX_INT_DIGITS` digits.

    Raises:
        ValueError: with a message fit for a 400 reply.

    Example:
        >>> parse_body(b'{"topk": 3}', "json")
        {'topk': 3}
        >>> parse_body(b'{"topk": 1' + b"0" * 5000 + b"}", "json")
        Traceback (most recent call last):
        ...
        ValueError: request body holds an integer of 5001 digits; integers are limited to 20 digits
    """
    if wire == "msgpack":
        try:
            import msgpack
        except ImportError:
            raise ValueError(
                "this server cannot read MessagePack: install msgpack on it (pip install 'rezero[serve]')"
            ) from None
        try:
            return msgpack.unpackb(body, raw=False, strict_map_key=True)
        except (ValueError, TypeError, msgpack.UnpackException, msgpack.ExtraData) as error:
            raise ValueError(f"request body is not valid MessagePack: {type(error).__name__}: {error}") from None
        except RecursionError:
            raise ValueError("request body is nested too deeply: a retrieve request is a map of flat lists") from None
    try:
        return json.loads(body, parse_int=_bounded_int)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"request body is not valid JSON: {error}") from None
    except RecursionError:
        raise ValueError("request body is nested too deeply: a retrieve request is an object of flat lists") from None
    except ValueError as error:  # _bounded_int's, or a number Python refuses
        raise ValueError(f"request body holds {error}") from None


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits; integers are limited to {MAX_INT_DIGITS} digits")
    return int(text)


def render_reply(hits: list[list[SearchResult]], wire: WireFormat, with_scores: bool, flat: bool = False) -> bytes:
    """The encoded ``{"result": ...}`` reply: one list of hits per query (the first list alone when ``flat``); hits
    wrapped with their scores for ``with_scores`` or MessagePack, bare documents otherwise (Search-R1's form)."""
    wrap = with_scores or wire == "msgpack"
    result: list[Any] = [[_hit(hit, wrap, with_scores) for hit in per_query] for per_query in hits]
    return encode_reply({"result": result[0] if flat and result else result}, wire)


def encode_reply(reply: Any, wire: WireFormat) -> bytes:
    """``reply`` as compact UTF-8 JSON (non-finite scores already replaced by null) or MessagePack."""
    if wire == "msgpack":
        import msgpack

        packed: bytes = msgpack.packb(reply, use_bin_type=True)
        return packed
    return json.dumps(reply, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _hit(result: SearchResult, wrap: bool, with_score: bool) -> dict[str, Any]:
    """One result as the clients read it: the document (``id``, ``contents``, ``title``, ``text``, ``url``), wrapped
    as ``{"document", "score"}`` when ``wrap`` (the score null unless ``with_score``)."""
    document = {
        "id": result.doc_id,
        "contents": join_contents(result.title, result.text),
        "title": result.title,
        "text": result.text,
        "url": None,
    }
    if not wrap:
        return document
    score = float(result.score)
    return {"document": document, "score": score if with_score and math.isfinite(score) else None}


class BodyLimitMiddleware:
    """ASGI middleware answering 413 to a request whose body is over ``max_bytes`` (declared or actually sent), and
    408 to one whose body has not arrived ``body_timeout`` seconds after the request started.

    The body is read (up to the limit) before the app sees the request and replayed to it. An oversized body is
    never parsed nor kept; up to ``drain_bytes`` of it are read and dropped before the 413 is sent, so that a client
    still sending sees the 413 rather than a reset connection.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, drain_bytes: int | None = None, body_timeout: float | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_bytes = max(8 * max_bytes, 8 << 20) if drain_bytes is None else drain_bytes
        self.body_timeout = body_timeout

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
        loop = asyncio.get_running_loop()
        deadline = None if self.body_timeout is None else loop.time() + self.body_timeout
        while True:
            try:
                if deadline is None:
                    message = await receive()
                else:
                    message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                await _send_error(
                    send, 408, f"the request body did not arrive within the server's {self.body_timeout:g} s"
                )
                return
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
        await _send_error(send, 413, f"request body too large: {what}; the limit is {self.max_bytes} bytes")


async def _send_error(send: Send, status: int, detail: str) -> None:
    """A JSON ``{"detail": ...}`` error reply that closes the connection."""
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def idle_timeout_protocol(request_timeout: float) -> type[Any]:
    """uvicorn's h11 protocol with a request timer: a connection that has not sent a whole request head
    ``request_timeout`` seconds after it opened, or after the first byte that follows its last reply, is closed
    (uvicorn itself never times out a connection before its first request, nor one that trickles a header)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class IdleTimeoutH11Protocol(H11Protocol):
        timeout_request = request_timeout

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._request_timer: asyncio.TimerHandle | None = None
            super().connection_made(transport)
            self._arm_request_timer()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._cancel_request_timer()  # a request is being answered: its body is the app's to time
            elif self._request_timer is None:
                self._arm_request_timer()  # bytes of a next request: it must be complete in time

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_request_timer()
            super().connection_lost(exc)

        def _arm_request_timer(self) -> None:
            self._cancel_request_timer()
            self._request_timer = self.loop.call_later(self.timeout_request, self._request_timed_out)

        def _cancel_request_timer(self) -> None:
            if self._request_timer is not None:
                self._request_timer.cancel()
                self._request_timer = None

        def _request_timed_out(self) -> None:
            self._request_timer = None
            if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
                logger.debug("Closing a connection that sent no whole request in %g s", self.timeout_request)
                self.transport.close()

    return IdleTimeoutH11Protocol


def uvicorn_config(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    request_timeout: float = 10.0,
    keep_alive: int = 5,
    log_level: str = "info",
    **options: Any,
) -> "uvicorn.Config":
    """A ``uvicorn.Config`` for ``app`` with the connection bounds of this module: idle keep-alive connections are
    closed after ``keep_alive`` seconds, connections without a whole request after ``request_timeout`` seconds.
    ``options`` go to ``uvicorn.Config``."""
    import uvicorn

    if isinstance(request_timeout, bool) or not isinstance(request_timeout, int | float) or not request_timeout > 0:
        raise ValueError(f"request_timeout must be a number of seconds > 0, got {request_timeout!r}")
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=idle_timeout_protocol(float(request_timeout)),
        timeout_keep_alive=keep_alive,
        log_level=log_level,
        **options,
    )


__all__ = [
    "BodyLimitMiddleware",
    "FairEngine",
    "Overloaded",
    "ResponseTooLarge",
    "create_app",
    "encode_reply",
    "idle_timeout_protocol",
    "parse_body",
    "render_reply",
    "uvicorn_config",
    "wire_format",
]
