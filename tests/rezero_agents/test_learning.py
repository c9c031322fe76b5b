"""GRPO must learn a trivially learnable reward: a guard against sign, mask, advantage and optimizer bugs that
"the weights changed" tests cannot catch.

The tiny random model starts near-uniform over SmolLM2's 49k-token vocabulary; the reward is the share of the
tokens it writes whose id is a multiple of 4 (about 0.25 at the start). Learning must push it above 0.8 within a
few dozen steps; with the advantage's sign flipped the same run must not.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rezero_agents import grpo
from rezero_agents.grpo import GRPOLearner
from rezero_agents.models import TINY_MODEL, load_tokenizer, resolve_model
from rezero_env.envs.factory import make_search_qa
from rezero_env.rewards.base import RewardTerm
from rezero_env.types import Message, Task
from tests.rezero_agents.conftest import tiny_config

TOKEN_ENV_ID = "RezeroTest/SearchQA-TokenShare-v0"


class TokenShareReward(RewardTerm):
    """Share of the assistant's tokens whose id is a multiple of 4 (re-tokenised from the text)."""

    name = "token_share"

    def __init__(self, env: gym.Env[str, str]) -> None:
        super().__init__(env)
        self.tokenizer = load_tokenizer(resolve_model(TINY_MODEL))

    def score(self, messages: Sequence[Message], task: Task) -> float:
        text = "".join(m["content"] for m in messages if m["role"] == "assistant")
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return float(np.mean([i % 4 == 0 for i in ids])) if ids else 0.0


def make_token_env(**kwargs: Any) -> gym.Env[str, str]:
    kwargs["reward"] = "none"
    return TokenShareReward(make_search_qa(**kwargs))


if TOKEN_ENV_ID not in gym.registry:
    gym.register(TOKEN_ENV_ID, entry_point=make_token_env)


def learn(output_dir: Path) -> list[float]:
    config = tiny_config(
        output_dir,
        env_id=TOKEN_ENV_ID,
        use_lora=False,
        total_steps=20,
        questions_per_step=4,
        num_generations=4,
        rollout_batch_size=16,
        max_new_tokens=6,
        max_turns=1,
        learning_rate=1e-2,
        max_grad_norm=1.0,
        micro_batch_size=16,
        validation_questions=0,
        log_episodes=False,
    )
    learner = GRPOLearner(config)
    rewards = [learner.train_step()["train/mean_reward"] for _ in range(config.total_steps)]
    learner.close()
    return rewards


def test_grpo_learns_a_trivially_learnable_reward(tmp_path: Path) -> None:
    rewards = learn(tmp_path)
    assert np.mean(rewards[:3]) < 0.3, rewards
    assert np.mean(rewards[-3:]) > 0.8, rewards


def test_a_flipped_advantage_sign_does_not_learn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = grpo.group_advantages

    def flipped(*args: Any, **kwargs: Any) -> tuple[np.ndarray, int]:
        advantages, flat = original(*args, **kwargs)
        return -advantages, flat

    monkeypatch.setattr(grpo, "group_advantages", flipped)
    rewards = learn(tmp_path)
    assert np.mean(rewards[-3:]) < 0.3, rewards
