"""What the judges share: the ``Judge`` type, a verdict with its reason, a base class, and the error a judge raises."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: A judge: ``judge(prediction, answers) -> float`` in [0, 1] (1 accepts the prediction).
Judge = Callable[[str, Sequence[str]], float]


class JudgeError(RuntimeError):
    """A judge could not judge (an LLM endpoint down, a model that cannot be loaded); the message says what to do."""


@dataclass(frozen=True)
class Verdict:
    """A judge's decision on one answer.

    Attributes:
        score: In [0, 1]; 1 accepts the answer.
        reason: One line saying why (shown in logs and the judges benchmark).
        certain: False when the judge could not decide and a :class:`~rezero_env.rewards.judges.CascadeJudge`
            should ask its next judge (``score`` is then the judge's best guess).
    """

    score: float
    reason: str
    certain: bool = True


@dataclass(frozen=True)
class Item:
    """One answer to judge: the prediction, the accepted answers and (optionally) the question asked."""

    prediction: str
    answers: Sequence[str]
    question: str | None = None


class BaseJudge:
    """A judge built by :func:`~rezero_env.rewards.make_judge`: ``judge(prediction, answers, question=None)``.

    Subclasses implement :meth:`verdict`; :meth:`verdicts` judges many at once (LLM judges batch them) and
    :meth:`prefetch` lets a vector env hand over a step's answers before its environments ask one by one. Any plain
    ``judge(prediction, answers) -> float`` callable works wherever a judge is taken; these also read the question
    (to reject an answer that only repeats it).
    """

    name = "judge"

    def verdict(self, prediction: str, answers: Sequence[str], question: str | None = None) -> Verdict:
        """The verdict on one answer."""
        raise NotImplementedError

    def verdicts(self, items: Sequence[Item]) -> list[Verdict]:
        """The verdicts on many answers, in order (one by one unless the judge batches)."""
        return [self.verdict(item.prediction, item.answers, item.question) for item in items]

    def prefetch(self, items: Sequence[Item]) -> None:
        """Judge ``items`` ahead of the calls that will ask for them (a no-op unless the judge batches)."""

    def __call__(self, prediction: str, answers: Sequence[str], question: str | None = None) -> float:
        return self.verdict(prediction, answers, question).score


def accepts_question(judge: object) -> bool:
    """True when ``judge`` takes the question (judges built by ``make_judge`` do; plain callables are not asked)."""
    return isinstance(judge, BaseJudge)
