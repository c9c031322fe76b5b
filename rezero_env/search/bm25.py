"""BM25 keyword search over an in-memory corpus (bm25s by default, rank-bm25 as an alternative backend).

A bm25s index can be saved to and loaded from ``index_dir`` with a ``manifest.json`` (as dense indexes are), so a
large corpus is tokenized and indexed once; loading an index built from another corpus or with other settings raises
:class:`~rezero_env.search.manifest.IndexMismatchError` naming what differs. The manifest also records each index
file's size and SHA-256 and the document count; a damaged index (a missing, truncated or altered file, one that does
not load or counts other documents) is rebuilt with a WARNING naming the file, or with ``rebuild_damaged=False``
raises :class:`~rezero_env.search.manifest.IndexCorruptError` naming it (see :mod:`rezero_env.search.manifest`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rezero_env.search.manifest import (
    MANIFEST_FILE,
    IndexCorruptError,
    IndexDir,
    IndexManifest,
    index_folder,
    library_versions,
    load_index,
    resolve_index_dir,
    save_rebuilt,
)
from rezero_env.types import Document, SearchResult, corpus_fingerprint

logger = logging.getLogger(__name__)

Backend = Literal["bm25s", "rank_bm25"]
BACKENDS: tuple[Backend, ...] = ("bm25s", "rank_bm25")
TOKENIZER = "bm25s.tokenize(stopwords='en')"
_BM25S_FOLDER = "bm25s"
#: The files bm25s saves for a BM25 index (method "lucene").
_BM25S_FILES = (
    "params.index.json",
    "vocab.index.json",
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lowercase word tokens (two or more word characters) without English stopwords, as both backends see them."""
    bm25s = _import_bm25s()

    tokens: list[list[str]] = bm25s.tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)
    return tokens


class BM25Search:
    """Okapi BM25 over ``documents``; implements :class:`~rezero_env.search.base.SearchEngine`.

    Documents sharing no word with the query are never returned, so a query of stopwords or unknown words gives an
    empty list. Ties are broken by corpus order, so results are deterministic.

    Args:
        documents: The corpus (titles are indexed together with the text).
        backend: ``"bm25s"`` (fast, sparse; default) or ``"rank_bm25"`` (the classic pure-Python implementation).
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        index_dir: ``False`` (default): keep the index in memory only. A folder: load the index from it, or build it
            and save it there (with a manifest). ``True``: the same in the cache folder
            ``$REZERO_CACHE/indexes/bm25-<corpus>-<settings>`` (where ``scripts/build_index.py`` saves by default).
            The same meanings as for the dense engine (:func:`~rezero_env.search.manifest.resolve_index_dir`);
            ``None`` is refused. Only the bm25s backend persists.
        rebuild: Build and overwrite even if ``index_dir`` holds an index.
        rebuild_damaged: When the index in ``index_dir`` is damaged, rebuild it with a WARNING (default) instead of
            raising :class:`~rezero_env.search.manifest.IndexCorruptError`.

    Raises:
        IndexMismatchError: when ``index_dir`` holds an index of another corpus or with other settings.
        IndexCorruptError: when it holds a damaged index and ``rebuild_damaged`` is False (naming the file).

    Example:
        >>> engine = BM25Search([Document("a", "The Amber Astrolabe is kept in Velmora."), Document("b", "Cats purr.")])
        >>> [(r.doc_id, round(r.score, 3)) for r in engine.search("Where is the Amber Astrolabe kept?", k=3)]
        [('a', 0.723)]
    """

    def __init__(
        self,
        documents: Sequence[Document],
        backend: Backend = "bm25s",
        k1: float = 1.5,
        b: float = 0.75,
        index_dir: IndexDir = False,
        rebuild: bool = False,
        rebuild_damaged: bool = True,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"Unknown BM25 backend {backend!r}; choose one of {BACKENDS}")
        if len(documents) == 0:
            raise ValueError("Cannot build a BM25 index over an empty corpus (0 documents)")
        index_dir = resolve_index_dir(index_dir, "bm25")
        persist = index_dir is not False
        if persist and backend != "bm25s":
            raise ValueError(
                f"index_dir={index_dir!r}: only the 'bm25s' backend saves and loads indexes; {backend!r} indexes "
                "live in memory only (drop index_dir or use backend='bm25s')"
            )
        self.documents = tuple(documents)
        self.backend = backend
        self.k1, self.b = float(k1), float(b)
        self.manifest: IndexManifest | None = None
        self.index_dir: Path | None = None
        self._index: Any
        if persist:
            self.manifest = self._manifest()
            self.index_dir = index_folder(index_dir, self.manifest)
            assert self.index_dir is not None
            folder = self.index_dir
            saved = (folder / _BM25S_FOLDER).exists() or (folder / MANIFEST_FILE).exists()
            if not rebuild and saved:
                loaded = load_index(
                    folder,
                    self.manifest,
                    _BM25S_FOLDER,
                    lambda: _load_bm25s(folder / _BM25S_FOLDER),
                    _inspect,
                    rebuild_damaged=rebuild_damaged,
                )
                if loaded is not None:
                    self._index = loaded[0]
                    logger.info("Loaded BM25 index of %d documents from %s", len(self.documents), folder)
                    return
                self._build()  # damaged: rebuilt, and saved when the folder can be written
                save_rebuilt(self.save, folder)
                return
        self._build()
        if self.index_dir is not None:
            self.save(self.index_dir)

    def save(self, folder: str | os.PathLike[str]) -> None:
        """Write the bm25s index and its manifest into ``folder`` (replacing an index already there).

        Raises:
            ValueError: for the rank_bm25 backend, which does not persist.
        """
        if self.backend != "bm25s":
            raise ValueError(f"Only the 'bm25s' backend saves indexes, not {self.backend!r}")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST_FILE).unlink(missing_ok=True)  # never leave an old manifest beside a new index
        staging = folder / f"{_BM25S_FOLDER}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        self._index.save(str(staging), show_progress=False)
        written = {f"{_BM25S_FOLDER}/{path.name}": path for path in staging.iterdir() if path.is_file()}
        manifest = (self.manifest or self._manifest()).with_files(written, int(self._index.scores["num_docs"]))
        shutil.rmtree(folder / _BM25S_FOLDER, ignore_errors=True)
        staging.replace(folder / _BM25S_FOLDER)
        manifest.save(folder)
        logger.info("Saved BM25 index of %d documents to %s", len(self.documents), folder)

    def _build(self) -> None:
        corpus_tokens = tokenize([_indexed_text(doc) for doc in self.documents])
        if not any(corpus_tokens):
            raise ValueError("Cannot build a BM25 index: no document contains an indexable word")
        if self.backend == "bm25s":
            self._index = _import_bm25s().BM25(k1=self.k1, b=self.b)
            self._index.index(corpus_tokens, show_progress=False)
        else:
            from rank_bm25 import BM25Okapi

            self._index = BM25Okapi(corpus_tokens, k1=self.k1, b=self.b)
        logger.debug("Indexed %d documents with %s", len(self.documents), self.backend)

    def _manifest(self) -> IndexManifest:
        return IndexManifest(
            engine="bm25",
            corpus_fingerprint=corpus_fingerprint(self.documents),
            num_documents=len(self.documents),
            settings={"backend": self.backend, "k1": self.k1, "b": self.b, "tokenizer": TOKENIZER},
            versions=library_versions("bm25s"),
        )

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Return at most ``k`` documents sharing words with ``query``, best first."""
        return self._rank(tokenize([query])[0], k)

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Return :meth:`search` results for each query, in order."""
        return [self._rank(tokens, k) for tokens in tokenize(queries)]

    def _rank(self, query_tokens: list[str], k: int) -> list[SearchResult]:
        if k < 1 or not query_tokens:
            return []
        scores = np.asarray(self._index.get_scores(query_tokens), dtype=np.float64)
        matched = self._matched(query_tokens, scores)
        scores[~matched] = -np.inf
        k = min(k, int(matched.sum()))
        if k == 0:
            return []
        candidates = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        ranked = sorted(candidates.tolist(), key=lambda i: (-scores[i], i))
        return [self._result(i, float(scores[i])) for i in ranked]

    def _matched(self, query_tokens: list[str], scores: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Which documents share a word with the query. bm25s's idf is always positive, so a positive score says
        it; rank-bm25's classic idf is zero or tiny for words in half the corpus, so look at the term counts."""
        if self.backend == "bm25s":
            return scores > 0
        words = set(query_tokens)
        return np.fromiter((not words.isdisjoint(counts) for counts in self._index.doc_freqs), dtype=bool)

    def _result(self, index: int, score: float) -> SearchResult:
        doc = self.documents[index]
        return SearchResult(doc_id=doc.doc_id, text=doc.text, score=score, title=doc.title)


def _import_bm25s() -> Any:
    """Import bm25s, undoing the DEBUG level it sets on its own logger so the application's logging config decides."""
    import bm25s

    bm25s_logger = logging.getLogger("bm25s")
    if bm25s_logger.level == logging.DEBUG:
        bm25s_logger.setLevel(logging.NOTSET)
    return bm25s


def _load_bm25s(folder: Path) -> Any:
    """``bm25s.BM25.load(folder)``; when it fails, an IndexCorruptError naming the first file that cannot be read
    on its own (bm25s's errors do not say which), or bm25s's error when each can."""
    try:
        return _import_bm25s().BM25.load(str(folder), show_progress=False)
    except Exception as error:
        for name in _BM25S_FILES:
            path = folder / name
            try:
                if name.endswith(".json"):
                    json.loads(path.read_bytes())
                else:
                    np.load(path, allow_pickle=False, mmap_mode="r")
            except (OSError, ValueError, RecursionError, EOFError) as file_error:
                raise IndexCorruptError(
                    path, f"the index file does not load ({type(file_error).__name__}: {file_error})"
                ) from None
        raise error


def _inspect(index: Any) -> tuple[int, str | None]:
    """A loaded bm25s index's document count and what is inconsistent in its arrays (None when nothing is)."""
    scores = index.scores
    count = int(scores["num_docs"])
    data, indices, indptr = (np.asarray(scores[name]) for name in ("data", "indices", "indptr"))
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1 or len(indptr) == 0:
        return count, "the index's score arrays are not one-dimensional"
    if len(data) != len(indices) or int(indptr[-1]) != len(data) or int(indptr[0]) != 0:
        return count, f"the index's arrays disagree ({len(data)} scores, {len(indices)} document numbers)"
    if np.any(np.diff(indptr) < 0):
        return count, "the index's column pointers (indptr) decrease"
    if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= count):
        return count, f"the index refers to documents outside 0..{count - 1}"
    if not np.all(np.isfinite(data)):
        return count, "the index holds scores that are not finite"
    vocab = index.vocab_dict
    if not isinstance(vocab, dict) or any(not isinstance(i, int) or not 0 <= i < len(indptr) for i in vocab.values()):
        return count, "the index's vocabulary does not match its arrays"
    return count, None


def _indexed_text(doc: Document) -> str:
    return f"{doc.title}\n{doc.text}" if doc.title else doc.text
