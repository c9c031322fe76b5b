"""Search a retrieval server over HTTP with Search-R1's retriever protocol (engine name ``"remote"``).

Many trainers can share one index (say Search-R1's e5 index over wiki-18 on a GPU box, or any rezero engine
served by ``scripts/serve_retriever.py``) instead of each loading its own. Usage::

    python scripts/serve_retriever.py --dataset synthetic --engine bm25 --port 8000   # or a Search-R1 server

    env = gym.make("SearchQA-v0", search_engine="remote",
                   search_options={"url": "http://127.0.0.1:8000/retrieve", "timeout": 5.0})

The protocol: ``POST /retrieve`` with ``{"queries": [...], "topk": k, "return_scores": true}``, answered by
``{"result": [[{"document": {"id": ..., "contents": "\\"Title\\"\\ntext"}, "score": ...}, ...], ...]}`` (one list
per query). The returned document ids only line up with the dataset's ``supporting_ids`` when the server indexes
the same corpus as the environment's dataset.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rezero_env.search.base import SearchError
from rezero_env.search.network import (
    Deadline,
    Fault,
    Redactor,
    StepBudget,
    attempt_deadline,
    check_seconds,
    deadline_opener,
    error_detail,
    loads_json,
    parse_retry_after,
    retry_delay,
    url_secrets,
    wait_phrase,
)
from rezero_env.types import Document, SearchResult

logger = logging.getLogger(__name__)

RETRIEVE_PATH = "/retrieve"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RemoteSearch:
    """A :class:`~rezero_env.search.base.SearchEngine` that asks a Search-R1-style retrieval server.

    ``batch_search`` sends all its queries in one request. Every failure the agent could meet in training — the
    server down, a timeout, an HTTP error status, a reply that is not the protocol's shape — raises
    :class:`~rezero_env.search.base.SearchError` naming the URL and the fault, which the environment shows as a
    ``Search failed: …`` observation (the episode goes on). Connection errors and HTTP 429/5xx are retried
    ``max_retries`` times; the wait before retry ``i`` (from 0) is ``backoff * 2**i``, raised to the server's
    ``Retry-After`` (seconds or an HTTP date) and capped at ``max_backoff``. A timeout is not retried (a slow server
    would only keep the trainer waiting longer).

    Time limits: ``timeout`` bounds each request as a whole — connecting, the headers and the body — however slowly
    the server sends them; ``total_timeout`` bounds one search across its attempts and waits (a retry whose wait
    would pass it is not made).

    Secrets: the values of ``headers`` (but content-negotiation ones such as ``Accept``), the credentials of an
    ``Authorization`` header and the password and query values of ``url`` are masked as ``***`` in every error,
    log record and result (a server may echo them), by :class:`~rezero_env.search.network.Redactor`; they are never
    logged.

    Each ``contents`` of Search-R1's corpora is ``"Title"`` in double quotes on its first line and the passage below;
    it is split into ``title`` and ``text``. A document that also carries ``title`` and ``text`` fields (as
    ``scripts/serve_retriever.py`` sends) is taken from those. A document without an ``id`` gets
    ``"sha1:<first 16 hex digits of the contents' SHA-1>"``. A reply without scores (``return_scores`` false: a list
    of documents per query) gets ``score = 1 / rank``.

    Args:
        documents: Ignored (the server holds the corpus); accepted so the engine registry can build every engine as
            ``builder(corpus_documents, **search_options)``.
        url: The server's retrieve endpoint, e.g. ``"http://127.0.0.1:8000/retrieve"``; a URL whose path does not
            end in ``/retrieve`` (such as ``"http://gpu-box:8000"``) gets ``/retrieve`` appended. User info
            (``http://user:password@host``) is sent as a ``Basic`` ``Authorization`` header unless ``headers`` has
            one.
        timeout: Seconds one request may take in all (connection, headers and body).
        max_retries: Extra attempts after a connection error or an HTTP 429/5xx reply.
        backoff: Seconds before the first retry; doubled for each further one.
        max_backoff: The longest wait before a retry, whatever ``Retry-After`` asks.
        total_timeout: Seconds one search may take across attempts and waits; None:
            ``(max_retries + 1) * timeout + max_backoff``.
        return_scores: Ask the server for scores (Search-R1's servers omit them otherwise).
        headers: Extra HTTP headers (e.g. an ``Authorization`` header for a server behind a proxy); never logged,
            and redacted from everything the engine returns.
        max_response_bytes: Replies longer than this are refused.
        sleep: The function that waits between attempts (``time.sleep``; tests pass a recorder).

    Example:
        >>> engine = RemoteSearch(url="http://127.0.0.1:8000")
        >>> engine.url
        'http://127.0.0.1:8000/retrieve'
    """

    def __init__(
        self,
        documents: Sequence[Document] | None = None,
        *,
        url: str,
        timeout: float = 10.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        total_timeout: float | None = None,
        return_scores: bool = True,
        headers: Mapping[str, str] | None = None,
        max_response_bytes: int = 64 * 2**20,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        del documents
        full_url = retrieve_url(url)
        self.url = _without_user_info(full_url)
        self.timeout = check_seconds("RemoteSearch:", "timeout", timeout, positive=True)
        self.backoff = check_seconds("RemoteSearch:", "backoff", backoff)
        self.max_backoff = check_seconds("RemoteSearch:", "max_backoff", max_backoff)
        for name, count, low in (("max_retries", max_retries, 0), ("max_response_bytes", max_response_bytes, 1)):
            if isinstance(count, bool) or not isinstance(count, int) or count < low:
                raise ValueError(f"RemoteSearch: {name} must be an integer >= {low}, got {count!r}")
        self.max_retries = max_retries
        default_total = (max_retries + 1) * self.timeout + self.max_backoff
        self.total_timeout = check_seconds(
            "RemoteSearch:", "total_timeout", default_total if total_timeout is None else total_timeout, positive=True
        )
        _check_headers(headers)
        self.return_scores = bool(return_scores)
        self.max_response_bytes = max_response_bytes
        self.sleep = sleep
        extra = dict(headers or {})
        basic = _basic_credentials(full_url)
        if basic and not any(name.lower() == "authorization" for name in extra):
            extra["Authorization"] = basic
        self._headers = {"Content-Type": "application/json", "Accept": "application/json", **extra}
        self._redact = Redactor.for_headers(extra, *url_secrets(full_url))
        self._where = f"remote search at {display_url(self.url)}"

    def __repr__(self) -> str:
        return f"RemoteSearch(url={display_url(self.url)!r}, timeout={self.timeout})"

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Return the server's top ``k`` results for ``query``, best first."""
        return self.batch_search([query], k)[0]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Return the server's top ``k`` results for each query, in order, from one HTTP request.

        Raises:
            SearchError: when the server cannot be reached in time or answers with an error or garbage (with every
                secret masked).
        """
        queries = list(queries)
        if not queries:
            return []
        if k < 1:
            return [[] for _ in queries]
        payload = {"queries": queries, "topk": int(k), "return_scores": self.return_scores}
        try:
            reply = self._post(_json_bytes(payload), len(queries))
            results = parse_reply(reply, len(queries), k, where=self._where)
        except SearchError as error:
            message = self._redact(str(error))
            self._redact.log(logger, logging.WARNING, "Remote search failed: %s", message)
            raise SearchError(message) from None
        return [self._redact.results(hits) for hits in results]

    def _post(self, body: bytes, n_queries: int) -> Any:
        """POST ``body`` and return the decoded JSON reply, retrying transient faults within ``total_timeout``."""
        budget = StepBudget(self.total_timeout)
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            self._redact.log(
                logger, logging.DEBUG, "%s: POST of %d queries, attempt %d", self._where, n_queries, attempt + 1
            )
            try:
                with attempt_deadline(budget, self.timeout) as deadline:
                    return self._attempt(body, deadline)
            except Fault as fault:
                if not fault.retryable:
                    raise SearchError(f"{self._where} {fault.message}") from None
                tries = f" after {attempt + 1} attempts" if attempt else ""
                if attempt + 1 == attempts:
                    raise SearchError(f"{self._where} failed{tries}: {fault.message}") from None
                delay = retry_delay(attempt, self.backoff, self.max_backoff, fault.retry_after)
                if delay >= budget.remaining():
                    raise SearchError(
                        f"{self._where} failed{tries}: {fault.message}; {wait_phrase(delay, fault)} would pass the "
                        f"total_timeout of {self.total_timeout:g} s"
                    ) from None
                self._redact.log(
                    logger,
                    logging.WARNING,
                    "%s: %s; retry %d/%d in %.2f s",
                    self._where,
                    fault.message,
                    attempt + 1,
                    self.max_retries,
                    delay,
                )
                budget.wait(delay, self.sleep)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, body: bytes, deadline: Deadline) -> Any:
        """One request within ``deadline``; every failure becomes a :class:`Fault`."""
        limited = deadline.seconds < self.timeout
        timed_out = (
            f"ran out of its total_timeout of {self.total_timeout:g} s"
            if limited
            else f"timed out after {self.timeout:g} s"
        )
        if deadline.remaining() <= 0:
            raise Fault(timed_out, retryable=False)
        request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
        try:
            with deadline_opener().open(request, timeout=max(deadline.remaining(), 1e-3)) as response:
                raw = response.read(self.max_response_bytes + 1)
        except urllib.error.HTTPError as error:
            try:
                detail = error_detail(error, self._redact)
            finally:
                error.close()
            if deadline.expired:
                raise Fault(timed_out, retryable=False) from None
            fault = f"HTTP {error.code} {error.reason}{detail}"
            if error.code not in RETRY_STATUSES:
                raise Fault(f"answered {fault}", retryable=False) from None
            raise Fault(fault, True, parse_retry_after(error.headers.get("Retry-After"))) from None
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            if deadline.expired or isinstance(reason, TimeoutError):
                raise Fault(timed_out, retryable=False) from None
            raise Fault(f"cannot reach the server ({_describe(reason)})", retryable=True) from None
        if deadline.expired:
            raise Fault(timed_out, retryable=False)
        if len(raw) > self.max_response_bytes:
            raise Fault(f"sent a reply over {self.max_response_bytes} bytes", retryable=False)
        try:
            return loads_json(raw)
        except ValueError as error:
            raise Fault(f"sent a malformed reply: not JSON ({error})", retryable=False) from None


def _json_bytes(payload: Any) -> bytes:
    """``payload`` as UTF-8 JSON."""
    return json.dumps(payload).encode("utf-8")


def _check_headers(headers: object) -> None:
    """A ValueError naming the header (never its value) that http.client would refuse to send."""
    if headers is None:
        return
    if not isinstance(headers, Mapping):
        raise ValueError(
            f"RemoteSearch: headers must be a mapping of header names to values, not {type(headers).__name__}"
        )
    for name, value in headers.items():
        if not isinstance(name, str) or not name.strip() or any(c in name for c in ":\r\n") or name != name.strip():
            raise ValueError(f"RemoteSearch: headers has an invalid header name {name!r}")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"RemoteSearch: the value of header {name!r} must be a string without line breaks")


def _without_user_info(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _basic_credentials(url: str) -> str | None:
    """The ``Basic`` ``Authorization`` value for the user info of ``url``, if it has any."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return None
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def retrieve_url(url: str) -> str:
    """The retrieve endpoint for ``url``: ``url`` itself if its path ends in ``/retrieve``, else with it appended.

    Example:
        >>> retrieve_url("http://gpu-box:8000/")
        'http://gpu-box:8000/retrieve'
        >>> retrieve_url("http://gpu-box:8000/retrieve")
        'http://gpu-box:8000/retrieve'
    """
    if not isinstance(url, str):
        raise ValueError(f"RemoteSearch: url must be a string such as 'http://127.0.0.1:8000/retrieve', got {url!r}")
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"RemoteSearch: url must be an http(s) URL with a host, such as 'http://127.0.0.1:8000/retrieve'; "
            f"got {url!r}"
        )
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError as error:
        raise ValueError(f"RemoteSearch: bad port in url {url!r}: {error}") from None
    path = parts.path.rstrip("/")
    if not path.endswith(RETRIEVE_PATH):
        path += RETRIEVE_PATH
    return urllib.parse.urlunsplit(parts._replace(path=path))


def display_url(url: str) -> str:
    """``url`` without credentials or query string, fit for logs and observations.

    Example:
        >>> display_url("http://user:secret@host:8000/retrieve?token=abc")
        'http://host:8000/retrieve'
    """
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def split_contents(contents: str) -> tuple[str | None, str]:
    """Split Search-R1's ``"Title"\\ntext`` contents into ``(title, text)``; ``(None, contents)`` without a title.

    Example:
        >>> split_contents('"Ada Lovelace"\\nAda wrote the first program.')
        ('Ada Lovelace', 'Ada wrote the first program.')
        >>> split_contents("No title line here.")
        (None, 'No title line here.')
    """
    first, newline, rest = contents.partition("\n")
    if newline and len(first) >= 2 and first.startswith('"') and first.endswith('"'):
        return first[1:-1] or None, rest
    return None, contents


def join_contents(title: str | None, text: str) -> str:
    """The inverse of :func:`split_contents`: ``"Title"\\ntext`` when there is a title, else ``text``."""
    return f'"{title}"\n{text}' if title else text


def parse_reply(reply: Any, n_queries: int, k: int, *, where: str = "remote search") -> list[list[SearchResult]]:
    """Turn a decoded ``/retrieve`` reply into at most ``k`` results per query.

    Raises:
        SearchError: for a reply that is not ``{"result": [one list per query]}`` of documents (with scores or not).
    """
    if not isinstance(reply, dict) or "result" not in reply:
        got = f"keys {sorted(reply)[:5]}" if isinstance(reply, dict) else type(reply).__name__
        raise SearchError(f"{where} sent a malformed reply: expected an object with a 'result' list, got {got}")
    lists = reply["result"]
    if not isinstance(lists, list):
        raise SearchError(f"{where} sent a malformed reply: 'result' is {type(lists).__name__}, not a list")
    if len(lists) != n_queries:
        raise SearchError(f"{where} sent a malformed reply: {len(lists)} result lists for {n_queries} queries")
    results = []
    for q, hits in enumerate(lists):
        if not isinstance(hits, list):
            raise SearchError(f"{where} sent a malformed reply: result[{q}] is {type(hits).__name__}, not a list")
        results.append(
            [
                _parse_hit(hit, rank, f"{where} sent a malformed reply: result[{q}][{rank}]")
                for rank, hit in enumerate(hits[:k])
            ]
        )
    return results


def _parse_hit(hit: Any, rank: int, fault: str) -> SearchResult:
    if not isinstance(hit, dict):
        raise SearchError(f"{fault} is {type(hit).__name__}, not an object")
    if "document" in hit:
        document, score = hit["document"], hit.get("score")
    else:  # return_scores=false: the document itself
        document, score = hit, None
    if not isinstance(document, dict):
        raise SearchError(f"{fault}: 'document' is {type(document).__name__}, not an object")
    if score is None:
        score = 1.0 / (rank + 1)
    elif isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise SearchError(f"{fault}: 'score' must be a finite number, got {score!r}")
    title: str | None
    if isinstance(document.get("text"), str):
        text, title = document["text"], document.get("title")
        if title is not None and not isinstance(title, str):
            raise SearchError(f"{fault}: 'title' must be a string, got {type(title).__name__}")
    elif isinstance(document.get("contents"), str):
        title, text = split_contents(document["contents"])
    else:
        raise SearchError(f"{fault}: the document has no 'contents' string (keys: {sorted(document)[:5]})")
    doc_id = document.get("id")
    if doc_id is None:
        doc_id = "sha1:" + hashlib.sha1(join_contents(title, text).encode("utf-8")).hexdigest()[:16]
    elif isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise SearchError(f"{fault}: 'id' must be a string or an integer, got {doc_id!r}")
    return SearchResult(doc_id=str(doc_id), text=text, score=float(score), title=title or None)


def _describe(reason: object) -> str:
    """A short description of a connection fault, e.g. ``ConnectionRefusedError: [Errno 111] Connection refused``."""
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
    return str(reason)


__all__ = ["RemoteSearch", "display_url", "join_contents", "parse_reply", "retrieve_url", "split_contents"]
