"""The ``SearchEngine`` protocol every engine implements, and the error an engine raises for the agent to see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rezero_env.types import SearchResult


class SearchError(RuntimeError):
    """A search failed in a way the agent should read about (timeout, server down, bad reply).

    The environment renders it into the observation as ``<information>Search failed: …</information>`` and the
    episode continues; any other exception from an engine is a bug and propagates.
    """


@runtime_checkable
class SearchEngine(Protocol):
    """What the environment needs from a search engine.

    ``search(query, k)`` returns at most ``k`` results, best first; ``batch_search(queries, k)`` returns one such list
    per query, in the order of ``queries``. An empty list means nothing matched. Engines must be deterministic for a
    fixed index unless documented otherwise.

    Example:
        >>> from rezero_env.search import BM25Search
        >>> from rezero_env.types import Document
        >>> engine = BM25Search([Document("a", "Ada Lovelace wrote the first program."), Document("b", "Cats purr.")])
        >>> isinstance(engine, SearchEngine)
        True
        >>> [r.doc_id for r in engine.search("who wrote the first program", k=5)]
        ['a']
    """

    def search(self, query: str, k: int) -> list[SearchResult]: ...

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]: ...


@runtime_checkable
class RandomizedSearchEngine(SearchEngine, Protocol):
    """An engine whose results depend on a random generator (e.g. :class:`~rezero_env.search.noisy.NoisySearch`).

    The environment calls ``reseed(self.np_random)`` on every ``reset``, so a seeded episode replays the same
    results; such engines are built per environment, never shared.
    """

    def reseed(self, rng: np.random.Generator) -> None: ...
