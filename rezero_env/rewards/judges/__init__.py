"""Judges by name: ``make_judge(name, **options)`` → ``judge(prediction, answers) -> float`` in [0, 1].

- ``em_f1``: SQuAD-normalised exact match or token F1 ≥ 0.8 (:class:`~rezero_env.rewards.judges.em_f1.EMF1Judge`, the
  default; comparable with Search-R1-style tables). Microseconds.
- ``contains``: the gold, normalised as a grader would, inside the prediction; hedges, lists of candidates,
  refusals, echoes of the question and padding rejected (:class:`ContainsJudge`). Microseconds.
- ``embedding``: MiniLM cosine ≥ a threshold calibrated on ``data/judge-agreement``
  (:class:`~rezero_env.rewards.judges.embedding.EmbeddingJudge`; needs torch). Milliseconds.
- ``llm``: a grader LLM says yes (:class:`~rezero_env.rewards.judges.llm.LLMJudge`: a local transformers folder or
  an OpenAI-compatible endpoint). 0.1–1 s per answer on a CPU, cached on disk.
- ``cascade``: ``judges=[...]`` in turn, the first certain verdict wins (:class:`CascadeJudge`), so the cheap stage
  does most of the work.

A judge is also accepted as a mapping ``{"name": ..., **options}`` (for JSON/CLI configs). Judges built here also
take ``question=`` (the env passes it) to reject answers that only repeat the question.

Example:
    >>> judge = make_judge("contains")
    >>> judge("It was performed at 105:18:28 GET.", ["105:18:28"]), judge("105:18:28 or 106:00:00", ["105:18:28"])
    (1.0, 0.0)
    >>> make_judge("cascade", judges=["contains", "em_f1"])("Velmora", ["velmora"])
    1.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rezero_env.rewards.judges.base import BaseJudge, Item, Judge, JudgeError, Verdict, accepts_question
from rezero_env.rewards.judges.cascade import CascadeJudge
from rezero_env.rewards.judges.contains import ContainsJudge
from rezero_env.rewards.judges.em_f1 import EMF1Judge, default_judge, normalize_answer
from rezero_env.rewards.judges.normalize import gold_forms


def _embedding(**options: Any) -> Judge:
    from rezero_env.rewards.judges.embedding import EmbeddingJudge

    return EmbeddingJudge(**options)


def _llm(**options: Any) -> Judge:
    from rezero_env.rewards.judges.llm import LLMJudge

    return LLMJudge(**options)


def _cascade(judges: Sequence[Any] = ("contains", "em_f1"), **options: Any) -> Judge:
    if options:
        raise TypeError(f"unexpected option(s) {sorted(options)}; cascade takes judges=[...]")
    if isinstance(judges, str) or not isinstance(judges, Sequence):
        raise TypeError(
            f"judges must be a list of judges (names, {{'name': ...}} mappings or callables), got {judges!r}"
        )
    return CascadeJudge([_stage(j) for j in judges])


def _stage(spec: Any) -> Judge:
    if isinstance(spec, str | Mapping):
        return make_judge(spec)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], Mapping):
        return make_judge(spec[0], **spec[1])
    if callable(spec):
        return spec  # type: ignore[no-any-return]
    raise TypeError(f"a cascade stage must be a judge name, a mapping, a (name, options) pair or a callable: {spec!r}")


#: Judge name → factory taking the judge's options.
JUDGES: dict[str, Callable[..., Judge]] = {
    "em_f1": EMF1Judge,
    "contains": ContainsJudge,
    "embedding": _embedding,
    "llm": _llm,
    "cascade": _cascade,
}


def make_judge(name: str | Mapping[str, Any], **options: Any) -> Judge:
    """The judge called ``name`` (see the module table), built with ``options``.

    Raises:
        ValueError: an unknown name (the known ones listed) or options the judge does not take (named).

    Example:
        >>> make_judge("em_f1", f1_threshold=0.5)
        EMF1Judge(f1_threshold=0.5)
        >>> make_judge({"name": "contains", "long_gold_tokens": None})
        ContainsJudge(long_gold_tokens=None, long_gold_recall=0.8)
    """
    if isinstance(name, Mapping):
        spec = dict(name)
        if "name" not in spec:
            raise ValueError(f"a judge mapping needs a 'name' key (one of {sorted(JUDGES)}), got {sorted(spec)}")
        options = {**{k: v for k, v in spec.items() if k != "name"}, **options}
        name = spec["name"]
    if not isinstance(name, str) or name not in JUDGES:
        raise ValueError(f"judge={name!r}: unknown judge; choose one of {sorted(JUDGES)} or pass a callable")
    try:
        return JUDGES[name](**options)
    except TypeError as error:
        raise ValueError(f"judge={name!r}: bad options {sorted(options)}: {error}") from None


def empty_gold(answer: str, judge: str = "em_f1") -> str | None:
    """Why ``answer`` cannot serve as a gold answer for the judge called ``judge``, or None: it normalises to nothing,
    so an empty or content-free prediction (``""``, ``"."``, ``"a"``) would match it. ``em_f1`` normalises as SQuAD
    does; every other judge as ``contains`` does (a one-letter gold such as ``A`` is kept: it is matched as a whole
    word).

    Example:
        >>> empty_gold("The The", "em_f1")
        'SQuAD normalisation (lower case, no punctuation, no articles) leaves nothing'
        >>> empty_gold("A", "contains") is None, empty_gold("A", "em_f1") is None
        (True, False)
    """
    if judge == "em_f1":
        return (
            None
            if normalize_answer(answer)
            else "SQuAD normalisation (lower case, no punctuation, no articles) leaves nothing"
        )
    if gold_forms(answer):
        return None
    return "the grader normalisation (no punctuation, articles or approximation words) leaves nothing"


def resolve_judge(judge: object) -> Judge:
    """The judge to use for ``judge``: :data:`~rezero_env.rewards.judges.em_f1.default_judge` for None, a name or
    ``{"name": ..., **options}`` mapping built by :func:`make_judge`, a callable as it is.

    Raises:
        ValueError: for an unknown judge name or options it does not take.
        TypeError: for anything else that is not callable.

    Example:
        >>> resolve_judge(None) is default_judge
        True
        >>> resolve_judge("contains")
        ContainsJudge(long_gold_tokens=5, long_gold_recall=0.8)
    """
    if judge is None:
        return default_judge
    if isinstance(judge, str | Mapping):
        return make_judge(judge)
    if not callable(judge):
        raise TypeError(
            "judge must be a callable judge(prediction, answers) -> float, a judge name (em_f1, contains, embedding, "
            f"llm, cascade), a {{'name': ..., **options}} mapping or None, got {type(judge).__name__}"
        )
    return judge


__all__ = [
    "JUDGES",
    "BaseJudge",
    "CascadeJudge",
    "ContainsJudge",
    "EMF1Judge",
    "Item",
    "Judge",
    "JudgeError",
    "Verdict",
    "accepts_question",
    "default_judge",
    "empty_gold",
    "make_judge",
    "resolve_judge",
]
