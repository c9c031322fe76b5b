"""Questions from a Hugging Face ``datasets`` dataset, searched over a corpus file or another dataset.

Selected with ``load_dataset("hf:<source>", options)``, where ``<source>`` is a folder written by
``Dataset.save_to_disk``/``DatasetDict.save_to_disk`` (read with ``datasets.load_from_disk``), a folder of data files,
or a Hub name (``datasets.load_dataset``; offline, only a cached one loads). Options (all strings):

- ``corpus`` (required): a corpus file (rezero's or Search-R1's JSON Lines, or ReZero's ``chunks.csv``), a
  ``save_to_disk`` folder, or ``hf:<Hub name>``; a corpus dataset has columns ``id``, ``text`` (or Search-R1's
  ``contents``) and optionally ``title`` — renamed with ``id_column``, ``text_column``, ``title_column``;
  ``corpus_split`` picks its split when it has several (default ``train``).
- ``question_column`` (default ``question``), ``answer_column`` (default: the first of ``answers``, ``answer``,
  ``golden_answers``; a string, a list of strings or SQuAD's ``{"text": [...]}``), ``question_id_column`` (default
  ``id`` when present, else ``<split>-<row>``).
- ``split``: load only this split; ``config``: the Hub configuration name.
- ``empty_golds``: ``"error"`` (default) or ``"drop"``: what to do with a question whose gold answer normalises to
  nothing under ``em_f1`` (:mod:`rezero_env.data.golds`).

A dataset with two or more splits keeps them; a single split gets ReZero's split (10 % test, seed 42).
``datasets`` is imported only when such a dataset is loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset
from rezero_env.data.files import DataFormatError, identifier
from rezero_env.data.golds import Origin, empty_golds_policy, keep_judgeable
from rezero_env.data.native import splits_for
from rezero_env.data.search_r1 import parse_contents, parse_question, read_corpus_file
from rezero_env.types import Document, Task

logger = logging.getLogger(__name__)

PREFIX = "hf:"
OPTIONS = (
    "corpus",
    "corpus_split",
    "id_column",
    "text_column",
    "title_column",
    "question_column",
    "answer_column",
    "question_id_column",
    "split",
    "config",
    "empty_golds",
)
ANSWER_COLUMNS = ("answers", "answer", "golden_answers")
_BATCH = 10_000


def load_hf(source: str, options: Mapping[str, str], name: str | None = None) -> QADataset:
    """Load the questions of the Hugging Face dataset ``source`` and the corpus ``options["corpus"]``."""
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"Bad dataset_options for a Hugging Face dataset: {unknown}; valid: {list(OPTIONS)}")
    if "corpus" not in options:
        raise ValueError(
            f"Hugging Face dataset {source!r} needs dataset_options['corpus']: a corpus file, a save_to_disk folder "
            "or 'hf:<name>'"
        )
    parts = open_hf(source, split=options.get("split"), config=options.get("config"))
    origins: list[Origin] = []
    tasks, splits = _tasks(source, parts, options, origins)
    keep = keep_judgeable(tasks, origins, "em_f1", empty_golds_policy(options))
    tasks, splits = [tasks[i] for i in keep], [splits[i] for i in keep]
    if not tasks:
        raise DataFormatError(f"Hugging Face dataset {source!r} (splits {sorted(parts)}): no questions")
    documents = read_corpus(options["corpus"], options)
    if not documents:
        raise DataFormatError(f"dataset_options['corpus'] {options['corpus']!r}: no documents")
    return QADataset(
        name=name or f"{PREFIX}{source}",
        documents=tuple(documents),
        tasks=tuple(tasks),
        splits=splits_for(splits),
        source=f"Hugging Face dataset {source!r}",
    )


def open_hf(source: str, split: str | None = None, config: str | None = None) -> dict[str, Any]:
    """Split name → ``datasets.Dataset`` for a ``save_to_disk`` folder, a data-file folder or a Hub name."""
    try:
        import datasets  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise ImportError("Hugging Face datasets need the `datasets` package: pip install datasets") from None
    path = Path(source).expanduser()
    if not path.exists() and (path.is_absolute() or source.startswith((".", "~"))):
        raise FileNotFoundError(f"Hugging Face dataset folder {source!r} does not exist")
    saved = path.is_dir() and any((path / marker).is_file() for marker in ("dataset_dict.json", "state.json"))
    if saved and config is not None:
        raise ValueError(f"{source}: 'config' applies to Hub datasets, not to a save_to_disk folder")
    try:
        if saved:
            loaded = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(str(path) if path.is_dir() else source, name=config, split=split)
    except (OSError, datasets.exceptions.DatasetsError) as error:
        raise FileNotFoundError(
            f"Could not load the Hugging Face dataset {source!r} ({type(error).__name__}: {error}); a Hub name "
            "loads offline only when cached, a local folder must come from save_to_disk or hold data files"
        ) from error
    if isinstance(loaded, datasets.Dataset):
        return {split or "data": loaded}
    if not isinstance(loaded, datasets.DatasetDict):
        raise DataFormatError(f"Hugging Face dataset {source!r}: expected a Dataset or DatasetDict, got {type(loaded)}")
    parts = dict(loaded)
    if split is not None:
        if split not in parts:
            raise ValueError(f"Hugging Face dataset {source!r} has no split {split!r}; available: {sorted(parts)}")
        return {split: parts[split]}
    return parts


def _columns(source: str, part: str, dataset: Any, wanted: list[str]) -> None:
    available = list(dataset.column_names)
    for column in wanted:
        if column not in available:
            raise DataFormatError(
                f"Hugging Face dataset {source!r} (split {part!r}) has no column {column!r}; available: {available}"
            )


def _rows(dataset: Any, columns: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    index = 0
    for batch in dataset.select_columns(columns).iter(batch_size=_BATCH):
        for values in zip(*(batch[column] for column in columns), strict=True):
            yield index, dict(zip(columns, values, strict=True))
            index += 1


def _tasks(
    source: str, parts: Mapping[str, Any], options: Mapping[str, str], origins: list[Origin]
) -> tuple[list[Task], list[str | None]]:
    question_column = options.get("question_column", "question")
    tasks: list[Task] = []
    splits: list[str | None] = []
    seen: dict[str, str] = {}
    for part, dataset in parts.items():
        available = list(dataset.column_names)
        answer_column = options.get("answer_column") or next((c for c in ANSWER_COLUMNS if c in available), None)
        if answer_column is None:
            raise DataFormatError(
                f"Hugging Face dataset {source!r} (split {part!r}) has no answer column (tried {list(ANSWER_COLUMNS)}; "
                f"set dataset_options['answer_column']); available: {available}"
            )
        id_column = options.get("question_id_column", "id")
        wanted = [question_column, answer_column]
        _columns(source, part, dataset, wanted)
        if "question_id_column" in options:
            _columns(source, part, dataset, [id_column])
        if id_column in available:
            wanted.append(id_column)
        for row, record in _rows(dataset, wanted):
            where = f"Hugging Face dataset {source!r} (split {part!r}), row {row}"
            task, _ = parse_question(record, where, f"{part}-{row}", question_column, answer_column, id_column)
            if task.id in seen:
                raise DataFormatError(f"{where}: duplicate question id {task.id!r} (first at {seen[task.id]})")
            seen[task.id] = where
            tasks.append(task)
            splits.append(part if len(parts) > 1 else None)
            origins.append((where, answer_column))
    return tasks, splits


def read_corpus(value: str, options: Mapping[str, str]) -> list[Document]:
    """The documents of ``dataset_options["corpus"]``: a corpus file, a ``save_to_disk`` folder or ``hf:<name>``."""
    if value.startswith(PREFIX):
        return _hf_corpus(value[len(PREFIX) :], options)
    path = Path(value).expanduser()
    if path.is_dir():
        return _hf_corpus(str(path), options)
    if path.is_file():
        return read_corpus_file(path)
    raise FileNotFoundError(
        f"dataset_options['corpus']: no such file or folder {value!r} (write a Hub dataset as 'hf:<name>')"
    )


def _hf_corpus(source: str, options: Mapping[str, str]) -> list[Document]:
    parts = open_hf(source, split=options.get("corpus_split"))
    if len(parts) == 1:
        ((part, dataset),) = parts.items()
    elif "train" in parts:
        part, dataset = "train", parts["train"]
    else:
        raise ValueError(
            f"Corpus dataset {source!r} has several splits {sorted(parts)}; choose one with "
            "dataset_options['corpus_split']"
        )
    available = list(dataset.column_names)
    id_column = options.get("id_column", "id")
    text_column = options.get("text_column", "text")
    contents = "text_column" not in options and "text" not in available and "contents" in available
    wanted = [id_column, "contents" if contents else text_column]
    if "title_column" in options or ("title" in available and not contents):
        wanted.append(options.get("title_column", "title"))
    _columns(source, part, dataset, wanted)
    documents = []
    first_row: dict[str, int] = {}
    for row, record in _rows(dataset, wanted):
        where = f"Corpus dataset {source!r} (split {part!r}), row {row}"
        doc_id, text = record[wanted[0]], record[wanted[1]]
        if doc_id is None or text is None:
            raise DataFormatError(f"{where}: missing field {wanted[0] if doc_id is None else wanted[1]!r}")
        doc_id = identifier(doc_id, wanted[0], where)
        if doc_id in first_row:
            raise DataFormatError(f"{where}: duplicate document id {doc_id!r} (first at row {first_row[doc_id]})")
        first_row[doc_id] = row
        if not isinstance(text, str):
            raise DataFormatError(f"{where}: field {wanted[1]!r} should be str, got {type(text).__name__}")
        title = record[wanted[2]] if len(wanted) > 2 else None
        if contents:
            title, text = parse_contents(text)
        documents.append(Document(doc_id, text, title=str(title) if title else None))
    logger.info("Read %d documents from corpus dataset %s", len(documents), source)
    return documents
