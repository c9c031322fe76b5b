"""``contains``: the gold answer, normalised as a grader would, occurs in the normalised prediction (cover-EM),
unless the prediction is a hedge, a list of candidates, a denial, a range, a refusal, the question repeated or a
padded paragraph."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.rewards.judges.base import BaseJudge, Verdict
from rezero_env.rewards.judges.em_f1 import MAX_PREDICTION_CHARS
from rezero_env.rewards.judges.normalize import (
    Token,
    _content,
    answer_tokens,
    bounded,
    competitors,
    extra_items,
    gold_forms,
    grader_tokens,
    injection,
    is_name,
    letter_gold,
    locate,
    negated,
    rejection,
    without_echo,
)


class ContainsJudge(BaseJudge):
    """Accept when a normalised accepted answer occurs as a run of the normalised prediction's tokens.

    Answers that address a grader ("ignore previous instructions") are rejected first
    (:func:`~rezero_env.rewards.judges.normalize.injection`, on the folded text). Normalisation:
    :func:`~rezero_env.rewards.judges.normalize.grader_tokens` (Unicode folding, tag residue, LaTeX, quotes,
    punctuation, number words, units and unit symbols, dates, 12/24-hour clock times, approximation words). Then the
    rejection rules (:func:`~rezero_env.rewards.judges.normalize.rejection`): empty, refusal, the question repeated,
    a hedge the gold does not use (``or``, ``either``, ``vs``, ``maybe``), a range around the gold's number, padding;
    then, once the gold is found, a denial of it (:func:`~rezero_env.rewards.judges.normalize.negated`), a bound on
    it (``at least``), and other candidates listed beside it however separated
    (:func:`~rezero_env.rewards.judges.normalize.competitors`).

    A gold may also be found without a leading preposition (``inertial platform`` for ``In the inertial platform``);
    a one-letter gold (``A``) only as a whole word used as a name, never as an article; a gold that normalises to
    nothing is never found.

    Long gold answers (``long_gold_tokens`` or more content words: ReZero's Apollo set has sentence-long spans) are
    also accepted when the prediction holds ``long_gold_recall`` of their content words and all of their numbers.

    Verdicts are ``certain`` when an answer is found or a rejection rule fires; a prediction that simply does not
    hold the gold is uncertain (a cascade's next judge may still accept a paraphrase).

    Args:
        long_gold_tokens: Content words from which a gold answer counts as long (None: never).
        long_gold_recall: Share of a long gold's content words the prediction must hold.
        max_prediction_chars: Longer predictions are judged wrong unread.

    Example:
        >>> judge = ContainsJudge()
        >>> judge("The first midcourse correction was at 105:18:28 GET", ["105:18:28"])
        1.0
        >>> judge("<answer>24 amperes", ["24 amps"]), judge("Houston, TX 77058", ["Houston, Texas 77058"])
        (1.0, 1.0)
        >>> judge("July 1969", ["July 16, 1969"]), judge("24 or 36 amperes", ["24 amperes"])
        (0.0, 0.0)
        >>> judge("1818 1819 1820 1821 1822 1823", ["1822"]), judge("not 1822", ["1822"]), judge("24 A", ["24 amps"])
        (0.0, 0.0, 1.0)
    """

    name = "contains"

    def __init__(
        self,
        long_gold_tokens: int | None = 5,
        long_gold_recall: float = 0.8,
        max_prediction_chars: int = MAX_PREDICTION_CHARS,
    ) -> None:
        if long_gold_tokens is not None and (isinstance(long_gold_tokens, bool) or long_gold_tokens < 1):
            raise ValueError(f"long_gold_tokens must be a positive integer or None, got {long_gold_tokens!r}")
        if not 0 < long_gold_recall <= 1:
            raise ValueError(f"long_gold_recall must be in (0, 1], got {long_gold_recall!r}")
        if isinstance(max_prediction_chars, bool) or max_prediction_chars < 1:
            raise ValueError(f"max_prediction_chars must be a positive integer, got {max_prediction_chars!r}")
        self.long_gold_tokens = long_gold_tokens
        self.long_gold_recall = long_gold_recall
        self.max_prediction_chars = max_prediction_chars

    def verdict(self, prediction: str, answers: Sequence[str], question: str | None = None) -> Verdict:
        if len(prediction) > self.max_prediction_chars:
            return Verdict(0.0, f"longer than {self.max_prediction_chars} characters")
        addressed = injection(prediction)
        if addressed:
            return Verdict(0.0, f'injection: addresses the grader ("{addressed}")')
        predicted = grader_tokens(prediction)
        texts = [t.text for t in predicted]
        asked = grader_tokens(question) if question else None
        asked_texts = [t.text for t in asked] if asked else None
        golds = [forms for forms in (gold_forms(answer) for answer in answers) if forms]
        if not golds:
            return Verdict(0.0, "no accepted answer to compare with (every gold normalises to nothing)")
        reasons = [
            rejection(self._tokens(prediction, forms[0], predicted), forms[0], asked, prediction) for forms in golds
        ]
        if all(reasons):
            return Verdict(0.0, str(reasons[0]))
        predicted = without_echo(predicted, asked)  # "Q? 1821 1822 1823" is judged as "1821 1822 1823"
        refused: str | None = None
        for forms, reason in zip(golds, reasons, strict=True):
            if reason:
                continue
            for gold in forms:
                tokens = self._tokens(prediction, gold, predicted, asked)
                at = locate(tokens, gold)
                if at < 0:
                    continue
                gold_texts = [t.text for t in gold]
                found = negated(tokens, at, gold_texts) or bounded(tokens, gold_texts, at)
                if found is None:
                    others = competitors(tokens, gold_texts, at, asked_texts, is_name(gold))
                    if not others:
                        return Verdict(1.0, f'contains "{" ".join(gold_texts)}"')
                    found = f"hedge: a list with {others} other candidate(s)"
                refused = refused or found
                break
            else:
                if self._covers_long_gold(texts, forms[0]):
                    others = extra_items(predicted, [t.text for t in forms[0]], asked_texts)
                    if not others:
                        return Verdict(1.0, "holds most words and every number of a long gold answer")
                    refused = refused or f"hedge: a list with {others} other candidate(s)"
        if refused is not None:
            return Verdict(0.0, refused)
        return Verdict(0.0, "does not contain an accepted answer", certain=False)

    @staticmethod
    def _tokens(
        prediction: str, gold: Sequence[Token], predicted: list[Token], asked: list[Token] | None = None
    ) -> list[Token]:
        """The answer's tokens to look for ``gold`` in (articles kept for a one-letter gold such as ``A``)."""
        return without_echo(answer_tokens(prediction, gold), asked) if letter_gold(gold) else predicted

    def _covers_long_gold(self, predicted: Sequence[str], gold: Sequence[Token]) -> bool:
        content = _content([t.text for t in gold])
        if self.long_gold_tokens is None or len(content) < self.long_gold_tokens:
            return False
        have = set(predicted)
        numbers = [word for word in content if word[:1].isdigit()]
        return all(n in have for n in numbers) and sum(w in have for w in content) >= self.long_gold_recall * len(
            content
        )

    def __repr__(self) -> str:
        return f"ContainsJudge(long_gold_tokens={self.long_gold_tokens}, long_gold_recall={self.long_gold_recall})"
