"""Gold answers checked at load time: a gold that normalises to nothing under the dataset's recommended judge
(``"the"``, ``"The The"``, ``"!!!"``, ``"-"``) would make an empty or content-free answer (``""``, ``"."``, ``"a"``)
correct, so loading one is a :class:`~rezero_env.data.files.DataFormatError` naming the file, the line (or row) and the
field — or, with ``dataset_options={"empty_golds": "drop"}``, its question is dropped with a logged warning.

Example:
    >>> from rezero_env.types import Task
    >>> tasks = [Task("q1", "When?", ("1822",)), Task("q2", "Which?", ("The The",))]
    >>> keep_judgeable(tasks, [("q.jsonl:1", "answers"), ("q.jsonl:2", "answers")], "em_f1", "drop")
    [0]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from rezero_env.data.files import DataFormatError
from rezero_env.rewards.judges import empty_gold
from rezero_env.types import Task

logger = logging.getLogger(__name__)

#: The dataset option that says what to do with such a gold, and its values.
OPTION = "empty_golds"
POLICIES = ("error", "drop")

#: Where a task was read (``"questions.jsonl:12"``, ``"… row 3"``) and the name of its answers field there.
Origin = tuple[str, str]


def empty_golds_policy(options: Mapping[str, Any]) -> str:
    """The ``empty_golds`` option of ``options`` (``"error"`` when absent).

    Raises:
        ValueError: for another value (naming the option and its values).
    """
    value = options.get(OPTION, "error")
    if value not in POLICIES:
        raise ValueError(f"dataset option {OPTION} must be 'error' or 'drop', got {value!r}")
    return str(value)


def keep_judgeable(tasks: Sequence[Task], origins: Sequence[Origin], judge: str, policy: str = "error") -> list[int]:
    """The indices of the tasks whose every gold answer the judge ``judge`` can compare with.

    Raises:
        DataFormatError: with ``policy="error"``, at the first task with a gold that normalises to nothing (its
            file, line and field named, and what to do).
    """
    keep = []
    for index, (task, (where, field)) in enumerate(zip(tasks, origins, strict=True)):
        reasons = [(item, answer, empty_gold(answer, judge)) for item, answer in enumerate(task.answers)]
        problem = next(((item, answer, reason) for item, answer, reason in reasons if reason), None)
        if problem is None:
            keep.append(index)
            continue
        item, answer, reason = problem
        label = f"field {field!r}" + (f": item {item}" if len(task.answers) > 1 else "")
        message = (
            f"{where}: {label} {answer!r} normalises to nothing under the {judge} judge ({reason}), so an empty answer "
            "would match it"
        )
        if policy == "drop":
            logger.warning("%s; question %r dropped (empty_golds='drop')", message, task.id)
            continue
        raise DataFormatError(
            f"{message}; correct or remove it, or load with dataset_options={{'{OPTION}': 'drop'}} to drop such "
            "questions"
        )
    return keep


def kept_splits(splits: Mapping[str, Sequence[int]], keep: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """``splits`` (indices into the tasks as read) as indices into the kept tasks, dropped ones left out."""
    position = {old: new for new, old in enumerate(keep)}
    return {name: tuple(position[i] for i in indices if i in position) for name, indices in splits.items()}
