"""Datasets the environment can serve, selected by name, path or object through :func:`load_dataset`.

Names:

- ``"synthetic"`` (default): the embedded synthetic fact world (:mod:`rezero_env.data.synthetic`).
- any other name ``N`` is looked up as a folder ``N`` under each directory of ``$REZERO_DATA_DIR`` (``:``-separated)
  and then under ``./data`` — e.g. ``"rezero-apollo"`` after ``python data/rezero-apollo/prepare.py``.

Paths: a folder in rezero's format (``corpus.jsonl`` + ``questions.jsonl``), in ReZero's format (``chunks.csv`` +
``questions.jsonl``), in Search-R1's format (``corpus.jsonl`` of ``{"id", "contents"}`` + ``questions.jsonl`` /
``questions.parquet`` or ``train.parquet`` + ``test.parquet``; :mod:`rezero_env.data.search_r1`) or a folder of
markdown/text files (+ ``questions.jsonl``).

Formats named with their files in ``options``:

- ``"search-r1"``: ``{"corpus": PATH, "questions": PATH}`` (or ``"train"``/``"test"`` paths instead of ``"questions"``).
- ``"hf:<save_to_disk folder, data folder or Hub name>"``: a Hugging Face ``datasets`` dataset of questions plus
  ``{"corpus": ...}`` and column names (:mod:`rezero_env.data.hf`).

Every loader of files checks the gold answers under the dataset's recommended judge: one that normalises to nothing
(``"the"``, ``"!!!"``) is a ``DataFormatError`` naming ``file:line``, or, with the option ``{"empty_golds": "drop"}``
(any format), its question is dropped with a logged warning (:mod:`rezero_env.data.golds`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset, train_test_indices
from rezero_env.data.files import DataFormatError
from rezero_env.data.golds import OPTION as EMPTY_GOLDS
from rezero_env.data.golds import empty_golds_policy
from rezero_env.data.hf import PREFIX as HF_PREFIX
from rezero_env.data.hf import load_hf
from rezero_env.data.native import load_native
from rezero_env.data.rezero_format import load_rezero
from rezero_env.data.search_r1 import QuestionSource, folder_sources, is_search_r1_corpus, load_search_r1
from rezero_env.data.synthetic import WorldConfig, default_world, generate_world
from rezero_env.data.text_folder import load_text_folder, text_files

DEFAULT_DATASET = "synthetic"
SEARCH_R1 = "search-r1"
SEARCH_R1_OPTIONS = ("corpus", "questions", "train", "test")
_PATH_OPTIONS = SEARCH_R1_OPTIONS  # options holding file paths (made absolute for the cache key)
DATA_DIR_VARIABLE = "REZERO_DATA_DIR"
PREPARE_SCRIPT = "prepare.py"
"""A dataset that is fetched rather than stored has ``data/<name>/prepare.py`` (nanoGPT style)."""
_SHIPPED_DATA = Path(__file__).resolve().parents[2] / "data"


def load_dataset(dataset: str | os.PathLike[str] | QADataset, options: Mapping[str, Any] | None = None) -> QADataset:
    """Resolve ``dataset`` (a name, a folder path or a :class:`QADataset`) to a loaded dataset.

    ``options`` go to the loader: ``WorldConfig`` fields for ``"synthetic"``; ``questions`` (path) and ``max_chars``
    for a text folder; ``corpus``, ``questions``, ``train``, ``test`` (paths) for ``"search-r1"`` or a Search-R1
    folder; :data:`rezero_env.data.hf.OPTIONS` for ``"hf:..."``. Loads by name or path are cached per process, so
    many environments share one copy.

    Raises:
        FileNotFoundError: for a name or path that resolves to nothing (the message lists where it looked).
        DataFormatError: for a file that does not match its format (file, line and field named).
        ValueError: for options the loader does not take.
    """
    options = dict(options or {})
    if isinstance(dataset, QADataset):
        if options:
            raise ValueError("dataset_options only apply to datasets loaded by name or path")
        return dataset
    empty_golds_policy(options)  # a bad value fails here, whatever the format
    if dataset == DEFAULT_DATASET:
        options.pop(EMPTY_GOLDS, None)  # built in code: its golds are checked by its tests
        if not options:
            return default_world()
        try:
            return generate_world(WorldConfig(**options))
        except TypeError as error:
            raise ValueError(f"Bad dataset_options for 'synthetic': {error}") from None
    frozen = tuple(
        sorted((key, _absolute(str(value)) if key in _PATH_OPTIONS else str(value)) for key, value in options.items())
    )
    if dataset == SEARCH_R1:
        return _load_search_r1(None, frozen)
    if isinstance(dataset, str) and dataset.startswith(HF_PREFIX):
        return _load_hf(_absolute(dataset[len(HF_PREFIX) :]), frozen)
    folder = resolve_folder(dataset)
    return _load_folder(str(folder), frozen)


def _absolute(value: str) -> str:
    """``value`` as an absolute path when it names an existing file or folder (cache keys must not depend on the
    working directory); unchanged otherwise (a Hub name, ``hf:...``, or a missing path reported later)."""
    path = Path(value).expanduser()
    return str(path.resolve()) if not value.startswith(HF_PREFIX) and path.exists() else value


def resolve_folder(dataset: str | os.PathLike[str]) -> Path:
    """The folder ``dataset`` names: an existing path, or a name under ``$REZERO_DATA_DIR`` or ``./data``."""
    path = Path(dataset).expanduser()
    if path.is_dir():
        return path.resolve()
    searched = [Path(p) for p in os.environ.get(DATA_DIR_VARIABLE, "").split(os.pathsep) if p] + [Path("data")]
    if path.name == str(dataset):
        for root in searched:
            if (root / path).is_dir():
                return (root / path).resolve()
    prepare = _SHIPPED_DATA / path.name / PREPARE_SCRIPT
    hint = f"; prepare it with python data/{path.name}/{PREPARE_SCRIPT}" if path.name and prepare.is_file() else ""
    raise FileNotFoundError(
        f"Dataset {str(dataset)!r} is neither {DEFAULT_DATASET!r}, an existing folder, nor a folder under "
        f"{[str(p) for p in searched]} (set ${DATA_DIR_VARIABLE} to add places to look){hint}"
    )


@functools.lru_cache(maxsize=8)
def _load_folder(folder_name: str, options: tuple[tuple[str, str], ...]) -> QADataset:
    folder = Path(folder_name)
    kwargs = dict(options)
    policy = empty_golds_policy(kwargs)
    kwargs.pop(EMPTY_GOLDS, None)
    if (folder / "corpus.jsonl").is_file() and is_search_r1_corpus(folder / "corpus.jsonl"):
        return _load_search_r1(folder_name, options)
    if (folder / "corpus.jsonl").is_file():
        _reject_options(folder, kwargs)
        return load_native(folder, empty_golds=policy)
    if (folder / "chunks.csv").is_file():
        _reject_options(folder, kwargs)
        return load_rezero(folder, empty_golds=policy)
    if (folder / PREPARE_SCRIPT).is_file() and not (folder / "questions.jsonl").is_file():
        raise FileNotFoundError(
            f"{folder}: the dataset is not prepared yet (no corpus.jsonl, chunks.csv or questions.jsonl); run "
            f"python {_shown(folder / PREPARE_SCRIPT)} first (its README says what it fetches)"
        )
    if text_files(folder):
        unknown = set(kwargs) - {"questions", "max_chars"}
        if unknown:
            raise ValueError(
                f"Bad dataset_options for a text folder: {sorted(unknown)}; use 'questions', 'max_chars', "
                f"'{EMPTY_GOLDS}'"
            )
        questions = Path(kwargs["questions"]) if "questions" in kwargs else None
        max_chars = int(kwargs.get("max_chars", 1000))
        return load_text_folder(folder, questions=questions, max_chars=max_chars, empty_golds=policy)
    raise DataFormatError(
        f"{folder}: not a dataset folder; expected corpus.jsonl + questions.jsonl (rezero or Search-R1), chunks.csv + "
        "questions.jsonl (ReZero) or markdown/text files"
    )


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (``data/rezero-apollo/prepare.py``)."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@functools.lru_cache(maxsize=8)
def _load_search_r1(folder_name: str | None, options: tuple[tuple[str, str], ...]) -> QADataset:
    """A Search-R1 corpus and its questions: from a folder (``options`` may replace its files) or from ``options``."""
    kwargs = dict(options)
    policy = empty_golds_policy(kwargs)
    kwargs.pop(EMPTY_GOLDS, None)
    unknown = sorted(set(kwargs) - set(SEARCH_R1_OPTIONS))
    if unknown:
        raise ValueError(f"Bad dataset_options for Search-R1 data: {unknown}; valid: {list(SEARCH_R1_OPTIONS)}")
    if "questions" in kwargs and ({"train", "test"} & set(kwargs)):
        raise ValueError("dataset_options for Search-R1 data: give 'questions' or 'train'/'test', not both")
    if folder_name is None and ("corpus" not in kwargs or not {"questions", "train", "test"} & set(kwargs)):
        raise ValueError(
            f"Dataset {SEARCH_R1!r} needs dataset_options={{'corpus': PATH, 'questions': PATH}} (or 'train'/'test' "
            f"paths instead of 'questions'), got {sorted(kwargs)}; or pass a Search-R1 folder as the dataset"
        )
    given: list[QuestionSource] = (
        [(Path(kwargs["questions"]), None)]
        if "questions" in kwargs
        else [(Path(kwargs[split]), split) for split in ("train", "test") if split in kwargs]
    )
    if folder_name is not None:
        folder = Path(folder_name)
        corpus, found = folder_sources(folder) if not given else (folder / "corpus.jsonl", given)
        return load_search_r1(Path(kwargs.get("corpus", corpus)), found, name=folder.name, empty_golds=policy)
    return load_search_r1(Path(kwargs["corpus"]), given, empty_golds=policy)


@functools.lru_cache(maxsize=8)
def _load_hf(source: str, options: tuple[tuple[str, str], ...]) -> QADataset:
    return load_hf(source, dict(options), name=f"{HF_PREFIX}{Path(source).name if Path(source).is_dir() else source}")


def _reject_options(folder: Path, options: Mapping[str, str]) -> None:
    if options:
        raise ValueError(
            f"{folder}: this dataset format takes no dataset_options but '{EMPTY_GOLDS}', got {sorted(options)}"
        )


__all__ = [
    "DEFAULT_DATASET",
    "DataFormatError",
    "QADataset",
    "WorldConfig",
    "generate_world",
    "load_dataset",
    "resolve_folder",
    "train_test_indices",
]
