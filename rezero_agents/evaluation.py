"""Evaluating a policy on a split: play episodes, then summarise accuracy, searching and reward terms."""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rezero_agents.policy import Policy, SamplingConfig
from rezero_agents.rollout import Episode, TextPolicy, collect_episodes
from rezero_agents.stats import accuracy_summary
from rezero_env.types import split_tasks

GREEDY = SamplingConfig(temperature=0.0)


def summarize(episodes: Sequence[Episode]) -> dict[str, Any]:
    """Accuracy (the judge's verdict) with its 95 % Wilson interval (``accuracy_low``, ``accuracy_high``), mean
    searches, retry rate (share of episodes with ≥ 2 searches), format compliance (share whose final message
    passes the format rule), mean reward and mean of each term, mean generated tokens, cut share, accuracy per
    question level when tasks name one (``accuracy_by_level``, with ``intervals_by_level``), and ``verdicts``:
    task id → correct, for :func:`rezero_agents.stats.compare`."""
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
    overall = accuracy_summary([e.correct for e in episodes])
    summary: dict[str, Any] = {
        "episodes": len(episodes),
        "accuracy": overall["accuracy"],
        "accuracy_low": overall["low"],
        "accuracy_high": overall["high"],
        "mean_reward": float(np.mean([e.reward for e in episodes])),
        "mean_searches": float(np.mean(searches)),
        "retry_rate": float(np.mean([n >= 2 for n in searches])),
        "answer_rate": float(np.mean([e.terminated and "<answer>" in e.messages[-1]["content"] for e in episodes])),
        "mean_generated_tokens": float(np.mean([sum(e.loss_mask) for e in episodes])),
        "cut_share": float(np.mean([e.cut for e in episodes])),
        "reward_terms": {name: float(np.mean(values)) for name, values in terms.items()},
        "accuracy_by_level": {level: float(np.mean(v)) for level, v in sorted(by_level.items())},
        "intervals_by_level": {
            level: [accuracy_summary(v)["low"], accuracy_summary(v)["high"], len(v)]
            for level, v in sorted(by_level.items())
        },
    }
    if len({e.task.id for e in episodes}) == len(episodes):  # one episode per question
        summary["verdicts"] = {e.task.id: e.correct for e in episodes}
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
    task_indices: Sequence[int] | None = None,
    samples: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], list[Episode]]:
    """Play the first ``num_questions`` tasks of the env's split (all when None), or the tasks ``task_indices``
    names (then ``num_questions`` is ignored), ``samples`` times each (greedily by default, when it should be 1;
    with ``samples`` > 1 the summary adds :func:`sampled_accuracy`). ``progress(done, total)`` is called after
    each wave of ``num_envs`` episodes (greedy results are the same with or without it)."""
    envs = [make_env() for _ in range(num_envs)]
    total = len(split_tasks(envs[0]))
    if task_indices is None:
        count = total if num_questions is None else min(num_questions, total)
        task_indices = range(count)
    options = [{"task_index": int(i)} for i in task_indices for _ in range(samples)]
    groups = [g for g in range(len(task_indices)) for _ in range(samples)]
    if progress is None:
        episodes = collect_episodes(
            envs, policy, options, groups=groups, seed=seed, sampling=sampling, max_sequence_tokens=max_sequence_tokens
        )
    else:  # wave by wave (as collect_episodes plays them), reporting after each
        episodes = []
        progress(0, len(options))
        for start in range(0, len(options), num_envs):
            episodes += collect_episodes(
                envs,
                policy,
                options[start : start + num_envs],
                groups=groups[start : start + num_envs],
                seed=seed + start * 7_919,
                sampling=sampling,
                max_sequence_tokens=max_sequence_tokens,
            )
            progress(len(episodes), len(options))
    for env in envs:
        env.close()
    summary = summarize(episodes)
    if samples > 1:
        summary.update(sampled_accuracy(episodes, samples))
    return summary, episodes


def sampled_accuracy(episodes: Sequence[Episode], k: int) -> dict[str, float]:
    """Mean accuracy over ``k`` samples per question and pass@k (share of questions with a correct sample), from
    episodes holding ``k`` samples of each question (grouped by task id).

    Example:
        >>> from rezero_env.types import Task
        >>> task = lambda i: Task(id=str(i), question="q?", answers=("a",))
        >>> episodes = [Episode(task(i), 0, reward_terms={"correctness": float(c)}) for i, c in
        ...             [(0, 1), (0, 0), (1, 0), (1, 0)]]
        >>> sampled_accuracy(episodes, k=2)
        {'sampled_accuracy': 0.25, 'pass_at_k': 0.5, 'k': 2.0}
    """
    by_task: dict[str, list[bool]] = collections.defaultdict(list)
    for episode in episodes:
        by_task[episode.task.id].append(episode.correct)
    if any(len(v) != k for v in by_task.values()):
        raise ValueError(f"sampled_accuracy: expected {k} samples of every question")
    return {
        "sampled_accuracy": float(np.mean([np.mean(v) for v in by_task.values()])),
        "pass_at_k": float(np.mean([any(v) for v in by_task.values()])),
        "k": float(k),
    }


DEFAULT_VALIDATION_QUESTIONS = 160
"""The validation split's size when the training split is large enough (the synthetic world's 1,440 questions)."""
VALIDATION_SHARE = 0.2
"""The largest share of a training split the default validation split takes."""


def default_validation_size(num_tasks: int) -> int:
    """The validation split carved from ``num_tasks`` training questions when none is asked for:
    min(:data:`DEFAULT_VALIDATION_QUESTIONS`, a fifth of them), so a small dataset keeps most questions to train on.

    Example:
        >>> default_validation_size(1440), default_validation_size(10), default_validation_size(4)
        (160, 2, 0)
    """
    return min(DEFAULT_VALIDATION_QUESTIONS, int(num_tasks * VALIDATION_SHARE))


def carve_validation(num_tasks: int, count: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Split a training split's task indices into ``(train, validation)``: ``count`` indices drawn by a generator
    seeded with ``seed`` form the validation split (sorted), the rest stay for training; disjoint by construction.

    Example:
        >>> train, validation = carve_validation(10, 3, seed=0)
        >>> len(train), len(validation), sorted(train + validation) == list(range(10))
        (7, 3, True)
    """
    if count < 0 or count >= num_tasks:
        raise ValueError(
            f"validation_questions={count} must be >= 0 and leave training questions out of the split's {num_tasks} "
            f"(left unset it is {default_validation_size(num_tasks)}: min({DEFAULT_VALIDATION_QUESTIONS}, a fifth))"
        )
    order = np.random.default_rng(seed).permutation(num_tasks)
    return sorted(int(i) for i in order[count:]), sorted(int(i) for i in order[:count])
