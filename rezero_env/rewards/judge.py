"""Answer judges: plain callables ``judge(prediction, answers) -> float`` in [0, 1].

The default is deterministic: SQuAD's answer normalisation (lowercase, no punctuation, no articles, single spaces),
then exact match against any accepted answer, or token F1 at or above a threshold. An LLM judge is any other
callable with the same signature.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

Judge = Callable[[str, Sequence[str]], float]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation.

    Example:
        >>> normalize_answer("  The Amber-Astrolabe! ")
        'amberastrolabe'
    """
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals a normalised accepted answer, else 0.0.

    Example:
        >>> exact_match("the Velmora Observatory.", ["Velmora Observatory"])
        1.0
    """
    normalized = normalize_answer(prediction)
    return float(any(normalized == normalize_answer(answer) for answer in answers))


def token_f1(prediction: str, answers: Sequence[str]) -> float:
    """The best SQuAD token F1 between the prediction and any accepted answer.

    Example:
        >>> round(token_f1("born in Velmora", ["Velmora"]), 3)
        0.5
    """
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for answer in answers:
        gold = normalize_answer(answer).split()
        common = sum((Counter(predicted) & Counter(gold)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


class EMF1Judge:
    """Accept (1.0) on exact match or token F1 ≥ ``f1_threshold``; otherwise 0.0.

    Example:
        >>> judge = EMF1Judge(f1_threshold=0.8)
        >>> judge("Orlen Vask", ["Orlen Vask"]), judge("Orlan Vask", ["Orlen Vask"])
        (1.0, 0.0)
    """

    def __init__(self, f1_threshold: float = 0.8) -> None:
        if not 0 < f1_threshold <= 1:
            raise ValueError(f"f1_threshold must be in (0, 1], got {f1_threshold}")
        self.f1_threshold = f1_threshold

    def __call__(self, prediction: str, answers: Sequence[str]) -> float:
        if exact_match(prediction, answers):
            return 1.0
        return float(token_f1(prediction, answers) >= self.f1_threshold)

    def __repr__(self) -> str:
        return f"EMF1Judge(f1_threshold={self.f1_threshold})"


default_judge: Judge = EMF1Judge()
