"""What both network engines (``web`` and ``remote``) must guarantee, against scripted servers on 127.0.0.1:

- no configured secret (API key, header values) ever reaches an observation, ``info`` (from which rezero_agents
  writes the episode log), an error or a log record at any level, whether a server echoes it in an error or in
  results;
- a request ends at its ``timeout`` however slowly a server drips its reply, and a step ends at ``total_timeout``
  across retries; ``Retry-After`` is honoured, capped;
- a deeply nested JSON reply is a ``SearchError``, not a ``RecursionError``.
"""

from __future__ import annotations

import base64
import json
import logging
import shutil
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.search import SearchEngine, SearchError
from rezero_env.search.network import Redactor
from rezero_env.search.remote import RemoteSearch
from rezero_env.search.web import WebSearch
from tests.rezero_env.fake_http import Answer, Request, ScriptedServer

KEY = "tvly-dev-7Qk2Zr9XwLp4Ns8Vb3Hc"  # the web engine's API key
TOKEN = "sk-live-4f9c2a7e81d3b6a05e7d"  # the remote engine's bearer token
OTHER = "k3y-Zx81-Qw93-Lm27-Po46"  # a second remote header secret
BASIC_PASSWORD = "hunter2-Wq8Rt5Yu"  # inside a Basic Authorization header
ENGINES = ("web", "remote")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    monkeypatch.delenv("TAVILY_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class Sleeps(list[float]):
    """Records the backoff waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_engine(kind: str, server: ScriptedServer, **options: Any) -> SearchEngine:
    if kind == "web":
        return WebSearch(api_key=KEY, base_url=server.url, **options)
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": OTHER}
    return RemoteSearch(url=server.url + "/retrieve", headers=headers, **options)


def ok_reply(kind: str, text: str = "An ordinary passage.", pad: int = 0) -> dict[str, Any]:
    """A valid reply of one result for one query (padded with ``pad`` characters)."""
    if kind == "web":
        results = [{"url": "https://example.org/a", "title": "A page", "content": text, "score": 0.5}]
        return {"results": results, "pad": "x" * pad}
    return {"result": [[{"document": {"id": "a", "contents": f'"A page"\n{text}'}, "score": 1.0}]], "pad": "x" * pad}


def leaks(text: str, *secrets: str) -> list[str]:
    """Every 8-character piece of a secret that ``text`` contains (case-insensitively): a secret cut by a length
    limit must not leak its first half either."""
    low = text.lower()
    return [s[i : i + 8] for s in secrets for i in range(len(s) - 7) if s[i : i + 8].lower() in low]


# --- secrets ------------------------------------------------------------------------------------------------------


def web_answers(request: Request) -> list[Answer]:
    """Replies echoing the key that the web engine sent (its Authorization header)."""
    auth = request.headers.get("Authorization", "")
    return [
        Answer(401, {"detail": {"error": f"invalid key {auth}"}}),
        Answer(400, {"detail": {"error": "x" * 190 + auth}}),  # the key straddles the 200-character cut
        Answer(422, {"detail": {"error": urllib.parse.quote(KEY)}}),
        Answer(500, {"detail": {"error": f"upstream rejected {KEY}"}}),
        Answer(429, {"detail": {"error": KEY}}, headers={"Retry-After": "0"}),
        Answer(200, {"results": [{"url": "u", "content": "c", "score": 1, "title": ["x" * 70 + KEY]}]}),
        Answer(200, {"results": [{"url": f"https://x.org/?k={KEY}", "title": f"T {KEY}", "content": KEY, "score": 1}]}),
        Answer(
            200, {"results": [{"url": "https://x.org/b", "title": "B", "content": f"key={KEY.upper()}", "score": 1}]}
        ),
    ]


def remote_answers(request: Request) -> list[Answer]:
    """Replies echoing the headers the remote engine sent."""
    auth, other = request.headers.get("Authorization", ""), request.headers.get("X-Api-Key", "")
    hits = [
        {"document": {"id": TOKEN, "contents": f'"Title {other}"\ntext {auth}'}, "score": 1.0},
        {"document": {"id": "b", "title": f"about {TOKEN}", "text": f"token={urllib.parse.quote(TOKEN)}"}},
    ]
    return [
        Answer(401, {"detail": f"invalid token {auth}"}),
        Answer(403, f"forbidden for {auth} and {other}".encode()),  # not JSON
        Answer(400, {"detail": "x" * 290 + auth}),  # the token straddles the 300-character cut
        Answer(404, {"detail": {"nested": [other, json.dumps(TOKEN)]}}),
        Answer(503, {"detail": f"overloaded; your key {other}"}),
        Answer(200, {"oops": 1, other: 2}),  # malformed: the error lists its keys
        Answer(200, {"result": [[{"document": {"id": [TOKEN], "contents": "x"}}]]}),  # malformed id, echoed
        Answer(200, {"result": [hits]}),
    ]


@pytest.mark.parametrize("kind", ENGINES)
def test_secrets_never_leave_an_engine(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    scripts = web_answers if kind == "web" else remote_answers
    secrets = (KEY,) if kind == "web" else (TOKEN, OTHER)
    with ScriptedServer(lambda n, request: scripts(request)[n]) as server:
        engine = make_engine(kind, server, max_retries=0, timeout=5)
        produced: list[str] = [repr(engine), str(engine)]
        observations: list[str] = []
        env = SearchQAEnv(search_engine=engine)
        for turn in range(len(scripts(Request("", {}, b"")))):
            env.reset(seed=turn)
            observation, _, _, _, info = env.step(f"<search>question {turn}</search>")
            observations.append(observation)
            produced += [observation, json.dumps(info, default=str)]
        sent = [request.headers.get("Authorization", "") for request in server.received]
    replies = [answer.status for answer in scripts(Request("", {}, b""))]
    assert len(sent) == len(replies) and all(secrets[0] in header for header in sent)
    failed = ["Search failed" in observation for observation in observations]
    n_failures = 6 if kind == "web" else 7  # the replies above: errors first, then results
    assert failed == [True] * n_failures + [False] * (len(replies) - n_failures)
    assert caplog.records
    assert leaks("\n".join(produced), *secrets) == []
    assert leaks(caplog.text, *secrets) == []
    assert sum("***" in observation for observation in observations) >= 4  # echoed secrets were there to redact


@pytest.mark.parametrize("kind", ENGINES)
def test_secrets_are_redacted_from_results_and_raised_errors(kind: str) -> None:
    secret = KEY if kind == "web" else TOKEN

    def answer(n: int, request: Request) -> Answer:
        if n == 0:
            return Answer(200, ok_reply(kind, text=f"the secret is {secret}"))
        return Answer(418, {"detail": {"error": f"teapot {secret}"} if kind == "web" else f"teapot {secret}"})

    with ScriptedServer(answer) as server:
        engine = make_engine(kind, server, max_retries=0)
        (result,) = engine.search("q", k=1)
        with pytest.raises(SearchError) as caught:
            engine.search("q2", k=1)
    assert result.text == "the secret is ***"
    assert "teapot ***" in str(caught.value) and leaks(str(caught.value) + repr(caught.value), secret) == []


def test_remote_redacts_basic_credentials_and_url_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"trainer:{BASIC_PASSWORD}".encode()).decode()

    def answer(n: int, request: Request) -> Answer:
        return Answer(200, ok_reply("remote", text=f"pw {BASIC_PASSWORD}, auth {basic}, q {TOKEN}"))

    with ScriptedServer(answer) as server:
        url = f"http://user:{OTHER}@{server.url.removeprefix('http://')}/retrieve?token={TOKEN}"
        engine = RemoteSearch(url=url, headers={"Authorization": f"Basic {basic}"}, max_retries=0)
        (result,) = engine.search("q", k=1)
    assert result.text == "pw ***, auth ***, q ***"
    assert leaks(caplog.text + repr(engine), BASIC_PASSWORD, basic, TOKEN, OTHER) == []


def test_remote_leaves_short_and_standard_header_values_alone() -> None:
    def answer(n: int, request: Request) -> Answer:
        return Answer(200, ok_reply("remote", text="application/json results in json, id 42"))

    with ScriptedServer(answer) as server:
        engine = RemoteSearch(url=server.url, headers={"Accept": "application/json", "X-Shard": "42"})
        (result,) = engine.search("q", k=1)
    assert result.text == "application/json results in json, id 42"


def test_the_redactor_masks_whole_partial_encoded_and_recased_secrets() -> None:
    special = "p@ss/w0rd+=Zq9&Lm"
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json", "X-Shard": "42", "X-Pw": special}
    redact = Redactor.for_headers(headers, OTHER, None)
    assert redact(f"invalid token Bearer {TOKEN}.") == "invalid token ***."
    assert redact(f"key {TOKEN[:12]}... expired") == "key ***... expired"  # a prefix the server quoted
    assert redact(TOKEN.upper() + OTHER) == "***"  # another case; two secrets side by side are one mask
    assert redact(urllib.parse.quote(special, safe="")) == "***" and redact(json.dumps(special)) == '"***"'
    assert redact("application/json results, shard 42, the bearer agrees") == (
        "application/json results, shard 42, the bearer agrees"
    )
    assert redact("İstanbul " + TOKEN) == "İstanbul ***"  # lower() changes the length of some characters
    assert redact("") == "" and not Redactor([]) and Redactor([]).results([]) == []


def test_web_repr_masks_a_password_in_the_base_url() -> None:
    engine = WebSearch(api_key=KEY, base_url=f"http://trainer:{BASIC_PASSWORD}@127.0.0.1:9")
    assert BASIC_PASSWORD not in repr(engine) and "trainer:***@127.0.0.1:9" in repr(engine)


# --- deadlines ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("drip", ["head", "body"])
@pytest.mark.parametrize("kind", ENGINES)
def test_a_dripping_server_is_cut_at_the_timeout(kind: str, drip: Literal["head", "body"]) -> None:
    """One byte every 50 ms never trips a per-read timeout; the request must still end after ``timeout``."""
    reply = ok_reply(kind, pad=60)  # about 5 s of dripping in all
    with ScriptedServer(lambda n, request: Answer(200, reply, drip=drip, interval=0.05)) as server:
        engine = make_engine(kind, server, timeout=1.0, max_retries=0)
        start = time.monotonic()
        with pytest.raises(SearchError, match=r"timed out after 1 s"):
            engine.search("q", k=1)
        elapsed = time.monotonic() - start
    assert elapsed < 1.9


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate for 127.0.0.1 (its key beside it), made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(folder / "key.pem")]
    subprocess.run([*command, "-out", str(folder / "cert.pem")], check=True, capture_output=True, timeout=60)
    return folder / "cert.pem"


@pytest.mark.parametrize("drip", [None, "body"])
@pytest.mark.parametrize("kind", ENGINES)
def test_https_requests_work_and_are_cut_at_the_timeout(
    kind: str, drip: Literal["body"] | None, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))  # urllib (remote) trusts it
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))  # requests (web) too
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, certificate.with_name("key.pem"))
    reply = ok_reply(kind, pad=60)
    with ScriptedServer(lambda n, request: Answer(200, reply, drip=drip, interval=0.05), tls=tls) as server:
        assert server.url.startswith("https://")
        engine = make_engine(kind, server, timeout=1.0, max_retries=0)
        start = time.monotonic()
        if drip is None:
            assert len(engine.search("q", k=1)) == 1
        else:
            with pytest.raises(SearchError, match=r"timed out after 1 s"):
                engine.search("q", k=1)
        elapsed = time.monotonic() - start
    assert elapsed < 1.9


def test_web_retries_of_a_dripping_server_stop_at_total_timeout() -> None:
    reply = ok_reply("web", pad=60)
    with ScriptedServer(lambda n, request: Answer(200, reply, drip="body", interval=0.05)) as server:
        engine = make_engine("web", server, timeout=0.5, max_retries=10, backoff=0.01, total_timeout=1.2)
        start = time.monotonic()
        with pytest.raises(SearchError, match=r"total_timeout of 1\.2 s") as caught:
            engine.search("q", k=1)
        elapsed = time.monotonic() - start
    assert elapsed < 2.0 and 2 <= len(server.received) <= 3, (elapsed, len(server.received))
    assert "gave up after" in str(caught.value)


@pytest.mark.parametrize("kind", ENGINES)
def test_retry_after_waits_stop_at_total_timeout(kind: str) -> None:
    busy = Answer(503, {"detail": "busy"}, headers={"Retry-After": "0.3"})
    with ScriptedServer(lambda n, request: busy) as server:
        engine = make_engine(kind, server, timeout=1.0, max_retries=20, backoff=0.0, total_timeout=1.0)
        start = time.monotonic()
        with pytest.raises(SearchError, match=r"total_timeout of 1 s"):
            engine.search("q", k=1)
        elapsed = time.monotonic() - start
    assert 0.55 <= elapsed < 1.6 and 3 <= len(server.received) <= 4, (elapsed, len(server.received))


def test_remote_honours_retry_after() -> None:
    answers = [Answer(503, {"detail": "busy"}, headers={"Retry-After": "0.6"}), Answer(200, ok_reply("remote"))]
    with ScriptedServer(lambda n, request: answers[n]) as server:
        engine = RemoteSearch(url=server.url, max_retries=1, backoff=0.0)
        start = time.monotonic()
        assert [r.doc_id for r in engine.search("q", k=1)] == ["a"]
        elapsed = time.monotonic() - start
    assert elapsed >= 0.6 and len(server.received) == 2


@pytest.mark.parametrize("kind", ENGINES)
def test_retry_after_is_capped_by_max_backoff(kind: str) -> None:
    answers = [Answer(429, {"detail": "slow down"}, headers={"Retry-After": "3600"}), Answer(200, ok_reply(kind))]
    with ScriptedServer(lambda n, request: answers[n]) as server:
        sleeps = Sleeps()
        engine = make_engine(kind, server, max_retries=1, backoff=0.1, max_backoff=0.25, sleep=sleeps)
        assert len(engine.search("q", k=1)) == 1
    assert sleeps == [0.25]


@pytest.mark.parametrize("kind", ENGINES)
def test_a_retry_after_beyond_total_timeout_gives_up_at_once(kind: str) -> None:
    answers = [Answer(503, {"detail": "maintenance"}, headers={"Retry-After": "50"}), Answer(200, ok_reply(kind))]
    with ScriptedServer(lambda n, request: answers[n]) as server:
        sleeps = Sleeps()
        engine = make_engine(kind, server, max_retries=3, max_backoff=100, total_timeout=5, sleep=sleeps)
        with pytest.raises(SearchError, match=r"asked to wait 50 s.*total_timeout of 5 s"):
            engine.search("q", k=1)
    assert sleeps == [] and len(server.received) == 1


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("web", {"total_timeout": 0}, "total_timeout must be > 0"),
        ("web", {"total_timeout": float("inf")}, "total_timeout must be a finite number"),
        ("remote", {"total_timeout": -1}, "total_timeout must be a finite number"),
        ("remote", {"max_backoff": "3"}, "max_backoff must be a finite number"),
    ],
)
def test_bad_deadline_options_are_clear_errors(kind: str, options: dict[str, Any], message: str) -> None:
    with ScriptedServer(lambda n, request: Answer()) as server, pytest.raises(ValueError, match=message):
        make_engine(kind, server, **options)


# --- hostile JSON -------------------------------------------------------------------------------------------------


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("status", [200, 400, 503])
@pytest.mark.parametrize("kind", ENGINES)
def test_a_deeply_nested_reply_is_a_search_error(kind: str, status: int) -> None:
    body: Callable[[int, Request], Answer] = lambda n, request: Answer(status, NESTED)  # noqa: E731
    with ScriptedServer(body) as server:
        engine = make_engine(kind, server, max_retries=0)
        with pytest.raises(SearchError):
            engine.search("q", k=1)
