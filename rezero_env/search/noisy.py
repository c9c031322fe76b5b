"""A noisy search engine: any engine's results with seeded distractors, drops, shuffles and truncations.

ReZero's premise is that real search fails; this wrapper makes it fail on purpose, reproducibly. Each kind of noise has
its own probability, drawn from the random generator the environment hands over on every ``reset`` (so
``reset(seed=s)`` replays the same noise).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from rezero_env.files import read_csv
from rezero_env.search.base import SearchEngine
from rezero_env.types import SearchResult

logger = logging.getLogger(__name__)

DistractorSource = Literal["corpus", "paraphrases"]


class NoisySearch:
    """Wrap ``base`` and corrupt its results; implements :class:`~rezero_env.search.base.SearchEngine` and
    :class:`~rezero_env.search.base.RandomizedSearchEngine`.

    Per search, in this order:

    1. **distractors** — with probability ``distractor_prob``, insert ``num_distractors`` results at random
       positions: near-duplicates from the corpus (``"corpus"``: documents the base engine ranks just below the top
       ``k``, i.e. plausible but wrong) or paraphrases of the returned documents (``"paraphrases"``: from
       ``paraphrases``, e.g. ReZero's ``paragraphs_noise.csv``; doc ids get a ``~paraphrase-N`` suffix);
    2. **drop** — each result is removed with probability ``drop_prob``;
    3. **shuffle** — with probability ``shuffle_prob`` the results are shuffled;
    4. **truncate** — each result's text is cut to ``truncate_chars`` characters with probability ``truncate_prob``;

    then at most ``k`` results are kept.

    Args:
        base: The engine whose results are corrupted.
        distractor_prob, drop_prob, shuffle_prob, truncate_prob: Probabilities in [0, 1].
        num_distractors: Distractors inserted when the distractor draw succeeds.
        distractors: ``"corpus"`` or ``"paraphrases"``.
        paraphrases: Paraphrases by document id, or the path of a CSV with ``paraphrase_id_column`` and
            ``paraphrase_text_column`` (ReZero's ``paragraphs_noise.csv`` has ``chunk_id`` and ``paraphrased_text``).
        truncate_chars: Length a truncated text is cut to.
        candidate_depth: How far below the top ``k`` corpus distractors are drawn from.
        seed: Seeds the generator used until the environment hands over its own.

    Example:
        >>> from rezero_env.search.bm25 import BM25Search
        >>> from rezero_env.types import Document
        >>> docs = [Document(str(i), f"Report {i} about the oxygen tank.") for i in range(8)]
        >>> noisy = NoisySearch(BM25Search(docs), drop_prob=1.0)
        >>> noisy.search("oxygen tank", 3)
        []
    """

    def __init__(
        self,
        base: SearchEngine,
        distractor_prob: float = 0.0,
        drop_prob: float = 0.0,
        shuffle_prob: float = 0.0,
        truncate_prob: float = 0.0,
        num_distractors: int = 1,
        distractors: DistractorSource = "corpus",
        paraphrases: Mapping[str, Sequence[str]] | str | os.PathLike[str] | None = None,
        paraphrase_id_column: str = "chunk_id",
        paraphrase_text_column: str = "paraphrased_text",
        truncate_chars: int = 80,
        candidate_depth: int = 10,
        seed: int = 0,
    ) -> None:
        for name, value in (
            ("distractor_prob", distractor_prob),
            ("drop_prob", drop_prob),
            ("shuffle_prob", shuffle_prob),
            ("truncate_prob", truncate_prob),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        for name, count in (
            ("num_distractors", num_distractors),
            ("truncate_chars", truncate_chars),
            ("candidate_depth", candidate_depth),
        ):
            if count < 1:
                raise ValueError(f"{name} must be >= 1, got {count!r}")
        if distractors not in ("corpus", "paraphrases"):
            raise ValueError(f"distractors must be 'corpus' or 'paraphrases', got {distractors!r}")
        if distractors == "paraphrases" and paraphrases is None:
            raise ValueError("distractors='paraphrases' needs paraphrases= (a mapping or a CSV path)")
        self.base = base
        self.distractor_prob = distractor_prob
        self.drop_prob = drop_prob
        self.shuffle_prob = shuffle_prob
        self.truncate_prob = truncate_prob
        self.num_distractors = num_distractors
        self.distractors = distractors
        self.truncate_chars = truncate_chars
        self.candidate_depth = candidate_depth
        if paraphrases is None or isinstance(paraphrases, Mapping):
            self.paraphrases = {str(key): tuple(texts) for key, texts in (paraphrases or {}).items()}
        else:
            self.paraphrases = load_paraphrases(Path(paraphrases), paraphrase_id_column, paraphrase_text_column)
        self.rng = np.random.default_rng(seed)

    def reseed(self, rng: np.random.Generator) -> None:
        """Draw all later noise from ``rng`` (the environment passes its ``np_random`` on every reset)."""
        self.rng = rng

    def search(self, query: str, k: int) -> list[SearchResult]:
        """The base engine's top ``k`` for ``query``, corrupted."""
        return self._corrupt(self._candidates([query], k)[0], k)

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """:meth:`search` for each query, with one batched call to the base engine."""
        return [self._corrupt(candidates, k) for candidates in self._candidates(queries, k)]

    def _candidates(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        depth = k + self.candidate_depth if self.distractor_prob > 0 and self.distractors == "corpus" else k
        return self.base.batch_search(queries, depth) if k >= 1 else [[] for _ in queries]

    def _corrupt(self, candidates: list[SearchResult], k: int) -> list[SearchResult]:
        rng = self.rng
        results, reserve = list(candidates[:k]), candidates[k:]
        if self.distractor_prob > 0 and rng.random() < self.distractor_prob:
            for distractor in self._distractors(results, reserve):
                results.insert(int(rng.integers(len(results) + 1)), distractor)
        if self.drop_prob > 0:
            results = [result for result in results if rng.random() >= self.drop_prob]
        if self.shuffle_prob > 0 and rng.random() < self.shuffle_prob:
            results = [results[i] for i in rng.permutation(len(results))]
        if self.truncate_prob > 0:
            results = [self._truncate(result) if rng.random() < self.truncate_prob else result for result in results]
        return results[:k]

    def _distractors(self, results: list[SearchResult], reserve: list[SearchResult]) -> list[SearchResult]:
        rng = self.rng
        if self.distractors == "corpus":
            picks = rng.permutation(len(reserve))[: self.num_distractors]
            return [reserve[int(i)] for i in picks]
        sources = [result for result in results if self.paraphrases.get(result.doc_id)]
        chosen = []
        for _ in range(self.num_distractors if sources else 0):
            source = sources[int(rng.integers(len(sources)))]
            options = self.paraphrases[source.doc_id]
            j = int(rng.integers(len(options)))
            chosen.append(
                SearchResult(
                    doc_id=f"{source.doc_id}~paraphrase-{j}", text=options[j], score=source.score, title=source.title
                )
            )
        return chosen

    def _truncate(self, result: SearchResult) -> SearchResult:
        if len(result.text) <= self.truncate_chars:
            return result
        text = result.text[: self.truncate_chars].rstrip() + "…"
        return SearchResult(doc_id=result.doc_id, text=text, score=result.score, title=result.title)


def load_paraphrases(
    path: Path, id_column: str = "chunk_id", text_column: str = "paraphrased_text"
) -> dict[str, tuple[str, ...]]:
    """Paraphrases by document id from a CSV file (blank paraphrases are skipped).

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        DataFormatError: when a column is missing (the message names the file and the column).
    """
    grouped: dict[str, list[str]] = {}
    for _, row in read_csv(path, (id_column, text_column)):
        text = row[text_column].strip()
        if text:
            grouped.setdefault(row[id_column], []).append(text)
    logger.info("Loaded paraphrases of %d documents from %s", len(grouped), path)
    return {doc_id: tuple(texts) for doc_id, texts in grouped.items()}
