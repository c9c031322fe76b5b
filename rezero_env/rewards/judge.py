"""Answer judges: plain callables ``judge(prediction, answers) -> float`` in [0, 1].

The default is deterministic: SQuAD's answer normalisation (lowercase, no punctuation, no articles, single spaces),
then exact match against any accepted answer, or token F1 at or above a threshold (the ``em_f1`` judge). Other
judges (``contains``, ``embedding``, ``llm``, ``cascade``) are built by name in :mod:`rezero_env.rewards.judges`;
any callable with the same signature works too.

Everything lives in :mod:`rezero_env.rewards.judges` (the ``Judge`` type in ``judges.base``, the normalisation and
:class:`EMF1Judge` in ``judges.em_f1``, :func:`resolve_judge` beside :func:`~rezero_env.rewards.judges.make_judge`);
this module names them under their first import path, and the judges package never imports it.

Example:
    >>> judge = resolve_judge(None)
    >>> judge is default_judge, normalize_answer("  The Amber-Astrolabe! "), judge("the Orlen Vask", ["Orlen Vask"])
    (True, 'amberastrolabe', 1.0)
"""

from __future__ import annotations

from rezero_env.rewards.judges import resolve_judge
from rezero_env.rewards.judges.base import Judge
from rezero_env.rewards.judges.em_f1 import (
    MAX_PREDICTION_CHARS,
    EMF1Judge,
    default_judge,
    exact_match,
    normalize_answer,
    token_f1,
)

__all__ = [
    "MAX_PREDICTION_CHARS",
    "EMF1Judge",
    "Judge",
    "default_judge",
    "exact_match",
    "normalize_answer",
    "resolve_judge",
    "token_f1",
]
