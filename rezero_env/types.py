"""The small typed contracts shared by the environment, the search engines and the rewards."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict


class Message(TypedDict):
    """One chat message of an episode transcript, in the role/content form chat templates expect."""

    role: str
    content: str


@dataclass(frozen=True)
class Task:
    """A question the agent must answer.

    Attributes:
        id: Unique id of the task within its dataset.
        question: The question shown to the agent.
        answers: Every accepted answer (the first is the canonical one); never shown to the agent.
        supporting_ids: Ids of the documents that together contain the answer, in reading order; the last one
            holds the answer itself.
        meta: Free-form extra fields (e.g. ``{"level": "two-hop"}``).
    """

    id: str
    question: str
    answers: tuple[str, ...]
    supporting_ids: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"Task {self.id!r}: the question must be a non-empty string")
        if isinstance(self.answers, str):
            raise TypeError(f"Task {self.id!r}: answers must be a sequence of strings, not a single string")
        object.__setattr__(self, "answers", tuple(str(a) for a in self.answers))
        object.__setattr__(self, "supporting_ids", tuple(str(s) for s in self.supporting_ids))
        if not self.answers:
            raise ValueError(f"Task {self.id!r}: at least one accepted answer is required")


@dataclass(frozen=True)
class Document:
    """A passage of the corpus that search engines index and return."""

    doc_id: str
    text: str
    title: str | None = None


def corpus_fingerprint(documents: Sequence[Document]) -> str:
    """A SHA-256 over the documents' ids, titles and texts, in order: equal corpora have equal fingerprints (index
    manifests and search caches record it).

    Example:
        >>> corpus_fingerprint([Document("a", "x")]) == corpus_fingerprint([Document("a", "x", title=None)])
        True
    """
    digest = hashlib.sha256()
    for doc in documents:
        for part in (doc.doc_id, doc.title or "", doc.text):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit returned by a search engine (higher ``score`` is better)."""

    doc_id: str
    text: str
    score: float
    title: str | None = None


def current_task(env: Any) -> Task:
    """The :class:`Task` of the episode in progress of ``env`` — a ``SearchQA`` environment, any wrapper stack around
    one, or any environment whose ``unwrapped`` exposes a ``task`` attribute holding a :class:`Task`.

    Raises:
        TypeError: when ``env`` (unwrapped) has no ``task`` attribute or it holds something other than a Task.
        RuntimeError: before the first ``reset()`` (no task yet).

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> env = gym.make("SearchQA-v0")
        >>> _ = env.reset(options={"task_index": 0})
        >>> current_task(env).id == env.unwrapped.tasks[0].id
        True
        >>> current_task(gym.make("CartPole-v1"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: CartPoleEnv is not a rezero_env environment: its unwrapped env has no 'task' ...
    """
    base = getattr(env, "unwrapped", env)
    if not hasattr(base, "task"):
        raise TypeError(
            f"{type(base).__name__} is not a rezero_env environment: its unwrapped env has no 'task' (a "
            "rezero_env.types.Task); use gym.make('SearchQA-v0') or give your env a `task` attribute"
        )
    task = base.task
    if task is None:
        raise RuntimeError(f"{type(base).__name__} has no current task: call reset() first")
    if not isinstance(task, Task):
        raise TypeError(f"{type(base).__name__}.task must be a rezero_env.types.Task, got {type(task).__name__}")
    return task


def split_tasks(env: Any) -> tuple[Task, ...]:
    """Every task of ``env``'s split (``env.unwrapped.tasks`` of a ``SearchQA`` environment or wrapper stack).

    Raises:
        TypeError: when ``env`` (unwrapped) has no ``tasks`` sequence of :class:`Task`.

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> len(split_tasks(gym.make("SearchQA-v0", split="test")))
        160
    """
    base = getattr(env, "unwrapped", env)
    tasks = getattr(base, "tasks", None)
    if not isinstance(tasks, list | tuple) or not all(isinstance(task, Task) for task in tasks[:1]):
        raise TypeError(
            f"{type(base).__name__} is not a rezero_env environment: its unwrapped env has no 'tasks' sequence of "
            "rezero_env.types.Task; use gym.make('SearchQA-v0')"
        )
    return tasks if isinstance(tasks, tuple) else tuple(tasks)
