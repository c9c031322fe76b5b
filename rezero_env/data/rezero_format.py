"""ReZero's data format (menloresearch/ReZero ``data/``): ``chunks.csv`` plus ``questions.jsonl``.

``chunks.csv`` has the columns ``chunk_id,content,metadata``; each line of ``questions.jsonl`` is
``{"id": <chunk id the question was made from>, "question", "answer", "supporting_paragraphs": [...]}``.
The split is ReZero's: ``datasets`` ``train_test_split(test_size=0.1, seed=42)`` over the questions in file order.
Answers are checked under the ``contains`` judge (:mod:`rezero_env.data.golds`): one that normalises to nothing is an
error naming its line, or, with ``empty_golds="drop"``, its question is dropped (the others keep their split).
Task ids are ``apollo-<line index>`` (ReZero's ``id`` repeats: two questions per chunk); the supporting paragraph
texts are kept in ``task.meta["supporting_paragraphs"]`` so the em_chunk reward can use them exactly as ReZero does.
"""

from __future__ import annotations

from pathlib import Path

from rezero_env.data.dataset import QADataset, train_test_indices
from rezero_env.data.files import DataFormatError, field, identifier, nonempty_string, read_csv, read_jsonl, string_list
from rezero_env.data.golds import Origin, keep_judgeable, kept_splits
from rezero_env.data.native import require_records
from rezero_env.types import Document, Task

CHUNKS_FILE = "chunks.csv"
QUESTIONS_FILE = "questions.jsonl"


def load_rezero(folder: Path, name: str | None = None, empty_golds: str = "error") -> QADataset:
    """Load a folder in ReZero's format (``empty_golds="drop"``: drop the questions whose gold normalises to nothing
    under ``contains`` instead of failing)."""
    chunks_path, questions_path = folder / CHUNKS_FILE, folder / QUESTIONS_FILE
    documents = read_chunks(chunks_path)
    require_records(chunks_path, len(documents), "documents", folder)
    known_ids = {doc.doc_id for doc in documents}
    tasks: list[Task] = []
    origins: list[Origin] = []
    for line_number, record in read_jsonl(questions_path):
        where = f"{questions_path}:{line_number}"
        chunk_id = identifier(field(record, "id", questions_path, line_number, (str, int)), "id", where)
        if chunk_id not in known_ids:
            raise DataFormatError(f"{where}: id {chunk_id!r} is not a chunk_id of {chunks_path}")
        paragraphs = string_list(record, "supporting_paragraphs", questions_path, line_number)
        answers = string_list(record, "answer", questions_path, line_number)
        if not answers:
            raise DataFormatError(f"{where}: field 'answer' is empty")
        tasks.append(
            Task(
                id=f"apollo-{len(tasks)}",
                question=nonempty_string(
                    field(record, "question", questions_path, line_number, str), "question", where
                ),
                answers=answers,
                supporting_ids=(chunk_id,),
                meta={"chunk_id": chunk_id, "supporting_paragraphs": list(paragraphs)},
            )
        )
        origins.append((where, "answer"))
    require_records(questions_path, len(tasks), "questions", folder)
    keep = keep_judgeable(tasks, origins, "contains", empty_golds)
    splits = kept_splits(train_test_indices(len(tasks)), keep)  # ReZero's split over the file, as it drew it
    tasks = [tasks[i] for i in keep]
    require_records(questions_path, len(tasks), "questions left once those with empty golds were dropped", folder)
    return QADataset(
        name=name or folder.name,
        documents=tuple(documents),
        tasks=tuple(tasks),
        splits=splits,
        source=str(questions_path),
        recommended_judge="contains",  # LLM-written golds; agents answer in sentences (data/judge-agreement)
    )


def read_chunks(path: Path) -> list[Document]:
    """The documents of a ``chunks.csv`` (DataFormatError naming the line of an empty or repeated ``chunk_id``)."""
    documents = []
    first_line: dict[str, int] = {}
    for line_number, row in read_csv(path, ("chunk_id", "content")):
        where = f"{path}:{line_number}"
        chunk_id, content = row["chunk_id"], row["content"]
        if chunk_id is None or content is None:  # a row with fewer cells than the header
            raise DataFormatError(f"{where}: missing value for {'chunk_id' if chunk_id is None else 'content'!r}")
        chunk_id = nonempty_string(chunk_id, "chunk_id", where)
        if chunk_id in first_line:
            raise DataFormatError(f"{where}: duplicate chunk_id {chunk_id!r} (first at {path}:{first_line[chunk_id]})")
        first_line[chunk_id] = line_number
        documents.append(Document(doc_id=chunk_id, text=content))
    return documents
