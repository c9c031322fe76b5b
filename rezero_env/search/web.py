"""Web search through the Tavily API, with retries, request deadlines and an on-disk response cache.

``WebSearch`` implements :class:`~rezero_env.search.base.SearchEngine` over the live web instead of a corpus, so an
agent can be trained or evaluated against real search results. It needs the ``web`` extra
(``pip install 'rezero[web]'``, which installs ``tavily-python``) and a Tavily API key.

Select it by name with ``gym.make("SearchQA-v0", search_engine="web", search_options={...})`` or pass an instance.

Options (constructor arguments, also accepted in ``search_options``):

- ``api_key``: the Tavily key; when None, read from the ``TAVILY_API_KEY`` environment variable (prefer the variable:
  options passed to ``gym.make`` are kept in ``env.spec``). A missing key is a ValueError at construction.
- ``base_url``: the API root (a gateway, a proxy or a fake server in tests); when None, ``TAVILY_BASE_URL`` or
  ``https://api.tavily.com``. Requests go to ``<base_url>/search``.
- ``timeout`` (10 s): the limit of each HTTP request as a whole — connecting, the headers and the body, however
  slowly the server sends them (Tavily's client caps it at 120 s).
- ``max_retries`` (3): how many times a failed request is retried (so at most ``max_retries + 1`` attempts).
  Retried: HTTP 429, HTTP 5xx, timeouts and connection errors. Not retried: other HTTP errors (401 bad key, 400 bad
  request, 403/432/433 plan limits) and malformed replies.
- ``backoff`` (0.5 s) and ``max_backoff`` (30 s): the wait before retry ``i`` (from 0) is ``backoff * 2**i``, raised to
  the server's ``Retry-After`` (seconds or an HTTP date) when it sends one, and capped at ``max_backoff``. No
  jitter, so runs are repeatable. ``sleep`` is the function that waits (``time.sleep``; tests pass a recorder).
- ``total_timeout`` (None: ``(max_retries + 1) * timeout + max_backoff``): the limit of one search across its
  attempts and the waits between them; a retry whose wait would pass it is not made, and the last attempt gets
  what is left.
- ``cache_dir`` (None: no cache): a folder of JSON files, one per distinct request, named by a SHA-256 of the query,
  the number of results asked for, the search settings and the base URL (never the key). A cached request is
  answered from disk without any network request, so reruns are reproducible and free. Only successful replies are
  cached; files are written atomically (temporary file, then rename), so concurrent runs can share a folder; an
  unreadable or corrupt file is logged and refetched. Delete the folder to refresh.
- ``search_depth`` (``"basic"``; or ``"advanced"``, ``"fast"``, ``"ultra-fast"``), ``topic`` (None: Tavily's default
  ``"general"``; or ``"news"``, ``"finance"``), ``include_domains`` / ``exclude_domains`` (sequences of domains):
  passed to Tavily's search endpoint.
- ``max_concurrency`` (4): threads used by ``batch_search``.
- ``max_response_bytes`` (64 MiB, as the ``remote`` engine): a reply longer than this is refused (not retried)
  without being read whole.

Results: ``SearchResult(doc_id=url, text=content, score=score, title=title)``, best (highest score) first, at most
``min(k, 20)`` (Tavily's limit).

Errors: every network or server fault ends in :class:`~rezero_env.search.base.SearchError` once retries are spent,
with a message written for the agent to read, e.g. ``the web search service returned HTTP 500 (gave up after 4
attempts)``, ``the web search timed out after 10 s (gave up after 4 attempts)`` or ``the web search service sent a
malformed reply: the body is not JSON``. The environment turns it into the observation ``Search failed: …`` and the
episode goes on.

Secrets: the API key (and a password or query values in ``base_url``) is masked as ``***`` in every error, log
record, result and cache file, and never shown by ``repr``, even when the service echoes it, whole or in part (see
:class:`~rezero_env.search.network.Redactor`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from rezero_env.search.base import SearchError
from rezero_env.search.network import (
    MASK,
    Deadline,
    Fault,
    Redactor,
    StepBudget,
    attempt_deadline,
    check_seconds,
    current_deadline,
    loads_json,
    parse_retry_after,
    retry_delay,
    url_secrets,
    wait_phrase,
)
from rezero_env.types import Document, SearchResult

if TYPE_CHECKING:
    import requests
    import requests.adapters

logger = logging.getLogger(__name__)

API_KEY_ENV = "TAVILY_API_KEY"
BASE_URL_ENV = "TAVILY_BASE_URL"
DEFAULT_BASE_URL = "https://api.tavily.com"
#: The most results Tavily returns for one search.
MAX_RESULTS = 20
SEARCH_DEPTHS = ("basic", "advanced", "fast", "ultra-fast")
TOPICS = ("general", "news", "finance")
#: Bumped when the cache file layout or the key derivation changes (old files are then simply not found).
CACHE_VERSION = 1
#: The longest reply read (as the ``remote`` engine); a longer one is refused.
MAX_RESPONSE_BYTES = 64 * 2**20


class WebSearch:
    """Tavily web search; implements :class:`~rezero_env.search.base.SearchEngine` (options: see the module docs).

    Args:
        documents: Ignored (the web is the corpus); accepted because engines built by name receive the dataset's
            documents.

    Raises:
        ValueError: for a missing API key (naming ``TAVILY_API_KEY``), a base URL that is not http(s), or a bad option.
        ImportError: when ``tavily-python`` (>= 0.7.23) is not installed.

    Example:
        >>> engine = WebSearch(api_key="tvly-not-a-real-key", base_url="http://127.0.0.1:9")
        >>> engine
        WebSearch(base_url='http://127.0.0.1:9', api_key='***', search_depth='basic', timeout=10.0, max_retries=3, \
cache_dir=None)
        >>> engine.search("   ", k=5)  # a blank query sends no request
        []
    """

    _local: threading.local
    _lock: threading.Lock
    _sessions: list[requests.Session]

    def __init__(
        self,
        documents: Sequence[Document] | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        cache_dir: str | os.PathLike[str] | None = None,
        search_depth: str = "basic",
        topic: str | None = None,
        include_domains: Sequence[str] | None = None,
        exclude_domains: Sequence[str] | None = None,
        max_concurrency: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        total_timeout: float | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        del documents
        self._api_key = _resolve_api_key(api_key)
        self.base_url = _resolve_base_url(base_url)
        self._redact = Redactor([self._api_key, *url_secrets(self.base_url)])
        self.timeout = check_seconds("WebSearch option", "timeout", timeout, positive=True)
        self.backoff = check_seconds("WebSearch option", "backoff", backoff)
        self.max_backoff = check_seconds("WebSearch option", "max_backoff", max_backoff)
        counts = (("max_retries", max_retries, 0), ("max_concurrency", max_concurrency, 1))
        for name, value, low in (*counts, ("max_response_bytes", max_response_bytes, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"WebSearch option {name} must be an integer >= {low}, got {value!r}")
        if search_depth not in SEARCH_DEPTHS:
            raise ValueError(f"WebSearch option search_depth must be one of {SEARCH_DEPTHS}, got {search_depth!r}")
        if topic is not None and topic not in TOPICS:
            raise ValueError(f"WebSearch option topic must be one of {TOPICS} or None, got {topic!r}")
        self.max_retries = max_retries
        default_total = (max_retries + 1) * self.timeout + self.max_backoff
        self.total_timeout = check_seconds(
            "WebSearch option",
            "total_timeout",
            default_total if total_timeout is None else total_timeout,
            positive=True,
        )
        self.search_depth = search_depth
        self.topic = topic
        self.include_domains = _domains("include_domains", include_domains)
        self.exclude_domains = _domains("exclude_domains", exclude_domains)
        self.max_concurrency = max_concurrency
        self.max_response_bytes = max_response_bytes
        self.sleep = sleep
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if self.cache_dir is not None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ValueError(f"WebSearch cannot create cache_dir {str(self.cache_dir)!r}: {error}") from None
        self._tavily = _import_tavily()
        self._init_clients()

    def __repr__(self) -> str:
        cache_dir = None if self.cache_dir is None else str(self.cache_dir)
        return (
            f"{type(self).__name__}(base_url={self._redact(self.base_url)!r}, api_key={MASK!r}, "
            f"search_depth={self.search_depth!r}, "
            f"timeout={self.timeout}, max_retries={self.max_retries}, cache_dir={cache_dir!r})"
        )

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Return at most ``k`` web results for ``query``, best first (from the cache when it has them).

        Raises:
            SearchError: when the service cannot be reached or answers with an error or garbage, after retries.
        """
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"k must be an int, got {type(k).__name__}")
        if k < 1 or not query.strip():
            return []
        max_results = min(k, MAX_RESULTS)
        key = self._cache_key(query, max_results)
        cached = self._cache_get(key)
        if cached is not None:
            self._redact.log(logger, logging.DEBUG, "Web search %r: answered from the cache", query)
            return self._redact.results(cached[:k])  # a file written before secrets were masked in results
        results = self._redact.results(self._fetch(query, max_results))
        self._cache_put(key, query, max_results, results)
        return results[:k]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Return :meth:`search` results for each query, in order, running up to ``max_concurrency`` at once.

        Raises:
            SearchError: the first failure among the queries (the others still complete and are cached).
        """
        queries = list(queries)
        if len(queries) <= 1 or self.max_concurrency == 1:
            return [self.search(query, k) for query in queries]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(queries))) as pool:
            futures = [pool.submit(self.search, query, k) for query in queries]
            return [future.result() for future in futures]

    def close(self) -> None:
        """Close the HTTP connections opened so far (the engine stays usable and reopens them when needed)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_local", "_lock", "_sessions", "_tavily"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tavily = _import_tavily()
        self._init_clients()

    # -- the request ---------------------------------------------------------------------------------------------

    def _fetch(self, query: str, max_results: int) -> list[SearchResult]:
        """Ask Tavily, retrying retryable faults with exponential backoff within ``total_timeout``; SearchError when it
        gives up."""
        budget = StepBudget(self.total_timeout)
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                with attempt_deadline(budget, self.timeout) as deadline:
                    return self._attempt(query, max_results, deadline)
            except Fault as fault:
                if not fault.retryable:
                    self._give_up(query, fault.message)
                gave_up = f"gave up after {attempt + 1} attempt{'s' if attempt else ''}"
                if attempt + 1 == attempts or fault.out_of_time:
                    self._give_up(query, f"{fault} ({gave_up})")
                delay = retry_delay(attempt, self.backoff, self.max_backoff, fault.retry_after)
                if delay >= budget.remaining():
                    wait = wait_phrase(delay, fault)
                    self._give_up(
                        query, f"{fault} ({gave_up}: {wait} would pass the total_timeout of {self.total_timeout:g} s)"
                    )
                self._redact.log(
                    logger,
                    logging.INFO,
                    "Web search %r: %s; retrying in %.2f s (attempt %d of %d)",
                    query,
                    fault,
                    delay,
                    attempt + 2,
                    attempts,
                )
                budget.wait(delay, self.sleep)
        raise AssertionError("unreachable")  # pragma: no cover

    def _give_up(self, query: str, message: str) -> NoReturn:
        """Log and raise the SearchError that ends a search (secrets masked)."""
        message = self._redact(message)
        self._redact.log(logger, logging.WARNING, "Web search %r failed: %s", query, message)
        raise SearchError(message) from None

    def _attempt(self, query: str, max_results: int, deadline: Deadline) -> list[SearchResult]:
        """One request within ``deadline``; every failure becomes a :class:`Fault` with a message free of secrets."""
        import requests

        errors = self._tavily.errors
        options: dict[str, Any] = {"search_depth": self.search_depth, "max_results": max_results}
        if self.topic is not None:
            options["topic"] = self.topic
        if self.include_domains:
            options["include_domains"] = list(self.include_domains)
        if self.exclude_domains:
            options["exclude_domains"] = list(self.exclude_domains)
        if deadline.seconds < self.timeout:  # cut short by total_timeout
            timed_out = Fault(
                f"the web search ran out of its total_timeout of {self.total_timeout:g} s", True, out_of_time=True
            )
        else:
            timed_out = Fault(f"the web search timed out after {self.timeout:g} s", retryable=True)
        if deadline.remaining() <= 0:
            raise timed_out
        self._redact.log(logger, logging.DEBUG, "Web search %r: POST %s/search", query, self.base_url)
        try:
            reply = self._client().search(query, timeout=max(deadline.remaining(), 1e-3), **options)
        except Fault as fault:
            if deadline.expired:
                raise timed_out from None
            raise Fault(self._redact(fault.message), fault.retryable, fault.retry_after) from None
        except (requests.Timeout, errors.TimeoutError):
            raise timed_out from None
        except requests.ConnectionError as error:
            reason = _reason(error)
            if deadline.expired or "Timeout" in reason:  # a body that stops arriving surfaces as a ConnectionError
                raise timed_out from None
            raise Fault(f"could not connect to the web search service: {reason}", retryable=True) from None
        except (
            requests.RequestException,
            ValueError,
            errors.UsageLimitExceededError,
            errors.BadRequestError,
            errors.ForbiddenError,
            errors.InvalidAPIKeyError,
            errors.MissingAPIKeyError,
        ) as error:
            if deadline.expired:
                raise timed_out from None
            # Not expected (the response hook classifies replies first); kept so a client change cannot crash step().
            message = self._redact(f"{type(error).__name__}: {error}")
            raise Fault(f"the web search request failed ({message})", retryable=False) from None
        try:
            return _parse_results(reply)
        except ValueError as error:
            raise Fault(self._redact(f"the web search service sent a malformed reply: {error}"), False) from None

    def _client(self) -> Any:
        """This thread's ``TavilyClient`` (requests sessions are not shared between threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            import requests

            session = requests.Session()
            adapter = _deadline_adapter_class()()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            check = functools.partial(_check_reply, redact=self._redact, limit=self.max_response_bytes)
            session.hooks["response"].append(check)
            client = self._tavily.TavilyClient(
                api_key=self._api_key, api_base_url=self.base_url, client_source="rezero", session=session
            )
            self._local.client = client
            with self._lock:
                self._sessions.append(session)
        return client

    def _init_clients(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions = []

    # -- the cache -----------------------------------------------------------------------------------------------

    def _request_fields(self, query: str, max_results: int) -> dict[str, Any]:
        """What identifies a request (and so its cache file); never the key."""
        return {
            "base_url": self.base_url,
            "query": query,
            "max_results": max_results,
            "search_depth": self.search_depth,
            "topic": self.topic,
            "include_domains": list(self.include_domains),
            "exclude_domains": list(self.exclude_domains),
        }

    def _cache_key(self, query: str, max_results: int) -> str:
        fields = {"cache_version": CACHE_VERSION, **self._request_fields(query, max_results)}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _cache_path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / f"{key}.json"

    def _cache_get(self, key: str) -> list[SearchResult] | None:
        path = self._cache_path(key)
        if path is None or not path.is_file():
            return None
        try:
            entry = loads_json(path.read_text(encoding="utf-8"))
            if not isinstance(entry, dict) or entry.get("cache_version") != CACHE_VERSION:
                raise ValueError("not a rezero web-search cache entry")
            return _parse_results(entry.get("reply"))
        except (OSError, ValueError) as error:
            self._redact.log(
                logger,
                logging.WARNING,
                "Ignoring unreadable web-search cache file %s (%s); fetching again",
                path,
                error,
            )
            return None

    def _cache_put(self, key: str, query: str, max_results: int, results: list[SearchResult]) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        entry = {
            "cache_version": CACHE_VERSION,
            "request": self._request_fields(query, max_results),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "reply": {
                "results": [{"url": r.doc_id, "title": r.title, "content": r.text, "score": r.score} for r in results]
            },
        }
        text = self._redact(json.dumps(entry, ensure_ascii=False, indent=1))
        temporary: str | None = None
        try:
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=path.parent, prefix=f".{key[:16]}.", suffix=".tmp", delete=False
            ) as handle:
                temporary = handle.name
                handle.write(text)
            os.replace(temporary, path)
        except OSError as error:
            logger.warning("Could not write the web-search cache file %s: %s", path, error)
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


def _check_reply(
    response: requests.Response,
    *args: Any,
    redact: Callable[[str], str],
    limit: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> None:
    """requests response hook: classify each reply before the Tavily client parses it (``redact`` masks secrets in
    the service's error text before it is shortened; a body over ``limit`` bytes is refused, read no further).

    Raising here is the only way to see what the client hides: it fills a missing ``results`` with ``[]`` and maps
    status codes to its own exceptions (or ``raise None`` for codes it does not know).
    """
    del args, kwargs
    if response.is_redirect:
        return
    body = _read_capped(response, limit)  # reads the body now, so the connection goes back to the pool
    status = response.status_code
    if status == 200:
        try:
            data = loads_json(body)
        except ValueError as error:
            what = "nested too deeply" if "nested" in str(error) else "not JSON"
            raise Fault(f"the web search service sent a malformed reply: the body is {what}", False) from None
        if not isinstance(data, dict):
            kind = type(data).__name__
            raise Fault(f"the web search service sent a malformed reply: a JSON {kind}, not an object", False)
        if "results" not in data:
            raise Fault("the web search service sent a malformed reply: no 'results' field", False)
        return
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429:
        raise Fault("the web search service is rate-limiting requests (HTTP 429)", True, retry_after)
    if status >= 500:
        raise Fault(f"the web search service returned HTTP {status}", True, retry_after)
    if status == 401:
        raise Fault(f"the web search service rejected the API key (HTTP 401); check {API_KEY_ENV}", False)
    if status in (403, 432, 433):
        raise Fault(f"the web search service refused the request (HTTP {status}: forbidden or plan limit)", False)
    detail = _detail(body, redact)
    raise Fault(f"the web search service returned HTTP {status}{f': {detail}' if detail else ''}", False)


def _read_capped(response: requests.Response, limit: int) -> bytes:
    """The body of ``response``, at most ``limit`` bytes of it (a :class:`Fault` when it is longer; the rest is never
    read), kept as ``response.content`` for the Tavily client."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise Fault(f"the web search service sent a reply over {limit} bytes", retryable=False)
    if getattr(response, "_content_consumed", False):
        body: bytes = response.content or b""
    else:
        chunks, size = [], 0
        for chunk in response.iter_content(chunk_size=1 << 16):  # requests' errors, as .content would raise
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                break
        body = b"".join(chunks)
        response._content = body  # kept for the Tavily client
    if len(body) > limit:
        response.close()
        raise Fault(f"the web search service sent a reply over {limit} bytes", retryable=False)
    return body


@functools.cache
def _deadline_adapter_class() -> type[requests.adapters.HTTPAdapter]:
    """A requests transport adapter whose connections the current :class:`~rezero_env.search.network.Deadline`
    shuts down when it passes (built on first use: requests and urllib3 come with the ``web`` extra)."""
    import requests.adapters
    import urllib3
    import urllib3.connection

    def watch_socket(connection: Any) -> None:
        deadline = current_deadline()
        if deadline is not None and connection.sock is not None:
            # The socket itself: http.client drops the connection's reference to it when the reply says
            # "Connection: close", while the body is still being read from it.
            deadline.watch(connection.sock)

    class WatchedHTTPConnection(urllib3.connection.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            watch_socket(self)

    class WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            watch_socket(self)

    class WatchedHTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            connection = super()._get_conn(timeout)
            watch_socket(connection)  # a kept-alive connection, already connected
            return connection

    class WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            connection = super()._get_conn(timeout)
            watch_socket(connection)
            return connection

    stock = {"http": urllib3.HTTPConnectionPool, "https": urllib3.HTTPSConnectionPool}
    watched = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class DeadlineAdapter(requests.adapters.HTTPAdapter):
        """HTTPAdapter with deadline-watched pools (direct and through HTTP proxies; SOCKS proxies keep their own
        pools, bounded by the per-read timeout only)."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = watched

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if getattr(manager, "pool_classes_by_scheme", None) == stock:
                manager.pool_classes_by_scheme = watched
            return manager

    return DeadlineAdapter


def _parse_results(reply: object) -> list[SearchResult]:
    """Check a reply's ``results`` and turn them into ``SearchResult`` s, highest score first.

    Raises:
        ValueError: naming the first field that is missing or has the wrong type.
    """
    if not isinstance(reply, Mapping):
        raise ValueError(f"the reply is a {type(reply).__name__}, not an object")
    items = reply.get("results")
    if not isinstance(items, list):
        raise ValueError(f"'results' is {'missing' if items is None else 'a ' + type(items).__name__}, not a list")
    results = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValueError(f"results[{index}] is a {type(item).__name__}, not an object")
        url, content, score, title = item.get("url"), item.get("content"), item.get("score"), item.get("title")
        if not isinstance(url, str) or not url:
            raise ValueError(f"results[{index}].url must be a non-empty string, got {url!r:.80}")
        if not isinstance(content, str):
            raise ValueError(f"results[{index}].content must be a string, got {content!r:.80}")
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
            raise ValueError(f"results[{index}].score must be a number, got {score!r:.80}")
        if title is not None and not isinstance(title, str):
            raise ValueError(f"results[{index}].title must be a string, got {title!r:.80}")
        results.append(SearchResult(doc_id=url, text=content, score=float(score), title=title or None))
    return sorted(results, key=lambda result: -result.score)  # stable: Tavily's order breaks ties


def _resolve_api_key(api_key: str | None) -> str:
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV)
    if api_key is not None and not isinstance(api_key, str):
        raise ValueError(f"WebSearch option api_key must be a string, got {type(api_key).__name__}")
    if not api_key or not api_key.strip():
        raise ValueError(
            f"The web search engine needs a Tavily API key: set the {API_KEY_ENV} environment variable "
            "(or pass api_key in search_options)"
        )
    return api_key.strip()


def _resolve_base_url(base_url: str | None) -> str:
    source = "base_url"
    if base_url is None:
        base_url, source = os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL, BASE_URL_ENV
    if not isinstance(base_url, str):
        raise ValueError(f"WebSearch option base_url must be a string, got {type(base_url).__name__}")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{source} must be an http:// or https:// URL such as {DEFAULT_BASE_URL!r}, got {base_url!r}")
    return base_url.strip().rstrip("/")


def _domains(name: str, domains: Sequence[str] | None) -> tuple[str, ...]:
    if domains is None:
        return ()
    if isinstance(domains, str) or not all(isinstance(domain, str) and domain for domain in domains):
        raise ValueError(f"WebSearch option {name} must be a list of domain names, got {domains!r}")
    return tuple(domains)


def _import_tavily() -> Any:
    """Import ``tavily`` (and its ``errors`` module), explaining how to install it when it is missing or too old."""
    try:
        import tavily
        import tavily.errors
    except ImportError as error:
        raise ImportError(
            "The web search engine needs tavily-python: pip install 'rezero[web]' (or pip install tavily-python)"
        ) from error
    if "session" not in inspect.signature(tavily.TavilyClient).parameters:
        try:
            version = importlib.metadata.version("tavily-python")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        raise ImportError(
            f"The web search engine needs tavily-python >= 0.7.23 (found {version}): pip install -U 'rezero[web]'"
        )
    return tavily


def _detail(body: bytes, redact: Callable[[str], str]) -> str:
    """Tavily's error text (``{"detail": {"error": "..."}}``) from an error reply, if it has one, secrets masked,
    then shortened."""
    try:
        detail = loads_json(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    if isinstance(detail, Mapping):
        detail = detail.get("error")
    return redact(detail)[:200] if isinstance(detail, str) else ""


def _reason(error: BaseException) -> str:
    """A short name for the root cause of a connection error (e.g. ``ConnectionRefusedError``), without addresses."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else error.__context__
        if inner is None:
            break
        error = inner
    return type(error).__name__
