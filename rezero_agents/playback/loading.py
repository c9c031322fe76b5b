"""Episode logs for the playback UI: find them, index them in one pass, filter and page through them, and read back
only the episodes a user opens.

The index keeps, per episode, the byte offset of its line and a few summary fields (run, phase, step, outcome,
reward, searches, question, answers, who played it: :func:`origin`) in columns; the full record — messages,
searches, reward terms — is parsed again from the file when the episode is shown. A log that grows while it is
open (a training run writing one step at a time) is picked up by :meth:`EpisodeIndex.refresh`, which reads only what
was appended.

Lines follow :mod:`rezero_agents.episode_log`'s rules: blank lines are ignored, a corrupt or partial line (not a
JSON object with a ``schema_version``, or invalid UTF-8) is skipped and counted, and so is a record of another
schema version (named with its version in the warning) and a record missing a field the list needs. The list's
text cells are cut to :data:`CELL_CHARS` here, on the server, so a huge answer never reaches the browser whole.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rezero_agents.episode_log import EpisodeLogError, parse_episode_line
from rezero_agents.records import READABLE_SCHEMA_VERSIONS
from rezero_env.protocol import first_answer
from rezero_env.rewards.search_diversity import normalize_query
from rezero_env.types import Message

logger = logging.getLogger(__name__)

#: Files a directory contributes: ``episodes.jsonl`` of training and evaluation runs (and ``episodes-*.jsonl``).
LOG_PATTERN = "episodes*.jsonl"
#: How many skipped line numbers a warning names per file.
SHOWN_LINE_NUMBERS = 10
#: Characters of a question, answer or gold answer the list shows (the episode view reads the whole record).
CELL_CHARS = 300
#: Characters of a question kept for the text filter.
SEARCHABLE_CHARS = 2_000
Outcome = Literal["all", "correct", "incorrect"]
SortOrder = Literal["log", "reward", "-reward", "step", "-step", "searches", "-searches"]
SORT_ORDERS: tuple[SortOrder, ...] = ("log", "reward", "-reward", "step", "-step", "searches", "-searches")
Origin = Literal["policy", "guide", "prefix"]
#: Who played an episode (:func:`origin`): the policy alone, the guide, or the policy after the guide's first turns.
ORIGINS: tuple[Origin, ...] = ("policy", "guide", "prefix")
#: Episode ids of training samples that guidance kept out of the update (``unaided-train-3-5``, ``r1-unaided-…``).
_KEPT_OUT_ID = re.compile(r"(r\d+-)?unaided-")


def discover_logs(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The episode log files named by ``paths``: a file is taken as it is, a directory (a run directory, or a folder
    of runs) contributes every ``episodes*.jsonl`` below it. Duplicates are dropped; order is kept.

    Raises:
        FileNotFoundError: a path does not exist, or a directory holds no episode log.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            logs = sorted(p for p in path.rglob(LOG_PATTERN) if p.is_file())
            if not logs:
                raise FileNotFoundError(f"{path}: no episode log ({LOG_PATTERN}) in this directory or below it")
            found += logs
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    if not unique:
        raise FileNotFoundError("No episode log given: pass one or more log files or run directories")
    return list(unique.values())


class MalformedRecordError(ValueError):
    """A record of the right schema version lacks a field the playback list needs, or has it with a wrong type."""


def predicted_answer(messages: Sequence[Message]) -> str | None:
    """The first ``<answer>`` of the last assistant message (what the judge scored), or None.

    Example:
        >>> predicted_answer([{"role": "assistant", "content": "<think>x</think><answer> Ada </answer>"}])
        'Ada'
    """
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "assistant":
            content = message.get("content")
            return first_answer(content) if isinstance(content, str) else None
    return None


def hack_flags(record: dict[str, Any]) -> list[str]:
    """Reward-hack hints for the list: ``"repeated query"`` when a query repeats an earlier one (after
    normalisation), ``"retry without new results"`` when the retry term paid but no search after the first brought
    back a document the earlier ones had not.

    Example:
        >>> searches = [{"query": "Who built X?", "doc_ids": ["a"]}, {"query": "who built x", "doc_ids": ["a"]}]
        >>> hack_flags({"searches": searches, "reward_terms": {"retry": 0.5}})
        ['repeated query', 'retry without new results']
        >>> hack_flags({"searches": searches[:1], "reward_terms": {"retry": 0.35}})
        []
    """
    searches = [s for s in record.get("searches") or [] if isinstance(s, dict)]
    flags = []
    queries = [normalize_query(str(s.get("query", "")))[0] for s in searches]
    if len(set(queries)) < len(queries):
        flags.append("repeated query")
    terms = record.get("reward_terms")
    retry = terms.get("retry", 0.0) if isinstance(terms, dict) else 0.0
    if isinstance(retry, int | float) and retry > 0 and len(searches) > 1:
        seen = {str(d) for d in searches[0].get("doc_ids") or []}
        later = {str(d) for s in searches[1:] for d in s.get("doc_ids") or []}
        if not later - seen:
            flags.append("retry without new results")
    return flags


def stage_label(record: dict[str, Any]) -> str:
    """What an evaluation measured: the record's ``stage`` (schema 2), else — for older logs — ``"step N"`` (or
    ``"checkpoint <name>"`` when the record names one); "" for other phases.

    Example:
        >>> stage_label({"phase": "eval", "stage": "warm-up", "step": 0}), stage_label({"phase": "eval", "step": 4})
        ('warm-up', 'step 4')
    """
    stage = record.get("stage")
    if isinstance(stage, str) and stage.strip():
        return stage.strip()
    if record.get("phase") != "eval":
        return ""
    checkpoint = record.get("checkpoint")
    if isinstance(checkpoint, str) and checkpoint:
        return f"checkpoint {Path(checkpoint).name}"
    step = record.get("step")
    return f"step {step}" if isinstance(step, int) and step >= 0 else "eval"


def guide_turns(record: Mapping[str, Any]) -> int:
    """How many of the first assistant turns a guide wrote and the policy was shown as context (``guide_turns``;
    0 when absent, as in logs older than guidance, or not a positive integer)."""
    turns = record.get("guide_turns")
    return turns if isinstance(turns, int) and not isinstance(turns, bool) and turns > 0 else 0


def origin(record: Mapping[str, Any]) -> Origin:
    """Who played an episode: ``"guide"`` (the guide, e.g. the scripted searcher: ``guide`` is true), ``"prefix"``
    (a branched sample: the policy sampled after the guide's first ``guide_turns`` turns) or ``"policy"`` (the
    policy alone; every record of a log older than guidance).

    Example:
        >>> origin({"guide": True}), origin({"guide": False, "guide_turns": 1}), origin({})
        ('guide', 'prefix', 'policy')
    """
    if record.get("guide") is True:
        return "guide"
    return "prefix" if guide_turns(record) else "policy"


def kept_out(record: Mapping[str, Any]) -> bool:
    """A training sample that guidance kept out of the update (the guide's episode replaced it in its group): the
    learner logs it with an episode id ``unaided-train-…`` and advantage 0."""
    episode_id = record.get("episode_id")
    return record.get("phase") == "train" and isinstance(episode_id, str) and _KEPT_OUT_ID.match(episode_id) is not None


def guidance_mark(record: Mapping[str, Any]) -> str:
    """The list's mark of what guidance did with an episode: ``"guide"``, ``"prefix k"`` (``k`` guide-written
    turns before the policy's), ``"not trained"`` (kept out of the update: :func:`kept_out`), or "" (a plain
    policy sample).

    Example:
        >>> guidance_mark({"guide": True}), guidance_mark({"guide_turns": 2}), guidance_mark({"guide": False})
        ('guide', 'prefix 2', '')
        >>> guidance_mark({"phase": "train", "episode_id": "unaided-train-3-5"})
        'not trained'
    """
    kind = origin(record)
    if kind == "guide":
        return "guide"
    if kind == "prefix":
        return f"prefix {guide_turns(record)}"
    return "not trained" if kept_out(record) else ""


class Summary(NamedTuple):
    """The fields of one episode that the list, the filters and the plots use."""

    run: str
    phase: str
    step: int
    task_id: str
    question: str
    gold: str
    predicted: str | None
    correct: bool
    reward: float
    searches: int
    turns: int
    variant: str  # model, or the checkpoint when there is one
    stage: str = ""
    episode_id: str = ""
    flags: tuple[str, ...] = ()
    terms: tuple[tuple[str, float], ...] = ()  # weighted reward terms (raw × weight when weights were logged)
    origin: Origin = "policy"  # who played it (:func:`origin`)
    guidance: str = ""  # :func:`guidance_mark`


def summarize_record(record: dict[str, Any]) -> Summary:
    """The :class:`Summary` of a record.

    Raises:
        MalformedRecordError: naming the first missing or mistyped field.
    """
    task = _field(record, "task", dict, "an object")
    messages = _field(record, "messages", list, "a list")
    answers = task.get("answers")
    checkpoint = record.get("checkpoint")
    searches = record.get("searches")
    turns = record.get("num_turns")
    return Summary(
        run=_field(record, "run_id", str, "a string"),
        phase=str(record.get("phase", "")),
        step=_field(record, "step", int, "an integer"),
        task_id=str(task.get("id", "")),
        question=_field(task, "question", str, "a string", "task."),
        gold=str(answers[0]) if isinstance(answers, list) and answers else "",
        predicted=predicted_answer(messages),
        correct=record.get("correct") is True,
        reward=float(_field(record, "reward", (int, float), "a number")),
        searches=len(searches) if isinstance(searches, list) else 0,
        turns=turns if isinstance(turns, int) and not isinstance(turns, bool) else 0,
        variant=str(checkpoint) if checkpoint else str(record.get("model", "")),
        stage=stage_label(record),
        episode_id=str(record.get("episode_id") or ""),
        flags=tuple(hack_flags(record)),
        terms=_weighted_terms(record),
        origin=origin(record),
        guidance=guidance_mark(record),
    )


def _weighted_terms(record: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    terms = record.get("reward_terms")
    weights = record.get("reward_weights")
    if not isinstance(terms, dict):
        return ()
    weights = weights if isinstance(weights, dict) else {}
    out = []
    for name, value in terms.items():
        weight = weights.get(name, 1.0)
        if isinstance(value, int | float) and isinstance(weight, int | float) and math.isfinite(value):
            out.append((str(name), float(value) * float(weight)))
    return tuple(out)


def _field(container: dict[str, Any], name: str, kinds: Any, kind_name: str, prefix: str = "") -> Any:
    value = container.get(name)
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise MalformedRecordError(f"field {prefix + name!r} is missing or not {kind_name}")
    if isinstance(value, float) and not math.isfinite(value):
        raise MalformedRecordError(f"field {prefix + name!r} is not a finite number")
    return value


@dataclass
class SourceState:
    """What is known about one log file: how far it is indexed and which lines were skipped."""

    path: Path
    episodes: int = 0
    lines: int = 0
    indexed_bytes: int = 0
    skipped: list[int] = field(default_factory=list)
    malformed: dict[int, str] = field(default_factory=dict)
    other_versions: dict[int, str] = field(default_factory=dict)
    """Line number → the schema version of a record this code does not read (skipped)."""
    partial_tail: bool = False
    identity: tuple[int, int] = (0, 0)  # (device, inode): a rewritten file is indexed again from the start

    def stat(self) -> tuple[int, int, int]:
        """``(device, inode, size)`` of the file now; remembers the identity on the first call."""
        try:
            stat = self.path.stat()
        except OSError as error:
            raise FileNotFoundError(f"{self.path}: cannot read the episode log ({error})") from error
        if self.identity == (0, 0):
            self.identity = (stat.st_dev, stat.st_ino)
        return stat.st_dev, stat.st_ino, stat.st_size

    def rewritten(self) -> bool:
        """True when the file was replaced or shrank since it was indexed."""
        if self.identity == (0, 0):
            return False
        device, inode, size = self.stat()
        return (device, inode) != self.identity or size < self.indexed_bytes

    def warning(self) -> str | None:
        """A one-line warning about skipped lines, or None when every line was read."""
        parts = []
        bad = sorted([*self.skipped, *self.malformed])
        if bad:
            shown = ", ".join(str(n) for n in bad[:SHOWN_LINE_NUMBERS]) + (
                ", …" if len(bad) > SHOWN_LINE_NUMBERS else ""
            )
            parts.append(f"{len(bad)} corrupt or partial line{'s' * (len(bad) != 1)} skipped (line {shown})")
            if self.malformed:
                first = min(self.malformed)
                parts.append(f"line {first}: {self.malformed[first]}")
        if self.other_versions:
            lines = sorted(self.other_versions)
            shown = ", ".join(str(n) for n in lines[:SHOWN_LINE_NUMBERS]) + (
                ", …" if len(lines) > SHOWN_LINE_NUMBERS else ""
            )
            versions = ", ".join(dict.fromkeys(self.other_versions[n] for n in lines))
            readable = " and ".join(map(str, READABLE_SCHEMA_VERSIONS))
            parts.append(
                f"{len(lines)} line{'s' * (len(lines) != 1)} of another schema version skipped (line {shown}: "
                f"schema_version {versions}; this version reads {readable})"
            )
        if self.partial_tail:
            parts.append(f"the last line ({self.lines + 1}) is incomplete — still being written? Reload to retry")
        return f"{self.path}: " + "; ".join(parts) if parts else None


@dataclass(frozen=True)
class EpisodeFilter:
    """Which episodes the list shows. Empty tuples and None bounds mean "any".

    Attributes:
        runs: Run ids to keep.
        phases: Phases to keep (``train``, ``eval``, ``sft``).
        origins: Who played the episodes to keep (:data:`ORIGINS`: ``policy``, ``guide``, ``prefix``).
        step_min, step_max: Training step range, inclusive.
        outcome: ``correct``, ``incorrect`` or ``all``.
        reward_min, reward_max: Total reward range, inclusive.
        searches_min, searches_max: Number of searches, inclusive.
        text: Case-insensitive text to find in the question (or the task id).
        sort: ``log`` (file order) or a column (``reward``, ``step``, ``searches``), ``-`` for descending.
    """

    runs: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    step_min: int | None = None
    step_max: int | None = None
    outcome: Outcome = "all"
    reward_min: float | None = None
    reward_max: float | None = None
    searches_min: int | None = None
    searches_max: int | None = None
    text: str = ""
    sort: SortOrder = "log"
    origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = [o for o in self.origins if o not in ORIGINS]
        if unknown:
            raise ValueError(f"origins must be among {', '.join(ORIGINS)}, got {unknown[0]!r}")
        if self.outcome not in ("all", "correct", "incorrect"):
            raise ValueError(f"outcome must be all, correct or incorrect, got {self.outcome!r}")
        if self.sort not in SORT_ORDERS:
            raise ValueError(f"sort must be one of {', '.join(SORT_ORDERS)}, got {self.sort!r}")
        for low, high, name in (
            (self.step_min, self.step_max, "step"),
            (self.reward_min, self.reward_max, "reward"),
            (self.searches_min, self.searches_max, "searches"),
        ):
            for bound in (low, high):
                if bound is not None and (isinstance(bound, bool) or not math.isfinite(float(bound))):
                    raise ValueError(f"{name} bounds must be finite numbers, got {bound!r}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{name} range is empty: minimum {low} > maximum {high}")


@dataclass(frozen=True)
class Page:
    """One page of a filtered list: the episode ids on it, its 1-based number and the page count."""

    ids: npt.NDArray[np.int64]
    number: int
    pages: int
    total: int


def paginate(ids: npt.NDArray[np.int64], page: int, page_size: int) -> Page:
    """Page ``page`` (1-based, clamped to the valid range) of ``ids`` in pages of ``page_size``.

    Example:
        >>> import numpy as np
        >>> p = paginate(np.arange(7), page=9, page_size=3)
        >>> p.ids.tolist(), p.number, p.pages, p.total
        ([6], 3, 3, 7)
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    pages = max(1, -(-len(ids) // page_size))
    number = min(max(1, int(page)), pages)
    start = (number - 1) * page_size
    return Page(ids[start : start + page_size], number, pages, len(ids))


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with "…" when it was longer.

    Example:
        >>> _clip("abcdef", 3), _clip("abc", 3)
        ('abc…', 'abc')
    """
    return text if len(text) <= limit else text[:limit] + "…"


class _Codes:
    """Strings stored as small integer codes (run ids, phases, task ids, variants)."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._codes: dict[str, int] = {}

    def code(self, value: str) -> int:
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.values)
            self.values.append(value)
        return code

    def find(self, value: str) -> int | None:
        return self._codes.get(value)


_INT_COLUMNS = (
    "source",
    "offset",
    "length",
    "line",
    "run",
    "phase",
    "step",
    "task",
    "searches",
    "turns",
    "variant",
    "stage",
    "origin",
    "guidance",
)
ROW_HEADERS = (
    "#",
    "run",
    "phase",
    "step",
    "question",
    "predicted",
    "gold",
    "correct",
    "reward",
    "searches",
    "flags",
    "guidance",
)


class EpisodeIndex:
    """An index over one or more episode logs (see the module docstring). Episode ids are positions in log order:
    files in the order given, lines in file order; ids stay valid across :meth:`refresh`."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._clear(paths)

    def _clear(self, paths: Sequence[Path]) -> None:
        self.sources = [SourceState(path) for path in paths]
        self._runs, self._phases, self._tasks, self._variants = _Codes(), _Codes(), _Codes(), _Codes()
        self._stages, self._guidance = _Codes(), _Codes()
        self._flags: list[tuple[str, ...]] = []
        self._terms: dict[str, list[float]] = {}  # weighted term → value per episode (NaN where absent)
        self._by_episode_id: dict[tuple[int, int, str], int] = {}  # (run, phase, episode_id) → id
        self._ints: dict[str, npt.NDArray[np.int64]] = {name: np.zeros(0, np.int64) for name in _INT_COLUMNS}
        self._reward = np.zeros(0, np.float64)
        self._correct = np.zeros(0, bool)
        self._questions: list[str] = []
        self._lowered: list[str] = []
        self._gold: list[str] = []
        self._predicted: list[str | None] = []

    @classmethod
    def load(cls, paths: Iterable[str | os.PathLike[str]]) -> EpisodeIndex:
        """Discover the logs under ``paths`` (:func:`discover_logs`) and index them."""
        index = cls(discover_logs(paths))
        index.refresh()
        return index

    def __len__(self) -> int:
        return len(self._questions)

    # --- indexing -------------------------------------------------------------------------------------------

    def refresh(self) -> int:
        """Index what was appended to the logs since the last call and return the number of new episodes. When a
        log was rewritten or shrank, everything is indexed again from the start (episode ids may then change)."""
        if any(source.rewritten() for source in self.sources):
            logger.warning("An episode log was rewritten; indexing every log again from the start")
            self._clear([source.path for source in self.sources])
        added = sum(self._index_source(number, source) for number, source in enumerate(self.sources))
        if added:
            logger.debug("Indexed %d new episodes (%d in all)", added, len(self))
        return added

    def _index_source(self, number: int, source: SourceState) -> int:
        size = source.stat()[2]
        if size == source.indexed_bytes:
            return 0
        table: list[tuple[int, ...]] = []
        rewards: list[float] = []
        correct: list[bool] = []
        source.partial_tail = False
        with source.path.open("rb") as handle:
            handle.seek(source.indexed_bytes)
            offset = source.indexed_bytes
            for raw in handle:
                if not raw.endswith(b"\n"):  # being written, or cut off: read again on the next refresh
                    source.partial_tail = bool(raw.strip())
                    break
                source.lines += 1
                line_number, line_offset = source.lines, offset
                offset += len(raw)
                source.indexed_bytes = offset
                if not raw.strip():
                    continue
                try:
                    record = parse_episode_line(raw, source.path, line_number)
                except EpisodeLogError as error:  # written by another version of rezero: skipped, counted
                    source.other_versions[line_number] = _clip(repr(error.version), 20)
                    continue
                if record is None:
                    source.skipped.append(line_number)
                    continue
                try:
                    summary = summarize_record(record)
                except MalformedRecordError as error:
                    source.malformed[line_number] = str(error)
                    continue
                table.append(
                    (
                        number,
                        line_offset,
                        len(raw),
                        line_number,
                        self._runs.code(summary.run),
                        self._phases.code(summary.phase),
                        summary.step,
                        self._tasks.code(summary.task_id),
                        summary.searches,
                        summary.turns,
                        self._variants.code(summary.variant),
                        self._stages.code(summary.stage),
                        ORIGINS.index(summary.origin),
                        self._guidance.code(summary.guidance),
                    )
                )
                position = len(self._questions)
                if summary.episode_id:
                    key = (self._runs.code(summary.run), self._phases.code(summary.phase), summary.episode_id)
                    self._by_episode_id.setdefault(key, position)
                self._flags.append(summary.flags)
                for values in self._terms.values():
                    values.append(math.nan)
                for name, value in summary.terms:
                    self._terms.setdefault(name, [math.nan] * (position + 1))[position] = value
                rewards.append(summary.reward)
                correct.append(summary.correct)
                self._questions.append(_clip(summary.question, CELL_CHARS))
                self._lowered.append(f"{summary.question[:SEARCHABLE_CHARS]}\n{summary.task_id}".casefold())
                self._gold.append(_clip(summary.gold, CELL_CHARS))
                self._predicted.append(None if summary.predicted is None else _clip(summary.predicted, CELL_CHARS))
        columns = np.asarray(table, np.int64).reshape(len(table), len(_INT_COLUMNS))
        for position, name in enumerate(_INT_COLUMNS):
            self._ints[name] = np.concatenate([self._ints[name], columns[:, position]])
        self._reward = np.concatenate([self._reward, np.asarray(rewards, np.float64)])
        self._correct = np.concatenate([self._correct, np.asarray(correct, bool)])
        source.episodes += len(rewards)
        return len(rewards)

    # --- what the UI asks -----------------------------------------------------------------------------------

    @property
    def runs(self) -> list[str]:
        return list(self._runs.values)

    @property
    def phases(self) -> list[str]:
        return list(self._phases.values)

    def step_range(self) -> tuple[int, int] | None:
        steps = self._ints["step"]
        return (int(steps.min()), int(steps.max())) if len(steps) else None

    def warnings(self) -> list[str]:
        """One line per log with skipped or incomplete lines."""
        return [w for w in (s.warning() for s in self.sources) if w]

    @property
    def skipped_lines(self) -> int:
        return sum(len(s.skipped) + len(s.malformed) + len(s.other_versions) for s in self.sources)

    def filter(self, query: EpisodeFilter) -> npt.NDArray[np.int64]:
        """Ids of the episodes that pass ``query``, in its sort order."""
        keep = np.ones(len(self), bool)
        for name, values, codes in (("run", query.runs, self._runs), ("phase", query.phases, self._phases)):
            if values:
                wanted = [code for code in (codes.find(v) for v in values) if code is not None]
                keep &= np.isin(self._ints[name], wanted)
        for column, low, high in (
            (self._ints["step"], query.step_min, query.step_max),
            (self._reward, query.reward_min, query.reward_max),
            (self._ints["searches"], query.searches_min, query.searches_max),
        ):
            if low is not None:
                keep &= column >= low
            if high is not None:
                keep &= column <= high
        if query.origins:
            keep &= np.isin(self._ints["origin"], [ORIGINS.index(o) for o in query.origins])
        if query.outcome != "all":
            keep &= self._correct == (query.outcome == "correct")
        text = query.text.strip().casefold()
        if text:
            candidates = np.flatnonzero(keep)
            keep[:] = False
            keep[[i for i in candidates if text in self._lowered[i]]] = True
        ids = np.flatnonzero(keep).astype(np.int64)
        if query.sort != "log":
            name = query.sort.lstrip("-")
            column = self._reward if name == "reward" else self._ints[name]
            order = np.argsort(-column[ids] if query.sort.startswith("-") else column[ids], kind="stable")
            ids = ids[order]
        return ids

    def rows(self, ids: Sequence[int] | npt.NDArray[np.int64]) -> list[list[Any]]:
        """List rows (see :data:`ROW_HEADERS`) of ``ids``, from the in-memory summaries (no file is read)."""
        ints = self._ints
        return [
            [
                int(i),
                self._runs.values[ints["run"][i]],
                self._phases.values[ints["phase"][i]],
                int(ints["step"][i]),
                self._questions[i],
                "" if self._predicted[i] is None else self._predicted[i],
                self._gold[i],
                "✓" if self._correct[i] else "✗",
                round(float(self._reward[i]), 3),
                int(ints["searches"][i]),
                " · ".join(f"⚠ {flag}" for flag in self._flags[i]),
                self._guidance.values[ints["guidance"][i]],
            ]
            for i in ids
        ]

    def record(self, episode_id: int) -> dict[str, Any]:
        """The full record of an episode, read from its log line.

        Raises:
            IndexError: no such episode id.
            EpisodeLogError: the line changed since it was indexed.
        """
        if not 0 <= episode_id < len(self):
            raise IndexError(f"No episode #{episode_id}: the index holds episodes 0 to {len(self) - 1}")
        source = self.sources[int(self._ints["source"][episode_id])]
        line = int(self._ints["line"][episode_id])
        with source.path.open("rb") as handle:
            handle.seek(int(self._ints["offset"][episode_id]))
            raw = handle.read(int(self._ints["length"][episode_id]))
        record = parse_episode_line(raw, source.path, line)
        if record is None:
            raise EpisodeLogError(f"{source.path}:{line}: the line changed since it was indexed; reload the logs")
        return record

    def location(self, episode_id: int) -> str:
        """``path:line`` of an episode."""
        source = self.sources[int(self._ints["source"][episode_id])]
        return f"{source.path}:{int(self._ints['line'][episode_id])}"

    def task_of(self, episode_id: int) -> str:
        return self._tasks.values[int(self._ints["task"][episode_id])]

    def episodes_of_task(self, task_id: str) -> npt.NDArray[np.int64]:
        """Ids of every episode of the task ``task_id`` (log order)."""
        code = self._tasks.find(task_id)
        if code is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self._ints["task"] == code).astype(np.int64)

    def find_episode(self, run: str, phase: str, episode_id: str) -> int | None:
        """The index id of the episode a record calls ``episode_id`` (e.g. a group-mate), or None."""
        run_code, phase_code = self._runs.find(run), self._phases.find(phase)
        if run_code is None or phase_code is None:
            return None
        return self._by_episode_id.get((run_code, phase_code, episode_id))

    def flags(self, episode_id: int) -> tuple[str, ...]:
        """The reward-hack hints of an episode (:func:`hack_flags`)."""
        return self._flags[episode_id]

    def guidance(self, episode_id: int) -> str:
        """What guidance did with an episode (:func:`guidance_mark`: ``guide``, ``prefix k``, ``not trained`` or
        "")."""
        return self._guidance.values[int(self._ints["guidance"][episode_id])]

    def label(self, episode_id: int) -> str:
        """A short description: run, phase, step, what guidance did with it (when anything) and model or
        checkpoint, with the outcome and reward."""
        ints = self._ints
        step = int(ints["step"][episode_id])
        mark = self.guidance(episode_id)
        return (
            f"#{episode_id} · {self._runs.values[ints['run'][episode_id]]} · "
            f"{self._phases.values[ints['phase'][episode_id]]}"
            + (f" · {stage}" if (stage := self._stages.values[ints["stage"][episode_id]]) else "")
            + (f" · step {step}" if step >= 0 and stage != f"step {step}" else "")
            + (f" · {mark}" if mark else "")
            + f" · {self._variants.values[ints['variant'][episode_id]]} · "
            + f"{'correct' if self._correct[episode_id] else 'incorrect'} · reward {self._reward[episode_id]:.2f}"
        )

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Per-episode columns for the summary plots: ``run``, ``phase``, ``stage`` and ``origin`` (strings:
        :data:`ORIGINS`), ``step``, ``reward``, ``correct``, ``searches`` and ``term:<name>`` (the weighted value of
        each reward term; NaN where an episode lacks it)."""
        terms = {f"term:{name}": np.asarray(values, np.float64) for name, values in sorted(self._terms.items())}
        return {
            "stage": np.asarray(self._stages.values, dtype=object)[self._ints["stage"]]
            if len(self)
            else np.zeros(0, dtype=object),
            **terms,
            "run": np.asarray(self._runs.values, dtype=object)[self._ints["run"]]
            if len(self)
            else np.zeros(0, dtype=object),
            "phase": np.asarray(self._phases.values, dtype=object)[self._ints["phase"]]
            if len(self)
            else np.zeros(0, dtype=object),
            "origin": np.asarray(ORIGINS, dtype=object)[self._ints["origin"]]
            if len(self)
            else np.zeros(0, dtype=object),
            "step": self._ints["step"],
            "reward": self._reward,
            "correct": self._correct,
            "searches": self._ints["searches"],
        }
