"""Hybrid search: several engines' rankings fused by weighted reciprocal-rank fusion (RRF)."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.search.base import SearchEngine
from rezero_env.types import SearchResult


class HybridSearch:
    """Fuse the rankings of ``engines`` (typically BM25 and dense); implements
    :class:`~rezero_env.search.base.SearchEngine`.

    A document's score is ``Σ weight_e / (rrf_k + rank_e)`` over the engines that returned it (ranks start at 1),
    each engine asked for ``depth`` candidates. Ties keep the order in which the documents were first seen.

    Args:
        engines: The engines to fuse.
        weights: One weight per engine (default: all 1).
        rrf_k: The RRF constant; larger values flatten the rank differences.
        depth: Candidates requested from each engine (default ``max(4·k, 20)``).

    Example:
        >>> from rezero_env.search.bm25 import BM25Search
        >>> from rezero_env.types import Document
        >>> docs = [Document("a", "Ada Lovelace wrote the first program."), Document("b", "Ada is a language.")]
        >>> hybrid = HybridSearch([BM25Search(docs), BM25Search(docs[::-1])])
        >>> [r.doc_id for r in hybrid.search("Ada Lovelace program", 2)]
        ['a', 'b']
    """

    def __init__(
        self,
        engines: Sequence[SearchEngine],
        weights: Sequence[float] | None = None,
        rrf_k: float = 60.0,
        depth: int | None = None,
    ) -> None:
        if not engines:
            raise ValueError("HybridSearch needs at least one engine")
        weights = tuple(float(w) for w in (weights if weights is not None else [1.0] * len(engines)))
        if len(weights) != len(engines):
            raise ValueError(f"HybridSearch got {len(engines)} engines but {len(weights)} weights")
        if any(w < 0 for w in weights) or not any(w > 0 for w in weights):
            raise ValueError(f"weights must be >= 0 with at least one > 0, got {weights}")
        if rrf_k < 0:
            raise ValueError(f"rrf_k must be >= 0, got {rrf_k}")
        if depth is not None and depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.engines = tuple(engines)
        self.weights = weights
        self.rrf_k = float(rrf_k)
        self.depth = depth

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Return the ``k`` best documents by fused rank."""
        return self.batch_search([query], k)[0]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Ask each engine once for all ``queries`` (so batching engines stay batched) and fuse per query."""
        if k < 1:
            return [[] for _ in queries]
        depth = self.depth or max(4 * k, 20)
        rankings = [engine.batch_search(queries, depth) for engine in self.engines]
        return [self._fuse([ranking[i] for ranking in rankings], k) for i in range(len(queries))]

    def _fuse(self, rankings: Sequence[list[SearchResult]], k: int) -> list[SearchResult]:
        scores: dict[str, float] = {}
        first_seen: dict[str, SearchResult] = {}
        for weight, ranking in zip(self.weights, rankings, strict=True):
            for rank, result in enumerate(ranking, start=1):
                scores[result.doc_id] = scores.get(result.doc_id, 0.0) + weight / (self.rrf_k + rank)
                first_seen.setdefault(result.doc_id, result)
        order = sorted(first_seen, key=lambda doc_id: -scores[doc_id])  # stable: ties keep first-seen order
        return [
            SearchResult(doc_id=d, text=first_seen[d].text, score=scores[d], title=first_seen[d].title)
            for d in order[:k]
        ]
