"""``cascade``: ask cheap judges first and a costly one only for what they could not decide."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.rewards.judges.base import BaseJudge, Item, Judge, Verdict


class CascadeJudge(BaseJudge):
    """Each judge in turn; the first *certain* verdict wins, and the last judge always decides.

    A :class:`~rezero_env.rewards.judges.base.BaseJudge` says when it is uncertain (``contains`` is uncertain only
    when the gold is simply absent and no rejection rule fired); a plain callable is always certain. Judging many
    answers at once (:meth:`verdicts`) hands each stage only the answers still undecided, in one batch.

    Example:
        >>> from rezero_env.rewards.judges.contains import ContainsJudge
        >>> lenient = CascadeJudge([ContainsJudge(), lambda prediction, answers: 1.0])
        >>> lenient("24 amperes", ["24 amps"]), lenient("24 or 36 amperes", ["24 amps"]), lenient("x", ["y"])
        (1.0, 0.0, 1.0)
    """

    name = "cascade"

    def __init__(self, judges: Sequence[Judge]) -> None:
        if not judges:
            raise ValueError("judges must name at least one judge")
        for judge in judges:
            if not callable(judge):
                raise TypeError(f"judges must be callables judge(prediction, answers) -> float, got {judge!r}")
        self.judges = list(judges)
        self.decided_by: dict[str, int] = {}
        """How many verdicts each stage gave so far (by its repr), for logs and the judges benchmark."""

    def verdicts(self, items: Sequence[Item]) -> list[Verdict]:
        results: list[Verdict | None] = [None] * len(items)
        pending = list(range(len(items)))
        for stage, judge in enumerate(self.judges):
            last = stage == len(self.judges) - 1
            batch = [items[i] for i in pending]
            if isinstance(judge, BaseJudge):
                found = judge.verdicts(batch)
            else:
                found = [Verdict(float(judge(item.prediction, item.answers)), repr(judge)) for item in batch]
            still = []
            for i, verdict in zip(pending, found, strict=True):
                if verdict.certain or last:
                    results[i] = Verdict(verdict.score, f"{getattr(judge, 'name', 'judge')}: {verdict.reason}")
                    self.decided_by[repr(judge)] = self.decided_by.get(repr(judge), 0) + 1
                else:
                    still.append(i)
            pending = still
            if not pending:
                break
        return [r for r in results if r is not None]

    def verdict(self, prediction: str, answers: Sequence[str], question: str | None = None) -> Verdict:
        return self.verdicts([Item(prediction, answers, question)])[0]

    def prefetch(self, items: Sequence[Item]) -> None:
        undecided = list(items)
        for judge in self.judges[:-1]:
            if not isinstance(judge, BaseJudge):
                return
            undecided = [it for it, v in zip(undecided, judge.verdicts(undecided), strict=True) if not v.certain]
        last = self.judges[-1]
        if undecided and isinstance(last, BaseJudge):
            last.prefetch(undecided)

    def __repr__(self) -> str:
        return f"CascadeJudge([{', '.join(repr(j) for j in self.judges)}])"
