"""The default judge: SQuAD's answer normalisation, exact match, token F1, and :class:`EMF1Judge` (the ``em_f1``
judge) that accepts an exact match or a token F1 at or above a threshold."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from rezero_env.rewards.judges.base import Judge

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
    return _best_f1(normalize_answer(prediction).split(), [normalize_answer(answer).split() for answer in answers])


def _best_f1(predicted: list[str], golds: Sequence[list[str]]) -> float:
    """The best token F1 of the normalised prediction tokens against each normalised answer's tokens."""
    best = 0.0
    predicted_counts = Counter(predicted) if golds else Counter()
    for gold in golds:
        common = sum((predicted_counts & Counter(gold)).values())
        if common == 0:
            continue
        precision, recall = common / len(predicted), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


#: Predictions longer than this many characters are judged wrong without being normalised (see :class:`EMF1Judge`).
MAX_PREDICTION_CHARS = 16_384


class EMF1Judge:
    """Accept (1.0) on exact match or token F1 ≥ ``f1_threshold``; otherwise 0.0.

    A prediction longer than ``max_prediction_chars`` is judged wrong (0.0) without being read: SQuAD normalisation
    costs up to 150 ms on a crafted megabyte (``"a—" * 500_000``), and a prediction that long can only match a short
    gold answer if nearly all of it is whitespace, punctuation or articles. None reads every prediction.

    Example:
        >>> judge = EMF1Judge(f1_threshold=0.8)
        >>> judge("Orlen Vask", ["Orlen Vask"]), judge("Orlan Vask", ["Orlen Vask"])
        (1.0, 0.0)
    """

    def __init__(self, f1_threshold: float = 0.8, max_prediction_chars: int | None = MAX_PREDICTION_CHARS) -> None:
        if not 0 < f1_threshold <= 1:
            raise ValueError(f"f1_threshold must be in (0, 1], got {f1_threshold}")
        if max_prediction_chars is not None and (
            isinstance(max_prediction_chars, bool)
            or not isinstance(max_prediction_chars, int)
            or max_prediction_chars < 1
        ):
            raise ValueError(f"max_prediction_chars must be a positive integer or None, got {max_prediction_chars!r}")
        self.f1_threshold = f1_threshold
        self.max_prediction_chars = max_prediction_chars

    def __eq__(self, other: object) -> bool:  # equal settings, equal judge (so an env spec recreates the same env)
        if not isinstance(other, EMF1Judge):
            return NotImplemented
        return (self.f1_threshold, self.max_prediction_chars) == (other.f1_threshold, other.max_prediction_chars)

    def __hash__(self) -> int:
        return hash((EMF1Judge, self.f1_threshold, self.max_prediction_chars))

    def __call__(self, prediction: str, answers: Sequence[str]) -> float:
        if self.max_prediction_chars is not None and len(prediction) > self.max_prediction_chars:
            return 0.0
        normalized = normalize_answer(prediction)
        golds = [normalize_answer(answer) for answer in answers]
        if normalized in golds:
            return 1.0
        gold_tokens = [gold.split() for gold in golds]
        # F1 <= 2g / (p + g) for p predicted and g gold tokens, so with p * threshold > 2g + 1 for every answer the
        # threshold is out of reach; p is counted without splitting (normalised text has single spaces).
        predicted_count = normalized.count(" ") + 1 if normalized else 0
        if all(predicted_count * self.f1_threshold > 2 * len(gold) + 1 for gold in gold_tokens):
            return 0.0
        return float(_best_f1(normalized.split(), gold_tokens) >= self.f1_threshold)

    def __repr__(self) -> str:
        cap = (
            ""
            if self.max_prediction_chars == MAX_PREDICTION_CHARS
            else f", max_prediction_chars={self.max_prediction_chars}"
        )
        return f"EMF1Judge(f1_threshold={self.f1_threshold}{cap})"


default_judge: Judge = EMF1Judge()
