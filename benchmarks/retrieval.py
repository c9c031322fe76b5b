"""``retrieval``: how well and how fast the search engines find paragraphs.

1. **Recall on ReZero's Apollo data** (``$REZERO_APOLLO_DIR`` or ``../shared/datasets/rezero-apollo``; all 318
   questions over 341 paragraphs). A question is a hit at k when one of its supporting paragraphs is among the top k.
   Engines: bm25 (bm25s), dense (all-MiniLM-L6-v2, exact faiss index, cached under ``$REZERO_CACHE``) and hybrid with
   its default relative-score fusion (weights 1:1, depth 20) and with reciprocal-rank fusion (weights 1:1, ``rrf_k``
   60, depth 20). RRF settings picked on these questions
   would overstate what a user gets, so a tuned hybrid is reported apart and only by 5-fold cross-validation: every
   question is scored with the setting that did best on the other four folds.
2. **Scaling on synthetic Zipf paragraphs** (:func:`benchmarks.common.zipf_corpus`; 10k, 100k and 1M; ``--quick``:
   10k, plus bm25s at 100k): index build time, queries/s and peak memory, each configuration in a fresh process.
   bm25s and rank-bm25 are measured through :class:`~rezero_env.search.bm25.BM25Search` (build = tokenize + index).
   Dense queries are measured for real (the encoder embeds each query, faiss searches a full-size index of the
   encoder's dimension), but encoding 1M paragraphs takes hours on 2 cores, so the dense index holds random unit
   vectors and its build time is **extrapolated**: paragraphs ÷ the encoder throughput measured on a sample of the
   same paragraphs, plus the measured faiss build. 1M adds an approximate IVF index. rank-bm25 at 1M is measured when
   it finishes within the time limit, otherwise extrapolated linearly from 100k; extrapolated numbers are marked ≈.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SuiteResult, Target, peak_rss_mib, timed, zipf_corpus, zipf_queries
from rezero_env.types import SearchResult, Task

REPO_ROOT = Path(__file__).resolve().parent.parent
KS = (1, 5)
DEPTH = 50  # rankings kept per engine for the RRF grid (≥ every depth in it)
FOLDS = 5
GRID_WEIGHTS = ((1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (1.0, 2.0), (1.0, 3.0))  # bm25 : dense
GRID_RRF_K = (0.0, 1.0, 5.0, 20.0, 60.0, 200.0)
GRID_DEPTH = (5, 10, 20, 50)
IVF_NLIST, IVF_NPROBE, IVF_TRAIN = 1024, 16, 65_536
QUERY_BATCH = 32
#: Threads for torch, faiss and BLAS in the measuring processes. On this 2-core machine, shared with other work,
#: torch's default of 2 threads made a single query's encoding ~30× slower (≈750 ms instead of ≈25 ms) whenever
#: other processes were busy, so measurements run single-threaded and say so.
THREADS = 1
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
RECALL_TIMEOUT_S = 1200


def apollo_dir() -> Path:
    """``$REZERO_APOLLO_DIR`` or ``<repo>/../shared/datasets/rezero-apollo`` (as the tests look for it)."""
    return Path(os.environ.get("REZERO_APOLLO_DIR", REPO_ROOT.parent / "shared" / "datasets" / "rezero-apollo"))


# --- 1. recall on ReZero's Apollo data ------------------------------------------------------------------------------


class Replay:
    """An engine answering from rankings computed earlier (the top ``k`` of them), so RRF settings can be compared
    without searching again."""

    def __init__(self, rankings: dict[str, list[SearchResult]]) -> None:
        self.rankings = rankings

    def search(self, query: str, k: int) -> list[SearchResult]:
        if k > DEPTH:
            raise ValueError(f"Replay holds {DEPTH} results per query, asked for {k}")
        return self.rankings[query][:k]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        return [self.search(query, k) for query in queries]


def hits(tasks: Sequence[Task], rankings: Sequence[list[SearchResult]]) -> dict[int, np.ndarray[Any, Any]]:
    """For each k in :data:`KS`, whether each task has a supporting paragraph among its top k results."""
    return {
        k: np.array(
            [
                bool(set(task.supporting_ids) & {r.doc_id for r in ranking[:k]})
                for task, ranking in zip(tasks, rankings, strict=True)
            ]
        )
        for k in KS
    }


@dataclass(frozen=True)
class Fusion:
    """One RRF setting of the hybrid engine."""

    weights: tuple[float, float]
    rrf_k: float
    depth: int

    def label(self) -> str:
        return f"{self.weights[0]:g}:{self.weights[1]:g}, k={self.rrf_k:g}, depth {self.depth}"


DEFAULT_FUSION = Fusion((1.0, 1.0), 60.0, 20)  # HybridSearch's RRF defaults for top-5 (depth = max(4·k, 20))


def cross_validated(
    tasks: Sequence[Task], bm25: Replay, dense: Replay, seed: int = 0
) -> tuple[dict[int, float], list[Fusion]]:
    """Recall@k of RRF tuned by :data:`FOLDS`-fold cross-validation, and the setting chosen for each fold.

    Each fold's questions are scored with the grid setting that had the most hits@5 (then hits@1, then grid order,
    which starts with the default) on the other folds."""
    from rezero_env.search.hybrid import HybridSearch

    questions = [task.question for task in tasks]
    grid = [DEFAULT_FUSION] + [
        Fusion(w, k, d)
        for w in GRID_WEIGHTS
        for k in GRID_RRF_K
        for d in GRID_DEPTH
        if Fusion(w, k, d) != DEFAULT_FUSION
    ]
    grid_hits = [
        hits(
            tasks,
            HybridSearch([bm25, dense], weights=f.weights, fusion="rrf", rrf_k=f.rrf_k, depth=f.depth).batch_search(
                questions, 5
            ),
        )
        for f in grid
    ]
    fold = np.random.default_rng(seed).permutation(len(tasks)) % FOLDS
    held_out = {k: np.zeros(len(tasks), dtype=bool) for k in KS}
    chosen = []
    for f in range(FOLDS):
        train = fold != f
        best = max(range(len(grid)), key=lambda i: (grid_hits[i][5][train].sum(), grid_hits[i][1][train].sum(), -i))
        chosen.append(grid[best])
        for k in KS:
            held_out[k][~train] = grid_hits[best][k][~train]
    return {k: float(held_out[k].mean()) for k in KS}, chosen


def measure_recall(folder: str) -> dict[str, Any]:
    """Recall@1/@5 of bm25, dense, default hybrid and cross-validated hybrid on every question of ``folder``."""
    from rezero_env.data import load_dataset
    from rezero_env.search.bm25 import BM25Search
    from rezero_env.search.dense import DenseSearch
    from rezero_env.search.hybrid import HybridSearch

    dataset = load_dataset(folder)
    tasks = [task for task in dataset.tasks if task.supporting_ids]
    questions = [task.question for task in tasks]
    bm25, bm25_build = timed(lambda: BM25Search(dataset.documents))
    dense, dense_build = timed(lambda: DenseSearch(dataset.documents))
    rows: list[dict[str, Any]] = []
    replays = []
    for name, engine, build in (("bm25", bm25, bm25_build), ("dense", dense, dense_build)):
        start = time.perf_counter()
        rankings = engine.batch_search(questions, DEPTH)
        seconds = time.perf_counter() - start
        replays.append(Replay(dict(zip(questions, rankings, strict=True))))
        settings = "k1 1.5, b 0.75" if name == "bm25" else "cosine, exact (flat)"
        rows.append(_recall_row(name, hits(tasks, rankings), len(questions) / seconds, build, settings))
    hybrid = HybridSearch([bm25, dense])
    fused, seconds = timed(lambda: hybrid.batch_search(questions, 5))
    rows.append(
        _recall_row("hybrid", hits(tasks, fused), len(questions) / seconds, None, "relative scores, 1:1, depth 20")
    )
    rrf = HybridSearch(replays, fusion="rrf", rrf_k=DEFAULT_FUSION.rrf_k, depth=DEFAULT_FUSION.depth)
    rows.append(
        _recall_row("hybrid_rrf", hits(tasks, rrf.batch_search(questions, 5)), None, None, DEFAULT_FUSION.label())
    )
    cv_recall, chosen = cross_validated(tasks, replays[0], replays[1])
    rows.append(
        {
            "engine": "hybrid_cv",
            "settings": f"tuned by {FOLDS}-fold CV, held-out",
            **{f"recall@{k}": round(cv_recall[k], 4) for k in KS},
            "chosen": [f.label() for f in chosen],
        }
    )
    return {
        "dataset": str(folder),
        "questions": len(tasks),
        "questions_without_support": len(dataset.tasks) - len(tasks),
        "documents": len(dataset.documents),
        "dense_index_dir": str(dense.index_dir),
        "grid": {"weights": GRID_WEIGHTS, "rrf_k": GRID_RRF_K, "depth": GRID_DEPTH},
        "rows": rows,
    }


def _recall_row(
    name: str, found: dict[int, np.ndarray[Any, Any]], qps: float | None, build: float | None, settings: str = ""
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "engine": name,
        "settings": settings,
        **{f"recall@{k}": round(float(found[k].mean()), 4) for k in KS},
    }
    if qps is not None:
        row["queries_per_s"] = round(qps, 1)
    if build is not None:
        row["build_or_load_s"] = round(build, 2)
    return row


# --- 2. scaling on synthetic paragraphs, one process per configuration ----------------------------------------------


def current_rss_mib() -> float:
    """Resident memory of this process now (Linux; falls back to the peak elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bm25_scaling(backend: str, n_docs: int, n_queries: int) -> dict[str, Any]:
    """Build :class:`BM25Search` over ``n_docs`` Zipf paragraphs and time ``n_queries`` single searches."""
    from rezero_env.search.bm25 import BM25Search

    corpus = zipf_corpus(n_docs)
    gc.collect()
    before = current_rss_mib()
    engine, build = timed(lambda: BM25Search(corpus, backend=backend))  # type: ignore[arg-type]
    queries = zipf_queries(n_queries, seed=4)
    engine.search(queries[0], 5)
    start = time.perf_counter()
    for query in queries:
        engine.search(query, 5)
    seconds = time.perf_counter() - start
    return {
        "engine": backend,
        "docs": n_docs,
        "build_s": round(build, 2),
        "queries_per_s": round(n_queries / seconds, 2),
        "queries": n_queries,
        "rss_before_build_mib": round(before),
        "peak_rss_mib": round(peak_rss_mib()),
    }


def encoder_throughput(sample: int) -> dict[str, Any]:
    """Paragraphs/s of the default encoder on ``sample`` Zipf paragraphs, encoded as DenseSearch does."""
    from rezero_env.search.dense import load_encoder

    encoder = load_encoder()
    texts = [doc.text for doc in zipf_corpus(sample, seed=5)]
    encoder.encode(texts[:8], batch_size=64, normalize_embeddings=True)  # warm-up
    _, seconds = timed(lambda: encoder.encode(texts, batch_size=64, normalize_embeddings=True))
    limit = int(encoder.max_seq_length)
    tokens = [min(len(ids), limit) for ids in encoder.tokenizer(texts[:64])["input_ids"]]
    return {
        "paragraphs": sample,
        "paragraphs_per_s": round(sample / seconds, 2),
        "tokens_per_paragraph": round(float(np.mean(tokens)), 1),
        "max_seq_length": limit,
        "peak_rss_mib": round(peak_rss_mib()),
    }


def dense_scaling(
    index_type: str, n_docs: int, n_queries: int, n_batches: int, batch: int = QUERY_BATCH
) -> dict[str, Any]:
    """Build a faiss index (as DenseSearch builds it) over ``n_docs`` random unit vectors of the encoder's dimension,
    then time real queries: the encoder embeds them (one at a time, then ``n_batches`` batches of ``batch``) and
    faiss searches."""
    import faiss

    from rezero_env.search.dense import load_encoder

    encoder = load_encoder()
    dimension = int(encoder.get_embedding_dimension())
    rng = np.random.default_rng(0)
    vectors = np.empty((n_docs, dimension), dtype=np.float32)
    for first in range(0, n_docs, 100_000):
        chunk = rng.standard_normal((min(100_000, n_docs - first), dimension), dtype=np.float32)
        vectors[first : first + len(chunk)] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    gc.collect()
    before = current_rss_mib()

    nlist = min(IVF_NLIST, max(1, n_docs // 39))  # faiss wants ≥ 39 training points per cell

    def build() -> Any:
        index: Any
        if index_type == "flat":
            index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors[rng.choice(n_docs, min(IVF_TRAIN, n_docs), replace=False)])
            index.nprobe = IVF_NPROBE
        index.add(vectors)
        return index

    index, faiss_build = timed(build)

    def encode(texts: list[str]) -> np.ndarray[Any, Any]:
        embedded = encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(embedded, dtype=np.float32)

    queries = zipf_queries(max(n_queries, n_batches * batch), seed=4)
    index.search(encode(queries[:1]), 5)  # warm-up
    start = time.perf_counter()
    for query in queries[:n_queries]:
        index.search(encode([query]), 5)
    single = (time.perf_counter() - start) / n_queries
    start = time.perf_counter()
    for b in range(n_batches):
        index.search(encode(queries[b * batch : (b + 1) * batch]), 5)
    batched = (time.perf_counter() - start) / (n_batches * batch)
    return {
        "engine": "dense" if index_type == "flat" else f"dense-{index_type}",
        "index_type": index_type if index_type == "flat" else f"ivf (nlist {nlist}, nprobe {IVF_NPROBE})",
        "docs": n_docs,
        "faiss_build_s": round(faiss_build, 2),
        "queries_per_s": round(1 / single, 2),
        "batch_queries_per_s": round(1 / batched, 2),
        "queries": n_queries,
        "rss_before_build_mib": round(before),
        "peak_rss_mib": round(peak_rss_mib()),
    }


_CHILD = (
    "import importlib, json, sys; function = getattr(importlib.import_module(sys.argv[1]), sys.argv[2]); "
    "print(json.dumps(function(*json.loads(sys.argv[3]))))"
)


def in_subprocess(function: Callable[..., dict[str, Any]], *args: Any, timeout: float) -> dict[str, Any] | None:
    """``function(*args)`` (a module-level function; JSON arguments and result) in a fresh Python process limited to
    :data:`THREADS` threads, so its peak memory is its own and its timings do not fight other work over threads.

    Returns None if it ran past ``timeout`` seconds (the process is killed), ``{"error": ...}`` if it failed."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), environment.get("PYTHONPATH")) if p)
    environment.update(dict.fromkeys(THREAD_VARIABLES, str(THREADS)))
    command = [sys.executable, "-c", _CHILD, function.__module__, function.__name__, json.dumps(args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=environment, check=False)
    except subprocess.TimeoutExpired:
        return None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        reason = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode} (killed for memory?)"]
        return {"error": reason[0][:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@dataclass(frozen=True)
class ScalingPlan:
    """What the scaling part runs: the sizes per engine, the encoder sample and the per-process time limit."""

    bm25s: tuple[int, ...]
    rank_bm25: tuple[int, ...]
    dense: tuple[int, ...]
    dense_ivf: tuple[int, ...]
    encoder_sample: int
    timeout_s: float


#: Single queries timed per engine and size (fewer where one query takes long).
QUERIES = {
    "bm25s": {10_000: 300, 100_000: 300, 1_000_000: 100},
    "rank_bm25": {10_000: 50, 100_000: 20, 1_000_000: 5},
    "flat": {10_000: 50, 100_000: 30, 1_000_000: 10},
    "ivf": {10_000: 50, 100_000: 50, 1_000_000: 50},
}
QUERY_BATCHES = 3
QUICK_PLAN = ScalingPlan((10_000, 100_000), (10_000,), (10_000,), (), encoder_sample=64, timeout_s=300)
FULL_PLAN = ScalingPlan(
    (10_000, 100_000, 1_000_000),
    (10_000, 100_000, 1_000_000),
    (10_000, 100_000, 1_000_000),
    (1_000_000,),
    encoder_sample=256,
    timeout_s=900,
)
RANK_BM25_1M_TIMEOUT_S = 600


def measure_scaling(plan: ScalingPlan) -> dict[str, Any]:
    """Every configuration of ``plan``, each in its own process; dense build times extrapolated from the encoder."""
    encoder = in_subprocess(encoder_throughput, plan.encoder_sample, timeout=plan.timeout_s) or {
        "error": f"ran past {plan.timeout_s:.0f} s"
    }
    rows: list[dict[str, Any]] = []
    for backend, sizes in (("bm25s", plan.bm25s), ("rank_bm25", plan.rank_bm25)):
        for n in sizes:
            limit = RANK_BM25_1M_TIMEOUT_S if backend == "rank_bm25" and n >= 1_000_000 else plan.timeout_s
            row = in_subprocess(bm25_scaling, backend, n, QUERIES[backend].get(n, 20), timeout=limit)
            rows.append(
                {"engine": backend, "docs": n, **row} if row is not None else _extrapolate(rows, backend, n, limit)
            )
    for index_type, sizes in (("flat", plan.dense), ("ivf", plan.dense_ivf)):
        for n in sizes:
            n_queries = QUERIES[index_type].get(n, 10)
            row = in_subprocess(dense_scaling, index_type, n, n_queries, QUERY_BATCHES, timeout=plan.timeout_s)
            engine = "dense" if index_type == "flat" else f"dense-{index_type}"
            row = {"engine": engine, "docs": n, **(row or {"error": f"ran past {plan.timeout_s:.0f} s"})}
            if "error" not in row and "paragraphs_per_s" in encoder:
                row["encode_s_extrapolated"] = round(n / encoder["paragraphs_per_s"], 1)
                row["build_s"] = round(row["encode_s_extrapolated"] + row["faiss_build_s"], 1)
                row["extrapolated"] = "build_s"
            rows.append(row)
    return {"encoder": encoder, "rows": rows}


def _extrapolate(rows: list[dict[str, Any]], backend: str, n_docs: int, limit: float) -> dict[str, Any]:
    """A row for ``backend`` at ``n_docs`` scaled linearly from its largest measured size (it ran past ``limit``)."""
    measured = [r for r in rows if r.get("engine") == backend and "error" not in r and not r.get("extrapolated")]
    if not measured:
        return {"engine": backend, "docs": n_docs, "error": f"ran past {limit:.0f} s and no smaller size to scale"}
    base = max(measured, key=lambda r: r["docs"])
    scale = n_docs / base["docs"]
    return {
        "engine": backend,
        "docs": n_docs,
        "build_s": round(base["build_s"] * scale, 1),
        "queries_per_s": round(base["queries_per_s"] / scale, 3),
        "peak_rss_mib": round(
            base["rss_before_build_mib"] + (base["peak_rss_mib"] - base["rss_before_build_mib"]) * scale
        ),
        "extrapolated": f"all, linearly from {base['docs']:,} docs (the measurement ran past {limit:.0f} s)",
    }


# --- the suite ------------------------------------------------------------------------------------------------------


def recall_table(recall: dict[str, Any]) -> str:
    names = {
        "bm25": "bm25 (bm25s)",
        "dense": "dense (all-MiniLM-L6-v2)",
        "hybrid": "hybrid (default: relative-score fusion)",
        "hybrid_rrf": "hybrid, RRF",
        "hybrid_cv": "hybrid, RRF tuned",
    }
    lines = [
        f"Recall on ReZero's Apollo data ({recall['questions']} questions, {recall['documents']} paragraphs):",
        "",
        "| engine | settings | recall@1 | recall@5 | queries/s (batched) |",
        "|---|---|---|---|---|",
    ]
    for row in recall["rows"]:
        qps = f"{row['queries_per_s']:,.0f}" if "queries_per_s" in row else "–"
        lines.append(
            f"| {names[row['engine']]} | {row['settings']} | {row['recall@1']:.1%} | {row['recall@5']:.1%} | {qps} |"
        )
    cv = recall["rows"][-1]
    lines += ["", f"Settings chosen per fold (bm25:dense weights, rrf_k, depth): {'; '.join(cv['chosen'])}."]
    return "\n".join(lines)


def scaling_table(scaling: dict[str, Any]) -> str:
    encoder = scaling["encoder"]
    lines = [
        "Scaling on synthetic Zipf paragraphs (100 words each), one process per row:",
        "",
        "| paragraphs | engine | build (s) | queries/s (single) | queries/s (batch 32) | peak memory (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "bm25s": "bm25s",
        "rank_bm25": "rank-bm25",
        "dense": "dense (flat, exact)",
        "dense-ivf": f"dense (IVF, nlist {IVF_NLIST}, nprobe {IVF_NPROBE})",
    }
    for row in scaling["rows"]:
        name = names[row["engine"]]
        if "error" in row:
            lines.append(f"| {row['docs']:,} | {name} | failed: {row['error']} | | | |")
            continue
        approx = "≈ " if row.get("extrapolated") else ""
        all_approx = "≈ " if str(row.get("extrapolated", "")).startswith("all") else ""
        build = (
            f"{approx}{row['build_s']:,.1f}" if "build_s" in row else f"faiss {row['faiss_build_s']:,.1f} + encoding ?"
        )
        if "encode_s_extrapolated" in row:
            build += f" (faiss {row['faiss_build_s']:,.1f})"
        batch = f"{row['batch_queries_per_s']:,.1f}" if "batch_queries_per_s" in row else "–"
        lines.append(
            f"| {row['docs']:,} | {name} | {build} | {all_approx}{row['queries_per_s']:,.1f} | {batch} | "
            f"{all_approx}{row['peak_rss_mib']:,} |"
        )
    if "paragraphs_per_s" in encoder:
        lines += [
            "",
            f"≈ dense build = paragraphs ÷ {encoder['paragraphs_per_s']:.1f} paragraphs/s (encoder throughput measured "
            f"on {encoder['paragraphs']} of these paragraphs, {encoder['tokens_per_paragraph']:.0f} tokens each) + the "
            "measured faiss build over random unit vectors; dense queries are real (encode + search). The IVF index "
            f"is trained on {IVF_TRAIN:,} of the vectors (DenseSearch's own IVF default, nlist = 4·√n trained on every "
            "vector, trains longer).",
        ]
    else:
        lines += ["", f"Encoder throughput not measured: {encoder.get('error')}."]
    extrapolated = [r for r in scaling["rows"] if str(r.get("extrapolated", "")).startswith("all")]
    lines += [f"≈ {names[r['engine']]} at {r['docs']:,}: {r['extrapolated']}." for r in extrapolated]
    return "\n".join(lines)


def run(quick: bool = False) -> SuiteResult:
    metrics: dict[str, Any] = {}
    targets: list[Target] = []
    tables: list[str] = []
    folder = apollo_dir()
    metrics["threads"] = THREADS
    metrics["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    if not (folder / "chunks.csv").is_file():
        metrics["recall"] = {"skipped": f"ReZero's data not found at {folder} (set REZERO_APOLLO_DIR)"}
        tables.append(f"Recall skipped: ReZero's data not found at {folder} (set REZERO_APOLLO_DIR).")
    else:
        recall = in_subprocess(measure_recall, str(folder), timeout=RECALL_TIMEOUT_S) or {
            "error": f"ran past {RECALL_TIMEOUT_S} s"
        }
        metrics["recall"] = recall
    if "rows" in metrics["recall"]:
        recall = metrics["recall"]
        tables.append(recall_table(recall))
        by_name = {row["engine"]: row for row in recall["rows"]}
        best = max(by_name["bm25"]["recall@5"], by_name["dense"]["recall@5"])
        targets.append(
            Target(
                "hybrid (default fusion) recall@5 minus the better engine (points)",
                100 * (by_name["hybrid"]["recall@5"] - best),
                0.0,
            )
        )
    elif "error" in metrics["recall"]:
        tables.append(f"Recall failed: {metrics['recall']['error']}")
    scaling = measure_scaling(QUICK_PLAN if quick else FULL_PLAN)
    metrics["scaling"] = scaling
    tables.append(scaling_table(scaling))
    load = ", ".join(f"{x:.1f}" for x in metrics["load_average_at_start"])
    tables.append(
        f"Timings: {THREADS} thread for torch/faiss/BLAS per measuring process, on {os.cpu_count()} cores shared with "
        f"other work (load average {load} at the start), so they are noisy; recall is deterministic."
    )
    return SuiteResult("retrieval", metrics, targets, "\n\n".join(tables))
