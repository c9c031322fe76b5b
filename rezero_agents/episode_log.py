"""The episode log: JSON Lines, one finished episode per line, read by evaluation and the playback UI.

Schema (``schema_version`` 1) — every line is an object with:

- ``schema_version`` (int), ``run_id`` (str), ``step`` (int, training step; -1 outside training), ``split`` (str),
  ``phase`` (``"train"``, ``"eval"`` or ``"sft"``), ``group`` (int: episodes of one question share it),
- ``task``: ``{"id", "question", "answers", "supporting_ids", "meta"}``,
- ``messages``: the full role/content transcript, ``searches``: ``[{"turn", "query", "doc_ids", "error"}]``,
- ``reward`` (float), ``reward_terms`` ({name: float}), ``correct`` (bool: the ``correctness`` or ``exact_match``
  term is 1), ``terminated``, ``truncated`` (bool), ``cut`` (bool: stopped by the token budget), ``num_turns`` (int),
  ``num_tokens`` (int), ``num_generated_tokens`` (int),
- ``policy`` (str), ``model`` (str), ``checkpoint`` (str or null), ``started_at``, ``finished_at`` (ISO 8601 UTC).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rezero_agents.rollout import Episode

SCHEMA_VERSION = 1


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def episode_record(
    episode: Episode,
    *,
    run_id: str,
    step: int,
    split: str,
    phase: str,
    policy: str,
    model: str,
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """The log line of one episode."""
    task = episode.task
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "step": step,
        "split": split,
        "phase": phase,
        "group": episode.group,
        "task": {
            "id": task.id,
            "question": task.question,
            "answers": list(task.answers),
            "supporting_ids": list(task.supporting_ids),
            "meta": dict(task.meta),
        },
        "messages": episode.messages,
        "searches": episode.searches,
        "reward": episode.reward,
        "reward_terms": episode.reward_terms,
        "correct": episode.correct,
        "terminated": episode.terminated,
        "truncated": episode.truncated,
        "cut": episode.cut,
        "num_turns": episode.num_turns,
        "num_tokens": len(episode.token_ids),
        "num_generated_tokens": sum(episode.loss_mask),
        "policy": policy,
        "model": model,
        "checkpoint": checkpoint,
        "started_at": episode.started_at,
        "finished_at": episode.finished_at,
    }


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
    """An episode log line has a schema version this code does not read."""


def parse_episode_line(raw: bytes | str, path: Path, line_number: int) -> dict[str, Any] | None:
    """The record on one log line, or None for a corrupt or partial line (not JSON, not UTF-8, not an object, or no
    ``schema_version``).

    Raises:
        EpisodeLogError: the record has another ``schema_version`` (the message names the file and line).
    """
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not isinstance(record, dict) or "schema_version" not in record:
        return None
    if record["schema_version"] != SCHEMA_VERSION:
        raise EpisodeLogError(
            f"{path}:{line_number}: episode log schema_version {record['schema_version']!r}; this version "
            f"of rezero reads {SCHEMA_VERSION}"
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
