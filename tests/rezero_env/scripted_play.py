"""The equality check every adapter's test runs: seeded episodes played by the scripted searcher through
``gym.make("SearchQA-v0")`` and through the adapter must give the same task, actions, observations and rewards."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import rezero_env  # noqa: F401 - registers the ids
from rezero_agents.scripted import ScriptedSearcher
from rezero_env.types import Message

#: 32 seeded episodes, as issue 25 asks.
SEEDS = tuple(range(32))


@dataclass
class Played:
    """One episode as a learner sees it."""

    task_id: str
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)  # after reset, then after each step
    rewards: list[float] = field(default_factory=list)
    reward_terms: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.rewards)


def next_action(messages: list[Message] | list[dict[str, str]]) -> str:
    """The scripted searcher's next message for a transcript."""
    return ScriptedSearcher().next_message([dict(m) for m in messages])  # type: ignore[misc]


def play_gym(seed: int, env_id: str = "SearchQA-v0", env_kwargs: Mapping[str, Any] | None = None) -> Played:
    """The reference: one seeded episode through ``gym.make``."""
    env = gym.make(env_id, **dict(env_kwargs or {}))
    observation, info = env.reset(seed=seed)
    played = Played(task_id=info["task_id"], observations=[observation])
    done = False
    while not done:
        action = next_action(info["messages"])
        observation, reward, terminated, truncated, info = env.step(action)
        played.actions.append(action)
        played.observations.append(observation)
        played.rewards.append(float(reward))
        done = terminated or truncated
    played.reward_terms = dict(info["reward_terms"])
    env.close()
    return played


def assert_same_episodes(play: Callable[[int], Played], seeds: tuple[int, ...] = SEEDS, **gym_kwargs: Any) -> None:
    """``play(seed)`` equals the Gymnasium reference on every seed (and the seeds reach searches and answers)."""
    references = [play_gym(seed, **gym_kwargs) for seed in seeds]
    assert len({r.task_id for r in references}) > len(seeds) // 2  # the seeds draw different tasks
    assert any(r.reward_terms.get("correctness") for r in references)
    for seed, reference in zip(seeds, references, strict=True):
        got = play(seed)
        assert got.task_id == reference.task_id, seed
        assert got.actions == reference.actions, seed
        assert got.observations == reference.observations, seed
        assert got.rewards == reference.rewards, seed
        assert got.reward_terms == reference.reward_terms, seed


def play_skyrl_remote(seed: int, url: str) -> dict[str, Any]:
    """A SkyRL-Gym episode whose env searches the shared retriever server (what a SkyRL worker does)."""
    from rezero_env.integrations.skyrl import SearchQASkyRLEnv

    env = SearchQASkyRLEnv(
        {"env_kwargs": {"search_engine": "remote", "search_options": {"url": url, "timeout": 10}}}, {"seed": seed}
    )
    chat, _ = env.init([])
    rewards: list[float] = []
    observations: list[str] = []
    while True:
        action = next_action(chat)
        output = env.step(action)
        chat += [{"role": "assistant", "content": action}, *output["observations"]]
        rewards.append(output["reward"])
        observations.append(output["observations"][0]["content"] if output["observations"] else "")
        if output["done"]:
            return {
                "seed": seed,
                "pid": os.getpid(),
                "rewards": rewards,
                "observations": observations,
                "terms": output["metadata"]["reward_terms"],
            }
