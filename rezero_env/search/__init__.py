"""Search engines the environment can query, selected by name through :func:`make_search_engine`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rezero_env.search.base import SearchEngine, SearchError
from rezero_env.search.bm25 import BM25Search
from rezero_env.types import Document

EngineBuilder = Callable[..., SearchEngine]

#: Engine names accepted by ``gym.make("SearchQA-v0", search_engine=...)``, each built from the corpus and the
#: ``search_options`` mapping.
ENGINES: dict[str, EngineBuilder] = {"bm25": BM25Search}


def make_search_engine(
    engine: str | SearchEngine, documents: Sequence[Document], options: Mapping[str, Any] | None = None
) -> SearchEngine:
    """Build the engine named ``engine`` over ``documents`` (or return ``engine`` itself if it already is one).

    Raises:
        ValueError: for an unknown name or options the engine does not take.
        TypeError: for an object that does not implement :class:`SearchEngine`.
    """
    options = dict(options or {})
    if not isinstance(engine, str):
        if not isinstance(engine, SearchEngine):
            raise TypeError(
                f"search_engine must be one of {sorted(ENGINES)} or an object with search(query, k) and "
                f"batch_search(queries, k) methods; got {type(engine).__name__}"
            )
        if options:
            raise ValueError("search_options only apply to engines built by name, not to an engine instance")
        return engine
    if engine not in ENGINES:
        raise ValueError(f"Unknown search_engine {engine!r}; choose one of {sorted(ENGINES)} or pass an engine object")
    builder = ENGINES[engine]
    try:
        inspect.signature(builder).bind(documents, **options)
    except TypeError as error:
        raise ValueError(f"Bad search_options for {engine!r}: {error}") from error
    return builder(documents, **options)


__all__ = ["ENGINES", "BM25Search", "SearchEngine", "SearchError", "make_search_engine"]
