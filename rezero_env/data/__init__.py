"""Datasets the environment can serve, selected by name, path or object through :func:`load_dataset`.

Names:

- ``"synthetic"`` (default): the embedded synthetic fact world (:mod:`rezero_env.data.synthetic`).
- any other name ``N`` is looked up as a folder ``N`` under each directory of ``$REZERO_DATA_DIR`` (``:``-separated)
  and then under ``./data`` — e.g. ``"rezero-apollo"`` after ``python data/rezero-apollo/prepare.py``.

Paths: a folder in rezero's format (``corpus.jsonl`` + ``questions.jsonl``), in ReZero's format (``chunks.csv`` +
``questions.jsonl``) or a folder of markdown/text files (+ ``questions.jsonl``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rezero_env.data.dataset import QADataset, train_test_indices
from rezero_env.data.files import DataFormatError
from rezero_env.data.native import load_native
from rezero_env.data.rezero_format import load_rezero
from rezero_env.data.synthetic import WorldConfig, default_world, generate_world
from rezero_env.data.text_folder import load_text_folder, text_files

DEFAULT_DATASET = "synthetic"
DATA_DIR_VARIABLE = "REZERO_DATA_DIR"


def load_dataset(dataset: str | os.PathLike[str] | QADataset, options: Mapping[str, Any] | None = None) -> QADataset:
    """Resolve ``dataset`` (a name, a folder path or a :class:`QADataset`) to a loaded dataset.

    ``options`` go to the loader: ``WorldConfig`` fields for ``"synthetic"``; ``questions`` (path) and ``max_chars``
    for a text folder. Loads by name or path are cached per process, so many environments share one copy.

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
    if dataset == DEFAULT_DATASET:
        if not options:
            return default_world()
        try:
            return generate_world(WorldConfig(**options))
        except TypeError as error:
            raise ValueError(f"Bad dataset_options for 'synthetic': {error}") from None
    folder = resolve_folder(dataset)
    frozen = tuple(sorted((key, str(value)) for key, value in options.items()))
    return _load_folder(str(folder), frozen)


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
    raise FileNotFoundError(
        f"Dataset {str(dataset)!r} is neither {DEFAULT_DATASET!r}, an existing folder, nor a folder under "
        f"{[str(p) for p in searched]} (set ${DATA_DIR_VARIABLE} to add places to look)"
    )


@functools.lru_cache(maxsize=8)
def _load_folder(folder_name: str, options: tuple[tuple[str, str], ...]) -> QADataset:
    folder = Path(folder_name)
    kwargs = dict(options)
    if (folder / "corpus.jsonl").is_file():
        _reject_options(folder, kwargs)
        return load_native(folder)
    if (folder / "chunks.csv").is_file():
        _reject_options(folder, kwargs)
        return load_rezero(folder)
    if text_files(folder):
        unknown = set(kwargs) - {"questions", "max_chars"}
        if unknown:
            raise ValueError(f"Bad dataset_options for a text folder: {sorted(unknown)}; use 'questions', 'max_chars'")
        questions = Path(kwargs["questions"]) if "questions" in kwargs else None
        return load_text_folder(folder, questions=questions, max_chars=int(kwargs.get("max_chars", 1000)))
    raise DataFormatError(
        f"{folder}: not a dataset folder; expected corpus.jsonl + questions.jsonl (rezero), chunks.csv + "
        "questions.jsonl (ReZero) or markdown/text files"
    )


def _reject_options(folder: Path, options: Mapping[str, str]) -> None:
    if options:
        raise ValueError(f"{folder}: this dataset format takes no dataset_options, got {sorted(options)}")


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
