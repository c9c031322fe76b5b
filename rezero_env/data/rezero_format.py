"""ReZero's data format (menloresearch/ReZero ``data/``): ``chunks.csv`` plus ``questions.jsonl``.

``chunks.csv`` has the columns ``chunk_id,content,metadata``; each line of ``questions.jsonl`` is
``{"id": <chunk id the question was made from>, "question", "answer", "supporting_paragraphs": [...]}``.
The split is ReZero's: ``datasets`` ``train_test_split(test_size=0.1, seed=42)`` over the questions in file order.
Task ids are ``apollo-<line index>`` (ReZero's ``id`` repeats: two questions per chunk); the supporting paragraph
texts are kept in ``task.meta["supporting_paragraphs"]`` so the em_chunk reward can use them exactly as ReZero does.
"""

from __future__ import annotations

from pathlib import Path

from rezero_env.data.dataset import QADataset, train_test_indices
from rezero_env.data.files import DataFormatError, field, read_csv, read_jsonl, string_list
from rezero_env.types import Document, Task

CHUNKS_FILE = "chunks.csv"
QUESTIONS_FILE = "questions.jsonl"


def load_rezero(folder: Path, name: str | None = None) -> QADataset:
    """Load a folder in ReZero's format."""
    chunks_path, questions_path = folder / CHUNKS_FILE, folder / QUESTIONS_FILE
    documents = [
        Document(doc_id=row["chunk_id"], text=row["content"])
        for _, row in read_csv(chunks_path, ("chunk_id", "content"))
    ]
    known_ids = {doc.doc_id for doc in documents}
    tasks: list[Task] = []
    for line_number, record in read_jsonl(questions_path):
        chunk_id = str(field(record, "id", questions_path, line_number, (str, int)))
        if chunk_id not in known_ids:
            raise DataFormatError(f"{questions_path}:{line_number}: id {chunk_id!r} is not a chunk_id of {chunks_path}")
        paragraphs = string_list(record, "supporting_paragraphs", questions_path, line_number)
        tasks.append(
            Task(
                id=f"apollo-{len(tasks)}",
                question=field(record, "question", questions_path, line_number, str),
                answers=string_list(record, "answer", questions_path, line_number),
                supporting_ids=(chunk_id,),
                meta={"chunk_id": chunk_id, "supporting_paragraphs": list(paragraphs)},
            )
        )
    return QADataset(
        name=name or folder.name, documents=tuple(documents), tasks=tuple(tasks), splits=train_test_indices(len(tasks))
    )
