"""Statistics for accuracies: a 95 % interval for one policy, and a paired comparison of two on the same questions.

- :func:`wilson_interval` — the Wilson score interval of a proportion (good at small n and near 0 or 1);
- :func:`accuracy_summary` — n, correct, accuracy and its interval, as a plain dict for result files;
- :func:`compare` — ``A − B`` on the same questions: the difference, a paired bootstrap interval on it (questions
  resampled with replacement, seeded) and the exact McNemar p-value (a two-sided binomial test on the questions
  where exactly one of the two is right).

Example:
    >>> a = [True] * 12 + [False] * 20
    >>> b = [True] * 5 + [False] * 27
    >>> result = compare(a, b)
    >>> round(result.difference, 4), result.a_only, result.b_only, round(result.p_value, 4)
    (0.2188, 7, 0, 0.0156)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

Outcomes = Sequence[bool] | Mapping[str, bool]
"""Per-question verdicts: a sequence in question order, or a mapping from question id to verdict."""


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / n`` (``(0, 1)`` when ``n`` is 0).

    Example:
        >>> [round(x, 3) for x in wilson_interval(7, 32)]
        [0.11, 0.388]
    """
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"wilson_interval: need 0 <= successes <= n, got successes={successes}, n={n}")
    if not 0 < confidence < 1:
        raise ValueError(f"wilson_interval: confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = float(scipy_stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def accuracy_summary(outcomes: Sequence[bool], confidence: float = 0.95) -> dict[str, Any]:
    """``{"n", "correct", "accuracy", "low", "high"}`` of per-question verdicts (Wilson interval)."""
    values = [bool(v) for v in outcomes]
    correct = sum(values)
    low, high = wilson_interval(correct, len(values), confidence)
    return {
        "n": len(values),
        "correct": correct,
        "accuracy": correct / len(values) if values else 0.0,
        "low": low,
        "high": high,
    }


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (1.0 when there are none)."""
    if a_only < 0 or b_only < 0:
        raise ValueError("mcnemar_exact: counts must be >= 0")
    discordant = a_only + b_only
    if discordant == 0:
        return 1.0
    return float(scipy_stats.binomtest(a_only, discordant, 0.5, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class Comparison:
    """``A − B`` on the same ``n`` questions (accuracies as fractions)."""

    n: int
    accuracy_a: float
    accuracy_b: float
    difference: float
    low: float
    high: float
    p_value: float
    a_only: int
    """Questions A got right and B wrong."""
    b_only: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        percent = round(self.confidence * 100)
        return (
            f"{self.difference * 100:+.1f} points (A {self.accuracy_a:.1%} vs B {self.accuracy_b:.1%}, n={self.n}; "
            f"{percent} % paired bootstrap [{self.low * 100:+.1f}, {self.high * 100:+.1f}]; "
            f"exact McNemar p={self.p_value:.3g}, {self.a_only} vs {self.b_only} discordant)"
        )


def _aligned(a: Outcomes, b: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(a, Mapping) != isinstance(b, Mapping):
        raise TypeError("compare: pass two sequences or two mappings (question id -> verdict), not one of each")
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            missing = sorted(set(a) ^ set(b))
            raise ValueError(
                f"compare: the two results cover different questions ({len(missing)} differ, e.g. {missing[:3]})"
            )
        keys = sorted(a)
        return np.array([bool(a[k]) for k in keys]), np.array([bool(b[k]) for k in keys])
    if len(a) != len(b):
        raise ValueError(f"compare: {len(a)} verdicts for A but {len(b)} for B; a paired comparison needs the same")
    return np.array([bool(v) for v in a]), np.array([bool(v) for v in b])


def compare(
    a: Outcomes, b: Outcomes, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> Comparison:
    """Paired comparison of two policies' verdicts on the same questions (see the module docstring).

    Raises:
        ValueError: the two cover different questions, or none.
    """
    first, second = _aligned(a, b)
    n = len(first)
    if n == 0:
        raise ValueError("compare: no questions")
    differences = first.astype(np.float64) - second.astype(np.float64)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    means = differences[draws].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    a_only = int((first & ~second).sum())
    b_only = int((second & ~first).sum())
    return Comparison(
        n=n,
        accuracy_a=float(first.mean()),
        accuracy_b=float(second.mean()),
        difference=float(differences.mean()),
        low=float(low),
        high=float(high),
        p_value=mcnemar_exact(a_only, b_only),
        a_only=a_only,
        b_only=b_only,
        confidence=confidence,
    )
