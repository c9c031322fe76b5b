"""``RewardTerm``: the base of every reward wrapper — one term, scored on the transcript when the episode ends."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym

from rezero_env.types import Message, Task, current_task


class DuplicateRewardWarning(UserWarning):
    """A reward term is applied twice in one wrapper stack, so the reward counts it twice."""


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
    and records the raw score under ``info["reward_terms"][key]``, the weight under ``info["reward_weights"][key]``
    and a one-line reason (when the term gives one) under ``info["reward_notes"][key]``; so on every final step
    ``reward == sum(info["reward_weights"][k] * info["reward_terms"][k] for k in info["reward_terms"])``.

    ``key`` is the term's ``name``, unless the same term is already applied further in (e.g. ``CorrectnessReward``
    on top of the default preset): then it warns (:class:`DuplicateRewardWarning`) and records under ``name_2``
    (``name_3``, …), so the identity above still holds and the double count is visible.

    Subclasses set ``name`` and implement :meth:`score` (or :meth:`score_episode`, for a term that reads more of
    the final step's ``info`` than the transcript) and optionally :meth:`explain`; the wrapped env's
    ``unwrapped`` must expose the current ``task`` (as :class:`~rezero_env.envs.search_qa.SearchQAEnv` does; see
    :func:`rezero_env.types.current_task`).

    Args:
        env: The environment to wrap.
        weight: Multiplier applied to the score before it is added to the reward (a finite number).

    Raises:
        ValueError: for a weight that is not a finite number.
    """

    name: ClassVar[str] = "term"

    def __init__(self, env: gym.Env[str, str], weight: float = 1.0, **kwargs: Any) -> None:
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"{type(self).__name__}: weight must be a finite number, got {weight!r}")
        gym.utils.RecordConstructorArgs.__init__(self, weight=weight, **kwargs)
        gym.Wrapper.__init__(self, env)
        self.weight = float(weight)
        inner = inner_reward_keys(env)
        self.key = self.name
        if self.name in inner:
            copy = 2
            while f"{self.name}_{copy}" in inner:
                copy += 1
            self.key = f"{self.name}_{copy}"
            warnings.warn(
                f"{type(self).__name__} ({self.name!r}) is applied twice in one wrapper stack, so the reward counts "
                f"it twice; this copy records under info['reward_terms'][{self.key!r}]. To build your own "
                "composition start from gym.make(..., reward='none').",
                DuplicateRewardWarning,
                stacklevel=3,
            )

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if terminated or truncated:
            messages = info["messages"]
            task = current_task(self.env)
            value = float(self.score_episode(info, task))
            info.setdefault("reward_terms", {})[self.key] = value
            info.setdefault("reward_weights", {})[self.key] = self.weight
            note = self.explain(messages, task, value)
            if note:
                info.setdefault("reward_notes", {})[self.key] = note
            reward = float(reward) + self.weight * value
        return observation, reward, terminated, truncated, info

    def score(self, messages: Sequence[Message], task: Task) -> float:
        """The raw value of this term for a finished episode, usually in [0, 1]."""
        raise NotImplementedError

    def score_episode(self, info: Mapping[str, Any], task: Task) -> float:
        """The raw value of this term from the final step's ``info``: :meth:`score` of the transcript
        (``info["messages"]``) unless the term reads more of the episode's record, such as ``info["searches"]``."""
        return self.score(info["messages"], task)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        """A short reason for ``value`` (e.g. ``"2 searches → 0.2 + 0.15·2"``), or "" when the term gives none; it
        must be cheap (it runs at every episode end)."""
        return ""


def inner_reward_keys(env: gym.Env[Any, Any]) -> list[str]:
    """The ``key`` of every :class:`RewardTerm` in ``env``'s wrapper stack, outermost first.

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> inner_reward_keys(gym.make("SearchQA-v0", reward="rezero-no-retry"))
        ['search_diversity', 'search_strategy', 'em_chunk', 'format', 'correctness']
    """
    keys = []
    current: Any = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, RewardTerm):
            keys.append(current.key)
        current = current.env
    return keys


def reward_terms(env: gym.Env[Any, Any]) -> list[tuple[str, float]]:
    """``(key, weight)`` of each reward term wrapping ``env``, in the order the preset applies them.

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> reward_terms(gym.make("SearchQA-v0"))[:2]
        [('correctness', 4.0), ('format', 2.0)]
        >>> reward_terms(gym.make("SearchQA-v0", reward="none"))
        []
    """
    terms: list[tuple[str, float]] = []
    current: gym.Env[Any, Any] = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, RewardTerm):
            terms.append((current.key, current.weight))
        current = current.env
    return terms[::-1]
