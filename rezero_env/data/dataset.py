"""``QADataset``: a corpus of documents plus the questions asked about it, with named splits."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from rezero_env.types import Document, Task, corpus_fingerprint

ALL_SPLIT = "all"


@dataclass(frozen=True, eq=False)
class QADataset:
    """Documents to search and tasks to answer.

    Attributes:
        name: Human-readable name (shown in logs and episode files).
        documents: The corpus, in index order.
        tasks: Every task of the dataset.
        splits: Split name → indices into ``tasks``. ``"all"`` is always present.
        source: Where the tasks were read from (a file or folder), named in errors; None for datasets built in code.
        recommended_judge: The judge (a :func:`rezero_env.rewards.make_judge` name) that scores this dataset's
            answers as a careful grader would: ``"em_f1"`` for exact short answers (the synthetic world),
            ``"contains"`` for datasets whose agents answer in sentences or other formats (ReZero's Apollo set).
            Measured on ``data/judge-agreement`` by the ``judges`` benchmark.

    Datasets compare and hash by identity (they can hold millions of documents).

    Raises:
        ValueError: on duplicate document or task ids, a split index out of range, or a task whose supporting id is
            not a document of the corpus (the id and the positions named).
    """

    name: str
    documents: tuple[Document, ...]
    tasks: tuple[Task, ...]
    splits: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    source: str | None = None
    recommended_judge: str = "em_f1"
    _by_id: dict[str, Document] = field(init=False, repr=False, compare=False)
    _task_by_id: dict[str, Task] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "tasks", tuple(self.tasks))
        by_id = {doc.doc_id: doc for doc in self.documents}
        if len(by_id) != len(self.documents):
            first, again = _repeated([doc.doc_id for doc in self.documents])
            raise ValueError(
                f"Dataset {self.name!r}: document id {self.documents[first].doc_id!r} is used twice "
                f"(documents[{first}] and documents[{again}])"
            )
        task_by_id = {task.id: task for task in self.tasks}
        if len(task_by_id) != len(self.tasks):
            first, again = _repeated([task.id for task in self.tasks])
            raise ValueError(
                f"Dataset {self.name!r}: task id {self.tasks[first].id!r} is used twice "
                f"(tasks[{first}] and tasks[{again}])"
            )
        for task in self.tasks:
            missing = [doc_id for doc_id in task.supporting_ids if doc_id not in by_id]
            if missing:
                raise ValueError(f"Dataset {self.name!r}: task {task.id!r} cites unknown document ids {missing}")
        splits = {name: tuple(int(i) for i in indices) for name, indices in self.splits.items()}
        splits.setdefault(ALL_SPLIT, tuple(range(len(self.tasks))))
        for split_name, indices in splits.items():
            if any(not 0 <= i < len(self.tasks) for i in indices):
                raise ValueError(f"Dataset {self.name!r}: split {split_name!r} has an index out of range")
        object.__setattr__(self, "splits", splits)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_task_by_id", task_by_id)

    def document(self, doc_id: str) -> Document:
        """The document with id ``doc_id`` (KeyError naming the dataset when there is none)."""
        try:
            return self._by_id[doc_id]
        except KeyError:
            raise KeyError(f"Dataset {self.name!r} has no document with id {doc_id!r}") from None

    def task(self, task_id: str) -> Task:
        """The task with id ``task_id`` (KeyError naming the dataset when there is none)."""
        try:
            return self._task_by_id[task_id]
        except KeyError:
            raise KeyError(f"Dataset {self.name!r} has no task with id {task_id!r}") from None

    def split(self, name: str) -> tuple[Task, ...]:
        """The tasks of split ``name`` (ValueError naming the source and listing the available splits when unknown)."""
        if name not in self.splits:
            source = f" (tasks from {self.source})" if self.source else ""
            message = f"Dataset {self.name!r} has no split {name!r}{source}; available: {sorted(self.splits)}"
            if set(self.splits) == {ALL_SPLIT} and len(self.tasks) < 2:
                message += f"; {len(self.tasks)} task(s) are too few for a train/test split: use split='all'"
            raise ValueError(message)
        return tuple(self.tasks[i] for i in self.splits[name])

    @property
    def fingerprint(self) -> str:
        """A SHA-256 over the documents' ids, titles and texts: equal corpora have equal fingerprints."""
        return corpus_fingerprint(self.documents)


def _repeated(ids: Sequence[str]) -> tuple[int, int]:
    """The positions of the first id that repeats: where it first appears and where it appears again."""
    first: dict[str, int] = {}
    for index, item in enumerate(ids):
        if item in first:
            return first[item], index
        first[item] = index
    raise ValueError("no repeated id")


def train_test_indices(n: int, test_size: float = 0.1, seed: int = 42) -> dict[str, tuple[int, ...]]:
    """Split ``n`` items exactly as ``datasets.Dataset.train_test_split(test_size=test_size, seed=seed)`` does.

    The test part is the first ``ceil(test_size * n)`` entries of ``np.random.default_rng(seed).permutation(n)``
    and the train part the rest, in permutation order. With fewer than two items only the ``"all"`` split exists.

    Example:
        >>> {name: len(indices) for name, indices in train_test_indices(318).items()}
        {'train': 286, 'test': 32}
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    n_test = math.ceil(test_size * n)
    if n - n_test < 1:
        return {}
    permutation = np.random.default_rng(seed).permutation(n)
    return {"train": tuple(permutation[n_test:].tolist()), "test": tuple(permutation[:n_test].tolist())}


def split_by_field(field_values: Sequence[str | None]) -> dict[str, tuple[int, ...]]:
    """Splits from a per-task split name (``None`` entries belong to no named split)."""
    splits: dict[str, list[int]] = {}
    for index, value in enumerate(field_values):
        if value is not None:
            splits.setdefault(value, []).append(index)
    return {name: tuple(indices) for name, indices in splits.items()}
