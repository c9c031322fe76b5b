"""A folder of markdown or plain-text files, chunked into paragraphs, with questions from a JSON Lines file.

Files (``*.md``, ``*.markdown``, ``*.txt``, searched recursively, in sorted order) are split at blank lines;
neighbouring paragraphs are packed into chunks of at most ``max_chars`` characters and a longer paragraph is cut at
word boundaries.
A chunk's id is ``<relative path>#<n>`` and its title the nearest markdown heading above it (or the file name).

Questions come from ``questions.jsonl`` in the folder (or the ``questions`` path), one object per line with
``question`` and ``answers`` (or ``answer``); optional ``id``, ``supporting_ids`` (chunk ids), ``supporting_paragraphs``
(texts, mapped to the chunks that contain them), ``meta`` and ``split``.
"""

from __future__ import annotations

import re
from pathlib import Path

from rezero_env.data.dataset import QADataset
from rezero_env.data.files import DataFormatError, read_jsonl, read_text, string_list
from rezero_env.data.golds import Origin, keep_judgeable
from rezero_env.data.native import check_supporting_ids, parse_task, require_records, splits_for
from rezero_env.types import Document, Task

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def text_files(folder: Path) -> list[Path]:
    """The text files under ``folder``, in sorted order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)


def chunk_text(text: str, max_chars: int = 1000) -> list[tuple[str | None, str]]:
    """Split ``text`` into ``(heading, chunk)`` pairs of at most ``max_chars`` characters.

    Example:
        >>> chunk_text("# Intro\\n\\nFirst.\\n\\nSecond.", max_chars=20)
        [('Intro', '# Intro\\n\\nFirst.'), ('Intro', 'Second.')]
    """
    if max_chars < 20:
        raise ValueError(f"max_chars must be at least 20, got {max_chars}")
    chunks: list[tuple[str | None, str]] = []
    heading: str | None = None
    current: list[str] = []
    current_heading: str | None = None

    def flush() -> None:
        if current:
            chunks.append((current_heading, "\n\n".join(current)))
            current.clear()

    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        match = _HEADING.match(paragraph.splitlines()[0])
        if match:
            flush()
            heading = match.group(1)
        for piece in _cut(paragraph, max_chars):
            if current and len("\n\n".join([*current, piece])) > max_chars:
                flush()
            if not current:
                current_heading = heading
            current.append(piece)
    flush()
    return chunks


def _cut(paragraph: str, max_chars: int) -> list[str]:
    pieces, piece = [], ""
    for word in paragraph.split(" "):
        while len(word) > max_chars:
            if piece:
                pieces.append(piece)
                piece = ""
            pieces.append(word[:max_chars])
            word = word[max_chars:]
        candidate = f"{piece} {word}" if piece else word
        if len(candidate) > max_chars:
            pieces.append(piece)
            candidate = word
        piece = candidate
    if piece:
        pieces.append(piece)
    return pieces


def load_text_folder(
    folder: Path, questions: Path | None = None, max_chars: int = 1000, empty_golds: str = "error"
) -> QADataset:
    """Load a folder of markdown/text files and its questions (gold answers checked under ``em_f1``,
    :mod:`rezero_env.data.golds`)."""
    files = text_files(folder)
    if not files:
        raise DataFormatError(f"{folder}: no {'/'.join(TEXT_SUFFIXES)} files found")
    documents = []
    for path in files:
        relative = path.relative_to(folder).as_posix()
        for n, (heading, chunk) in enumerate(chunk_text(read_text(path), max_chars)):
            documents.append(Document(f"{relative}#{n}", chunk, title=heading or path.stem))
    questions_path = questions or folder / "questions.jsonl"
    if not questions_path.is_file():
        raise FileNotFoundError(
            f"{folder}: no questions file; put questions.jsonl in the folder or pass "
            "dataset_options={'questions': PATH}"
        )
    require_records(folder, len(documents), "text in its files (no paragraphs to search)")
    chunk_ids = {doc.doc_id for doc in documents}
    tasks: list[Task] = []
    splits: list[str | None] = []
    origins: list[Origin] = []
    first_line: dict[str, int] = {}
    for line_number, record in read_jsonl(questions_path):
        where = f"{questions_path}:{line_number}"
        task, split = parse_task(record, questions_path, line_number, default_id=f"q{len(tasks)}")
        if task.id in first_line:
            raise DataFormatError(
                f"{where}: duplicate question id {task.id!r} (first at {questions_path}:{first_line[task.id]})"
            )
        first_line[task.id] = line_number
        check_supporting_ids(task.supporting_ids, chunk_ids, where, "a chunk id ('<file>#<n>', e.g. 'notes.md#0')")
        if "supporting_paragraphs" in record and not task.supporting_ids:
            paragraphs = string_list(record, "supporting_paragraphs", questions_path, line_number)
            task = _with_supporting_paragraphs(task, paragraphs, documents, questions_path, line_number)
        tasks.append(task)
        splits.append(split)
        origins.append((where, "answers" if "answers" in record else "answer"))
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


def _with_supporting_paragraphs(
    task: Task, paragraphs: tuple[str, ...], documents: list[Document], path: Path, line_number: int
) -> Task:
    ids = []
    for paragraph in paragraphs:
        match = next((doc.doc_id for doc in documents if paragraph.strip() in doc.text), None)
        if match is None:
            raise DataFormatError(
                f"{path}:{line_number}: supporting paragraph not found in any chunk: {paragraph[:80]!r}"
            )
        ids.append(match)
    meta = {**task.meta, "supporting_paragraphs": list(paragraphs)}
    return Task(task.id, task.question, task.answers, tuple(ids), meta)
