"""The evidence term: what share of the documents a question needs did the episode's searches bring back?

A two-hop question is answered from two supporting documents; retrieving none, one or both scores 0, ½ or 1, so
the term rewards finding the bridge document too, not only the answer-bearing one (``em_chunk``). Datasets without
supporting ids fall back as ``em_chunk`` does: the share of ``meta["supporting_paragraphs"]`` (ReZero's format) that
appeared verbatim in the search results, else whether a retrieved document contains a gold answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rezero_env.rewards.base import RewardTerm
from rezero_env.rewards.em_chunk import answer_in_results_reward, em_chunk_reward
from rezero_env.types import Message, Task


def evidence_reward(searches: Sequence[Mapping[str, Any]], supporting_ids: Sequence[str]) -> float:
    """The fraction of the distinct ``supporting_ids`` among the ``doc_ids`` of ``searches`` (the env's
    ``info["searches"]`` records); a document retrieved twice counts once; 0 when there are no supporting ids.

    Example:
        >>> searches = [{"turn": 1, "query": "Orlen Vask", "doc_ids": ["p1", "p7"], "error": None},
        ...             {"turn": 2, "query": "Orlen Vask again", "doc_ids": ["p1"], "error": None}]
        >>> evidence_reward(searches, ["p1", "p2"]), evidence_reward(searches, ["p1", "p7"])
        (0.5, 1.0)
    """
    wanted = set(supporting_ids)
    if not wanted:
        return 0.0
    retrieved = {doc_id for search in searches for doc_id in search["doc_ids"]}
    return len(wanted & retrieved) / len(wanted)


def paragraph_evidence_reward(messages: Sequence[Message], paragraphs: Sequence[str]) -> float:
    """The fallback for datasets that give supporting paragraph texts instead of ids: the fraction of the distinct
    non-blank ``paragraphs`` that appear verbatim in the information messages (as :func:`em_chunk_reward` looks);
    0 when there are none.

    Example:
        >>> messages = [{"role": "user", "content": "<information>Doc 1\\nX was founded by Y.</information>"}]
        >>> paragraph_evidence_reward(messages, ["X was founded by Y.", "Y was born in Z."])
        0.5
    """
    wanted = _distinct_paragraphs(paragraphs)
    if not wanted:
        return 0.0
    return sum(em_chunk_reward(messages, paragraph) for paragraph in wanted) / len(wanted)


def _distinct_paragraphs(paragraphs: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(text for text in (str(p).strip() for p in paragraphs) if text))


class EvidenceReward(RewardTerm):
    """Wrapper adding :func:`evidence_reward`: the fraction of the task's supporting documents that the episode's
    searches (``info["searches"]``) returned. For a task without supporting ids it adds
    :func:`paragraph_evidence_reward` over ``task.meta["supporting_paragraphs"]``, and without those either
    :func:`~rezero_env.rewards.em_chunk.answer_in_results_reward` (a retrieved document contains a gold answer).

    Raises:
        KeyError: at the end of an episode of a task with supporting ids when the env's ``info`` has no
            ``"searches"`` record (as :class:`~rezero_env.envs.search_qa.SearchQAEnv` reports).

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> env = EvidenceReward(gym.make("SearchQA-v0", reward="none"))
        >>> _ = env.reset(options={"task_index": 0})
        >>> *_, info = env.step("<think>I will not search.</think><answer>no idea</answer>")
        >>> info["reward_terms"]["evidence"], info["reward_notes"]["evidence"]
        (0.0, '0 of 2 supporting documents retrieved')
    """

    name = "evidence"

    def score_episode(self, info: Mapping[str, Any], task: Task) -> float:
        if task.supporting_ids:
            if "searches" not in info:
                raise KeyError(
                    "EvidenceReward needs the env to record its searches in info['searches'] (one dict with "
                    "'doc_ids' per search), as SearchQA-v0 does"
                )
            return evidence_reward(info["searches"], task.supporting_ids)
        return self.score(info["messages"], task)

    def score(self, messages: Sequence[Message], task: Task) -> float:
        """The fallbacks, which read the transcript only: the supporting paragraphs' share, else whether a result
        contains a gold answer (a task with supporting ids is scored from the searches by :meth:`score_episode`)."""
        paragraphs = task.meta.get("supporting_paragraphs")
        if paragraphs and _distinct_paragraphs(paragraphs):
            return paragraph_evidence_reward(messages, paragraphs)
        return answer_in_results_reward(messages, task.answers)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        if task.supporting_ids:
            total = len(set(task.supporting_ids))
            noun = "supporting document" if total == 1 else "supporting documents"
            return f"{round(value * total)} of {total} {noun} retrieved"
        paragraphs = _distinct_paragraphs(task.meta.get("supporting_paragraphs") or ())
        if paragraphs:
            noun = "supporting paragraph" if len(paragraphs) == 1 else "supporting paragraphs"
            return f"{round(value * len(paragraphs))} of {len(paragraphs)} {noun} retrieved verbatim"
        found = "a result contains" if value else "no result contains"
        return f"no supporting documents in this dataset: {found} a gold answer"
