"""The episode log: JSON Lines, one finished episode per line, read by evaluation and the playback UI.

The records are built by :mod:`rezero_agents.records` (the one builder: its docstring is the schema); this module
writes and reads the files. ``episode_record``, ``episode_records``, ``SCHEMA_VERSION`` and ``now`` are re-exported
for callers that import them from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from rezero_agents.records import (
    READABLE_SCHEMA_VERSIONS,
    SCHEMA_VERSION,
    episode_record,
    episode_records,
    now,
)


class EpisodeLogWriter:
    """Appends episode records to a JSON Lines file (flushed after each batch, so a crash loses nothing written)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle: IO[str] = path.open("a", encoding="utf-8")

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> EpisodeLogWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class EpisodeLogError(ValueError):
    """An episode log line has a schema version this code does not read (``version``: the one it has)."""

    def __init__(self, message: str, version: object = None) -> None:
        super().__init__(message)
        self.version = version


def parse_episode_line(raw: bytes | str, path: Path, line_number: int) -> dict[str, Any] | None:
    """The record on one log line, or None for a corrupt or partial line (not JSON, not UTF-8, not an object, or no
    ``schema_version``).

    Raises:
        EpisodeLogError: the record has a ``schema_version`` this code does not read (the message names the file and
            line).
    """
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not isinstance(record, dict) or "schema_version" not in record:
        return None
    if record["schema_version"] not in READABLE_SCHEMA_VERSIONS:
        raise EpisodeLogError(
            f"{path}:{line_number}: episode log schema_version {record['schema_version']!r}; this version "
            f"of rezero reads {' and '.join(map(str, READABLE_SCHEMA_VERSIONS))}",
            version=record["schema_version"],
        )
    return record


def read_episode_log(path: Path, skipped: list[int] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of an episode log. Corrupt or partial lines (including bytes that are not UTF-8) are skipped
    and their line numbers appended to ``skipped``; a record of another schema version raises
    :class:`EpisodeLogError`."""
    with path.open("rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = parse_episode_line(line, path, line_number)
            if record is None:
                if skipped is not None:
                    skipped.append(line_number)
                continue
            yield record


__all__ = [
    "SCHEMA_VERSION",
    "EpisodeLogError",
    "EpisodeLogWriter",
    "episode_record",
    "episode_records",
    "now",
    "parse_episode_line",
    "read_episode_log",
]
