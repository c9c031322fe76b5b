"""Rollouts: step many SearchQA environments in lock-step with one batched policy call per turn, and record each
episode as the learner needs it — one token sequence, a loss mask that is 1 exactly on sampled tokens (0 on the
prompt and on the environment's ``<information>`` messages), the sampled tokens' log-probs and the rewards.

The environments are plain Gymnasium environments (``gym.make("SearchQA-v0", ...)``); only ``reset``, ``step`` and
:func:`rezero_env.types.current_task` (to log the question) are used. :class:`Episode` lives in
:mod:`rezero_agents.records` (re-exported here).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym

from rezero_agents.policy import Policy, SamplingConfig
from rezero_agents.records import CORRECTNESS_TERMS, Episode
from rezero_env.types import Message, current_task

__all__ = ["CORRECTNESS_TERMS", "Episode", "TextPolicy", "collect_episodes"]


@runtime_checkable
class TextPolicy(Protocol):
    """A policy that writes messages without tokens (e.g. the scripted searcher)."""

    def act(self, transcripts: Sequence[Sequence[Message]]) -> list[str]: ...


@dataclass
class _Running:
    env: gym.Env[str, str]
    episode: Episode


def collect_episodes(
    envs: Sequence[gym.Env[str, str]],
    policy: Policy | TextPolicy,
    reset_options: Sequence[dict[str, Any]],
    *,
    groups: Sequence[int] | None = None,
    seed: int = 0,
    sampling: SamplingConfig | None = None,
    max_sequence_tokens: int = 4096,
    prefixes: Sequence[Sequence[str]] | None = None,
) -> list[Episode]:
    """Play one episode per entry of ``reset_options`` (e.g. ``{"task_index": i}``), ``len(envs)`` at a time.

    Args:
        envs: Environments to play on (reused wave after wave).
        policy: An LLM :class:`~rezero_agents.policy.Policy` or a :class:`TextPolicy`.
        reset_options: One reset ``options`` dict per episode.
        groups: Group id of each episode (default: its index); the GRPO learner groups a question's samples.
        seed: Episode ``i`` resets with ``seed + i``; sampling uses ``seed`` and the turn number.
        sampling: Sampling settings for LLM policies.
        max_sequence_tokens: An episode whose token sequence outgrows this is cut: the environment gets an empty
            message (which ends it; rewards are computed as for any ending) and ``episode.cut`` is set.
        prefixes: Per episode, assistant messages written by someone else (a guide) that are stepped through the
            environment right after the reset, before the policy acts: they are context (loss mask 0), counted in
            ``episode.guide_turns``, and the environment's reward covers them like any turn.
    """
    if not envs:
        raise ValueError("collect_episodes needs at least one environment")
    groups = list(groups) if groups is not None else list(range(len(reset_options)))
    if len(groups) != len(reset_options):
        raise ValueError("groups and reset_options must have the same length")
    prefixes = list(prefixes) if prefixes is not None else [()] * len(reset_options)
    if len(prefixes) != len(reset_options):
        raise ValueError("prefixes and reset_options must have the same length")
    sampling = sampling or SamplingConfig()
    episodes: list[Episode] = []
    release = getattr(policy, "clear_cache", None)  # an incremental policy's KV caches are not needed between waves
    for wave_start in range(0, len(reset_options), len(envs)):
        wave = range(wave_start, min(wave_start + len(envs), len(reset_options)))
        running = [
            _start(env, reset_options[i], groups[i], seed + i, policy, prefixes[i])
            for env, i in zip(envs, wave, strict=False)
        ]
        for turn in itertools.count():
            active = [r for r in running if not r.episode.done]
            if not active:
                break
            _play_turn(active, policy, sampling, seed=seed * 1000 + wave_start * 10 + turn, budget=max_sequence_tokens)
        episodes += [r.episode for r in running]
        if callable(release):
            release()
    return episodes


def _start(
    env: gym.Env[str, str], options: dict[str, Any], group: int, seed: int, policy: Any, prefix: Sequence[str]
) -> _Running:
    _, info = env.reset(seed=seed, options=options)
    episode = Episode(task=current_task(env), group=group, messages=info["messages"])
    formatter = None if isinstance(policy, TextPolicy) else policy.formatter
    if formatter is not None:
        episode.prefix_messages = list(formatter.prefix_messages)
        episode.tokenizer = formatter.tokenizer
        episode.extend(formatter.prompt_ids(episode.messages), trainable=False)
    for text in prefix:
        before = episode.messages
        _, reward, terminated, truncated, info = env.step(text)
        episode.num_turns += 1
        episode.guide_turns += 1
        episode.reward += float(reward)
        ids: list[int] = []
        if formatter is not None:
            _, ids = formatter.assistant_turn_ids(before, text)
            episode.extend(ids, trainable=False)
        if terminated or truncated:
            _finish(episode, info, terminated, truncated)
            break
        episode.messages = info["messages"]
        if formatter is not None:
            episode.extend(formatter.continuation_ids(before, text, ids, info["messages"][len(before) + 1 :]), False)
    return _Running(env, episode)


def _play_turn(
    active: list[_Running], policy: Policy | TextPolicy, sampling: SamplingConfig, seed: int, budget: int
) -> None:
    if isinstance(policy, TextPolicy):
        texts = policy.act([r.episode.messages for r in active])
        completions = None
    else:
        completions = policy.generate([r.episode.token_ids for r in active], sampling, seed=seed)
        texts = [c.text for c in completions]
    for index, (running, text) in enumerate(zip(active, texts, strict=True)):
        episode = running.episode
        before = episode.messages
        _, reward, terminated, truncated, info = running.env.step(text)
        episode.num_turns += 1
        episode.reward += float(reward)
        if completions is not None:
            completion = completions[index]
            episode.extend(completion.token_ids, trainable=True, logprobs=completion.logprobs)
            episode.finish_reasons.append(completion.finish_reason)
            episode.turn_tokens.append(len(completion.token_ids))
        if terminated or truncated:
            _finish(episode, info, terminated, truncated)
            continue
        episode.messages = info["messages"]
        if completions is not None:
            after = info["messages"][len(before) + 1 :]
            continuation = policy.formatter.continuation_ids(before, text, completions[index].token_ids, after)  # type: ignore[union-attr]
            episode.extend(continuation, trainable=False)
            if len(episode.token_ids) + sampling.max_new_tokens > budget:
                _, reward, terminated, truncated, info = running.env.step("")  # a message without a search ends it
                episode.reward += float(reward)
                episode.cut = True
                _finish(episode, info, terminated, truncated)


def _finish(episode: Episode, info: dict[str, Any], terminated: bool, truncated: bool) -> None:
    episode.finish(info, terminated, truncated)
