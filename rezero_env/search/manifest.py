"""The manifest saved beside every on-disk index, so an index is never used with a corpus or encoder it was not built
from, nor used damaged.

The manifest records what the index was built from (engine, corpus fingerprint, document count, settings) and, since
manifest version 2, what was written: the size and SHA-256 of every index file and the number of vectors (documents)
in the index. :func:`load_index` checks all of it before an engine uses a saved index:

- another corpus or other settings is the caller's mistake: :class:`IndexMismatchError`, never silently rebuilt;
- damage — a missing, truncated or altered file, an unreadable manifest, an index that fails to load or holds another
  number of vectors — is rebuilt from the corpus with a WARNING naming the file (``rebuild_damaged=True``, the
  default of the engines), or raises :class:`IndexCorruptError` naming the file (``rebuild_damaged=False``).

A version-1 manifest (written before checksums) still loads: its files cannot be verified (a WARNING says so once per
load, and ``rebuild=True`` or ``scripts/build_index.py --rebuild`` writes a verifiable one), but the index must still
load and hold one vector per document, or it is treated as damaged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rezero_env.cache import cache_dir

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 2
#: Manifest versions this rezero reads (1: no file checksums nor vector count).
READABLE_VERSIONS = (1, 2)

T = TypeVar("T")


class IndexMismatchError(ValueError):
    """An on-disk index does not match the corpus or settings it is being loaded for (the message names each
    mismatched field, its saved value and the requested one)."""


class IndexCorruptError(IndexMismatchError):
    """An on-disk index is damaged: a file is missing, truncated or altered, the manifest is unreadable, or the index
    does not load or holds another number of vectors (the message names the file and what is wrong with it)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path}: {problem}. Rebuild the index (rebuild=True, rebuild_damaged=True or scripts/build_index.py "
            "--rebuild) or point index_dir elsewhere."
        )
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class IndexManifest:
    """What an index was built from.

    Attributes:
        engine: The engine that built it (``"dense"``, ``"bm25"``).
        corpus_fingerprint: :func:`rezero_env.types.corpus_fingerprint` of the indexed documents.
        num_documents: How many documents were indexed.
        settings: Everything else that changes the index (encoder, dimension, index type, prefixes, BM25 k1/b, …);
            loading with different settings is an error.
        versions: Library versions used to build it; a difference is only logged.
        num_vectors: How many vectors (documents) the saved index holds; None in a version-1 manifest.
        files: Each index file (path relative to the folder, ``/``-separated) → ``{"size": bytes, "sha256": hex}``;
            empty in a version-1 manifest, which is then loaded unverified.
    """

    engine: str
    corpus_fingerprint: str
    num_documents: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)
    num_vectors: int | None = None
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_files(self, files: Mapping[str, Path], num_vectors: int) -> IndexManifest:
        """This manifest recording the vector count and, for each recorded name (relative to the index folder), the
        size and SHA-256 of the file at its path (hashed where it was written, before it is moved into place)."""
        records = {name: file_record(path) for name, path in sorted(files.items())}
        return dataclasses.replace(self, num_vectors=int(num_vectors), files=records)

    def save(self, folder: Path) -> None:
        """Write ``manifest.json`` into ``folder`` (atomically), with a SHA-256 of its own content."""
        folder.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {"manifest_version": MANIFEST_VERSION, **asdict(self)}
        payload["manifest_sha256"] = _self_digest(payload)
        staging = folder / f"{MANIFEST_FILE}.tmp-{os.getpid()}"
        staging.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
        staging.replace(folder / MANIFEST_FILE)

    @classmethod
    def load(cls, folder: Path) -> IndexManifest:
        """Read ``folder/manifest.json`` (version 1 or 2).

        Raises:
            FileNotFoundError: when the folder holds no manifest.
            IndexCorruptError: when the manifest is unreadable (not UTF-8 JSON, missing or mistyped fields).
            IndexMismatchError: when the manifest is of a version this rezero does not read (a newer one).
        """
        path = folder / MANIFEST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} holds no index: {MANIFEST_FILE} is missing")
        try:
            payload = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
            raise IndexCorruptError(path, f"not a valid index manifest ({type(error).__name__}: {error})") from None
        if not isinstance(payload, dict):
            raise IndexCorruptError(path, f"not a valid index manifest (a JSON {type(payload).__name__})")
        version = payload.pop("manifest_version", None)
        if isinstance(version, int) and not isinstance(version, bool) and version > max(READABLE_VERSIONS):
            raise IndexMismatchError(
                f"{path}: manifest version {version} was written by a newer rezero; this one reads "
                f"{', '.join(map(str, READABLE_VERSIONS))}"
            )
        if version not in READABLE_VERSIONS:
            raise IndexCorruptError(path, f"not a valid index manifest (manifest_version {version!r})")
        digest = payload.pop("manifest_sha256", None)
        if version >= 2 and digest != _self_digest({"manifest_version": version, **payload}):
            raise IndexCorruptError(path, "the manifest's SHA-256 of its own content does not match (it was altered)")
        problem = _payload_problem(payload)
        if problem:
            raise IndexCorruptError(path, f"not a valid index manifest ({problem})")
        try:
            return cls(**payload)
        except TypeError as error:
            raise IndexCorruptError(path, f"not a valid index manifest ({error})") from None

    def verify_files(self, folder: Path) -> None:
        """Check every recorded file's presence, size and SHA-256 (sizes first: a truncated file is caught without
        reading it).

        Raises:
            IndexCorruptError: naming the first file that is missing, of another size or with another checksum.
        """
        for name, record in self.files.items():
            path = folder / name
            if not path.is_file():
                raise IndexCorruptError(path, "the index file is missing")
            size = path.stat().st_size
            if size != record["size"]:
                raise IndexCorruptError(path, f"the index file has {size} bytes, the manifest says {record['size']}")
        started = time.monotonic()
        for name, record in self.files.items():
            path = folder / name
            digest = file_record(path)["sha256"]
            if digest != record["sha256"]:
                raise IndexCorruptError(path, "the index file's SHA-256 differs from the manifest's (it was altered)")
        logger.debug("Verified %d index files in %s in %.2f s", len(self.files), folder, time.monotonic() - started)

    def check(self, expected: IndexManifest, folder: Path) -> None:
        """Raise :class:`IndexMismatchError` naming every field where this saved manifest differs from ``expected``.

        Example:
            >>> saved = IndexManifest("dense", "abc", 3, {"encoder": "all-MiniLM-L6-v2"})
            >>> try:
            ...     saved.check(IndexManifest("dense", "abc", 3, {"encoder": "e5-small"}), Path("idx"))
            ... except IndexMismatchError as error:
            ...     print(str(error)[:90])
            The index in idx does not match: settings.encoder: index has 'all-MiniLM-L6-v2', requested
        """
        problems = []
        for name in ("engine", "corpus_fingerprint", "num_documents"):
            saved, wanted = getattr(self, name), getattr(expected, name)
            if saved != wanted:
                problems.append(f"{name}: index has {saved!r}, requested {wanted!r}")
        for key in sorted(set(self.settings) | set(expected.settings)):
            saved, wanted = self.settings.get(key), expected.settings.get(key)
            if _normalise(saved) != _normalise(wanted):
                problems.append(f"settings.{key}: index has {saved!r}, requested {wanted!r}")
        if problems:
            raise IndexMismatchError(
                f"The index in {folder} does not match: {'; '.join(problems)}. "
                "Rebuild it (rebuild=True or scripts/build_index.py) or point index_dir elsewhere."
            )
        for key in sorted(set(self.versions) & set(expected.versions)):
            if self.versions[key] != expected.versions[key]:
                logger.warning(
                    "Index in %s was built with %s %s; this process has %s",
                    folder,
                    key,
                    self.versions[key],
                    expected.versions[key],
                )


def file_record(path: Path) -> dict[str, Any]:
    """``{"size": bytes, "sha256": hex digest}`` of the file at ``path``."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"size": path.stat().st_size, "sha256": digest}


def _self_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 of a manifest's content (its ``manifest_sha256`` left out), over canonical JSON."""
    content = {key: value for key, value in payload.items() if key != "manifest_sha256"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _payload_problem(payload: Mapping[str, Any]) -> str | None:
    """What is wrong with a manifest's fields (None when nothing)."""
    expected: dict[str, type | tuple[type, ...]] = {
        "engine": str,
        "corpus_fingerprint": str,
        "num_documents": int,
        "settings": dict,
        "versions": dict,
        "num_vectors": (int, type(None)),
        "files": dict,
    }
    for name in ("engine", "corpus_fingerprint", "num_documents"):
        if name not in payload:
            return f"no {name!r}"
    for name, value in payload.items():
        kinds = expected.get(name)
        if kinds is None:
            return f"unknown field {name!r}"
        if isinstance(value, bool) or not isinstance(value, kinds):
            return f"{name!r} is {type(value).__name__}"
    for name, record in payload.get("files", {}).items():
        size, digest = (record.get("size"), record.get("sha256")) if isinstance(record, dict) else (None, None)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0 or not isinstance(digest, str):
            return f"files[{name!r}] is not {{'size': bytes, 'sha256': hex}}"
    return None


def load_index(
    folder: Path,
    expected: IndexManifest,
    index_file: str,
    load: Callable[[], T],
    inspect: Callable[[T], tuple[int, str | None]],
    *,
    rebuild_damaged: bool,
) -> tuple[T, IndexManifest] | None:
    """Load the index saved in ``folder`` for ``expected``, verified; None when it is damaged and must be rebuilt.

    Args:
        folder: The index folder.
        expected: The manifest of the index wanted (corpus and settings; no files).
        index_file: The file (or folder) ``load`` reads, relative to ``folder``, named when it fails to load.
        load: Reads the index (any exception it raises means the files are damaged; an IndexCorruptError it raises
            names the file itself).
        inspect: The loaded index's vector count and a problem found in it (None when it looks right).
        rebuild_damaged: On damage, log a WARNING and return None (True) or raise (False).

    Returns:
        The index and the saved manifest, or None (damaged, to be rebuilt).

    Raises:
        IndexMismatchError: when the index was built from another corpus or with other settings.
        IndexCorruptError: when it is damaged and ``rebuild_damaged`` is False.
    """
    try:
        try:
            saved = IndexManifest.load(folder)
        except FileNotFoundError:
            raise IndexCorruptError(folder / MANIFEST_FILE, "the manifest is missing beside the index") from None
        saved.check(expected, folder)
        if saved.files:
            saved.verify_files(folder)
        else:
            logger.warning(
                "The index in %s has no checksums (its manifest predates them): loading it unverified; "
                "rebuild=True or scripts/build_index.py --rebuild writes a verifiable one",
                folder,
            )
        try:
            index = load()
        except IndexCorruptError:
            raise
        except Exception as error:  # any library's error while reading the files: they are damaged
            raise IndexCorruptError(
                folder / index_file, f"the index does not load ({type(error).__name__}: {error})"
            ) from None
        count, problem = inspect(index)
        if problem is None and count != expected.num_documents:
            problem = f"the index holds {count} vectors for {expected.num_documents} documents"
        if problem is None and saved.num_vectors is not None and count != saved.num_vectors:
            problem = f"the index holds {count} vectors, the manifest says {saved.num_vectors}"
        if problem is not None:
            raise IndexCorruptError(folder / index_file, problem)
    except IndexCorruptError as error:
        if not rebuild_damaged:
            raise
        logger.warning("Damaged index: %s: %s; rebuilding it from the corpus", error.path, error.problem)
        return None
    return index, saved


def save_rebuilt(save: Callable[[Path], None], folder: Path) -> None:
    """``save(folder)`` for an index rebuilt because the saved one was damaged; a folder that cannot be written
    (read-only, full) is logged and the rebuilt index is used from memory."""
    try:
        save(folder)
    except OSError as error:
        logger.warning("Could not save the rebuilt index to %s (%s); using it from memory", folder, error)


def _normalise(value: Any) -> Any:
    """JSON round trip, so tuples saved as lists compare equal."""
    return json.loads(json.dumps(value, default=str))


def library_versions(*names: str) -> dict[str, str]:
    """Installed versions of the given distributions (missing ones are left out)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def default_index_dir(manifest: IndexManifest) -> Path:
    """``$REZERO_CACHE/indexes/<engine>-<corpus fingerprint>-<settings hash>``."""
    settings = hashlib.sha256(json.dumps(manifest.settings, sort_keys=True, default=str).encode()).hexdigest()
    return cache_dir() / "indexes" / f"{manifest.engine}-{manifest.corpus_fingerprint[:16]}-{settings[:12]}"


#: What ``index_dir`` may be, for every engine that saves indexes (bm25, dense).
IndexDir = str | os.PathLike[str] | bool


def resolve_index_dir(index_dir: object, engine: str) -> IndexDir:
    """Check ``index_dir``, which means the same for every engine that saves indexes: a folder path loads the index
    from that folder or builds and saves it there; ``True`` does the same in the cache folder
    (:func:`default_index_dir`, where ``scripts/build_index.py`` saves by default); ``False`` keeps the index in
    memory only. Only the defaults differ: ``False`` for bm25 (building is fast), ``True`` for dense.

    Raises:
        ValueError: for None (which used to mean "in memory" for bm25 and "cached" for dense) or another type.

    Example:
        >>> resolve_index_dir(True, "bm25"), resolve_index_dir("runs/idx", "dense")
        (True, 'runs/idx')
        >>> resolve_index_dir(None, "bm25")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: bm25: index_dir=None is ambiguous; pass True (the cache folder), False (in memory only) or a folder
    """
    if index_dir is None:
        raise ValueError(
            f"{engine}: index_dir=None is ambiguous; pass True (the cache folder), False (in memory only) or a folder"
        )
    if not isinstance(index_dir, str | os.PathLike | bool):
        raise ValueError(
            f"{engine}: index_dir must be a folder path, True (the cache folder) or False (in memory only), got "
            f"{type(index_dir).__name__}"
        )
    return index_dir


def index_folder(index_dir: IndexDir, manifest: IndexManifest) -> Path | None:
    """The folder a checked ``index_dir`` names for ``manifest``'s index (None: in memory only)."""
    if index_dir is False:
        return None
    if index_dir is True:
        return default_index_dir(manifest)
    return Path(index_dir).expanduser()
