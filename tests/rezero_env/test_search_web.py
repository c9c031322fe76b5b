"""The Tavily web engine against a fake Tavily server on 127.0.0.1: results, faults, retries, cache, key hygiene."""

from __future__ import annotations

import json
import logging
import pickle
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rezero_env.search import SearchEngine, SearchError, make_search_engine
from rezero_env.search.web import WebSearch
from tests.rezero_env.fake_tavily import FakeTavily, Reply

KEY = "tvly-SECRET-4f9c2a7e81d3"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    monkeypatch.delenv("TAVILY_BASE_URL", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class Sleeps(list[float]):
    """Records the backoff waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def engine_for(server: FakeTavily, **options: Any) -> WebSearch:
    options.setdefault("sleep", Sleeps())
    options.setdefault("timeout", 10.0)
    return WebSearch(api_key=KEY, base_url=server.url, **options)


@pytest.fixture
def server() -> Iterator[FakeTavily]:
    with FakeTavily() as fake:
        yield fake


def test_results_are_mapped_ranked_and_cut_to_k(server: FakeTavily) -> None:
    engine = engine_for(server, search_depth="advanced", include_domains=["example.org"])
    assert isinstance(engine, SearchEngine)
    results = engine.search("apollo 13", k=3)
    assert [r.score for r in results] == [0.9, 0.7, 0.5]  # best first, although the server sent 0.5, 0.9, 0.7
    assert results[0].doc_id == "https://example.org/apollo-13/1"
    assert results[0].title == "Page 1 about apollo 13" and results[0].text == "Text 1 about apollo 13."
    (request,) = server.received
    assert request.path == "/search"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = request.json
    assert body["query"] == "apollo 13" and body["max_results"] == 3 and body["search_depth"] == "advanced"
    assert body["include_domains"] == ["example.org"] and "api_key" not in body


def test_k_above_tavily_limit_and_trivial_queries(server: FakeTavily) -> None:
    engine = engine_for(server)
    assert len(engine.search("many", k=50)) == 20 and server.received[0].json["max_results"] == 20
    assert engine.search("   ", k=5) == [] and engine.search("q", k=0) == []
    assert len(server.received) == 1  # neither sent a request
    with pytest.raises(TypeError, match="k must be an int"):
        engine.search("q", k=2.5)  # type: ignore[arg-type]


def test_batch_search_keeps_order(server: FakeTavily) -> None:
    engine = engine_for(server, max_concurrency=3)
    queries = [f"query {i}" for i in range(7)]
    batched = engine.batch_search(queries, k=2)
    assert batched == [engine.search(q, k=2) for q in queries]
    assert [results[0].doc_id for results in batched] == [f"https://example.org/query-{i}/1" for i in range(7)]


def test_429_is_retried_with_backoff_and_retry_after() -> None:
    replies = [Reply(429), Reply(429, headers={"Retry-After": "7"}), Reply(200)]
    with FakeTavily(replies) as fake:
        sleeps = Sleeps()
        results = engine_for(fake, backoff=0.25, sleep=sleeps).search("q", k=2)
    assert [r.score for r in results] == [0.9, 0.5]
    assert len(fake.received) == 3
    assert sleeps == [0.25, 7.0]  # backoff * 2**0, then the server's Retry-After (above backoff * 2**1)


def test_500_always_gives_up_after_max_retries() -> None:
    with FakeTavily(default=Reply(500, body={"detail": {"error": "boom"}})) as fake:
        sleeps = Sleeps()
        engine = engine_for(fake, max_retries=3, backoff=0.5, max_backoff=1.5, sleep=sleeps)
        with pytest.raises(SearchError, match=r"HTTP 500 \(gave up after 4 attempts\)"):
            engine.search("q", k=3)
    assert len(fake.received) == 4
    assert sleeps == [0.5, 1.0, 1.5]  # exponential, capped at max_backoff


def test_no_retries_means_one_attempt() -> None:
    with (
        FakeTavily(default=Reply(503)) as fake,
        pytest.raises(SearchError, match=r"HTTP 503 \(gave up after 1 attempt\)"),
    ):
        engine_for(fake, max_retries=0).search("q", k=3)
    assert len(fake.received) == 1


def test_slow_server_times_out_then_gives_up() -> None:
    with FakeTavily(default=Reply(delay=30)) as fake:
        sleeps = Sleeps()
        engine = engine_for(fake, timeout=0.2, max_retries=2, backoff=0.01, sleep=sleeps)
        with pytest.raises(SearchError, match=r"timed out after 0.2 s \(gave up after 3 attempts\)"):
            engine.search("q", k=3)
    assert sleeps == [0.01, 0.02]  # two retries after the first timeout


def test_slow_then_fast_recovers() -> None:
    with FakeTavily([Reply(delay=30)]) as fake:
        results = engine_for(fake, timeout=0.3, max_retries=1).search("q", k=1)
    assert [r.doc_id for r in results] == ["https://example.org/q/0"] and len(fake.received) == 2


def test_server_down_is_a_search_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    engine = WebSearch(api_key=KEY, base_url=f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps)
    with pytest.raises(
        SearchError,
        match=r"could not connect to the web search service: ConnectionRefusedError \(gave up after 3 attempts\)",
    ):
        engine.search("q", k=3)
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "the body is not JSON"),
        (b'{"results": [', "the body is not JSON"),
        ([{"url": "u"}], "a JSON list, not an object"),
        ({"answer": "x"}, "no 'results' field"),
        ({"results": "x"}, "'results' is a str, not a list"),
        ({"results": ["x"]}, r"results\[0\] is a str"),
        ({"results": [{"url": 3, "content": "c", "score": 1}]}, r"results\[0\].url must be a non-empty string"),
        ({"results": [{"url": "u", "content": None, "score": 1}]}, r"results\[0\].content must be a string"),
        ({"results": [{"url": "u", "content": "c", "score": "high"}]}, r"results\[0\].score must be a number"),
        ({"results": [{"url": "u", "content": "c", "score": 1, "title": 5}]}, r"results\[0\].title must be"),
    ],
)
def test_malformed_replies_are_search_errors_without_retry(body: Any, message: str) -> None:
    with (
        FakeTavily(default=Reply(200, body=body)) as fake,
        pytest.raises(SearchError, match="malformed reply: " + message),
    ):
        engine_for(fake).search("q", k=3)
    assert len(fake.received) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "rejected the API key .*TAVILY_API_KEY"),
        (432, "HTTP 432: forbidden or plan limit"),
        (400, "HTTP 400: bad"),
    ],
)
def test_client_errors_are_not_retried(status: int, message: str) -> None:
    with (
        FakeTavily(default=Reply(status, body={"detail": {"error": "bad query"}})) as fake,
        pytest.raises(SearchError, match=message),
    ):
        engine_for(fake).search("q", k=3)
    assert len(fake.received) == 1


def test_cache_hit_makes_no_request_and_returns_identical_results(server: FakeTavily, tmp_path: Path) -> None:
    engine = engine_for(server, cache_dir=tmp_path / "cache")
    first = engine.search("apollo 13", k=4)
    assert engine.search("apollo 13", k=4) == first
    assert len(server.received) == 1
    rerun = engine_for(server, cache_dir=tmp_path / "cache")  # a new process, same folder
    assert rerun.search("apollo 13", k=4) == first and rerun.batch_search(["apollo 13"], k=4) == [first]
    assert len(server.received) == 1
    engine.search("apollo 13", k=5)  # another k, another request
    engine_for(server, cache_dir=tmp_path / "cache", search_depth="advanced").search("apollo 13", k=4)
    assert len(server.received) == 3
    files = sorted((tmp_path / "cache").iterdir())
    assert len(files) == 3 and all(f.suffix == ".json" and not f.name.startswith(".") for f in files)  # no temp left


def test_failures_are_not_cached_and_corrupt_entries_are_refetched(tmp_path: Path) -> None:
    with FakeTavily([Reply(500)]) as fake:
        engine = engine_for(fake, cache_dir=tmp_path, max_retries=0)
        with pytest.raises(SearchError):
            engine.search("q", k=2)
        assert list(tmp_path.iterdir()) == []
        results = engine.search("q", k=2)
        (entry,) = tmp_path.iterdir()
        entry.write_text("{not json", encoding="utf-8")
        assert engine.search("q", k=2) == results
        assert len(fake.received) == 3
        assert json.loads(entry.read_text(encoding="utf-8"))["request"]["query"] == "q"  # rewritten


def test_key_never_leaks_into_logs_errors_cache_or_repr(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    replies = [Reply(200), Reply(500), Reply(401), Reply(200, body=b"oops"), Reply(429), Reply(200)]
    errors: list[str] = []
    with FakeTavily(replies) as fake:
        engine = engine_for(fake, cache_dir=tmp_path, max_retries=0)
        engine.search("first", k=3)
        for query in ("second", "third", "fourth", "fifth"):
            with pytest.raises(SearchError) as caught:
                engine.search(query, k=3)
            errors += [str(caught.value), repr(caught.value)]
        retrying = engine_for(fake, cache_dir=tmp_path, max_retries=1, timeout=0.2)
        fake.replies.append(Reply(delay=30))
        retrying.search("sixth", k=3)
        assert all(request.headers["Authorization"] == f"Bearer {KEY}" for request in fake.received)
    assert len(errors) == 8 and caplog.records  # something was logged and raised, so the checks below mean something
    assert KEY not in caplog.text and all(KEY not in error for error in errors)
    assert KEY not in repr(engine) and KEY not in str(engine) and "'***'" in repr(engine)
    assert all(KEY.encode() not in path.read_bytes() for path in tmp_path.iterdir())


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(ValueError, match="TAVILY_API_KEY"):
        WebSearch()
    with pytest.raises(ValueError, match="TAVILY_API_KEY"):
        WebSearch(api_key="  ")


def test_key_and_base_url_from_the_environment(server: FakeTavily, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", KEY)
    monkeypatch.setenv("TAVILY_BASE_URL", server.url + "/")
    engine = WebSearch([], sleep=Sleeps())
    assert engine.base_url == server.url
    assert len(engine.search("q", k=1)) == 1 and server.received[0].headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "ftp://example.org"}, "base_url must be an http:// or https:// URL"),
        ({"base_url": "api.tavily.com"}, "base_url must be an http:// or https:// URL"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"timeout": float("nan")}, "timeout must be a finite number"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"max_concurrency": 0}, "max_concurrency must be an integer >= 1"),
        ({"search_depth": "deep"}, "search_depth must be one of"),
        ({"topic": "sports"}, "topic must be one of"),
        ({"include_domains": "example.org"}, "include_domains must be a list of domain names"),
    ],
)
def test_bad_options_are_clear_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WebSearch(api_key=KEY, **options)


def test_bad_base_url_from_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVILY_BASE_URL", "localhost:8000")
    with pytest.raises(ValueError, match="TAVILY_BASE_URL must be an http"):
        WebSearch(api_key=KEY)


def test_missing_tavily_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tavily", None)
    with pytest.raises(ImportError, match=r"pip install 'rezero\[web\]'"):
        WebSearch(api_key=KEY)


def test_engine_survives_pickling(server: FakeTavily) -> None:
    engine = engine_for(server, sleep=time.sleep)  # picklable; nothing is retried
    engine.search("q", k=1)
    copy = pickle.loads(pickle.dumps(engine))
    assert copy.search("q", k=1) == engine.search("q", k=1)
    engine.close()
    assert len(engine.search("q", k=1)) == 1  # usable after close


def test_failure_inside_the_environment_is_an_observation() -> None:
    from rezero_env.envs.search_qa import SearchQAEnv

    with FakeTavily(default=Reply(500)) as fake:
        env = SearchQAEnv(search_engine=engine_for(fake, max_retries=1))
        env.reset(seed=0)
        observation, _, terminated, truncated, info = env.step("<search>who flew apollo 13</search>")
        assert "Search failed: the web search service returned HTTP 500" in observation
        assert not terminated and not truncated
        assert len(fake.received) == 2
        fake.default = Reply(200)
        observation, _, terminated, _, info = env.step("<search>who flew apollo 13</search>")
        assert "Doc 1 (Title: Page 1 about who flew apollo 13)" in observation and not terminated
    assert info["searches"][0]["error"].startswith("the web search service returned HTTP 500")
    assert info["searches"][1]["doc_ids"][0] == "https://example.org/who-flew-apollo-13/1"
    assert KEY not in json.dumps(info)


def test_built_by_name_through_the_registry(server: FakeTavily) -> None:
    from rezero_env.search import ENGINES

    if "web" not in ENGINES:
        pytest.skip("the 'web' engine is not registered in rezero_env.search.ENGINES yet")
    engine = make_search_engine("web", [], {"api_key": KEY, "base_url": server.url, "max_retries": 0})
    assert isinstance(engine, WebSearch) and len(engine.search("q", k=2)) == 2
