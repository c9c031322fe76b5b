"""The entry point behind the registered ids: the environment plus its reward preset."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.rewards.judge import Judge
from rezero_env.rewards.presets import apply_reward_preset


def make_search_qa(reward: str = "rezero", judge: Judge | None = None, **kwargs: Any) -> gym.Env[str, str]:
    """``SearchQAEnv(**kwargs)`` wrapped with the reward preset ``reward`` (``"rezero"``, ``"rezero-no-retry"``,
    ``"em"`` or ``"none"``).

    ``judge`` (a callable ``judge(prediction, answers) -> float``) replaces the correctness judge.
    """
    return apply_reward_preset(SearchQAEnv(**kwargs), reward, judge=judge)
