"""The remote engine and the retriever server, end to end on 127.0.0.1 (Search-R1's retriever protocol)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402

import rezero_env  # noqa: E402, F401
from rezero_env.data import load_dataset  # noqa: E402
from rezero_env.envs.search_qa import SearchQAEnv  # noqa: E402
from rezero_env.search import BM25Search, SearchError  # noqa: E402
from rezero_env.search.remote import RemoteSearch  # noqa: E402
from rezero_env.search.server import create_app  # noqa: E402
from rezero_env.types import Document, SearchResult  # noqa: E402
from tests.serving import serve_in_thread  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["Where was Orlen Vask born?", "Who made the Amber Astrolabe?", "zzzqqq unknownword", "Velmora river"]


# --- servers on 127.0.0.1 -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn in a background thread; yield its base URL."""
    with serve_in_thread(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")) as url:
        yield url


class CountingApp:
    """An ASGI wrapper counting the ``POST /retrieve`` requests that reach the app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.retrieve_requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/retrieve":
            self.retrieve_requests += 1
        await self.app(scope, receive, send)


Reply = tuple[int, bytes]


@contextlib.contextmanager
def fake_server(replies: Callable[[int, dict[str, Any]], Reply]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stdlib HTTP server answering the n-th POST (0-based) with ``replies(n, request_json)``.

    Yields the base URL and the list of JSON bodies received.
    """
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            status, payload = replies(len(received) - 1, body)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client may have given up (timeout test)
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/retrieve", received
    finally:
        server.shutdown()
        server.server_close()


def json_reply(obj: Any, status: int = 200) -> Reply:
    return status, json.dumps(obj).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def corpus() -> tuple[Document, ...]:
    return load_dataset("synthetic").documents


@pytest.fixture(scope="module")
def local_engine(corpus: Sequence[Document]) -> BM25Search:
    return BM25Search(corpus)


@pytest.fixture(scope="module")
def live(local_engine: BM25Search) -> Iterator[tuple[str, CountingApp]]:
    """Our retriever server over the embedded synthetic corpus, on 127.0.0.1."""
    app = CountingApp(create_app(local_engine))
    with serve_asgi(app) as base_url:
        yield base_url, app


@pytest.fixture
def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/retrieve"


# --- client <-> our server ------------------------------------------------------------------------------------------


def test_round_trip_returns_what_the_local_engine_returns(
    live: tuple[str, CountingApp], local_engine: BM25Search
) -> None:
    base_url, app = live
    remote = RemoteSearch(url=f"{base_url}/retrieve", timeout=5)
    before = app.retrieve_requests
    got = remote.batch_search(QUERIES, k=3)
    assert app.retrieve_requests == before + 1  # one HTTP request for the whole batch
    expected = local_engine.batch_search(QUERIES, k=3)
    assert got == expected  # ids, text, title and score survive the trip
    assert [r.doc_id for r in got[0]] and got[2] == []
    assert remote.search(QUERIES[1], k=2) == local_engine.search(QUERIES[1], k=2)
    assert remote.batch_search([], k=3) == [] and remote.batch_search(QUERIES[:2], k=0) == [[], []]
    assert app.retrieve_requests == before + 2  # empty batches and k=0 send nothing


def test_base_url_and_reply_without_scores(live: tuple[str, CountingApp], local_engine: BM25Search) -> None:
    base_url, _ = live
    remote = RemoteSearch(url=base_url + "/", return_scores=False)
    assert remote.url == f"{base_url}/retrieve"
    got = remote.search(QUERIES[0], k=3)
    assert [r.doc_id for r in got] == [r.doc_id for r in local_engine.search(QUERIES[0], k=3)]
    assert [r.score for r in got] == [1.0, 0.5, pytest.approx(1 / 3)]  # rank-based when the server sends no scores


def test_gym_make_with_the_remote_engine_by_name(live: tuple[str, CountingApp]) -> None:
    url = f"{live[0]}/retrieve"
    env = gym.make("SearchQA-v0", search_engine="remote", search_options={"url": url, "timeout": 5.0}, top_k=3)
    env.reset(seed=0)
    observation, _, terminated, truncated, info = env.step("<search>Where was Orlen Vask born?</search>")
    assert not terminated and not truncated
    assert "Doc 1 (Title:" in observation and "Search failed" not in observation
    assert len(info["searches"][-1]["doc_ids"]) == 3


# --- faults the agent must read about, never crash on ---------------------------------------------------------------


def test_server_down_is_a_search_error(dead_url: str) -> None:
    with pytest.raises(SearchError, match=r"127\.0\.0\.1:\d+/retrieve.*after 2 attempts.*cannot reach"):
        RemoteSearch(url=dead_url, max_retries=1, backoff=0.0).search("q", k=3)


def test_slow_server_times_out() -> None:
    release = threading.Event()

    def slow(n: int, body: dict[str, Any]) -> Reply:
        release.wait(5)
        return json_reply({"result": [[]]})

    with fake_server(slow) as (url, received):
        try:
            with pytest.raises(SearchError, match=r"timed out after 0\.2 s"):
                RemoteSearch(url=url, timeout=0.2, max_retries=2, backoff=0.0).search("q", k=3)
            assert len(received) == 1  # a timeout is not retried
        finally:
            release.set()


@pytest.mark.parametrize(
    ("reply", "fault"),
    [
        ((200, b"<html>busy</html>"), "not JSON"),
        (json_reply([1, 2]), "expected an object with a 'result' list"),
        (json_reply({"results": []}), "expected an object with a 'result' list"),
        (json_reply({"result": "none"}), "'result' is str"),
        (json_reply({"result": [[], []]}), "2 result lists for 1 queries"),
        (json_reply({"result": [{"id": "a"}]}), r"result\[0\] is dict"),
        (json_reply({"result": [["doc"]]}), r"result\[0\]\[0\] is str"),
        (json_reply({"result": [[{"document": {"id": "a"}, "score": 1.0}]]}), "no 'contents'"),
        (json_reply({"result": [[{"document": {"id": "a", "contents": "x"}, "score": "high"}]]}), "'score' must be"),
        (json_reply({"result": [[{"document": {"id": [1], "contents": "x"}}]]}), "'id' must be"),
    ],
)
def test_malformed_replies_are_search_errors(reply: Reply, fault: str) -> None:
    with fake_server(lambda n, body: reply) as (url, _), pytest.raises(SearchError) as caught:
        RemoteSearch(url=url, max_retries=0).search("q", k=3)
    assert "malformed reply" in str(caught.value) and url in str(caught.value)
    assert caught.match(fault)


def test_search_r1_replies_are_parsed() -> None:
    hits = [
        {"document": {"id": "12", "contents": '"Apollo 13"\nThe third crewed mission\nto land.'}, "score": 81.5},
        {"document": {"id": 7, "contents": "Untitled passage."}, "score": 3},
        {"document": {"contents": '"No id"\nText.'}, "score": 1.0},
    ]
    with fake_server(lambda n, body: json_reply({"result": [hits, []]})) as (url, received):
        got = RemoteSearch(url=url).batch_search(["apollo", "nothing"], k=5)
    assert received == [{"queries": ["apollo", "nothing"], "topk": 5, "return_scores": True}]
    assert got[1] == []
    assert got[0][:2] == [
        SearchResult("12", "The third crewed mission\nto land.", 81.5, title="Apollo 13"),
        SearchResult("7", "Untitled passage.", 3.0),
    ]
    assert got[0][2].doc_id.startswith("sha1:") and got[0][2].title == "No id"


def test_5xx_and_429_are_retried_but_4xx_is_not() -> None:
    statuses = [503, 429, 200]

    def flaky(n: int, body: dict[str, Any]) -> Reply:
        return json_reply({"result": [[]]} if statuses[n] == 200 else {"detail": "busy"}, status=statuses[n])

    with fake_server(flaky) as (url, received):
        assert RemoteSearch(url=url, max_retries=2, backoff=0.0).search("q", k=3) == []
        assert len(received) == 3
    with fake_server(lambda n, body: json_reply({"detail": "no such index"}, status=404)) as (url, received):
        with pytest.raises(SearchError, match=r"HTTP 404.*no such index"):
            RemoteSearch(url=url, max_retries=2, backoff=0.0).search("q", k=3)
        assert len(received) == 1
    with fake_server(lambda n, body: json_reply({"detail": "down"}, status=500)) as (url, received):
        with pytest.raises(SearchError, match="after 2 attempts: HTTP 500"):
            RemoteSearch(url=url, max_retries=1, backoff=0.0).search("q", k=3)
        assert len(received) == 2


def test_the_episode_continues_when_the_server_is_down(dead_url: str) -> None:
    env = SearchQAEnv(search_engine=RemoteSearch(url=dead_url, max_retries=0))
    env.reset(seed=0)
    observation, _, terminated, truncated, info = env.step("<search>who built the astrolabe</search>")
    assert "Search failed" in observation and "cannot reach" in observation
    assert not terminated and not truncated
    assert info["searches"][-1]["error"] and info["searches"][-1]["doc_ids"] == []
    _, _, terminated, _, _ = env.step("<answer>unknown</answer>")
    assert terminated


@pytest.mark.parametrize(
    ("options", "fault"),
    [
        ({"url": "localhost:8000/retrieve"}, "http"),
        ({"url": "ftp://host/retrieve"}, "http"),
        ({"url": "http://host:99999/retrieve"}, "port"),
        ({"url": "http://h", "timeout": 0}, "timeout"),
        ({"url": "http://h", "max_retries": -1}, "max_retries"),
        ({"url": "http://h", "backoff": float("nan")}, "backoff"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, Any], fault: str) -> None:
    with pytest.raises(ValueError, match=fault):
        RemoteSearch(**options)


def test_credentials_in_the_url_stay_out_of_errors() -> None:
    engine = RemoteSearch(url=f"http://user:secret@127.0.0.1:{free_port()}/retrieve?token=abc", max_retries=0)
    with pytest.raises(SearchError) as caught:
        engine.search("q", k=1)
    assert "secret" not in str(caught.value) and "token" not in str(caught.value) and "secret" not in repr(engine)


# --- the server on its own ------------------------------------------------------------------------------------------


DOCS = [Document("a", "Velmora lies on the Kesh River.", title="Velmora"), Document("b", "Cats purr when content.")]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(BM25Search(DOCS), max_request_bytes=2000, max_queries=4, max_topk=10))


def test_server_speaks_search_r1(client: TestClient) -> None:
    with_scores = client.post("/retrieve", json={"queries": ["Velmora", "cats"], "topk": 2, "return_scores": True})
    assert with_scores.status_code == 200
    first, second = with_scores.json()["result"]
    assert first[0]["document"]["id"] == "a" and first[0]["document"]["contents"] == '"Velmora"\n' + DOCS[0].text
    assert isinstance(first[0]["score"], float)
    assert second[0]["document"]["contents"] == DOCS[1].text  # untitled: the text alone
    without = client.post("/retrieve", json={"queries": ["cats"]}).json()["result"]  # Search-R1's defaults
    assert without == [[{"id": "b", "contents": DOCS[1].text, "title": None, "text": DOCS[1].text, "url": None}]]
    assert client.get("/health").json()["documents"] == 2


@pytest.mark.parametrize(
    ("content", "headers", "status", "detail"),
    [
        (b"x" * 3000, {"content-type": "application/json"}, 413, "too large"),
        (
            iter([b'{"queries": ["', b"a" * 1500, b"a" * 1500, b'"]}']),
            {"content-type": "application/json"},
            413,
            "2000",
        ),
        (b"{not json", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"\xff\xfe\xfa", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b'{"queries": ["a"]}', {"content-type": "text/plain"}, 415, "application/json"),
        (b'{"queries": "a"}', {"content-type": "application/json"}, 422, "valid list"),
        (b'{"queries": [1]}', {"content-type": "application/json"}, 422, "valid string"),
        (b'{"queries": ["a"], "topk": 11}', {"content-type": "application/json"}, 422, "less than or equal to 10"),
        (b'{"queries": ["a"], "topk": 0}', {"content-type": "application/json"}, 422, "greater than or equal to 1"),
        (b'{"queries": ["a", "b", "c", "d", "e"]}', {"content-type": "application/json"}, 422, "at most 4 items"),
        (b"[]", {"content-type": "application/json"}, 422, "valid dictionary"),
    ],
)
def test_server_refuses_bad_requests_with_4xx(
    client: TestClient, content: Any, headers: dict[str, str], status: int, detail: str
) -> None:
    response = client.post("/retrieve", content=content, headers=headers)
    assert response.status_code == status
    assert detail in json.dumps(response.json()["detail"])


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"queries": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"queries": ["a"], "extra": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}",
    ],
    ids=["array", "queries", "ignored-field"],
)
def test_server_answers_deeply_nested_json_with_400(content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(BM25Search(DOCS), max_request_bytes=1 << 20)
    response = TestClient(app, raise_server_exceptions=False).post(
        "/retrieve", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.json()["detail"]
    assert "RecursionError" not in caplog.text


def test_server_still_validates_moderately_nested_json() -> None:
    content = b'{"queries": ' + b"[" * 200 + b"]" * 200 + b"}"
    response = TestClient(create_app(BM25Search(DOCS))).post(
        "/retrieve", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "valid string" in response.text


def test_engine_search_errors_become_503() -> None:
    class Broken:
        def search(self, query: str, k: int) -> list[SearchResult]:
            raise SearchError("index offline")

        def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
            raise SearchError("index offline")

    response = TestClient(create_app(Broken())).post("/retrieve", json={"queries": ["q"]})
    assert response.status_code == 503 and "index offline" in response.json()["detail"]
    assert TestClient(create_app(Broken())).get("/health").json()["documents"] is None


def test_create_app_validates_its_limits(local_engine: BM25Search) -> None:
    with pytest.raises(ValueError, match="max_topk"):
        create_app(local_engine, max_topk=0)
    with pytest.raises(TypeError, match="SearchEngine"):
        create_app(object())  # type: ignore[arg-type]


def test_oversized_body_over_real_http(live: tuple[str, CountingApp]) -> None:
    body = json.dumps({"queries": ["x" * (1 << 20)]}).encode()
    request = urllib.request.Request(f"{live[0]}/retrieve", data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 413 and "the limit is 1048576 bytes" in caught.value.read().decode()


# --- the script -----------------------------------------------------------------------------------------------------


def test_serve_retriever_help_and_bad_options() -> None:
    script = str(REPO_ROOT / "scripts" / "serve_retriever.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "--search-options" in shown.stdout and "--port" in shown.stdout
    bad = subprocess.run(
        [sys.executable, script, "--search-options", "{nope"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "--search-options must be a JSON object" in bad.stderr


def test_serve_retriever_serves_the_synthetic_corpus(local_engine: BM25Search) -> None:
    port = free_port()
    script = str(REPO_ROOT / "scripts" / "serve_retriever.py")
    process = subprocess.Popen(
        [sys.executable, script, "--port", str(port), "--log-level", "warning", "--request-timeout", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else "exited"
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert health["documents"] == len(local_engine.documents)
        got = RemoteSearch(url=f"http://127.0.0.1:{port}").search(QUERIES[0], k=3)
        assert got == local_engine.search(QUERIES[0], k=3)
    finally:
        process.terminate()
        process.wait(timeout=10)
