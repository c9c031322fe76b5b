"""``retriever``: the retriever server (``scripts/serve_retriever.py``, BM25 over the synthetic world) under load on
127.0.0.1, in a process of its own.

- **dialects**: 2,000 requests (200 quick) at concurrency 16, mixing Search-R1/veRL's JSON batch (4 queries),
  SkyRL's JSON ``query`` and GEM's MessagePack ``query`` forms: errors (goal 0), throughput, p50/p99 latency.
- **mixed**: 16 clients at once, 4 of them sending large requests (1,024 queries × topk 4 = 4,096 results, the
  server's ``max_results``, about 2 MB each) and, every fourth time, an oversized one (1,024 × 100, refused with
  422), the other 12 sending one-query requests: the small requests' p50/p99 (goal: p99 ≤ 200 ms) while the large
  ones are served or refused.

Every request loop is bounded in count and in time (``DEADLINE_S``); the load generator reads replies as bytes
(decoding a 2 MB reply would compete with the server for the two cores) and keeps one connection per client.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target

REPO_ROOT = Path(__file__).resolve().parent.parent
QUERIES = (
    "Where was Orlen Vask born?",
    "Who made the Amber Astrolabe?",
    "Velmora river",
    "institution founded",
    "pupil of",
    "worked as",
    "object made of copper",
    "town economy",
)
DEADLINE_S = 300.0  # no load runs longer than this, whatever happens
SMALL_P99_GOAL_MS = 200.0


@dataclass(frozen=True)
class Call:
    """One request: its kind (for the report), body, content type and the statuses that count as handled."""

    kind: str
    body: bytes
    content_type: str | None
    expected: tuple[int, ...] = (200,)


@dataclass
class Record:
    kind: str
    seconds: float
    status: int
    bytes: int


@dataclass
class Load:
    """What a load run saw."""

    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def latencies_ms(self, kind: str | None = None, status: int | None = None) -> list[float]:
        return [
            r.seconds * 1000
            for r in self.records
            if (kind is None or r.kind == kind) and (status is None or r.status == status)
        ]


def dialect_calls(i: int) -> Call:
    """The ``i``-th request of the dialects mix: batch JSON, single JSON, single MessagePack in turn."""
    import msgpack

    query = QUERIES[i % len(QUERIES)]
    form = i % 3
    if form == 0:
        batch = [QUERIES[(i + j) % len(QUERIES)] for j in range(4)]
        payload = {"queries": batch, "topk": 3, "return_scores": True}
        return Call("search-r1", json.dumps(payload).encode(), "application/json")
    if form == 1:
        payload = {"query": query, "topk": 3, "return_scores": True}
        return Call("skyrl", json.dumps(payload).encode(), "application/json")
    return Call("gem", msgpack.packb({"query": query, "topk": 3, "return_scores": True}), None)


def small_call(i: int) -> Call:
    return Call("small", json.dumps({"query": QUERIES[i % len(QUERIES)], "topk": 3}).encode(), "application/json")


def large_call(i: int, queries: int = 1024) -> Call:
    """A request at the server's ``max_results`` (queries × 4); the second of every four asks for topk 100 and is
    refused."""
    batch = [QUERIES[(i + j) % len(QUERIES)] + f" {j}" for j in range(queries)]
    if i % 4 == 1:
        return Call("oversized", json.dumps({"queries": batch, "topk": 100}).encode(), "application/json", (422,))
    return Call("large", json.dumps({"queries": batch, "topk": 4}).encode(), "application/json")


def run_load(url: str, clients: list[tuple[int, Callable[[int], Call]]], deadline_s: float = DEADLINE_S) -> Load:
    """Each client (``(requests, make_call)``) sends its requests one after another on its own connection; all
    clients run at once. Stops at ``deadline_s`` (what is left is reported as errors)."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    load = Load()
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def client(n_requests: int, make_call: Callable[[int], Call], offset: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            for i in range(n_requests):
                if time.monotonic() > stop_at:
                    with lock:
                        load.errors.append(f"deadline: {n_requests - i} requests not sent")
                    return
                call = make_call(offset + i)
                headers = {"Content-Type": call.content_type} if call.content_type else {}
                start = time.perf_counter()
                try:
                    connection.request("POST", "/retrieve", body=call.body, headers=headers)
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    connection = http.client.HTTPConnection(host, int(port), timeout=60)
                    with lock:
                        load.errors.append(f"{call.kind}: {type(error).__name__}: {error}")
                    continue
                seconds = time.perf_counter() - start
                with lock:
                    load.records.append(Record(call.kind, seconds, response.status, len(body)))
                    if response.status not in call.expected:
                        load.errors.append(f"{call.kind}: HTTP {response.status}: {body[:200]!r}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=client, args=(n, make_call, 1000 * index), daemon=True)
        for index, (n, make_call) in enumerate(clients)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(stop_at - time.monotonic(), 0) + 60)
    load.seconds = time.perf_counter() - start
    return load


@contextmanager
def retriever_server(*extra: str) -> Iterator[str]:
    """``scripts/serve_retriever.py`` on a free port of 127.0.0.1, in its own process; yields its retrieve URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "serve_retriever.py"),
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"the retriever server did not start: {error[-2000:]}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/retrieve"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def measure_dialects(url: str, requests: int = 2000, concurrency: int = 16) -> dict[str, Any]:
    per_client = [requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)]
    load = run_load(url, [(n, dialect_calls) for n in per_client])
    latencies = load.latencies_ms()
    return {
        "requests": len(load.records),
        "concurrency": concurrency,
        "errors": len(load.errors),
        "error_examples": load.errors[:3],
        "by_dialect": {kind: len(load.latencies_ms(kind)) for kind in ("search-r1", "skyrl", "gem")},
        "requests_per_s": round(len(load.records) / load.seconds, 1) if load.seconds else 0.0,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(_percentile(latencies, 99), 2) if latencies else None,
    }


def measure_mixed(
    url: str,
    small_clients: int = 12,
    large_clients: int = 4,
    small_requests: int = 150,
    large_requests: int = 6,
    large_queries: int = 1024,
) -> dict[str, Any]:
    clients: list[tuple[int, Callable[[int], Call]]] = [(small_requests, small_call) for _ in range(small_clients)]
    clients += [(large_requests, lambda i, q=large_queries: large_call(i, q)) for _ in range(large_clients)]
    load = run_load(url, clients)
    small = load.latencies_ms("small", 200)
    large = [r for r in load.records if r.kind == "large"]
    return {
        "small_requests": len(small),
        "small_p50_ms": round(statistics.median(small), 2) if small else None,
        "small_p99_ms": round(_percentile(small, 99), 2) if small else None,
        "small_max_ms": round(max(small), 2) if small else None,
        "large_served": sum(r.status == 200 for r in large),
        "large_refused": sum(r.status != 200 for r in large),
        "oversized_refused_422": sum(r.status == 422 for r in load.records if r.kind == "oversized"),
        "large_mean_mb": round(statistics.mean(r.bytes for r in large) / 2**20, 2) if large else None,
        "large_p50_s": round(statistics.median(r.seconds for r in large), 2) if large else None,
        "served_mb": round(sum(r.bytes for r in load.records) / 2**20, 1),
        "clients": small_clients + large_clients,
        "errors": len(load.errors),
        "error_examples": load.errors[:3],
        "seconds": round(load.seconds, 1),
    }


def run(quick: bool = False) -> SuiteResult:
    with retriever_server() as url:
        dialects = measure_dialects(url, requests=200 if quick else 2000)
        mixed = measure_mixed(url, small_requests=40 if quick else 150, large_requests=3 if quick else 6)
    table = "\n".join(
        [
            "| load (127.0.0.1, BM25 over the synthetic world) | requests | errors | p50 | p99 | other |",
            "|---|---|---|---|---|---|",
            f"| dialects: Search-R1 batch / SkyRL JSON / GEM msgpack, concurrency {dialects['concurrency']} "
            f"| {dialects['requests']:,} | {dialects['errors']} | {dialects['p50_ms']} ms | {dialects['p99_ms']} ms "
            f"| {dialects['requests_per_s']:,} req/s |",
            f"| mixed: 12 clients of one-query requests + 4 of 1,024-query requests | {mixed['small_requests']:,} "
            f"small | {mixed['errors']} | {mixed['small_p50_ms']} ms (small) | {mixed['small_p99_ms']} ms (small) "
            f"| large: {mixed['large_served']} served ({mixed['large_mean_mb']} MB, {mixed['large_p50_s']} s), "
            f"{mixed['oversized_refused_422']} oversized refused (422) |",
        ]
    )
    targets = [
        Target("dialects load: errors", float(dialects["errors"]), 0.0, lower_is_better=True),
        Target("mixed load: small requests' p99 (ms)", float(mixed["small_p99_ms"] or 1e9), SMALL_P99_GOAL_MS, True),
        Target("mixed load: errors", float(mixed["errors"]), 0.0, lower_is_better=True),
    ]
    return SuiteResult("retriever", {"dialects": dialects, "mixed": mixed}, targets, table)
