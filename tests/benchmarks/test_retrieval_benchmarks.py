"""Small versions of the ``retrieval`` and ``vector_search`` suites (no timing asserts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import retrieval, vector_search
from benchmarks.__main__ import SUITES
from rezero_env.data.dataset import QADataset
from rezero_env.data.native import write_native
from rezero_env.types import Document, SearchResult, Task


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread, as the suites measure it: on a busy 2-core machine two threads make each single-query
    encoding many times slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def result(doc_id: str) -> SearchResult:
    return SearchResult(doc_id=doc_id, text=f"text {doc_id}", score=0.0)


def test_suites_are_registered() -> None:
    assert {"retrieval", "vector_search"} <= set(SUITES)


def test_a_hit_is_a_supporting_paragraph_within_the_top_k() -> None:
    tasks = [
        Task("t0", "q0", ("a",), ("s0",)),
        Task("t1", "q1", ("a",), ("s1", "x1")),
        Task("t2", "q2", ("a",), ("s2",)),
    ]
    rankings = [
        [result("s0"), result("n")],  # first
        [result("n"), result("n2"), result("x1")],  # a later supporting paragraph, third
        [result("n")] * 5 + [result("s2")],  # sixth: a miss at 5
    ]
    found = retrieval.hits(tasks, rankings)
    assert found[1].tolist() == [True, False, False] and found[5].tolist() == [True, True, False]


def test_cross_validation_scores_each_question_with_settings_tuned_on_the_others() -> None:
    # bm25 always ranks the supporting paragraph first; dense ranks a wrong one first that bm25 ranks second. Default
    # RRF (1:1, k=60) then puts the wrong paragraph first; a bm25-heavy setting (e.g. 3:1, k=0) fixes it.
    tasks = [Task(f"t{i}", f"question {i}", ("a",), (f"s{i}",)) for i in range(10)]
    bm25 = retrieval.Replay({t.question: [result(f"s{i}"), result(f"w{i}")] for i, t in enumerate(tasks)})
    dense = retrieval.Replay({t.question: [result(f"w{i}"), result(f"z{i}")] for i, t in enumerate(tasks)})
    from rezero_env.search.hybrid import HybridSearch

    default = retrieval.hits(
        tasks, HybridSearch([bm25, dense], fusion="rrf").batch_search([t.question for t in tasks], 5)
    )
    assert default[1].mean() == 0.0
    recall, chosen = retrieval.cross_validated(tasks, bm25, dense)
    assert recall == {1: 1.0, 5: 1.0} and len(chosen) == retrieval.FOLDS
    assert all(f.weights[0] > f.weights[1] or f.rrf_k < 60 for f in chosen)
    with pytest.raises(ValueError, match="holds 50 results"):
        bm25.search("question 0", 51)


def test_bm25_scaling_runs_in_its_own_process() -> None:
    row = retrieval.in_subprocess(retrieval.bm25_scaling, "bm25s", 500, 5, timeout=120)
    assert row is not None and "error" not in row, row
    assert row["docs"] == 500 and row["queries_per_s"] > 0 and row["peak_rss_mib"] >= row["rss_before_build_mib"] > 0


def test_subprocess_failures_and_timeouts_are_reported() -> None:
    failed = retrieval.in_subprocess(retrieval.bm25_scaling, "lucene", 100, 1, timeout=120)
    assert failed is not None and "Unknown BM25 backend" in failed["error"]
    assert retrieval.in_subprocess(retrieval.bm25_scaling, "rank_bm25", 2_000_000, 1, timeout=1) is None


@pytest.mark.usefixtures("one_thread")
def test_dense_scaling_measures_flat_and_ivf_indexes() -> None:
    for index_type in ("flat", "ivf"):
        row = retrieval.dense_scaling(index_type, 400, 2, 1, batch=4)
        assert row["docs"] == 400 and row["queries_per_s"] > 0 and row["batch_queries_per_s"] > 0
    assert row["index_type"] == "ivf (nlist 10, nprobe 16)"


def test_timed_out_rows_are_extrapolated_and_labelled() -> None:
    measured = {"engine": "rank_bm25", "docs": 100_000, "build_s": 2.0, "queries_per_s": 5.0}
    measured |= {"rss_before_build_mib": 100, "peak_rss_mib": 300}
    row = retrieval._extrapolate([measured], "rank_bm25", 1_000_000, 600)
    assert (row["build_s"], row["queries_per_s"], row["peak_rss_mib"]) == (20.0, 0.5, 2100)
    assert "linearly from 100,000" in row["extrapolated"]
    assert "error" in retrieval._extrapolate([], "rank_bm25", 1_000_000, 600)
    dense = {"engine": "dense", "docs": 10, "faiss_build_s": 0.1, "queries_per_s": 9.0, "batch_queries_per_s": 20.0}
    dense |= {"peak_rss_mib": 500, "encode_s_extrapolated": 2.0, "build_s": 2.1, "extrapolated": "build_s"}
    failed = {"engine": "dense-ivf", "docs": 1_000_000, "error": "ran past 900 s"}
    table = retrieval.scaling_table(
        {
            "encoder": {"paragraphs": 8, "paragraphs_per_s": 5.0, "tokens_per_paragraph": 256.0},
            "rows": [row, dense, failed],
        }
    )
    assert "| 1,000,000 | rank-bm25 | ≈ 20.0 | ≈ 0.5 | – | ≈ 2,100 |" in table
    assert "| 10 | dense (flat, exact) | ≈ 2.1 (faiss 0.1) | 9.0 | 20.0 | 500 |" in table
    assert "failed: ran past 900 s" in table and "5.0 paragraphs/s" in table


def _write_dataset(folder: Path) -> Path:
    docs = [
        Document("a", "The Amber Astrolabe was made by Orlen Vask in 1643."),
        Document("b", "Orlen Vask was born in Velmora."),
        Document("c", "Velmora lies on the Kesh River."),
        Document("d", "Cats purr when they are content."),
    ]
    tasks = [
        Task("t0", "Who made the Amber Astrolabe?", ("Orlen Vask",), ("a",)),
        Task("t1", "Where was Orlen Vask born?", ("Velmora",), ("b",)),
        Task("t2", "Which river runs by Velmora?", ("Kesh River",), ("c",)),
        Task("t3", "When do cats purr?", ("when content",), ("d",)),
        Task("t4", "What did Orlen Vask make?", ("the Amber Astrolabe",), ("a",)),
        Task("t5", "Who was born in Velmora?", ("Orlen Vask",), ("b",)),
    ]
    write_native(QADataset("tiny", tuple(docs), tuple(tasks)), folder)
    return folder


@pytest.mark.usefixtures("one_thread")
def test_recall_and_vector_step_on_a_tiny_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REZERO_CACHE", str(tmp_path / "cache"))
    folder = str(_write_dataset(tmp_path / "data"))
    recall = retrieval.measure_recall(folder)
    rows = {row["engine"]: row for row in recall["rows"]}
    assert set(rows) == {"bm25", "dense", "hybrid", "hybrid_rrf", "hybrid_cv"} and recall["questions"] == 6
    assert rows["bm25"]["recall@5"] == 1.0  # every paragraph is among the top 5 of 4
    assert all(0 <= row["recall@1"] <= row["recall@5"] <= 1 for row in rows.values())
    table = retrieval.recall_table(recall)
    assert "hybrid, RRF | 1:1, k=60, depth 20 |" in table and "hybrid (default: relative-score fusion)" in table
    row = vector_search.measure(num_envs=4, repeats=1, dataset=folder)
    assert row["same_observations"] and row["engine_shared"] and row["speedup"] > 0
    with pytest.raises(ValueError, match="fewer than 8 environments"):
        vector_search.measure(num_envs=8, repeats=1, dataset=folder)


@pytest.mark.slow
def test_recall_on_rezero_apollo(apollo_dir: Path) -> None:
    recall = retrieval.measure_recall(str(apollo_dir))
    rows = {row["engine"]: row for row in recall["rows"]}
    assert recall["questions"] == 318 and recall["documents"] == 341
    assert rows["bm25"]["recall@5"] > 0.8 and rows["dense"]["recall@5"] > 0.6
