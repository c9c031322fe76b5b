"""``bm25``: bm25s vs rank-bm25 — index build time and single-query latency at 10k and 100k paragraphs.

Both libraries get the same tokens (``rezero_env.search.bm25.tokenize``) and rank with ``get_scores`` + top-5, so
the ratio compares the libraries; the top-5 agreement shows they rank alike.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import SuiteResult, Target, timed, zipf_corpus, zipf_queries
from rezero_env.search.bm25 import tokenize

SIZES = (10_000, 100_000)
GOAL_SPEEDUP = 30.0


def top5(scores: np.ndarray) -> list[int]:
    candidates = np.argpartition(-scores, 5)[:5]
    return sorted(candidates.tolist(), key=lambda i: (-scores[i], i))


def measure(n_docs: int, n_fast: int, n_slow: int) -> dict[str, float]:
    import bm25s
    from rank_bm25 import BM25Okapi

    corpus_tokens = tokenize([doc.text for doc in zipf_corpus(n_docs)])
    query_tokens = tokenize(zipf_queries(max(n_fast, n_slow), seed=4))

    def build_fast() -> bm25s.BM25:
        index = bm25s.BM25()
        index.index(corpus_tokens, show_progress=False)
        return index

    fast, fast_build = timed(build_fast)
    slow, slow_build = timed(lambda: BM25Okapi(corpus_tokens))

    start = time.perf_counter()
    fast_top = [top5(np.asarray(fast.get_scores(q))) for q in query_tokens[:n_fast]]
    fast_seconds = (time.perf_counter() - start) / n_fast
    start = time.perf_counter()
    slow_top = [top5(np.asarray(slow.get_scores(q))) for q in query_tokens[:n_slow]]
    slow_seconds = (time.perf_counter() - start) / n_slow
    agreement = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(fast_top, slow_top, strict=False)])
    return {
        "docs": n_docs,
        "bm25s_build_s": round(fast_build, 2),
        "rank_bm25_build_s": round(slow_build, 2),
        "bm25s_query_ms": round(fast_seconds * 1000, 3),
        "rank_bm25_query_ms": round(slow_seconds * 1000, 2),
        "speedup": round(slow_seconds / fast_seconds, 1),
        "top5_agreement": round(float(agreement), 3),
    }


def run(quick: bool = False) -> SuiteResult:
    rows = [
        measure(n, n_fast=300, n_slow=(10 if quick else 30) if n > 10_000 else (30 if quick else 100)) for n in SIZES
    ]
    table = [
        "| docs | bm25s query (ms) | rank-bm25 query (ms) | speed-up | build bm25s / rank-bm25 (s) | top-5 agreement |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['docs']:,} | {r['bm25s_query_ms']:.2f} | {r['rank_bm25_query_ms']:.1f} | {r['speedup']:.0f}× | "
            f"{r['bm25s_build_s']:.1f} / {r['rank_bm25_build_s']:.1f} | {r['top5_agreement']:.0%} |"
            for r in rows
        ],
    ]
    targets = [Target(f"bm25s speed-up at {r['docs']:,} docs", r["speedup"], GOAL_SPEEDUP) for r in rows]
    return SuiteResult("bm25", {"runs": rows}, targets, "\n".join(table))
