"""Named compositions of reward wrappers: ``"rezero"`` (ReZero's six terms and weights), ``"rezero-no-retry"``
(the same without the retry term, for ablations), ``"rezero-evidence"`` (the six plus the supporting-evidence term),
``"em"`` and ``"none"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from rezero_env.rewards.base import RewardTerm
from rezero_env.rewards.correctness import CorrectnessReward, ExactMatchReward
from rezero_env.rewards.em_chunk import EmChunkReward
from rezero_env.rewards.evidence import EvidenceReward
from rezero_env.rewards.format import FormatReward
from rezero_env.rewards.judge import Judge, resolve_judge
from rezero_env.rewards.retry import RetryReward
from rezero_env.rewards.search_diversity import SearchDiversityReward
from rezero_env.rewards.search_strategy import SearchStrategyReward

#: Preset name → (wrapper class, weight) pairs, applied innermost first.
REWARD_PRESETS: dict[str, tuple[tuple[type[RewardTerm], float], ...]] = {
    "rezero": (
        (CorrectnessReward, 4.0),
        (FormatReward, 2.0),
        (RetryReward, 1.0),
        (EmChunkReward, 1.0),
        (SearchStrategyReward, 1.0),
        (SearchDiversityReward, 1.0),
    ),
    # ReZero's reward without the retry term, for ablations ("does rewarding one more search help?").
    "rezero-no-retry": (
        (CorrectnessReward, 4.0),
        (FormatReward, 2.0),
        (EmChunkReward, 1.0),
        (SearchStrategyReward, 1.0),
        (SearchDiversityReward, 1.0),
    ),
    # ReZero's reward plus the share of the supporting documents retrieved (credit for finding the bridge document).
    "rezero-evidence": (
        (CorrectnessReward, 4.0),
        (FormatReward, 2.0),
        (RetryReward, 1.0),
        (EmChunkReward, 1.0),
        (SearchStrategyReward, 1.0),
        (SearchDiversityReward, 1.0),
        (EvidenceReward, 1.0),
    ),
    "em": ((ExactMatchReward, 1.0),),
    "none": (),
}


def apply_reward_preset(
    env: gym.Env[str, str], preset: str = "rezero", judge: Judge | str | Mapping[str, Any] | None = None
) -> gym.Env[str, str]:
    """Wrap ``env`` with the reward terms of ``preset``; ``judge`` (a callable, a name such as ``"contains"`` or a
    ``{"name": ..., **options}`` mapping, see :func:`rezero_env.rewards.make_judge`) replaces the correctness judge.

    Raises:
        ValueError: for an unknown preset, an unknown judge name or options a judge does not take.
        TypeError: for a judge that is neither None nor callable.

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> env = apply_reward_preset(gym.make("SearchQA-v0", reward="none"), "em")
        >>> type(env).__name__
        'ExactMatchReward'
    """
    if preset not in REWARD_PRESETS:
        raise ValueError(f"Unknown reward preset {preset!r}; choose one of {sorted(REWARD_PRESETS)}")
    # Checked whatever the preset, so that a bad judge never passes silently; built once (an LLM judge loads a model).
    judge = resolve_judge(judge)
    for wrapper, weight in REWARD_PRESETS[preset]:
        if wrapper is CorrectnessReward:
            env = CorrectnessReward(env, weight=weight, judge=judge)
        else:
            env = wrapper(env, weight=weight)
    return env
