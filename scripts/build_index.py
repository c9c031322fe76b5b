"""Build and save the search indexes of a dataset, so environments load them instead of indexing again.

    python scripts/build_index.py --dataset rezero-apollo                    # bm25 + dense, into the cache
    python scripts/build_index.py --dataset ../shared/datasets/rezero-apollo --engine dense --index-type hnsw
    python scripts/build_index.py --dataset synthetic --index-dir /tmp/indexes --rebuild

By default the indexes go where the engines look for them, ``$REZERO_CACHE/indexes/<engine>-<corpus>-<settings>``
(``~/.cache/rezero`` without the variable): ``gym.make("SearchQA-v0", dataset=..., search_engine="dense")`` then
loads the dense index built here (same encoder, prefixes and index type), and the bm25 index is used with
``search_options={"index_dir": True}``. With ``--index-dir DIR`` they go to ``DIR/bm25`` and ``DIR/dense``; pass that
folder as ``search_options={"index_dir": ...}``. The last lines printed say exactly what to pass.

An index already saved for the same corpus and settings is loaded, not rebuilt (``--rebuild`` forces it); one saved
for another corpus or other settings is an error naming what differs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tyro

from rezero_env.cache import cache_dir
from rezero_env.data import DataFormatError, load_dataset
from rezero_env.search.dense import DEFAULT_ENCODER
from rezero_env.search.manifest import MANIFEST_FILE
from rezero_env.types import Document


@dataclass
class Args:
    dataset: str
    """Dataset name or folder, as for gym.make's dataset option: synthetic, rezero-apollo, ./my-corpus, hf:..."""
    engine: Literal["bm25", "dense", "both"] = "both"
    """Which indexes to build."""
    index_dir: Path | None = None
    """Save into INDEX_DIR/bm25 and INDEX_DIR/dense instead of the cache folder the engines use by default."""
    dataset_options: dict[str, str] = field(default_factory=dict)
    """Options for the dataset loader, e.g. --dataset-options corpus c.jsonl questions q.jsonl (Search-R1 files)."""
    encoder: str = DEFAULT_ENCODER
    """Dense: sentence-transformers model name, local folder or hub id."""
    index_type: Literal["flat", "hnsw", "ivf"] = "flat"
    """Dense: flat (exact) or an approximate index for million-paragraph corpora."""
    query_prefix: str = ""
    """Dense: prefix for queries ("query: " for e5 models); part of the index settings."""
    passage_prefix: str = ""
    """Dense: prefix for paragraphs ("passage: " for e5 models)."""
    batch_size: int = 64
    """Dense: encoding batch size."""
    device: str = "cpu"
    """Dense: torch device of the encoder."""
    k1: float = 1.5
    """BM25 term-frequency saturation."""
    b: float = 0.75
    """BM25 length normalisation."""
    rebuild: bool = False
    """Build and overwrite even when a matching index is saved already."""


DEFAULTS = Args(dataset="")


@dataclass
class Built:
    """What one engine's build left on disk."""

    engine: str
    documents: int
    seconds: float
    folder: Path
    rebuilt: bool
    search_options: dict[str, Any]


def folder_size(folder: Path) -> int:
    """Bytes of all files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    raise AssertionError("unreachable")


def build_bm25(documents: tuple[Document, ...], args: Args) -> Built:
    from rezero_env.search.bm25 import BM25Search

    index_dir: Path | bool = args.index_dir / "bm25" if args.index_dir else True
    before = _manifests(args.index_dir / "bm25" if args.index_dir else None)
    start = time.time()
    print(f"bm25: indexing {len(documents):,} documents ...", flush=True)
    engine = BM25Search(documents, k1=args.k1, b=args.b, index_dir=index_dir, rebuild=args.rebuild)
    assert engine.index_dir is not None
    options: dict[str, Any] = {"index_dir": str(engine.index_dir) if args.index_dir else True}
    options.update({key: getattr(args, key) for key in ("k1", "b") if getattr(args, key) != getattr(DEFAULTS, key)})
    seconds = time.time() - start
    return Built("bm25", len(documents), seconds, engine.index_dir, _written(engine.index_dir, before), options)


def build_dense(documents: tuple[Document, ...], args: Args) -> Built:
    from rezero_env.search.dense import DenseSearch

    before = _manifests(args.index_dir / "dense" if args.index_dir else None)
    start = time.time()
    print(f"dense: encoding {len(documents):,} documents with {args.encoder} ({args.index_type}) ...", flush=True)
    engine = DenseSearch(
        documents,
        encoder=args.encoder,
        query_prefix=args.query_prefix,
        passage_prefix=args.passage_prefix,
        index_type=args.index_type,
        index_dir=args.index_dir / "dense" if args.index_dir else True,
        rebuild=args.rebuild,
        batch_size=args.batch_size,
        device=args.device,
        show_progress=True,
    )
    assert engine.index_dir is not None
    settings = ("encoder", "index_type", "query_prefix", "passage_prefix")
    options: dict[str, Any] = {
        key: getattr(args, key) for key in settings if getattr(args, key) != getattr(DEFAULTS, key)
    }
    if args.index_dir:
        options["index_dir"] = str(engine.index_dir)
    seconds = time.time() - start
    return Built("dense", len(documents), seconds, engine.index_dir, _written(engine.index_dir, before), options)


def _manifests(folder: Path | None) -> dict[Path, tuple[int, int]]:
    """Inode and modification time of the manifest in ``folder``, or (None) of every manifest in the cache's index
    folders: an index whose manifest is new or changed afterwards was (re)built, not loaded."""
    paths = [folder / MANIFEST_FILE] if folder else list((cache_dir() / "indexes").glob(f"*/{MANIFEST_FILE}"))
    return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in paths if path.is_file()}


def _written(folder: Path, before: dict[Path, tuple[int, int]]) -> bool:
    manifest = folder / MANIFEST_FILE
    return before.get(manifest) != (manifest.stat().st_ino, manifest.stat().st_mtime_ns)


def main(args: Args) -> list[Built]:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        dataset = load_dataset(args.dataset, args.dataset_options or None)
        builders = {"bm25": build_bm25, "dense": build_dense}
        names = list(builders) if args.engine == "both" else [args.engine]
        built = [builders[name](dataset.documents, args) for name in names]
    except (FileNotFoundError, DataFormatError, ValueError, ImportError) as error:
        raise SystemExit(f"build_index.py: {error}") from None
    print(f"\nDataset {dataset.name!r}: {len(dataset.documents):,} documents")
    print(f"{'engine':<7} {'docs':>10} {'seconds':>9} {'on disk':>10}  {'status':<7}  folder")
    for b in built:
        status = "built" if b.rebuilt else "loaded"
        size = human_size(folder_size(b.folder))
        print(f"{b.engine:<7} {b.documents:>10,} {b.seconds:>9.1f} {size:>10}  {status:<7}  {b.folder}")
    if not all(b.rebuilt for b in built):
        print("(loaded = a matching index was saved already; --rebuild rebuilds it)")
    print("\nUse them with:")
    data_options = f", dataset_options={args.dataset_options!r}" if args.dataset_options else ""
    for b in built:
        options = f", search_options={b.search_options!r}" if b.search_options else ""
        print(f'  gym.make("SearchQA-v0", dataset={args.dataset!r}{data_options}, search_engine="{b.engine}"{options})')
    return built


if __name__ == "__main__":
    main(tyro.cli(Args))
