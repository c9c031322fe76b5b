"""rezero's own dataset folder format: ``corpus.jsonl`` plus ``questions.jsonl``.

``corpus.jsonl`` — one document per line::

    {"id": "person-0001-life", "title": "Orlen Vask", "text": "Orlen Vask was born in 1643 in Velmora. ..."}

``questions.jsonl`` — one task per line (``answer`` may replace ``answers``; ``supporting_ids``, ``meta`` and
``split`` are optional; without ``split`` on every line, ReZero's 10 % test split with seed 42 is used)::

    {"id": "q1", "question": "In what year was Orlen Vask born?", "answers": ["1643"],
     "supporting_ids": ["person-0001-life"], "meta": {"level": "single-hop"}, "split": "train"}

Ids are strings or integers, unique within their file; answers, questions, titles and splits are strings with more
than whitespace (a number answer is written in quotes); every supporting id names a document of the corpus; no
answer normalises to nothing under the ``em_f1`` judge (``"the"``, ``"!!!"``: :mod:`rezero_env.data.golds`). Both
files hold at least one record. Anything else is a :class:`~rezero_env.data.files.DataFormatError` naming the file,
the line and the field.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset, split_by_field, train_test_indices
from rezero_env.data.files import (
    DataFormatError,
    field,
    identifier,
    nonempty_string,
    optional_title,
    read_jsonl,
    string_list,
)
from rezero_env.data.golds import Origin, keep_judgeable
from rezero_env.types import Document, Task

CORPUS_FILE = "corpus.jsonl"
QUESTIONS_FILE = "questions.jsonl"


def read_documents(path: Path) -> list[Document]:
    """Documents of a ``corpus.jsonl`` file (DataFormatError on a bad field or a repeated id)."""
    documents = []
    first_line: dict[str, int] = {}
    for line_number, record in read_jsonl(path):
        where = f"{path}:{line_number}"
        if "id" not in record:
            raise DataFormatError(f"{where}: missing field 'id'")
        doc_id = identifier(record["id"], "id", where)
        if doc_id in first_line:
            raise DataFormatError(f"{where}: duplicate document id {doc_id!r} (first at {path}:{first_line[doc_id]})")
        first_line[doc_id] = line_number
        text = field(record, "text", path, line_number, str)
        documents.append(Document(doc_id, text, title=optional_title(record, path, line_number)))
    return documents


def parse_task(record: dict[str, Any], path: Path, line_number: int, default_id: str) -> tuple[Task, str | None]:
    """A task (and its split name, if any) from one question record."""
    where = f"{path}:{line_number}"
    if "answers" in record:
        answers = string_list(record, "answers", path, line_number)
    elif "answer" in record:
        answers = string_list(record, "answer", path, line_number)
    else:
        raise DataFormatError(f"{where}: missing field 'answers' (or 'answer')")
    if not answers:
        raise DataFormatError(f"{where}: field 'answers' is empty")
    question = nonempty_string(field(record, "question", path, line_number, str), "question", where)
    supporting = (
        string_list(record, "supporting_ids", path, line_number, ids=True) if "supporting_ids" in record else ()
    )
    meta = field(record, "meta", path, line_number, dict) if "meta" in record else {}
    split = nonempty_string(record["split"], "split", where) if "split" in record else None
    task_id = identifier(record["id"], "id", where) if "id" in record else default_id
    return Task(id=task_id, question=question, answers=answers, supporting_ids=supporting, meta=meta), split


def read_tasks(
    path: Path,
    document_ids: Collection[str] | None = None,
    corpus: str = "the corpus",
    origins: list[Origin] | None = None,
) -> tuple[list[Task], list[str | None]]:
    """Tasks of a ``questions.jsonl`` file and each one's split name (None when the line gives none); ``origins``, when
    given, gets each task's ``file:line`` and answers field.

    DataFormatError on a bad field, a repeated task id, or (with ``document_ids``) a supporting id that is not one
    of them (``corpus`` names where they come from).
    """
    tasks: list[Task] = []
    splits: list[str | None] = []
    first_line: dict[str, int] = {}
    for line_number, record in read_jsonl(path):
        task, split = parse_task(record, path, line_number, default_id=f"q{len(tasks)}")
        if task.id in first_line:
            raise DataFormatError(
                f"{path}:{line_number}: duplicate question id {task.id!r} (first at {path}:{first_line[task.id]})"
            )
        first_line[task.id] = line_number
        if document_ids is not None:
            check_supporting_ids(
                task.supporting_ids, document_ids, f"{path}:{line_number}", f"a document id of {corpus}"
            )
        tasks.append(task)
        splits.append(split)
        if origins is not None:
            origins.append((f"{path}:{line_number}", "answers" if "answers" in record else "answer"))
    return tasks, splits


def check_supporting_ids(supporting_ids: Collection[str], known: Collection[str], where: str, what: str) -> None:
    """DataFormatError at ``where`` for the first supporting id not in ``known`` (``what`` says what it should be)."""
    for doc_id in supporting_ids:
        if doc_id not in known:
            raise DataFormatError(f"{where}: field 'supporting_ids': {doc_id!r} is not {what}")


def require_records(path: Path, count: int, what: str, folder: Path | None = None) -> None:
    """DataFormatError naming ``path`` (and the dataset folder) when it gave no records."""
    if count == 0:
        raise DataFormatError(f"{path}: no {what}" + (f" (dataset folder {folder})" if folder is not None else ""))


def splits_for(splits: list[str | None]) -> dict[str, tuple[int, ...]]:
    """Named splits when every task names one, else ReZero's split (10 % test, seed 42)."""
    if splits and all(name is not None for name in splits):
        return split_by_field(splits)
    return train_test_indices(len(splits))


def load_native(folder: Path, empty_golds: str = "error") -> QADataset:
    """Load a folder holding ``corpus.jsonl`` and ``questions.jsonl`` (``empty_golds="drop"``: drop the questions
    whose gold normalises to nothing instead of failing)."""
    corpus_path, questions_path = folder / CORPUS_FILE, folder / QUESTIONS_FILE
    documents = read_documents(corpus_path)
    require_records(corpus_path, len(documents), "documents", folder)
    origins: list[Origin] = []
    tasks, splits = read_tasks(questions_path, {doc.doc_id for doc in documents}, str(corpus_path), origins)
    require_records(questions_path, len(tasks), "questions", folder)
    keep = keep_judgeable(tasks, origins, "em_f1", empty_golds)
    tasks, splits = [tasks[i] for i in keep], [splits[i] for i in keep]
    require_records(questions_path, len(tasks), "questions left once those with empty golds were dropped", folder)
    return QADataset(
        name=folder.name,
        documents=tuple(documents),
        tasks=tuple(tasks),
        splits=splits_for(splits),
        source=str(questions_path),
    )


def write_native(dataset: QADataset, folder: Path) -> None:
    """Write ``dataset`` as ``corpus.jsonl`` and ``questions.jsonl`` in ``folder`` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    split_of = {i: name for name, indices in dataset.splits.items() if name != "all" for i in indices}
    with (folder / CORPUS_FILE).open("w", encoding="utf-8") as handle:
        for doc in dataset.documents:
            line = {"id": doc.doc_id, "title": doc.title, "text": doc.text}
            if not doc.title:
                del line["title"]
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    with (folder / QUESTIONS_FILE).open("w", encoding="utf-8") as handle:
        for index, task in enumerate(dataset.tasks):
            record: dict[str, Any] = {
                "id": task.id,
                "question": task.question,
                "answers": list(task.answers),
                "supporting_ids": list(task.supporting_ids),
            }
            if task.meta:
                record["meta"] = dict(task.meta)
            if index in split_of:
                record["split"] = split_of[index]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
