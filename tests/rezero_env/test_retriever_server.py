"""The retriever server's bounds (what one request may cost) and its dialects, driven by each library's own client.

Dialects: Search-R1/veRL's ``{"queries": [...]}`` JSON, SkyRL-Gym's ``{"query": str}`` JSON and GEM's MessagePack
``{"query": str}``. SkyRL's and GEM's search tools are run as installed (``pip install 'rezero[integrations]'``);
veRL 0.9.1 cannot be installed beside them (see README "Other RL libraries"), so its request is replayed exactly as
``verl/tools/utils/search_r1_like_utils.py::call_search_api`` of volcengine/verl sends it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
from fastapi.testclient import TestClient  # noqa: E402

from rezero_env.data import load_dataset  # noqa: E402
from rezero_env.search import BM25Search  # noqa: E402
from rezero_env.search.server import create_app  # noqa: E402
from rezero_env.types import Document, SearchResult  # noqa: E402
from tests.serving import serve_in_thread  # noqa: E402

QUERY = "Where was Orlen Vask born?"


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 in a background thread (with :func:`uvicorn_config`'s connection bounds when
    ``options`` are given); yield its base URL."""
    if options:
        from rezero_env.search.server import uvicorn_config

        config = uvicorn_config(app, port=0, log_level="warning", lifespan="off", **options)
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    with serve_in_thread(config) as url:
        yield url


def post(url: str, payload: Any, timeout: float = 30) -> tuple[int, dict[str, str], Any]:
    """POST ``payload`` as JSON; the status, headers and decoded reply (errors included)."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def synthetic() -> BM25Search:
    return BM25Search(load_dataset("synthetic").documents)


@pytest.fixture(scope="module")
def wide() -> BM25Search:
    """200 documents that all match the query "common", so topk 100 returns 100 hits."""
    return BM25Search([Document(f"d{i}", f"common word number {i} " + "filler " * 20) for i in range(200)])


# --- bounds (issue 27, item 6) ----------------------------------------------------------------------------------------


def test_an_integer_of_thousands_of_digits_is_a_4xx_not_a_500(wide: BM25Search) -> None:
    client = TestClient(create_app(wide), raise_server_exceptions=False)
    response = client.post(
        "/retrieve",
        content=b'{"queries": ["common"], "topk": 1' + b"0" * 5000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "5001 digits" in response.json()["detail"]


def test_queries_times_topk_over_the_cap_is_refused_naming_the_limit(wide: BM25Search) -> None:
    """The 34 KB request of 1,024 queries × topk 100 that returned 63 MB."""
    client = TestClient(create_app(wide), raise_server_exceptions=False)
    response = client.post("/retrieve", json={"queries": ["common"] * 1024, "topk": 100, "return_scores": True})
    assert response.status_code == 422, response.text[:200]
    detail = json.dumps(response.json()["detail"], ensure_ascii=False)
    assert "1024 × 100 = 102400" in detail and "max_results of 4096" in detail
    ok = client.post("/retrieve", json={"queries": ["common"] * 40, "topk": 100})
    assert ok.status_code == 200 and len(ok.json()["result"]) == 40 and len(ok.json()["result"][0]) == 100


def test_a_reply_over_max_response_bytes_is_413_naming_the_limit(wide: BM25Search) -> None:
    client = TestClient(create_app(wide, max_response_bytes=20_000), raise_server_exceptions=False)
    response = client.post("/retrieve", json={"queries": ["common"] * 20, "topk": 50})
    assert response.status_code == 413
    assert "max_response_bytes of 20000" in response.json()["detail"] or "over 20000 bytes" in response.json()["detail"]
    small = client.post("/retrieve", json={"queries": ["common number 137"], "topk": 3})
    assert small.status_code == 200 and small.json()["result"][0][0]["id"] == "d137"


class GatedEngine:
    """An engine whose calls wait for ``gate`` (once it is opened they run); it records every batch it is given."""

    def __init__(self, base: BM25Search) -> None:
        self.base = base
        self.gate = threading.Event()
        self.called = threading.Event()
        self.batches: list[list[str]] = []
        self.documents = base.documents

    def search(self, query: str, k: int) -> list[SearchResult]:
        return self.batch_search([query], k)[0]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        self.batches.append(list(queries))
        self.called.set()
        assert self.gate.wait(20), "the test never opened the gate"
        return self.base.batch_search(queries, k)


def wait_for(condition: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_requests_beyond_max_in_flight_get_503_with_retry_after(wide: BM25Search) -> None:
    engine = GatedEngine(wide)
    app = create_app(engine, max_in_flight=2, retry_after=7)
    replies: list[int] = []
    with serve(app) as base:
        workers = [
            threading.Thread(target=lambda: replies.append(post(f"{base}/retrieve", {"query": "common"})[0]))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        wait_for(lambda: app.state.fair_engine.in_flight == 2, "two requests in flight")
        status, headers, reply = post(f"{base}/retrieve", {"query": "common"})
        assert status == 503 and headers["retry-after"] == "7"
        assert "max_in_flight is 2" in reply["detail"]
        engine.gate.set()
        for worker in workers:
            worker.join(20)
        assert replies == [200, 200]
        assert post(f"{base}/retrieve", {"query": "common"})[0] == 200  # admitted again once the others are done


def test_a_small_request_is_served_between_the_slices_of_a_large_one(wide: BM25Search) -> None:
    """The large request (512 queries) arrives first; the small one is searched before the large one's last slice,
    instead of waiting for its whole batch."""
    engine = GatedEngine(wide)
    app = create_app(engine, slice_results=64)
    large = [f"common {i}" for i in range(512)]
    statuses: dict[str, int] = {}
    with serve(app) as base:
        first = threading.Thread(
            target=lambda: statuses.update(large=post(f"{base}/retrieve", {"queries": large, "topk": 1})[0])
        )
        first.start()
        assert engine.called.wait(20)
        second = threading.Thread(
            target=lambda: statuses.update(small=post(f"{base}/retrieve", {"query": "number 7", "topk": 1})[0])
        )
        second.start()
        fair = getattr(app.state, "fair_engine", None)
        wait_for(lambda: fair is not None and fair.in_flight == 2, "both requests admitted")
        engine.gate.set()
        first.join(30)
        second.join(30)
    assert statuses == {"large": 200, "small": 200}
    small_at = next(i for i, batch in enumerate(engine.batches) if batch == ["number 7"])
    last_large = max(i for i, batch in enumerate(engine.batches) if batch != ["number 7"])
    assert small_at < last_large, [len(b) for b in engine.batches]
    assert sum(len(b) for b in engine.batches if b != ["number 7"]) == 512


def test_a_connection_that_sends_no_whole_request_is_closed(synthetic: BM25Search) -> None:
    with serve(create_app(synthetic), request_timeout=0.3, keep_alive=1) as base:
        host, port = base.removeprefix("http://").split(":")
        for opening in (b"", b"POST /retrieve HTTP/1.1\r\nHost: x\r\n"):  # silent, and a header left unfinished
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(opening)
                assert sock.recv(1024) == b""  # the server closed it (a socket timeout would raise instead)
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # a whole request is still served
            body = json.dumps({"query": QUERY}).encode()
            sock.sendall(
                b"POST /retrieve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            assert sock.recv(64).startswith(b"HTTP/1.1 200")


def test_a_body_that_never_arrives_is_408(synthetic: BM25Search) -> None:
    with serve(create_app(synthetic, body_timeout=0.3), request_timeout=5) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /retrieve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            assert sock.recv(64).startswith(b"HTTP/1.1 408")


def test_create_app_validates_the_new_limits(synthetic: BM25Search) -> None:
    for option in ("max_results", "max_response_bytes", "max_in_flight", "slice_results", "retry_after"):
        with pytest.raises(ValueError, match=option):
            create_app(synthetic, **{option: 0})
    with pytest.raises(ValueError, match="body_timeout"):
        create_app(synthetic, body_timeout=0)
    health = TestClient(create_app(synthetic)).get("/health").json()
    assert health["max_results"] == 4096 and health["max_response_bytes"] == 8 << 20 and health["in_flight"] == 0


# --- dialects (issue 25) ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(synthetic: BM25Search) -> Iterator[str]:
    with serve(create_app(synthetic), request_timeout=10) as base:
        yield base


def test_every_form_gets_the_document_shape_every_client_reads(synthetic: BM25Search) -> None:
    client = TestClient(create_app(synthetic))
    expected = synthetic.search(QUERY, 3)
    batch = client.post("/retrieve", json={"queries": [QUERY], "topk": 3, "return_scores": True}).json()["result"]
    single = client.post("/retrieve", json={"query": QUERY, "topk": 3, "return_scores": True}).json()["result"]
    assert batch == single and [hit["document"]["id"] for hit in batch[0]] == [r.doc_id for r in expected]
    document = batch[0][0]["document"]
    assert set(document) == {"id", "contents", "title", "text", "url"} and document["url"] is None
    assert document["contents"] == f'"{expected[0].title}"\n{expected[0].text}'
    for bad, fault in (
        ({"queries": [QUERY], "query": QUERY}, "not both"),
        ({"topk": 3}, "either 'queries'"),
        ({"query": 7}, "valid string"),
    ):
        response = client.post("/retrieve", json=bad)
        assert response.status_code == 422 and fault in json.dumps(response.json()["detail"])


def test_msgpack_requests_get_msgpack_replies(synthetic: BM25Search) -> None:
    msgpack = pytest.importorskip("msgpack")
    client = TestClient(create_app(synthetic))
    reply = client.post("/retrieve", content=msgpack.packb({"query": QUERY, "topk": 2}))  # no content type, as GEM
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/msgpack"
    hits = msgpack.unpackb(reply.content)["result"]
    assert [h["document"]["id"] for h in hits] == [r.doc_id for r in synthetic.search(QUERY, 2)]
    assert hits[0]["score"] is None  # GEM's server sends null scores without return_scores
    batch = client.post(
        "/retrieve",
        content=msgpack.packb({"queries": [QUERY, QUERY], "topk": 1, "return_scores": True}),
        headers={"content-type": "application/msgpack"},
    )
    assert [len(hits) for hits in msgpack.unpackb(batch.content)["result"]] == [1, 1]
    broken = client.post("/retrieve", content=b"\x81\xa5query", headers={"content-type": "application/msgpack"})
    assert broken.status_code == 400 and "MessagePack" in broken.json()["detail"]
    other = client.post("/retrieve", content=b"query=x", headers={"content-type": "application/x-www-form-urlencoded"})
    assert other.status_code == 415


def test_skyrl_gyms_own_search_tool_and_env_read_the_server(live: str, synthetic: BM25Search) -> None:
    pytest.importorskip("skyrl_gym")
    import skyrl_gym
    from skyrl_gym.envs.search.env import SearchEnvConfig
    from skyrl_gym.tools.search import SearchToolGroup

    top = synthetic.search(QUERY, 3)
    tool = SearchToolGroup(search_url=f"{live}/retrieve", topk=3, timeout=10, log_requests=False)
    text = json.loads(tool.execute_tool("search", QUERY))["result"]
    assert text.startswith(f'Doc 1: "{top[0].title}"') and top[2].text.strip() in text
    env = skyrl_gym.make(
        "search",
        env_config=SearchEnvConfig(search_url=f"{live}/retrieve", topk=3, log_requests=False),
        extras={"reward_spec": {"ground_truth": {"target": ["x"]}}, "max_turns": 3},
    )
    env.init([{"role": "user", "content": QUERY}])
    output = env.step(f"<search>{QUERY}</search>")
    assert not output["done"] and "<information>" in output["observations"][0]["content"]
    assert top[0].text.strip() in output["observations"][0]["content"]


def test_gems_own_search_tool_reads_the_server(live: str, synthetic: BM25Search) -> None:
    pytest.importorskip("gem")
    from gem.tools.search_tool import SearchTool

    top = synthetic.search(QUERY, 3)
    valid, has_error, observation, _ = SearchTool(search_url=f"{live}/retrieve", topk=3).execute_action(
        f"<think>find it</think><search>{QUERY}</search>"
    )
    assert valid and not has_error, observation
    assert f'Doc 1(Title: "{top[0].title}") {top[0].text}' in observation and "Doc 3(Title:" in observation


def test_verls_search_request_is_answered(live: str, synthetic: BM25Search) -> None:
    """veRL's request, byte for byte as ``call_search_api`` builds it (headers, ``requests.post(json=...)``), and
    its reading of the reply (``_passages2string``: ``doc_item["document"]["contents"]`` per hit)."""
    requests = pytest.importorskip("requests")
    queries = [QUERY, "Velmora river"]
    response = requests.post(
        f"{live}/retrieve",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        json={"queries": queries, "topk": 3, "return_scores": True},
        timeout=10,
    )
    response.raise_for_status()
    result = response.json()["result"]
    assert len(result) == 2
    for query, hits in zip(queries, result, strict=True):
        contents = [doc_item["document"]["contents"] for doc_item in hits]
        assert contents == [f'"{r.title}"\n{r.text}' for r in synthetic.search(query, 3)]
        assert all(isinstance(hit["score"], float) for hit in hits)
