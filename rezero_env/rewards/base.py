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


# The reward terms read whole messages of up to a megabyte: these helpers read no further than they need, and agree
# with rezero_env.protocol (ReZero's ``<tag>([\s\S]*?)</tag>``: leftmost opening tag, nearest closing tag after it),
# whose functions find every block (~0.5 µs a block: 25 ms for a message made of 50,000 tags).


def count_blocks(text: str, tag: str, limit: int) -> int:
    """``min(limit, n)`` for the ``n`` non-overlapping closed ``<tag>…</tag>`` blocks of ``text``, as
    :func:`rezero_env.protocol.count_tag` counts them, reading only up to the ``limit``-th block.

    Example:
        >>> count_blocks("<search>a</search> <search>b <search>c</search> <search>", "search", limit=5)
        2
    """
    opening, closing = f"<{tag}>", f"</{tag}>"
    count = position = 0
    while count < limit:
        start = text.find(opening, position)
        if start < 0:
            break
        stop = text.find(closing, start + len(opening))
        if stop < 0:
            break
        count += 1
        position = stop + len(closing)
    return count


def first_block(text: str, tag: str) -> str | None:
    """The inner text (not stripped) of the first closed ``<tag>…</tag>`` block, or None; it reads no further.

    Example:
        >>> first_block("<answer> Y </answer><answer>Z</answer>", "answer"), first_block("<answer>Y", "answer")
        (' Y ', None)
    """
    opening = f"<{tag}>"
    start = text.find(opening)
    if start < 0:
        return None
    stop = text.find(f"</{tag}>", start + len(opening))
    return None if stop < 0 else text[start + len(opening) : stop]


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
