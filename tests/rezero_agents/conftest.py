"""Fixtures for agent tests: SmolLM2's tokenizer, a tiny random model, and an env id whose reward varies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import pytest

from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.models import TINY_MODEL, load_tokenizer, resolve_model
from rezero_env.envs.factory import make_search_qa
from rezero_env.rewards.base import RewardTerm
from rezero_env.types import Message, Task

LENGTH_ENV_ID = "RezeroTest/SearchQA-LengthReward-v0"


class LengthReward(RewardTerm):
    """A reward that differs between random samples (characters written, mod 7), so tests get advantages."""

    name = "length"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return float(sum(len(m["content"]) for m in messages if m["role"] == "assistant") % 7) / 6


def make_length_env(**kwargs: object) -> gym.Env[str, str]:
    kwargs["reward"] = "none"  # the length term is the only reward
    return LengthReward(make_search_qa(**kwargs))  # type: ignore[arg-type]


if LENGTH_ENV_ID not in gym.registry:
    gym.register(LENGTH_ENV_ID, entry_point=make_length_env)


@pytest.fixture(scope="session")
def tiny_model_path() -> str:
    return resolve_model(TINY_MODEL)


@pytest.fixture(scope="session")
def tokenizer(tiny_model_path: str):  # type: ignore[no-untyped-def]
    return load_tokenizer(tiny_model_path)


def tiny_config(output_dir: Path, **overrides: object) -> GRPOConfig:
    """A GRPO run on the tiny model that takes a few seconds per step."""
    values: dict[str, object] = {
        "output_dir": output_dir,
        "model": TINY_MODEL,
        "env_id": LENGTH_ENV_ID,
        "reward": "none",
        "total_steps": 2,
        "questions_per_step": 2,
        "num_generations": 2,
        "rollout_batch_size": 4,
        "max_new_tokens": 12,
        "max_sequence_tokens": 1024,
        "max_turns": 2,
        "few_shot": False,
        "learning_rate": 1e-2,
        "eval_questions": 2,
        "micro_batch_size": 2,
        "beta": 0.0,
        "eval_before": False,
        "log_episodes": True,
    }
    values.update(overrides)
    return GRPOConfig(**values)  # type: ignore[arg-type]


SECRET_ENV_ID = "RezeroTest/SearchQA-Secret-v0"
SECRET_SEARCH, SECRET_ANSWER = "<search>seven</search>", "<answer>7</answer>"


class SecretAnswerReward(RewardTerm):
    """Correct (1) only when the episode searched for "seven" and then answered 7: a task that a random policy never
    solves, while its guide (:class:`SecretGuide`) always does."""

    name = "correctness"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        contents = [m["content"].strip() for m in messages if m["role"] == "assistant"]
        return float(SECRET_SEARCH in contents[:-1] and bool(contents) and contents[-1] == SECRET_ANSWER)


def make_secret_env(**kwargs: object) -> gym.Env[str, str]:
    kwargs["reward"] = "none"
    return SecretAnswerReward(make_search_qa(**kwargs))  # type: ignore[arg-type]


if SECRET_ENV_ID not in gym.registry:
    gym.register(SECRET_ENV_ID, entry_point=make_secret_env)


class SecretGuide:
    """The guide of the secret task: search for "seven", then answer 7."""

    def act(self, transcripts: Sequence[Sequence[Message]]) -> list[str]:
        return [SECRET_ANSWER if any(m["role"] == "assistant" for m in t) else SECRET_SEARCH for t in transcripts]
