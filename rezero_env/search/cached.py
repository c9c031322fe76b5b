"""A caching decorator for any search engine: an in-memory LRU, optionally backed by an SQLite file on disk."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from rezero_env.search.base import SearchEngine
from rezero_env.types import SearchResult

logger = logging.getLogger(__name__)

_DISK_FILE = "search-cache.sqlite"


class CachedSearch:
    """Answer repeated ``(query, k)`` searches from a cache; implements :class:`~rezero_env.search.base.SearchEngine`.

    A hit returns results equal to the first answer. Only successful searches are cached (a
    :class:`~rezero_env.search.base.SearchError` is not). With ``cache_dir`` the cache survives the process (an SQLite
    file, safe for several processes), so reruns against a slow or paid engine are reproducible and cheap.

    Args:
        base: The engine to cache.
        maxsize: Entries kept in memory (least recently used are evicted).
        cache_dir: Folder for the on-disk cache, or ``None`` for memory only.
        namespace: Separates caches of different engines/corpora sharing one ``cache_dir``.

    Example:
        >>> from rezero_env.search.bm25 import BM25Search
        >>> from rezero_env.types import Document
        >>> cached = CachedSearch(BM25Search([Document("a", "The oxygen tank failed.")]))
        >>> cached.search("oxygen", 1) == cached.search("oxygen", 1), cached.hits, cached.misses
        (True, 1, 1)
    """

    def __init__(
        self,
        base: SearchEngine,
        maxsize: int = 4096,
        cache_dir: str | os.PathLike[str] | None = None,
        namespace: str = "",
    ) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be >= 1, got {maxsize}")
        self.base = base
        self.maxsize = maxsize
        self.namespace = namespace
        self.hits = 0
        self.misses = 0
        self._memory: OrderedDict[str, list[SearchResult]] = OrderedDict()
        self._lock = threading.Lock()
        self._disk: sqlite3.Connection | None = None
        if cache_dir is not None:
            folder = Path(cache_dir).expanduser()
            folder.mkdir(parents=True, exist_ok=True)
            self._disk = sqlite3.connect(folder / _DISK_FILE, check_same_thread=False, timeout=30)
            self._disk.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self._disk.commit()

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Cached ``base.search(query, k)``."""
        return self.batch_search([query], k)[0]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Cached results for each query; all misses go to the base engine in one ``batch_search``."""
        keys = [self._key(query, k) for query in queries]
        found = [self._get(key) for key in keys]
        todo: dict[str, str] = {}  # key -> query, each distinct miss once, in first-seen order
        for key, query, results in zip(keys, queries, found, strict=True):
            if results is None:
                todo.setdefault(key, query)
        fresh: dict[str, list[SearchResult]] = {}
        if todo:
            for key, results in zip(todo, self.base.batch_search(list(todo.values()), k), strict=True):
                self._put(key, results)
                fresh[key] = results
        self.hits += len(queries) - len(todo)
        self.misses += len(todo)
        return [list(results if results is not None else fresh[key]) for key, results in zip(keys, found, strict=True)]

    def clear(self) -> None:
        """Forget everything cached in memory and on disk."""
        with self._lock:
            self._memory.clear()
            if self._disk is not None:
                self._disk.execute("DELETE FROM results")
                self._disk.commit()

    def _key(self, query: str, k: int) -> str:
        return hashlib.sha256(json.dumps([self.namespace, query, k]).encode("utf-8", "surrogatepass")).hexdigest()

    def _get(self, key: str) -> list[SearchResult] | None:
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
            if self._disk is None:
                return None
            row = self._disk.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        results = [SearchResult(**item) for item in json.loads(row[0])]
        self._remember(key, results)
        return results

    def _put(self, key: str, results: list[SearchResult]) -> None:
        self._remember(key, list(results))
        if self._disk is not None:
            value = json.dumps([asdict(result) for result in results])
            with self._lock:
                self._disk.execute("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", (key, value))
                self._disk.commit()

    def _remember(self, key: str, results: list[SearchResult]) -> None:
        with self._lock:
            self._memory[key] = results
            self._memory.move_to_end(key)
            while len(self._memory) > self.maxsize:
                self._memory.popitem(last=False)
