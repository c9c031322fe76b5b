"""Evaluating a policy on a split: play episodes, then summarise accuracy, searching and reward terms."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rezero_agents.policy import Policy, SamplingConfig
from rezero_agents.rollout import Episode, TextPolicy, collect_episodes

GREEDY = SamplingConfig(temperature=0.0)


def summarize(episodes: Sequence[Episode]) -> dict[str, Any]:
    """Accuracy (the judge's verdict), mean searches, retry rate (share of episodes with ≥ 2 searches), format
    compliance (share whose final message passes the format rule), mean reward and mean of each term, mean
    generated tokens, cut share, and accuracy per question level when tasks name one."""
    if not episodes:
        return {"episodes": 0}
    terms: dict[str, list[float]] = collections.defaultdict(list)
    for episode in episodes:
        for name, value in episode.reward_terms.items():
            terms[name].append(value)
    by_level: dict[str, list[bool]] = collections.defaultdict(list)
    for episode in episodes:
        if "level" in episode.task.meta:
            by_level[str(episode.task.meta["level"])].append(episode.correct)
    searches = [len(e.searches) for e in episodes]
    summary: dict[str, Any] = {
        "episodes": len(episodes),
        "accuracy": float(np.mean([e.correct for e in episodes])),
        "mean_reward": float(np.mean([e.reward for e in episodes])),
        "mean_searches": float(np.mean(searches)),
        "retry_rate": float(np.mean([n >= 2 for n in searches])),
        "answer_rate": float(np.mean([e.terminated and "<answer>" in e.messages[-1]["content"] for e in episodes])),
        "mean_generated_tokens": float(np.mean([sum(e.loss_mask) for e in episodes])),
        "cut_share": float(np.mean([e.cut for e in episodes])),
        "reward_terms": {name: float(np.mean(values)) for name, values in terms.items()},
        "accuracy_by_level": {level: float(np.mean(v)) for level, v in sorted(by_level.items())},
    }
    if "format" in terms:
        summary["format_compliance"] = float(np.mean([v >= 1.0 for v in terms["format"]]))
    return summary


def evaluate_policy(
    policy: Policy | TextPolicy,
    make_env: Callable[[], gym.Env[str, str]],
    num_questions: int | None = None,
    *,
    num_envs: int = 16,
    sampling: SamplingConfig = GREEDY,
    seed: int = 0,
    max_sequence_tokens: int = 4096,
) -> tuple[dict[str, Any], list[Episode]]:
    """Play the first ``num_questions`` tasks of the env's split (all when None), once each, greedily by default."""
    envs = [make_env() for _ in range(num_envs)]
    total = len(envs[0].unwrapped.tasks)  # type: ignore[attr-defined]
    count = total if num_questions is None else min(num_questions, total)
    options = [{"task_index": i} for i in range(count)]
    episodes = collect_episodes(
        envs, policy, options, seed=seed, sampling=sampling, max_sequence_tokens=max_sequence_tokens
    )
    for env in envs:
        env.close()
    return summarize(episodes), episodes
