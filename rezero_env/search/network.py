"""What the network engines (``web``, ``remote``) share: secret redaction, request deadlines and retry waits.

- :class:`Redactor` replaces every configured secret (API keys, header values, URL passwords) with ``***`` in every
  string an engine produces: error messages, log records and the results themselves (a server may echo a token in
  an error body or in a result). It is the only place secrets are recognised, so both engines redact the same way.
- :class:`Deadline` bounds one HTTP request as a whole (connect, headers and body): when it passes, the request's
  socket is shut down, so a server dripping one byte at a time cannot hold a step beyond ``timeout``;
  :func:`deadline_opener` is urllib's opener with connections a deadline watches (the ``remote`` engine and the
  ``llm`` judge's endpoint use it), :func:`error_detail` a short excerpt of an error reply, secrets masked.
- :class:`StepBudget` bounds one search across its attempts and the waits between them (``total_timeout``);
  :func:`retry_delay` and :func:`parse_retry_after` give both engines the same backoff and ``Retry-After`` rules,
  and :class:`Fault` the same description of a failed attempt.
- :func:`loads_json` decodes a reply, turning a ``RecursionError`` (deeply nested JSON) into a ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import functools
import http.client
import json
import logging
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from rezero_env.types import SearchResult

logger = logging.getLogger(__name__)

MASK = "***"
#: Secrets shorter than this are not redacted (a two-digit shard number is not a credential, and masking it would
#: mangle results).
MIN_SECRET_CHARS = 4
#: A secret this long or longer is also masked where only part of it appears (a server quoting the first characters
#: of a key, or an excerpt cut in the middle of one): any run of this many of its characters is masked.
WINDOW_CHARS = 8
#: Header values that describe the request rather than authenticate it, so they are never treated as secrets.
PUBLIC_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "connection",
        "content-encoding",
        "content-type",
        "pragma",
        "user-agent",
    }
)


class Redactor:
    """Masks secrets (case-insensitively, whole or in runs of :data:`WINDOW_CHARS` characters) with ``***``.

    Each secret is also recognised URL-encoded and JSON-escaped; a header value ``"<scheme> <credentials>"`` (such
    as ``Bearer <token>``) contributes its credentials alone too, and a ``Basic`` one its decoded ``user:password``
    and password.

    Example:
        >>> redact = Redactor(["Bearer sk-4f9c2a7e81d3b6a0"])
        >>> redact("invalid token Bearer sk-4f9c2a7e81d3b6a0; key sk-4f9c2a7e... expired")
        'invalid token ***; key ***... expired'
        >>> redact("nothing secret here")
        'nothing secret here'
    """

    def __init__(self, secrets: Iterable[str | bytes]) -> None:
        whole: set[str] = set()
        for secret in secrets:
            for part in _credential_parts(secret):
                whole.update(_encodings(part))
        whole = {value for value in whole if len(value) >= MIN_SECRET_CHARS}
        windows = {
            value[i : i + WINDOW_CHARS]
            for value in whole
            if len(value) > WINDOW_CHARS and " " not in value
            for i in range(len(value) - WINDOW_CHARS + 1)
        }
        self._whole = tuple(sorted(whole, key=len, reverse=True))
        self._windows = tuple(sorted(windows - whole))

    @classmethod
    def for_headers(cls, headers: Mapping[str, str | bytes], *more: str | bytes | None) -> Redactor:
        """A redactor for the values of ``headers`` (but those in :data:`PUBLIC_HEADERS`) and the ``more`` secrets."""
        values = [value for name, value in headers.items() if str(name).strip().lower() not in PUBLIC_HEADERS]
        return cls([*values, *(secret for secret in more if secret)])

    def __bool__(self) -> bool:
        return bool(self._whole)

    def __call__(self, text: str) -> str:
        """``text`` with every secret masked (each maximal run of secret characters becomes one ``***``).

        Linear in ``len(text)`` per secret: whole secrets, longest first, are blotted out of a lowered copy with
        ``str.replace``; then the runs of :data:`WINDOW_CHARS` characters of a secret left (parts of one) are found;
        each maximal blotted or found stretch is masked in the original.
        """
        if not self._whole or not text:
            return text
        haystack, lowered = text.lower(), True
        if len(haystack) != len(text):  # lower() changed the length (rare Unicode): match case-sensitively
            haystack, lowered = text, False
        blot = _absent_character(text)
        for secret in self._whole:
            needle = secret.lower() if lowered else secret
            if needle in haystack:
                haystack = haystack.replace(needle, blot * len(needle))
        spans = [run.span() for run in re.finditer(re.escape(blot) + "+", haystack)]
        for window in self._windows:
            needle = window.lower() if lowered else window
            start = haystack.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle)))
                start = haystack.find(needle, start + 1)
        if not spans:
            return text
        spans.sort()
        pieces, end = [], 0
        merged_start, merged_end = spans[0]
        for start, stop in spans[1:]:
            if start <= merged_end:
                merged_end = max(merged_end, stop)
                continue
            pieces += [text[end:merged_start], MASK]
            end, (merged_start, merged_end) = merged_end, (start, stop)
        pieces += [text[end:merged_start], MASK, text[merged_end:]]
        return "".join(pieces)

    def result(self, result: SearchResult) -> SearchResult:
        """``result`` with its id, text and title redacted (the same object when nothing needed masking)."""
        doc_id, text = self(result.doc_id), self(result.text)
        title = None if result.title is None else self(result.title)
        if (doc_id, text, title) == (result.doc_id, result.text, result.title):
            return result
        return SearchResult(doc_id=doc_id, text=text, score=result.score, title=title)

    def results(self, results: Iterable[SearchResult]) -> list[SearchResult]:
        """:meth:`result` of each result, in order."""
        return [self.result(result) for result in results]

    def log(self, log: logging.Logger, level: int, message: str, *args: object) -> None:
        """Log ``message % args`` at ``level`` with every secret masked (formatted only when the level is enabled)."""
        if log.isEnabledFor(level):
            log.log(level, "%s", self(message % args if args else message))


def _absent_character(text: str) -> str:
    """A character that does not occur in ``text`` (NUL, else one from the private use area)."""
    for code in (0, *range(0xE000, 0xF900)):
        if chr(code) not in text:
            return chr(code)
    raise ValueError("the text uses every private-use character")  # pragma: no cover - 6,400 distinct characters


def _credential_parts(secret: str | bytes) -> list[str]:
    """The strings a secret can show up as: itself, the credentials of ``<scheme> <credentials>``, and for
    ``Basic`` the decoded ``user:password`` and the password."""
    if isinstance(secret, bytes):
        secret = secret.decode("latin-1")
    secret = str(secret).strip()
    parts = [secret]
    scheme, _, credentials = secret.partition(" ")
    credentials = credentials.strip()
    if credentials:
        parts.append(credentials)
        if scheme.lower() == "basic":
            with suppress(binascii.Error, ValueError):
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
                parts += [decoded, decoded.partition(":")[2]]
    return [part for part in parts if part]


def _encodings(value: str) -> set[str]:
    """``value`` as it is, URL-encoded (both ways) and JSON-escaped."""
    return {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value), json.dumps(value)[1:-1]}


def url_secrets(url: str) -> list[str]:
    """The parts of ``url`` that :func:`~rezero_env.search.remote.display_url` hides: the password of its user info
    and the values of its query string.

    Example:
        >>> url_secrets("http://trainer:pa55word@host:8000/retrieve?token=abc123&x=1")
        ['pa55word', 'abc123', '1']
    """
    parts = urllib.parse.urlsplit(url)
    secrets = [urllib.parse.unquote(parts.password)] if parts.password else []
    return secrets + [value for _, value in urllib.parse.parse_qsl(parts.query) if value]


# --- deadlines ------------------------------------------------------------------------------------------------------

_current = threading.local()


class Deadline:
    """The end of one HTTP request: a watchdog shuts down the sockets of the connections it watches at that time.

    Use as a context manager around the request; connections register themselves with :meth:`watch` (directly, or
    through :func:`current_deadline` in code that cannot be handed the deadline). A shut-down socket makes the
    blocked read return or raise at once, whatever the per-read timeout; the caller then checks :attr:`expired` to
    report a timeout rather than the connection error the shutdown causes.

    Example:
        >>> with Deadline(5.0) as deadline:
        ...     0 < deadline.remaining() <= 5.0
        True
        >>> deadline.expired
        False
    """

    #: How often the watchdog looks again once the deadline has passed (for a connection still being opened then).
    POLL_SECONDS = 0.05

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.expires = time.monotonic() + self.seconds
        self.expired = False
        self._watched: list[Any] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._done = False
        self._previous: Deadline | None = None

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self.expires - time.monotonic())

    def watch(self, target: Any) -> None:
        """Shut down ``target``'s socket when the deadline passes; ``target`` is a socket or a connection object with
        a ``sock`` attribute (``http.client`` and urllib3 connections), which may still be ``None`` (not connected)."""
        with self._lock:
            self._watched.append(target)
            expired = self.expired
        if expired:
            _shutdown(target)

    def __enter__(self) -> Deadline:
        self._previous = getattr(_current, "deadline", None)
        _current.deadline = self
        self._arm(self.seconds)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _current.deadline = self._previous
        with self._lock:
            self._done = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def _arm(self, seconds: float) -> None:
        with self._lock:
            if self._done:
                return
            self._timer = threading.Timer(max(0.0, seconds), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            watched = list(self._watched)
        for target in watched:
            _shutdown(target)
        self._arm(self.POLL_SECONDS)  # again soon, for a connection that was being opened


def current_deadline() -> Deadline | None:
    """The :class:`Deadline` this thread is inside, if any."""
    deadline: Deadline | None = getattr(_current, "deadline", None)
    return deadline


def _shutdown(target: Any) -> None:
    sock = target if isinstance(target, socket.socket) else getattr(target, "sock", None)
    if sock is None:
        return
    with suppress(OSError, AttributeError, ValueError):
        sock.shutdown(socket.SHUT_RDWR)


class WatchedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket the current :class:`Deadline` shuts down when it passes (the socket itself,
    which the response keeps reading from after urllib drops the connection's reference to it)."""

    def connect(self) -> None:
        super().connect()
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)


class WatchedHTTPSConnection(http.client.HTTPSConnection):
    """:class:`WatchedHTTPConnection` for HTTPS (the TLS socket is watched)."""

    def connect(self) -> None:
        super().connect()
        deadline = current_deadline()
        if deadline is not None:
            deadline.watch(self.sock)


class DeadlineHTTPHandler(urllib.request.HTTPHandler):
    """urllib's HTTP handler, with connections the current :class:`Deadline` cuts when it passes."""

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(WatchedHTTPConnection, req)


class DeadlineHTTPSHandler(urllib.request.HTTPSHandler):
    """urllib's HTTPS handler, with connections the current :class:`Deadline` cuts when it passes."""

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(
            WatchedHTTPSConnection,
            req,
            context=self._context,  # type: ignore[attr-defined]
            check_hostname=self._check_hostname,  # type: ignore[attr-defined]
        )


@functools.cache
def deadline_opener() -> urllib.request.OpenerDirector:
    """urllib's default opener (proxies from the environment, redirects) with the deadline-aware handlers."""
    return urllib.request.build_opener(DeadlineHTTPHandler, DeadlineHTTPSHandler)


def error_detail(error: urllib.error.HTTPError, redact: Callable[[str], str]) -> str:
    """A short excerpt of an error reply's body (FastAPI's ``detail`` when there is one), secrets masked before it is
    cut (so no part of a secret survives the cut)."""
    try:
        body = error.read(2048)
    except (OSError, http.client.HTTPException, ValueError):
        return ""
    try:
        decoded = loads_json(body)
        detail = decoded.get("detail", decoded) if isinstance(decoded, dict) else decoded
        text = detail if isinstance(detail, str) else json.dumps(detail)
    except ValueError:
        text = body.decode("utf-8", "replace")
    text = " ".join(redact(text).split())
    return f": {text[:300]}" if text else ""


class StepBudget:
    """The time one search may spend across its attempts and the waits between them (``total_timeout``).

    Waits are charged as requested, so a test's recording ``sleep`` uses the budget as a real one would.
    """

    def __init__(self, total: float) -> None:
        self.total = float(total)
        self._start = time.monotonic()
        self._charged = 0.0

    def spent(self) -> float:
        """Seconds used so far."""
        return time.monotonic() - self._start + self._charged

    def remaining(self) -> float:
        """Seconds left (0 once used up)."""
        return max(0.0, self.total - self.spent())

    def wait(self, seconds: float, sleep: Callable[[float], None]) -> None:
        """``sleep(seconds)``, charging ``seconds`` to the budget however long the call really took."""
        started = time.monotonic()
        sleep(seconds)
        self._charged += seconds - (time.monotonic() - started)


@contextmanager
def attempt_deadline(budget: StepBudget, timeout: float) -> Iterator[Deadline]:
    """A :class:`Deadline` for one attempt: ``timeout`` or what is left of ``budget``, whichever is shorter."""
    with Deadline(min(timeout, budget.remaining())) as deadline:
        yield deadline


class Fault(Exception):
    """One failed attempt of a network engine: what to tell the agent (``message``), whether another attempt may help
    (``retryable``), how long the server asked to wait (``retry_after``, seconds) and whether the attempt was cut by
    the step's ``total_timeout`` (``out_of_time``: no time is left for another)."""

    def __init__(
        self, message: str, retryable: bool, retry_after: float | None = None, *, out_of_time: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.out_of_time = out_of_time


def wait_phrase(delay: float, fault: Fault) -> str:
    """How a give-up message names the wait that would pass ``total_timeout``: the server's wish or the backoff.

    Example:
        >>> wait_phrase(5.0, Fault("HTTP 503", True, retry_after=50.0)), wait_phrase(0.5, Fault("HTTP 503", True))
        ('the server asked to wait 50 s, which', 'the next retry, in 0.5 s,')
    """
    if fault.retry_after is not None and fault.retry_after >= delay:
        return f"the server asked to wait {fault.retry_after:g} s, which"
    return f"the next retry, in {delay:g} s,"


def retry_delay(attempt: int, backoff: float, max_backoff: float, retry_after: float | None) -> float:
    """The wait before retry ``attempt`` (from 0): ``backoff * 2**attempt``, raised to the server's ``Retry-After``
    when it sent one, capped at ``max_backoff``.

    Example:
        >>> retry_delay(0, 0.5, 30.0, None), retry_delay(2, 0.5, 30.0, 7.0), retry_delay(1, 0.5, 30.0, 3600.0)
        (0.5, 7.0, 30.0)
    """
    delay = backoff * float(2**attempt)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, max_backoff)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date (None when absent or
    unreadable; a date in the past is 0).

    Example:
        >>> parse_retry_after("7"), parse_retry_after("soon"), parse_retry_after(None)
        (7.0, None, None)
        >>> parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now=40.0)
        60.0
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def loads_json(raw: bytes | str) -> Any:
    """``json.loads(raw)``, with JSON nested too deeply for Python's parser raising ``ValueError`` too.

    Raises:
        ValueError: ``json.JSONDecodeError`` or ``UnicodeDecodeError`` for a body that is not JSON, a plain
            ``ValueError`` for one nested too deeply.
    """
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply (over about 1,000 levels)") from None


def check_seconds(owner: str, name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a float, or a ValueError naming ``owner``'s option ``name`` when it is not a finite number of
    seconds ``>= 0`` (``> 0`` when ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner} {name} must be a finite number of seconds >= 0, got {value!r}")
    if positive and value == 0:
        raise ValueError(f"{owner} {name} must be > 0 seconds, got {value!r}")
    return float(value)


__all__ = [
    "MASK",
    "Deadline",
    "Fault",
    "Redactor",
    "StepBudget",
    "attempt_deadline",
    "check_seconds",
    "current_deadline",
    "deadline_opener",
    "error_detail",
    "loads_json",
    "parse_retry_after",
    "retry_delay",
    "url_secrets",
    "wait_phrase",
]
