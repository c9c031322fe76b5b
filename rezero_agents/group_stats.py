"""Statistics of a step's groups (a question's samples) that say whether learning signal exists: which groups have a
success, which carry no signal, by question level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rezero_agents.records import Episode


def failing_groups(episodes: Sequence[Episode]) -> list[int]:
    """The groups (in order of first appearance) in which no episode was judged correct.

    Example:
        >>> from rezero_env.types import Task
        >>> task = Task("t", "q?", ("a",))
        >>> right = Episode(task, 1, reward_terms={"correctness": 1.0})
        >>> failing_groups([Episode(task, 0), Episode(task, 0), Episode(task, 1), right, Episode(task, 2)])
        [0, 2]
    """
    correct: dict[int, bool] = {}
    for episode in episodes:
        correct[episode.group] = correct.get(episode.group, False) or episode.correct
    return [group for group, any_correct in correct.items() if not any_correct]


def success_shares(episodes: Sequence[Episode], name: str = "train/solvable_groups") -> dict[str, float]:
    """The share of groups with at least one episode judged correct (the groups that can carry signal), overall
    (``name``) and by question level (``name/<level>``, from ``task.meta["level"]``).

    Example:
        >>> from rezero_env.types import Task
        >>> hop = Task("t", "q?", ("a",), meta={"level": "two-hop"})
        >>> shares = success_shares([Episode(hop, 0), Episode(hop, 1, reward_terms={"correctness": 1.0})])
        >>> shares["train/solvable_groups"], shares["train/solvable_groups/two-hop"]
        (0.5, 0.5)
    """
    failing = set(failing_groups(episodes))
    levels = {e.group: str(e.task.meta["level"]) for e in episodes if "level" in e.task.meta}
    groups = sorted({e.group for e in episodes})
    shares = {name: sum(g not in failing for g in groups) / max(1, len(groups))}
    for level in sorted(set(levels.values())):
        members = [g for g in groups if levels.get(g) == level]
        shares[f"{name}/{level}"] = sum(g not in failing for g in members) / len(members)
    return shares


def rewards_by_group(groups: Sequence[int], rewards: Sequence[float]) -> dict[int, list[float]]:
    """Each group's rewards, in order, by group id.

    Example:
        >>> rewards_by_group([0, 1, 0], [1.0, 2.0, 3.0])
        {0: [1.0, 3.0], 1: [2.0]}
    """
    by_group: dict[int, list[float]] = {}
    for group, reward in zip(groups, rewards, strict=True):
        by_group.setdefault(group, []).append(reward)
    return by_group


def is_flat(rewards: Sequence[float]) -> bool:
    """Whether a group's rewards are all equal (within float tolerance): no advantage, no signal."""
    return bool(np.allclose(rewards, rewards[0]))


def flat_shares(
    episodes: Sequence[Episode], rewards: Sequence[float], name: str = "train/zero_signal_groups"
) -> dict[str, float]:
    """The share of groups whose ``rewards`` (one per episode) are all equal — no advantage, no signal — overall
    (``name``) and by question level (``name/<level>``).

    Example:
        >>> from rezero_env.types import Task
        >>> hop = Task("t", "q?", ("a",), meta={"level": "two-hop"})
        >>> flat_shares([Episode(hop, 0), Episode(hop, 0), Episode(hop, 1), Episode(hop, 1)], [0, 0, 1, 0], "z")
        {'z': 0.5, 'z/two-hop': 0.5}
    """
    by_group = rewards_by_group([e.group for e in episodes], rewards)
    levels = {e.group: str(e.task.meta["level"]) for e in episodes if "level" in e.task.meta}
    flat = {g for g, values in by_group.items() if is_flat(values)}
    shares = {name: len(flat) / max(1, len(by_group))}
    for level in sorted(set(levels.values())):
        members = [g for g in by_group if levels.get(g) == level]
        shares[f"{name}/{level}"] = sum(g in flat for g in members) / len(members)
    return shares
