"""What the adapters share: one Gymnasium episode driven by text in, text out, with JSON-safe records.

Example:
    >>> driver = EpisodeDriver()
    >>> prompt = driver.reset(seed=0)
    >>> [m["role"] for m in prompt]
    ['system', 'user']
    >>> step = driver.step("<answer>unknown</answer>")
    >>> step.done, step.observation, sorted(step.reward_terms)[:2]
    (True, '', ['correctness', 'em_chunk'])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rezero_env.rewards.base import reward_terms
from rezero_env.types import Message, current_task

logger = logging.getLogger(__name__)

DEFAULT_ENV_ID = "SearchQA-v0"
#: The keys of ``reset`` that pin an episode's task (one at most); ``seed`` draws one from the env's RNG.
TASK_KEYS = ("task_id", "task_index")


def make_env(env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env[str, str]:
    """``gym.make(env_id, **env_kwargs)`` with rezero's ids registered (``"module:Id"`` ids import their module).

    Raises:
        ValueError: for an ``env_kwargs`` that is not a mapping with string keys.
    """
    import rezero_env  # noqa: F401 - registers the ids

    if env_kwargs is None:
        env_kwargs = {}
    if not isinstance(env_kwargs, Mapping) or not all(isinstance(key, str) for key in env_kwargs):
        raise ValueError(f"env_kwargs must be a mapping of argument names to values, got {env_kwargs!r}")
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a registered environment id such as 'SearchQA-v0', got {env_id!r}")
    return gym.make(env_id, **dict(env_kwargs))


def reset_options(task_id: Any = None, task_index: Any = None) -> dict[str, Any]:
    """The ``reset`` options pinning a task by id or index (empty: a task drawn from the env's RNG).

    Raises:
        ValueError: when both are given, or one has the wrong type.
    """
    if task_id is not None and task_index is not None:
        raise ValueError(f"give task_id or task_index, not both (got {task_id!r} and {task_index!r})")
    if task_id is not None:
        if not isinstance(task_id, str):
            raise ValueError(f"task_id must be a string, got {task_id!r}")
        return {"task_id": task_id}
    if task_index is not None:
        if isinstance(task_index, bool) or not isinstance(task_index, int):
            raise ValueError(f"task_index must be an integer, got {task_index!r}")
        return {"task_index": task_index}
    return {}


@dataclass
class StepOutcome:
    """One step of an episode, JSON-safe: the observation text, the step's reward, how the episode stands and what
    the env reported (``reward_terms`` and the rest of ``info`` once the episode ends)."""

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @property
    def reward_terms(self) -> dict[str, float]:
        terms: dict[str, float] = self.info.get("reward_terms", {})
        return terms


class EpisodeDriver:
    """One Gymnasium env played an episode at a time, by text: ``reset`` returns the prompt messages, ``step`` takes
    an assistant message. Rewards, observations and reward terms are the env's own.

    Args:
        env_id: The Gymnasium id (``"SearchQA-v0"``, ``"SearchQA-Noisy-v0"``, ``"my_module:MyEnv-v0"``, ...).
        env_kwargs: Keyword arguments for ``gym.make``.
        env: An env to drive instead of making one.
    """

    def __init__(
        self,
        env_id: str = DEFAULT_ENV_ID,
        env_kwargs: Mapping[str, Any] | None = None,
        env: gym.Env[str, str] | None = None,
    ) -> None:
        self.env_id = env_id
        self.env = env if env is not None else make_env(env_id, env_kwargs)
        self.terms = reward_terms(self.env)
        self.messages: list[Message] = []
        self.total_reward = 0.0
        self.turns = 0
        self.done = True
        self.task_id: str | None = None
        self.first_observation = ""

    def reset(self, seed: int | None = None, task_id: Any = None, task_index: Any = None) -> list[Message]:
        """Start an episode (on a pinned task, or one drawn with ``seed``) and return its prompt messages (the env's
        first observation is kept in ``first_observation``)."""
        options = reset_options(task_id, task_index)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        observation, info = self.env.reset(seed=seed, options=options or None)
        self.first_observation = str(observation)
        self.messages = [dict(m) for m in info["messages"]]  # type: ignore[misc]
        self.total_reward = 0.0
        self.turns = 0
        self.done = False
        self.task_id = current_task(self.env).id
        return list(self.messages)

    def step(self, action: str) -> StepOutcome:
        """Play one assistant message.

        Raises:
            RuntimeError: when no episode is running (before ``reset`` or after the episode ended).
            TypeError: when ``action`` is not a string.
        """
        if self.done:
            raise RuntimeError("the episode has ended (or never started): call reset() first")
        if not isinstance(action, str):
            raise TypeError(f"an action is the assistant's message as a string, got {type(action).__name__}")
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.turns += 1
        self.total_reward += float(reward)
        self.messages = [dict(m) for m in info["messages"]]  # type: ignore[misc]
        self.done = bool(terminated or truncated)
        return StepOutcome(str(observation), float(reward), bool(terminated), bool(truncated), episode_info(info))

    def close(self) -> None:
        self.env.close()


def episode_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-safe part of a SearchQA ``info`` (turn, task id, searches and reward terms, weights and notes)."""
    kept = {
        key: info[key]
        for key in ("turn", "task_id", "searches", "reward_terms", "reward_weights", "reward_notes")
        if key in info
    }
    try:
        return dict(json.loads(json.dumps(kept, default=str)))
    except (TypeError, ValueError):  # pragma: no cover - SearchQA's info is JSON-safe; a custom env may not be
        logger.warning("Dropping an info entry that is not JSON-safe")
        return {}


__all__ = [
    "DEFAULT_ENV_ID",
    "EpisodeDriver",
    "StepOutcome",
    "episode_info",
    "make_env",
    "reset_options",
    "reward_terms",
]
