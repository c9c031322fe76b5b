"""The manifest saved beside every on-disk index, so an index is never used with a corpus or encoder it was not built
from."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rezero_env.cache import cache_dir

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1


class IndexMismatchError(ValueError):
    """An on-disk index does not match the corpus or settings it is being loaded for (the message names each
    mismatched field, its saved value and the requested one)."""


@dataclass(frozen=True)
class IndexManifest:
    """What an index was built from.

    Attributes:
        engine: The engine that built it (``"dense"``, ``"bm25"``).
        corpus_fingerprint: :func:`rezero_env.data.dataset.corpus_fingerprint` of the indexed documents.
        num_documents: How many documents were indexed.
        settings: Everything else that changes the index (encoder, dimension, index type, prefixes, BM25 k1/b, …);
            loading with different settings is an error.
        versions: Library versions used to build it; a difference is only logged.
    """

    engine: str
    corpus_fingerprint: str
    num_documents: int
    settings: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, str] = field(default_factory=dict)

    def save(self, folder: Path) -> None:
        """Write ``manifest.json`` into ``folder`` (atomically)."""
        folder.mkdir(parents=True, exist_ok=True)
        payload = {"manifest_version": MANIFEST_VERSION, **asdict(self)}
        staging = folder / f"{MANIFEST_FILE}.tmp-{os.getpid()}"
        staging.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
        staging.replace(folder / MANIFEST_FILE)

    @classmethod
    def load(cls, folder: Path) -> IndexManifest:
        """Read ``folder/manifest.json``.

        Raises:
            FileNotFoundError: when the folder holds no manifest.
            IndexMismatchError: when the manifest is unreadable or of another version.
        """
        path = folder / MANIFEST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{folder} holds no index: {MANIFEST_FILE} is missing")
        try:
            payload = json.loads(path.read_text())
            version = payload.pop("manifest_version")
            manifest = cls(**payload)
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise IndexMismatchError(f"{path}: not a valid index manifest ({error})") from None
        if version != MANIFEST_VERSION:
            raise IndexMismatchError(f"{path}: manifest version {version}, this rezero reads {MANIFEST_VERSION}")
        return manifest

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
