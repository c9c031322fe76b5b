"""The default judge: SQuAD's answer normalisation, exact match, token F1, and :class:`EMF1Judge` (the ``em_f1``
judge) that accepts an exact match or a token F1 at or above a threshold."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from rezero_env.rewards.judges.base import Judge
from rezero_env.rewards.judges.normalize import screen

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

    A gold answer that normalises to nothing (``"The The"``, ``"!!!"``) is never matched (SQuAD's exact match would
    accept an empty answer for it); the data loaders refuse such golds (``empty_golds``).

    With ``screen`` (the default), an answer EM/F1 accepts is also checked against the hacks an RL policy finds
    (:func:`~rezero_env.rewards.judges.normalize.screen`): addressing the grader, a hedge word (``or``, ``vs``,
    ``maybe``), a denial of the gold (``not X`` scores F1 0.8 against a four-word gold), a range around it, or other
    candidates beside it. ``screen=False`` is the textbook SQuAD/Search-R1 judge.

    Example:
        >>> judge = EMF1Judge(f1_threshold=0.8)
        >>> judge("Orlen Vask", ["Orlen Vask"]), judge("Orlan Vask", ["Orlen Vask"])
        (1.0, 0.0)
        >>> gold = ["loss of oxygen in the service module"]
        >>> judge("not loss of oxygen in the service module", gold), EMF1Judge(screen=False)("not " + gold[0], gold)
        (0.0, 1.0)
    """

    def __init__(
        self, f1_threshold: float = 0.8, max_prediction_chars: int | None = MAX_PREDICTION_CHARS, screen: bool = True
    ) -> None:
        if not 0 < f1_threshold <= 1:
            raise ValueError(f"f1_threshold must be in (0, 1], got {f1_threshold}")
        if max_prediction_chars is not None and (
            isinstance(max_prediction_chars, bool)
            or not isinstance(max_prediction_chars, int)
            or max_prediction_chars < 1
        ):
            raise ValueError(f"max_prediction_chars must be a positive integer or None, got {max_prediction_chars!r}")
        if not isinstance(screen, bool):
            raise ValueError(f"screen must be True or False, got {screen!r}")
        self.f1_threshold = f1_threshold
        self.max_prediction_chars = max_prediction_chars
        self.screen = screen

    def __eq__(self, other: object) -> bool:  # equal settings, equal judge (so an env spec recreates the same env)
        if not isinstance(other, EMF1Judge):
            return NotImplemented
        return self._settings() == other._settings()

    def __hash__(self) -> int:
        return hash((EMF1Judge, *self._settings()))

    def _settings(self) -> tuple[float, int | None, bool]:
        return self.f1_threshold, self.max_prediction_chars, self.screen

    def __call__(self, prediction: str, answers: Sequence[str], question: str | None = None) -> float:
        if not self._textbook(prediction, answers):
            return 0.0
        if self.screen and screen(prediction, answers, question) is not None:
            return 0.0
        return 1.0

    def _textbook(self, prediction: str, answers: Sequence[str]) -> bool:
        """SQuAD's exact match or token F1 at the threshold, golds that normalise to nothing left out."""
        if self.max_prediction_chars is not None and len(prediction) > self.max_prediction_chars:
            return False
        normalized = normalize_answer(prediction)
        golds = [gold for gold in (normalize_answer(answer) for answer in answers) if gold]
        if normalized in golds:
            return True
        gold_tokens = [gold.split() for gold in golds]
        # F1 <= 2g / (p + g) for p predicted and g gold tokens, so with p * threshold > 2g + 1 for every answer the
        # threshold is out of reach; p is counted without splitting (normalised text has single spaces).
        predicted_count = normalized.count(" ") + 1 if normalized else 0
        if all(predicted_count * self.f1_threshold > 2 * len(gold) + 1 for gold in gold_tokens):
            return False
        return _best_f1(normalized.split(), gold_tokens) >= self.f1_threshold

    def __repr__(self) -> str:
        cap = (
            ""
            if self.max_prediction_chars == MAX_PREDICTION_CHARS
            else f", max_prediction_chars={self.max_prediction_chars}"
        )
        screen = "" if self.screen else ", screen=False"
        return f"EMF1Judge(f1_threshold={self.f1_threshold}{cap}{screen})"


default_judge: Judge = EMF1Judge()
