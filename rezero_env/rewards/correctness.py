"""ReZero's correctness term: the final message answers, and the judge accepts the answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym

from rezero_env.protocol import has_tag
from rezero_env.rewards.base import RewardTerm, first_block, last_assistant_content
from rezero_env.rewards.judge import Judge, default_judge, exact_match, resolve_judge
from rezero_env.rewards.judges.base import accepts_question
from rezero_env.types import Message, Task


def correctness_reward(
    messages: Sequence[Message], answers: Sequence[str], judge: Judge = default_judge, question: str | None = None
) -> float:
    """``judge(answer, answers)`` (clipped to [0, 1]) if the last message is the assistant's, holds an
    ``<answer>…</answer>`` and holds no ``<search>…</search>`` and no ``<information>…</information>``; else 0.
    Judges built by name (:func:`rezero_env.rewards.make_judge`) are also given ``question``.

    Example:
        >>> messages = [{"role": "user", "content": "Who founded X?"},
        ...             {"role": "assistant", "content": "<think>Found it.</think><answer>Y</answer>"}]
        >>> correctness_reward(messages, ["Y"]), correctness_reward(messages, ["Z"])
        (1.0, 0.0)
        >>> correctness_reward(messages + [{"role": "user", "content": "more?"}], ["Y"])
        0.0
    """
    if not messages or messages[-1]["role"] != "assistant":
        return 0.0
    content = messages[-1]["content"]
    prediction = first_block(content, "answer")
    if prediction is None or has_tag(content, "search") or has_tag(content, "information"):
        return 0.0
    if question is not None and accepts_question(judge):
        return min(1.0, max(0.0, float(judge(prediction.strip(), answers, question=question))))  # type: ignore[call-arg]
    return min(1.0, max(0.0, float(judge(prediction.strip(), answers))))


def final_answer(messages: Sequence[Message]) -> str | None:
    """The answer :func:`correctness_reward` would judge (stripped), or None when it would pay 0 unread.

    Example:
        >>> final_answer([{"role": "assistant", "content": "<answer> 24 amperes </answer>"}])
        '24 amperes'
    """
    if not messages or messages[-1]["role"] != "assistant":
        return None
    content = messages[-1]["content"]
    prediction = first_block(content, "answer")
    if prediction is None or has_tag(content, "search") or has_tag(content, "information"):
        return None
    return prediction.strip()


class CorrectnessReward(RewardTerm):
    """Wrapper adding :func:`correctness_reward` (ReZero weight 4) with a configurable ``judge``.

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> env = CorrectnessReward(gym.make("SearchQA-v0", reward="none"), weight=4.0)
        >>> _ = env.reset(seed=0)
        >>> _, reward, terminated, _, info = env.step(f"<answer>{env.unwrapped.task.answers[0]}</answer>")
        >>> reward, terminated, info["reward_terms"]
        (4.0, True, {'correctness': 1.0})
    """

    name = "correctness"

    def __init__(
        self, env: gym.Env[str, str], weight: float = 1.0, judge: Judge | str | Mapping[str, Any] | None = None
    ) -> None:
        resolved = resolve_judge(judge)  # before wrapping: a bad judge fails here, not at the first episode end
        super().__init__(env, weight=weight, judge=judge)
        self.judge: Judge = resolved

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return correctness_reward(messages, task.answers, self.judge, question=task.question)


def exact_match_reward(messages: Sequence[Message], answers: Sequence[str]) -> float:
    """Search-R1's outcome reward: 1 if the last assistant message's first answer exactly matches (SQuAD
    normalisation) an accepted answer, else 0. No format conditions.

    Example:
        >>> exact_match_reward([{"role": "assistant", "content": "<answer> the Velmora </answer>"}], ["Velmora"])
        1.0
    """
    content = last_assistant_content(messages)
    prediction = first_block(content, "answer") if content is not None else None
    return exact_match(prediction.strip(), answers) if prediction is not None else 0.0


class ExactMatchReward(RewardTerm):
    """Wrapper adding :func:`exact_match_reward` (the ``"em"`` preset)."""

    name = "exact_match"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return exact_match_reward(messages, task.answers)
