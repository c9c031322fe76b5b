"""Search-R1's data format (PeterGriffinJin/Search-R1, FlashRAG): an ``{"id", "contents"}`` corpus plus questions.

Corpus (JSON Lines; Search-R1's ``wiki-18.jsonl`` is one) — the first line of ``contents`` is the title in double
quotes, the rest the passage (a ``contents`` without a newline is all text, no title)::

    {"id": "0", "contents": "\\"Aaron\\"\\nAaron is a prophet, high priest, and the brother of Moses."}

Questions (JSON Lines or parquet, one per line or row) — ``question`` and ``golden_answers`` (a list of strings or
one string); optional ``id``, ``split`` and ``data_source`` (kept in ``task.meta``)::

    {"id": "test_0", "question": "who got the first nobel prize in physics?", "golden_answers": ["Wilhelm Röntgen"]}

A folder holds ``corpus.jsonl`` plus ``questions.jsonl`` or ``questions.parquet`` — or Search-R1's own
``train.parquet`` + ``test.parquet``, whose file names give the splits. Otherwise the ``split`` column names the
splits when every question has one, else ReZero's split (10 % test, seed 42) is used. Parquet rows count from 0.
Questions carry no supporting documents (``supporting_ids`` is empty), so the em_chunk reward falls back to "a
retrieved document contains a gold answer" on them (:func:`rezero_env.rewards.em_chunk.answer_in_results_reward`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset
from rezero_env.data.files import DataFormatError, identifier, optional_title, read_jsonl
from rezero_env.data.golds import Origin, keep_judgeable
from rezero_env.data.native import require_records, splits_for
from rezero_env.data.rezero_format import read_chunks
from rezero_env.types import Document, Task

logger = logging.getLogger(__name__)

CORPUS_FILE = "corpus.jsonl"
QUESTION_FILES = ("questions.jsonl", "questions.parquet")
SPLIT_FILES = ("train", "test")
QUESTION_SUFFIXES = (".jsonl", ".parquet")

#: A questions file and the split its rows belong to (None: the rows' own ``split`` field, if any).
QuestionSource = tuple[Path, str | None]


def parse_contents(contents: str) -> tuple[str | None, str]:
    """Split a Search-R1 ``contents`` string into ``(title, text)``.

    Example:
        >>> parse_contents('"Aaron"\\nAaron is a prophet.')
        ('Aaron', 'Aaron is a prophet.')
        >>> parse_contents("No title here.")
        (None, 'No title here.')
    """
    if "\n" not in contents:
        return None, contents
    first, text = contents.split("\n", 1)
    title = first.strip()
    if len(title) >= 2 and title[0] == title[-1] == '"':
        title = title[1:-1]
    return title or None, text


def is_search_r1_corpus(path: Path) -> bool:
    """Whether the first record of the JSON Lines file ``path`` has ``contents`` and no ``text`` (Search-R1's form)."""
    for _, record in read_jsonl(path):
        return "contents" in record and "text" not in record
    return False


def read_corpus_file(path: Path) -> list[Document]:
    """Documents of a corpus file: JSON Lines in Search-R1's (``id``, ``contents``) or rezero's (``id``, ``text``,
    optional ``title``) form, told apart line by line, or a ReZero ``chunks.csv`` (``chunk_id``, ``content``)."""
    if path.suffix.lower() == ".csv":
        return read_chunks(path)
    documents = []
    first_line: dict[str, int] = {}
    for line_number, record in read_jsonl(path):
        where = f"{path}:{line_number}"
        if record.get("id") is None:
            raise DataFormatError(f"{where}: missing field 'id'")
        doc_id = identifier(record["id"], "id", where)
        if doc_id in first_line:
            raise DataFormatError(f"{where}: duplicate document id {doc_id!r} (first at {path}:{first_line[doc_id]})")
        first_line[doc_id] = line_number
        if "text" in record:
            text = _string(record, "text", where)
            documents.append(Document(doc_id, text, title=optional_title(record, path, line_number)))
        elif "contents" in record:
            title, text = parse_contents(_string(record, "contents", where))
            documents.append(Document(doc_id, text, title=title))
        else:
            raise DataFormatError(f"{where}: missing field 'contents' (Search-R1) or 'text' (rezero)")
    logger.info("Read %d documents from %s", len(documents), path)
    return documents


def _string(record: Mapping[str, Any], name: str, where: str) -> str:
    value = record[name]
    if not isinstance(value, str):
        raise DataFormatError(f"{where}: field {name!r} should be str, got {type(value).__name__}")
    return value


def answer_strings(value: Any, name: str, where: str) -> tuple[str, ...]:
    """Accepted answers from a field holding a string, a list of strings or a SQuAD-style ``{"text": [...]}``.

    Example:
        >>> answer_strings(["Paris", "paris"], "golden_answers", "q.jsonl:1"), answer_strings("1821", "answer", "x")
        (('Paris', 'paris'), ('1821',))
    """
    if value is None:
        raise DataFormatError(f"{where}: missing field {name!r}")
    if isinstance(value, Mapping) and "text" in value:
        value = value["text"]
    values = [value] if isinstance(value, str | int | float) else value
    if isinstance(values, str | Mapping | bytes) or not isinstance(values, Sequence):
        raise DataFormatError(
            f"{where}: field {name!r} should be a string or a list of strings, got {type(value).__name__}"
        )
    if not all(isinstance(item, str | int | float) and not isinstance(item, bool) for item in values):
        raise DataFormatError(f"{where}: field {name!r} should hold strings")
    answers = tuple(str(item) for item in values if str(item).strip())
    if not answers:
        raise DataFormatError(f"{where}: field {name!r} is empty")
    return answers


def parse_question(
    record: Mapping[str, Any],
    where: str,
    default_id: str,
    question_key: str = "question",
    answers_key: str = "golden_answers",
    id_key: str = "id",
) -> tuple[Task, str | None]:
    """A task (without supporting documents) and its ``split`` name (None when absent) from one question record;
    DataFormatError naming ``where`` (file and line, or file and row) and the field when a field is missing or bad."""
    question = record.get(question_key)
    if question is None:
        raise DataFormatError(f"{where}: missing field {question_key!r}")
    if not isinstance(question, str) or not question.strip():
        raise DataFormatError(f"{where}: field {question_key!r} should be a non-empty string, got {question!r:.80}")
    answers = answer_strings(record.get(answers_key), answers_key, where)
    task_id = record.get(id_key)
    if task_id is not None:
        task_id = identifier(task_id, id_key, where)
    split = record.get("split")
    if split is not None and (not isinstance(split, str) or not split.strip()):
        raise DataFormatError(f"{where}: field 'split' should be a non-empty string, got {split!r:.80}")
    source = record.get("data_source")
    meta = {"data_source": source} if isinstance(source, str) else {}
    task = Task(id=default_id if task_id is None else str(task_id), question=question, answers=answers, meta=meta)
    return task, split


def question_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(where, record)`` for every question of a ``.jsonl`` or ``.parquet`` file; ``where`` is
    ``"<file>:<line>"`` or ``"<file>: row <n>"``."""
    if path.suffix.lower() == ".parquet":
        yield from _parquet_records(path)
    else:
        for line_number, record in read_jsonl(path):
            yield f"{path}:{line_number}", record


_QUESTION_COLUMNS = ("id", "question", "golden_answers", "split", "data_source")


def _parquet_records(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    pa, pq = _pyarrow()
    try:
        names = pq.read_schema(path).names
        missing = [name for name in ("question", "golden_answers") if name not in names]
        if missing:
            raise DataFormatError(f"{path}: missing column(s) {missing}; found {names}")
        rows: list[dict[str, Any]] = pq.read_table(
            path, columns=[n for n in _QUESTION_COLUMNS if n in names]
        ).to_pylist()
    except (pa.ArrowException, OSError) as error:
        raise DataFormatError(f"{path}: not a readable parquet file ({error})") from None
    for index, row in enumerate(rows):
        yield f"{path}: row {index}", row


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa  # type: ignore[import-untyped, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise ImportError("Reading parquet files needs pyarrow: pip install pyarrow") from None
    return pa, pq


def read_questions(
    sources: Sequence[QuestionSource], origins: list[Origin] | None = None
) -> tuple[list[Task], list[str | None]]:
    """Tasks of the question files and each one's split: the file's split when given, else the row's ``split``;
    ``origins``, when given, gets where each task was read and its answers field."""
    tasks: list[Task] = []
    splits: list[str | None] = []
    seen: dict[str, str] = {}
    for path, file_split in sources:
        before = len(tasks)
        for where, record in question_records(path):
            default_id = f"{file_split or 'q'}-{len(tasks)}"
            task, row_split = parse_question(record, where, default_id)
            if task.id in seen:
                raise DataFormatError(f"{where}: duplicate question id {task.id!r} (first at {seen[task.id]})")
            seen[task.id] = where
            tasks.append(task)
            splits.append(file_split or row_split)
            if origins is not None:
                origins.append((where, "golden_answers"))
        require_records(path, len(tasks) - before, "questions")
    return tasks, splits


def folder_sources(folder: Path) -> tuple[Path, list[QuestionSource]]:
    """The corpus file and question files of a Search-R1 folder (see the module docstring for the layout)."""
    for name in QUESTION_FILES:
        if (folder / name).is_file():
            return folder / CORPUS_FILE, [(folder / name, None)]
    sources: list[QuestionSource] = []
    for split in SPLIT_FILES:
        found = [folder / f"{split}{suffix}" for suffix in QUESTION_SUFFIXES if (folder / f"{split}{suffix}").is_file()]
        if found:
            sources.append((found[0], split))
    if not sources:
        expected = [*QUESTION_FILES, *(f"{s}{x}" for s in SPLIT_FILES for x in QUESTION_SUFFIXES)]
        raise FileNotFoundError(f"{folder}: a Search-R1 folder needs a questions file; none of {expected} found")
    return folder / CORPUS_FILE, sources


def load_search_r1(
    corpus: Path, questions: Sequence[QuestionSource], name: str | None = None, empty_golds: str = "error"
) -> QADataset:
    """Load a Search-R1 corpus file and its question files (each with the split it holds, or None); gold answers are
    checked under ``em_f1`` (:mod:`rezero_env.data.golds`)."""
    documents = read_corpus_file(corpus)
    require_records(corpus, len(documents), "documents")
    origins: list[Origin] = []
    tasks, splits = read_questions(questions, origins)
    keep = keep_judgeable(tasks, origins, "em_f1", empty_golds)
    tasks, splits = [tasks[i] for i in keep], [splits[i] for i in keep]
    if not tasks:
        raise DataFormatError(
            f"{' + '.join(str(path) for path, _ in questions)}: no questions left once those with "
            "empty golds were dropped"
        )
    dataset_name = name or f"{corpus.stem}:{'+'.join(path.stem for path, _ in questions)}"
    return QADataset(
        name=dataset_name,
        documents=tuple(documents),
        tasks=tuple(tasks),
        splits=splits_for(splits),
        source=" + ".join(str(path) for path, _ in questions),
    )
