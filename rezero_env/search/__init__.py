"""Search engines the environment can query, selected by name through :func:`make_search_engine`.

- ``bm25``: keyword BM25, bm25s or rank-bm25 (:class:`BM25Search`).
- ``dense``: sentence-transformers + faiss, index persisted with a manifest (:class:`~.dense.DenseSearch`).
- ``hybrid``: engines fused by relative-score fusion (default) or reciprocal-rank fusion (``fusion="rrf"``, then
  ``rrf_k``), default bm25 + dense (``engines``, ``engine_options``, ``weights``, ``fusion``, ``rrf_k``, ``depth``;
  :class:`~.hybrid.HybridSearch`).
- ``noisy``: any engine with seeded distractors, drops, shuffles and truncations (``base``, ``base_options`` and the
  options of :class:`~.noisy.NoisySearch`).
- ``cached``: any engine behind an LRU and optional on-disk cache (``base``, ``base_options``, ``maxsize``,
  ``cache_dir``; :class:`~.cached.CachedSearch`).
- ``web``: Tavily web search, needs ``TAVILY_API_KEY`` (:class:`~.web.WebSearch`).
- ``remote``: a retrieval server speaking Search-R1's ``POST /retrieve`` protocol (:class:`~.remote.RemoteSearch`).

Modules are imported only when their engine is built, so ``import rezero_env`` pulls in none of their libraries.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rezero_env.search.base import RandomizedSearchEngine, SearchEngine, SearchError
from rezero_env.search.bm25 import BM25Search
from rezero_env.types import Document, corpus_fingerprint

#: Builds (or fetches a shared copy of) a sub-engine by name or instance, for engines made of engines.
Resolver = Callable[[Any, Mapping[str, Any] | None], SearchEngine]

#: Engine names → ``"module:Class"`` whose constructor takes ``(documents, **search_options)``.
ENGINES: dict[str, str] = {
    "bm25": "rezero_env.search.bm25:BM25Search",
    "dense": "rezero_env.search.dense:DenseSearch",
    "web": "rezero_env.search.web:WebSearch",
    "remote": "rezero_env.search.remote:RemoteSearch",
}


def _build_hybrid(
    documents: Sequence[Document],
    resolve: Resolver,
    engines: Sequence[Any] = ("bm25", "dense"),
    engine_options: Sequence[Mapping[str, Any] | None] | None = None,
    weights: Sequence[float] | None = None,
    fusion: str = "relative",
    rrf_k: float | None = None,
    depth: int | None = None,
) -> SearchEngine:
    from rezero_env.search.hybrid import HybridSearch, check_fusion

    check_fusion(fusion, rrf_k)  # before building the engines (a dense index takes minutes)
    options = list(engine_options) if engine_options is not None else [None] * len(engines)
    if len(options) != len(engines):
        raise ValueError(f"hybrid: {len(engines)} engines but {len(options)} engine_options")
    parts = [resolve(name, opts) for name, opts in zip(engines, options, strict=True)]
    return HybridSearch(parts, weights=weights, fusion=fusion, rrf_k=rrf_k, depth=depth)  # type: ignore[arg-type]


def _build_noisy(
    documents: Sequence[Document],
    resolve: Resolver,
    base: Any = "bm25",
    base_options: Mapping[str, Any] | None = None,
    **noise: Any,
) -> SearchEngine:
    from rezero_env.search.noisy import NoisySearch

    _check_options(NoisySearch, noise, "noisy", skip=1)
    return NoisySearch(resolve(base, base_options), **noise)


def _build_cached(
    documents: Sequence[Document],
    resolve: Resolver,
    base: Any = "bm25",
    base_options: Mapping[str, Any] | None = None,
    maxsize: int = 4096,
    cache_dir: str | None = None,
) -> SearchEngine:
    from rezero_env.search.cached import CachedSearch

    namespace = json.dumps([str(base), freeze(base_options or {}), corpus_fingerprint(documents)], default=str)
    return CachedSearch(resolve(base, base_options), maxsize=maxsize, cache_dir=cache_dir, namespace=namespace)


#: Engines made of other engines: builders taking ``(documents, resolve, **search_options)``.
COMPOSITE_ENGINES: dict[str, Callable[..., SearchEngine]] = {
    "hybrid": _build_hybrid,
    "noisy": _build_noisy,
    "cached": _build_cached,
}


def engine_names() -> list[str]:
    """Every name :func:`make_search_engine` accepts."""
    return sorted([*ENGINES, *COMPOSITE_ENGINES])


def make_search_engine(
    engine: str | SearchEngine,
    documents: Sequence[Document],
    options: Mapping[str, Any] | None = None,
    resolve: Resolver | None = None,
) -> SearchEngine:
    """Build the engine named ``engine`` over ``documents`` (or return ``engine`` itself if it already is one).

    ``resolve`` builds the sub-engines of composite engines (hybrid, noisy, cached); by default they are built fresh
    over the same documents. The environment passes one that shares engines between environments.

    Raises:
        ValueError: for an unknown name or options the engine does not take.
        TypeError: for an object that does not implement :class:`SearchEngine`.

    Example:
        >>> docs = [Document("a", "The oxygen tank failed."), Document("b", "The crew returned safely.")]
        >>> engine = make_search_engine("noisy", docs, {"base": "bm25", "shuffle_prob": 0.5})
        >>> type(engine).__name__, type(engine.base).__name__
        ('NoisySearch', 'BM25Search')
    """
    options = dict(options or {})
    if not isinstance(engine, str):
        if not isinstance(engine, SearchEngine):
            raise TypeError(
                f"search_engine must be one of {engine_names()} or an object with search(query, k) and "
                f"batch_search(queries, k) methods; got {type(engine).__name__}"
            )
        if options:
            raise ValueError("search_options only apply to engines built by name, not to an engine instance")
        return engine
    if engine in COMPOSITE_ENGINES:
        builder = COMPOSITE_ENGINES[engine]
        _check_options(builder, options, engine, skip=2)
        if resolve is None:

            def resolve(name: Any, sub_options: Mapping[str, Any] | None) -> SearchEngine:
                return make_search_engine(name, documents, sub_options)

        return builder(documents, resolve, **options)
    if engine not in ENGINES:
        raise ValueError(f"Unknown search_engine {engine!r}; choose one of {engine_names()} or pass an engine object")
    module_name, class_name = ENGINES[engine].split(":")
    engine_class = getattr(importlib.import_module(module_name), class_name)
    _check_options(engine_class, options, engine, skip=1)
    built: SearchEngine = engine_class(documents, **options)
    return built


def _check_options(builder: Callable[..., Any], options: Mapping[str, Any], name: str, skip: int) -> None:
    """Raise a ValueError naming the valid options when ``options`` do not fit ``builder`` (after ``skip``
    positional arguments)."""
    signature = inspect.signature(builder)
    parameters = list(signature.parameters.values())[skip:]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    valid = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ValueError(f"Bad search_options for {name!r}: unknown {unknown}; valid options are {valid}")


def freeze(value: Any) -> Any:
    """A hashable copy of nested option mappings and sequences (for sharing engines built with equal options).

    Example:
        >>> freeze({"base": "bm25", "base_options": {"k1": 1.2}, "weights": [1, 2]})
        (('base', 'bm25'), ('base_options', (('k1', 1.2),)), ('weights', (1, 2)))
    """
    if isinstance(value, Mapping):
        return tuple(sorted((str(key), freeze(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


__all__ = [
    "COMPOSITE_ENGINES",
    "ENGINES",
    "BM25Search",
    "RandomizedSearchEngine",
    "Resolver",
    "SearchEngine",
    "SearchError",
    "engine_names",
    "freeze",
    "make_search_engine",
]
