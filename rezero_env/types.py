"""The small typed contracts shared by the environment, the search engines and the rewards."""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit returned by a search engine (higher ``score`` is better)."""

    doc_id: str
    text: str
    score: float
    title: str | None = None
