"""rezero's own dataset folder format: ``corpus.jsonl`` plus ``questions.jsonl``.

``corpus.jsonl`` — one document per line::

    {"id": "person-0001-life", "title": "Orlen Vask", "text": "Orlen Vask was born in 1643 in Velmora. ..."}

``questions.jsonl`` — one task per line (``answer`` may replace ``answers``; ``supporting_ids``, ``meta`` and
``split`` are optional; without ``split`` on every line, ReZero's 10 % test split with seed 42 is used)::

    {"id": "q1", "question": "In what year was Orlen Vask born?", "answers": ["1643"],
     "supporting_ids": ["person-0001-life"], "meta": {"level": "single-hop"}, "split": "train"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset, split_by_field, train_test_indices
from rezero_env.data.files import DataFormatError, field, read_jsonl, string_list
from rezero_env.types import Document, Task

CORPUS_FILE = "corpus.jsonl"
QUESTIONS_FILE = "questions.jsonl"


def read_documents(path: Path) -> list[Document]:
    """Documents of a ``corpus.jsonl`` file."""
    documents = []
    for line_number, record in read_jsonl(path):
        doc_id = field(record, "id", path, line_number, (str, int))
        text = field(record, "text", path, line_number, str)
        title = record.get("title")
        documents.append(Document(str(doc_id), text, title=str(title) if title else None))
    return documents


def parse_task(record: dict[str, Any], path: Path, line_number: int, default_id: str) -> tuple[Task, str | None]:
    """A task (and its split name, if any) from one question record."""
    if "answers" in record:
        answers = string_list(record, "answers", path, line_number)
    elif "answer" in record:
        answers = string_list(record, "answer", path, line_number)
    else:
        raise DataFormatError(f"{path}:{line_number}: missing field 'answers' (or 'answer')")
    if not answers:
        raise DataFormatError(f"{path}:{line_number}: field 'answers' is empty")
    question = field(record, "question", path, line_number, str)
    if not question.strip():
        raise DataFormatError(f"{path}:{line_number}: field 'question' is empty")
    supporting = string_list(record, "supporting_ids", path, line_number) if "supporting_ids" in record else ()
    meta = field(record, "meta", path, line_number, dict) if "meta" in record else {}
    split = field(record, "split", path, line_number, str) if "split" in record else None
    task_id = str(record.get("id", default_id))
    return Task(id=task_id, question=question, answers=answers, supporting_ids=supporting, meta=meta), split


def read_tasks(path: Path) -> tuple[list[Task], list[str | None]]:
    """Tasks of a ``questions.jsonl`` file and each one's split name (None when the line gives none)."""
    tasks: list[Task] = []
    splits: list[str | None] = []
    for line_number, record in read_jsonl(path):
        task, split = parse_task(record, path, line_number, default_id=f"q{len(tasks)}")
        tasks.append(task)
        splits.append(split)
    return tasks, splits


def splits_for(splits: list[str | None]) -> dict[str, tuple[int, ...]]:
    """Named splits when every task names one, else ReZero's split (10 % test, seed 42)."""
    if splits and all(name is not None for name in splits):
        return split_by_field(splits)
    return train_test_indices(len(splits))


def load_native(folder: Path) -> QADataset:
    """Load a folder holding ``corpus.jsonl`` and ``questions.jsonl``."""
    documents = read_documents(folder / CORPUS_FILE)
    tasks, splits = read_tasks(folder / QUESTIONS_FILE)
    return QADataset(name=folder.name, documents=tuple(documents), tasks=tuple(tasks), splits=splits_for(splits))


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
