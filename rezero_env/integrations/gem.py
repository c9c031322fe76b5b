"""Play ``SearchQA-v0`` through GEM: a ``gem.Env`` registered as ``"rezero:SearchQA-v0"``.

GEM keeps Gymnasium's API (``reset(seed) -> (observation, info)``, ``step(action) -> (observation, reward,
terminated, truncated, info)``) with its own registry, ``gem.make`` and ``gem.make_vec``. This env is the
Gymnasium env underneath, observation for observation and reward for reward; ``info`` is the JSON-safe part of the
env's (``reward_terms`` once the episode ends). GEM's vector envs pass each copy a ``seed``; ``reset(seed=None)``
then draws the next task from the env's own generator.

Example:
    >>> import gem
    >>> from rezero_env.integrations.gem import GEM_ENV_ID, register
    >>> register()
    >>> env = gem.make(GEM_ENV_ID, env_kwargs={"max_turns": 2})
    >>> observation, info = env.reset(seed=0)
    >>> "Question:" in observation
    True
    >>> _, reward, terminated, truncated, info = env.step("<answer>unknown</answer>")
    >>> terminated, "correctness" in info["reward_terms"]
    (True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gem.core import Env

from rezero_env.integrations.common import DEFAULT_ENV_ID, EpisodeDriver

#: The id this module registers with GEM.
GEM_ENV_ID = "rezero:SearchQA-v0"


class SearchQAGemEnv(Env):  # type: ignore[misc]
    """One SearchQA env behind GEM's API (see the module docstring).

    Args:
        env_id: The Gymnasium id to play.
        env_kwargs: Keyword arguments for ``gym.make``.
        seed: The seed of the first ``reset()`` without one (GEM's ``make_vec`` gives each copy its own).
        task_id: Pin every episode to this task (else each reset draws one).
    """

    def __init__(
        self,
        env_id: str = DEFAULT_ENV_ID,
        env_kwargs: Mapping[str, Any] | None = None,
        seed: int | None = None,
        task_id: str | None = None,
    ) -> None:
        super().__init__()
        self.driver = EpisodeDriver(env_id, env_kwargs)
        self.seed = seed
        self.task_id = task_id
        self._seeded = False

    def reset(self, seed: int | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode: the env's first observation (system prompt and question) and its info."""
        if seed is None and not self._seeded:
            seed = self.seed
        self._seeded = True
        messages = self.driver.reset(seed=seed, task_id=self.task_id)
        return self.driver.first_observation, {"task_id": self.driver.task_id, "messages": messages}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Play one assistant message."""
        outcome = self.driver.step(action)
        return outcome.observation, outcome.reward, outcome.terminated, outcome.truncated, outcome.info

    def sample_random_action(self) -> str:
        return "<answer>unknown</answer>"


def register(env_id: str = GEM_ENV_ID) -> None:
    """Register :class:`SearchQAGemEnv` with GEM as ``env_id`` (again is a no-op)."""
    from gem.envs.registration import ENV_REGISTRY
    from gem.envs.registration import register as gem_register

    if env_id not in ENV_REGISTRY:
        gem_register(env_id, f"{__name__}:SearchQAGemEnv")


register()

__all__ = ["GEM_ENV_ID", "SearchQAGemEnv", "register"]
