"""The retriever suite at a tiny size (no timing asserts): its loads run, count what they sent and see no errors."""

from __future__ import annotations

import pytest

pytest.importorskip("msgpack")

from benchmarks.retriever import measure_dialects, measure_mixed, retriever_server


def test_the_retriever_loads_run_at_a_tiny_size() -> None:
    with retriever_server() as url:
        dialects = measure_dialects(url, requests=30, concurrency=3)
        mixed = measure_mixed(
            url, small_clients=2, large_clients=1, small_requests=5, large_requests=4, large_queries=64
        )
    assert dialects["requests"] == 30 and dialects["errors"] == 0, dialects["error_examples"]
    assert dialects["by_dialect"] == {"search-r1": 10, "skyrl": 10, "gem": 10}
    assert dialects["p99_ms"] >= dialects["p50_ms"] > 0
    assert mixed["errors"] == 0, mixed["error_examples"]
    assert mixed["small_requests"] == 10 and mixed["large_served"] == 3 and mixed["oversized_refused_422"] == 1
    assert mixed["small_p99_ms"] > 0
