"""The entry point behind the registered ids: the environment plus its reward preset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.rewards.judge import Judge
from rezero_env.rewards.presets import apply_reward_preset


def make_search_qa(
    reward: str = "rezero", judge: Judge | str | Mapping[str, Any] | None = None, **kwargs: Any
) -> gym.Env[str, str]:
    """``SearchQAEnv(**kwargs)`` wrapped with the reward preset ``reward`` (``"rezero"``, ``"rezero-no-retry"``,
    ``"rezero-evidence"``, ``"em"`` or ``"none"``).

    ``judge`` replaces the correctness judge: a callable ``judge(prediction, answers) -> float``, a judge name
    (``"em_f1"``, ``"contains"``, ``"embedding"``, ``"llm"``, ``"cascade"``) or a ``{"name": ..., **options}``
    mapping, built by :func:`rezero_env.rewards.make_judge`.
    """
    return apply_reward_preset(SearchQAEnv(**kwargs), reward, judge=judge)
