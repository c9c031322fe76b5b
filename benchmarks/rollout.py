"""``rollout``: policy tokens/s with SearchQA-v0 environments in the loop, against bare generation on the same prompts.

``N`` environments (``split="test"``, ``max_turns=2``) play one episode each through
:func:`~rezero_agents.rollout.collect_episodes` with a :class:`~rezero_agents.policy.TransformersPolicy` (temperature
0.9, ``max_new_tokens`` 48, a fixed seed). A recording wrapper keeps the prompt ids, sampling settings and seed of
every ``generate`` call. Those exact calls are then replayed twice without environments:

- through ``TransformersPolicy.generate`` (the same code, so the difference is what the environments, chat
  formatting and episode bookkeeping cost), and
- through raw ``model.generate`` with the same batching, left padding, sampling settings, stop strings and seed
  (no log-probs, no decoding: the floor).

With the same seed every replay samples the same tokens as the rollout, so tokens/s compare like with like.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

import rezero_env  # noqa: F401  (registers the ids)
from benchmarks.common import SuiteResult, Target, peak_rss_mib
from rezero_agents.chat import ChatFormatter
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer, resolve_model
from rezero_agents.policy import (
    STOP_STRINGS,
    Completion,
    SamplingConfig,
    TransformersPolicy,
    generate_options,
    left_pad,
)
from rezero_agents.rollout import collect_episodes
from rezero_env.types import Message

GOAL_PERCENT = 90.0
"""Rollout tokens/s must reach this percentage of bare ``model.generate`` tokens/s."""


@dataclass
class GenerateCall:
    """One recorded ``Policy.generate`` call."""

    prompts: list[list[int]]
    sampling: SamplingConfig
    seed: int | None


class RecordingPolicy:
    """Wraps a :class:`TransformersPolicy`, keeping every call's prompts, sampling settings and seed."""

    def __init__(self, inner: TransformersPolicy) -> None:
        self.inner = inner
        self.formatter: ChatFormatter = inner.formatter
        self.calls: list[GenerateCall] = []

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        """Record the call, then delegate it."""
        self.calls.append(GenerateCall([list(p) for p in prompts], sampling, seed))
        return self.inner.generate(prompts, sampling, seed)


def raw_generate(policy: TransformersPolicy, call: GenerateCall) -> int:
    """Replay ``call`` with ``model.generate`` alone, batched and left-padded as the policy does; returns the number
    of sampled tokens (up to and including an end-of-turn token, or up to the padding after a stop string)."""
    import torch

    model, tokenizer, sampling = policy.model, policy.tokenizer, call.sampling
    pad_id, eos_id = tokenizer.pad_token_id, tokenizer.eos_token_id
    device = next(model.parameters()).device
    if call.seed is not None:
        torch.manual_seed(call.seed)
    tokens = 0
    model.eval()
    for start in range(0, len(call.prompts), policy.batch_size):
        batch = call.prompts[start : start + policy.batch_size]
        input_ids, attention_mask = left_pad(batch, pad_id)
        options = generate_options(sampling)
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                max_new_tokens=sampling.max_new_tokens,
                stop_strings=list(STOP_STRINGS),
                tokenizer=tokenizer,
                pad_token_id=pad_id,
                eos_token_id=eos_id,
                **options,
            )
        for row in output[:, input_ids.shape[1] :].tolist():
            tokens += sampled_length(row, eos_id, pad_id)
    return tokens


def sampled_length(ids: Sequence[int], eos_id: int | None, pad_id: int | None) -> int:
    """Sampled tokens of one generated row: through the first end-of-turn token, else up to the first padding.

    Example:
        >>> sampled_length([5, 6, 2, 2, 2], eos_id=2, pad_id=2), sampled_length([5, 6, 0, 0], eos_id=2, pad_id=0)
        (3, 2)
    """
    for position, token in enumerate(ids):
        if token == eos_id:
            return position + 1
        if token == pad_id:
            return position
    return len(ids)


def measure(
    model: str = DEFAULT_MODEL, num_envs: int = 16, max_new_tokens: int = 48, repeats: int = 1, seed: int = 0
) -> dict[str, Any]:
    """Tokens/s of ``num_envs`` episodes with environments, of the same generate calls replayed through the policy,
    and through raw ``model.generate``; each timing is the median of ``repeats`` rounds."""
    tokenizer = load_tokenizer(resolve_model(model))
    lm = load_model(resolve_model(model), dtype="float32")
    policy = TransformersPolicy(lm, ChatFormatter(tokenizer), batch_size=num_envs)
    sampling = SamplingConfig(temperature=0.9, max_new_tokens=max_new_tokens)
    envs = [gym.make("SearchQA-v0", split="test", max_turns=2) for _ in range(num_envs)]
    options = [{"task_index": i} for i in range(num_envs)]

    # warm-up: one short batched call (allocator, kernels, stop-string tables)
    policy.generate([policy.formatter.prompt_ids([Message(role="user", content="Hi")])] * 2, sampling, seed=seed)

    env_seconds, policy_seconds, raw_seconds = [], [], []
    env_tokens = policy_tokens = raw_tokens = turns = 0
    for _ in range(repeats):
        recorder = RecordingPolicy(policy)
        start = time.perf_counter()
        episodes = collect_episodes(envs, recorder, options, seed=seed, sampling=sampling)
        env_seconds.append(time.perf_counter() - start)
        env_tokens = sum(sum(e.loss_mask) for e in episodes)
        turns = len(recorder.calls)

        start = time.perf_counter()
        completions = [policy.generate(c.prompts, c.sampling, c.seed) for c in recorder.calls]
        policy_seconds.append(time.perf_counter() - start)
        policy_tokens = sum(len(c.token_ids) for batch in completions for c in batch)

        start = time.perf_counter()
        raw_tokens = sum(raw_generate(policy, c) for c in recorder.calls)
        raw_seconds.append(time.perf_counter() - start)
    for env in envs:
        env.close()

    env_s, policy_s, raw_s = (statistics.median(s) for s in (env_seconds, policy_seconds, raw_seconds))
    env_tps, policy_tps, raw_tps = env_tokens / env_s, policy_tokens / policy_s, raw_tokens / raw_s
    return {
        "model": model,
        "envs": num_envs,
        "max_new_tokens": max_new_tokens,
        "repeats": repeats,
        "generate_calls": turns,
        "episodes": len(options),
        "env_tokens": env_tokens,
        "replay_tokens": policy_tokens,
        "raw_tokens": raw_tokens,
        "env_seconds": round(env_s, 3),
        "policy_seconds": round(policy_s, 3),
        "raw_seconds": round(raw_s, 3),
        "env_tokens_per_s": round(env_tps, 1),
        "policy_tokens_per_s": round(policy_tps, 1),
        "raw_tokens_per_s": round(raw_tps, 1),
        "env_over_raw": round(env_tps / raw_tps, 3),
        "env_over_policy": round(env_tps / policy_tps, 3),
        "peak_rss_mib": round(peak_rss_mib(), 0),
    }


def run(quick: bool = False) -> SuiteResult:
    row = measure(DEFAULT_MODEL, num_envs=16, max_new_tokens=48, repeats=1 if quick else 3)
    table = "\n".join(
        [
            "| path | tokens | seconds | tokens/s | share of raw generate |",
            "|---|---|---|---|---|",
            f"| collect_episodes, {row['envs']} envs, {row['generate_calls']} turns | {row['env_tokens']:,} | "
            f"{row['env_seconds']:.2f} | {row['env_tokens_per_s']:,.1f} | {row['env_over_raw']:.1%} |",
            f"| same calls, TransformersPolicy.generate | {row['replay_tokens']:,} | {row['policy_seconds']:.2f} | "
            f"{row['policy_tokens_per_s']:,.1f} | {row['policy_tokens_per_s'] / row['raw_tokens_per_s']:.1%} |",
            f"| same calls, raw model.generate | {row['raw_tokens']:,} | {row['raw_seconds']:.2f} | "
            f"{row['raw_tokens_per_s']:,.1f} | 100.0% |",
        ]
    )
    targets = [Target("rollout tokens/s, % of raw model.generate", round(100 * row["env_over_raw"], 1), GOAL_PERCENT)]
    return SuiteResult("rollout", row, targets, table)
