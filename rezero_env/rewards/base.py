"""``RewardTerm``: the base of every reward wrapper — one term, scored on the transcript when the episode ends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym

from rezero_env.types import Message, Task


def assistant_contents(messages: Sequence[Message]) -> list[str]:
    """The contents of the assistant messages, in order."""
    return [m["content"] for m in messages if m["role"] == "assistant"]


def last_assistant_content(messages: Sequence[Message]) -> str | None:
    """The content of the last assistant message, or None when there is none."""
    contents = assistant_contents(messages)
    return contents[-1] if contents else None


class RewardTerm(gym.Wrapper[str, str, str, str], gym.utils.RecordConstructorArgs):
    """Adds ``weight * score(transcript)`` to the reward of the step that ends an episode (terminated or truncated)
    and records the raw score under ``info["reward_terms"][name]``.

    Subclasses set ``name`` and implement :meth:`score`; the wrapped env's ``unwrapped`` must expose the current
    ``task`` (as :class:`~rezero_env.envs.search_qa.SearchQAEnv` does).

    Args:
        env: The environment to wrap.
        weight: Multiplier applied to the score before it is added to the reward.
    """

    name: ClassVar[str] = "term"

    def __init__(self, env: gym.Env[str, str], weight: float = 1.0, **kwargs: Any) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, weight=weight, **kwargs)
        gym.Wrapper.__init__(self, env)
        self.weight = float(weight)

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            value = float(self.score(info["messages"], self.env.unwrapped.task))  # type: ignore[attr-defined]
            info.setdefault("reward_terms", {})[self.name] = value
            reward = float(reward) + self.weight * value
        return observation, reward, terminated, truncated, info

    def score(self, messages: Sequence[Message], task: Task) -> float:
        """The raw value of this term for a finished episode, usually in [0, 1]."""
        raise NotImplementedError
