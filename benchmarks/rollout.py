"""``rollout``: multi-turn rollouts on ``cpu-demo`` settings, re-reading the transcript every turn (the plain
``model.generate`` path) against incremental decoding (KV caches kept across turns, a group's prompt and the shared
system prompt prefilled once), measured in one run on the same questions and seeds.

The policy is SmolLM2-135M after the ``cpu-demo`` preset's supervised warm-up (so it searches, reads the
``<information>`` block and answers as it does during GRPO; the base model without worked examples rarely searches
and would make every rollout single-turn). Then, in order:

1. ``questions × samples`` training episodes (16 × 4, ≤ 3 turns, ≤ 48 new tokens per turn, BM25 top-3, temperature
   0.9) on the plain path with 16 lock-step environments (``cpu-demo``'s before incremental decoding) and 64, and on
   the incremental path with 16, 32 and 64 (the batch-size curve: the presets use its best point); the speed-up is
   best against best;
2. a full greedy evaluation of the synthetic test split (160 questions) on the incremental path at the best batch;
3. correctness: the first 32 greedy evaluation episodes replayed on the plain path (token for token), and the
   recorded log-probs of sampled episodes against a fresh forward pass;
4. one ``cpu-demo`` GRPO step (rollout + scoring + backward) on each path (the plain step also runs every prompt
   token in the training forward, as before ``share_prompt_in_training``).

Sampled tokens differ between the paths only through batch composition (each draws from a generator seeded the
same way); episodes/s and generated tokens are reported side by side.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target, peak_rss_mib
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.grpo_config import PRESETS, GRPOConfig
from rezero_agents.models import torch_dtype
from rezero_agents.policy import TransformersPolicy
from rezero_agents.rollout import collect_episodes

PLAIN_ENVS = 16
"""cpu-demo's lock-step batch before incremental decoding."""
GOAL_SPEEDUP = 2.5
"""Incremental episodes/s must reach this multiple of the plain path's."""
BF16_GOALS = {"prefill": 2.5, "decode": 1.5, "episodes": 2.0, "step": 0.5}
"""bfloat16 sampling against float32 on the same episodes (speed-ups; the GRPO step as a time ratio)."""
EVAL_GOAL_SECONDS = 180.0
"""A greedy evaluation of the 160 synthetic test questions must take at most this long."""


def demo_config(output_dir: Path, model: str, **overrides: Any) -> GRPOConfig:
    """The ``cpu-demo`` preset writing into ``output_dir`` (no logs, no evaluations of its own)."""
    values: dict[str, Any] = {"output_dir": output_dir, "model": model, "eval_before": False, "log_episodes": False}
    values.update(overrides)
    return dataclasses.replace(PRESETS["cpu-demo"], **values)


def play(
    learner: Any, policy: Any, num_envs: int, questions: int, samples: int, seed: int
) -> tuple[dict[str, Any], list[Any]]:
    """``questions × samples`` training episodes with ``num_envs`` lock-step environments: numbers and episodes."""
    envs = [learner.make_env(learner.config.train_split) for _ in range(num_envs)]
    options = [{"task_index": q} for q in range(questions) for _ in range(samples)]
    groups = [q for q in range(questions) for _ in range(samples)]
    decoder = getattr(policy, "decoder", None)
    before = dict(decoder.stats) if decoder is not None else {}
    start = time.perf_counter()
    episodes = collect_episodes(
        envs,
        policy,
        options,
        groups=groups,
        seed=seed,
        sampling=learner.sampling,
        max_sequence_tokens=learner.config.max_sequence_tokens,
    )
    seconds = time.perf_counter() - start
    for env in envs:
        env.close()
    row = {
        "envs": num_envs,
        "episodes": len(episodes),
        "seconds": round(seconds, 2),
        "episodes_per_s": round(len(episodes) / seconds, 4),
        "generated_tokens": sum(sum(e.loss_mask) for e in episodes),
        "generated_tokens_per_s": round(sum(sum(e.loss_mask) for e in episodes) / seconds, 1),
        "turns_per_episode": round(sum(e.num_turns for e in episodes) / len(episodes), 2),
        "sequence_tokens_mean": round(sum(len(e.token_ids) for e in episodes) / len(episodes), 1),
    }
    if decoder is not None:
        delta = {key: decoder.stats[key] - before[key] for key in decoder.stats}
        row["prefilled_tokens"] = int(delta["prefill_tokens"])
        row["reused_tokens"] = int(delta["reused_tokens"])
        row["prefill_tokens_per_s"] = round(delta["prefill_tokens"] / max(delta["prefill_seconds"], 1e-9), 1)
        row["decode_tokens_per_s"] = round(delta["decoded_tokens"] / max(delta["decode_seconds"], 1e-9), 1)
        row["prefill_seconds"] = round(delta["prefill_seconds"], 2)
        row["decode_seconds"] = round(delta["decode_seconds"], 2)
    row["dtype"] = getattr(policy, "dtype", "float32")
    return row, episodes


GEMM_SHAPES = {
    "decode MLP (64×576·576×1536)": (64, 576, 1536),
    "LM head (64×576·576×49152)": (64, 576, 49152),
    "prefill MLP (1024×576·576×1536)": (1024, 576, 1536),
}
"""Matrix products of SmolLM2-135M's rollouts whose speed bounds what a dtype can give."""


def gemm_ceiling(seconds: float = 0.5, shapes: dict[str, tuple[int, int, int]] | None = None) -> dict[str, Any]:
    """GFLOPS of ``F.linear`` (the product the model runs) on :data:`GEMM_SHAPES` in float32 and bfloat16 on this
    machine: the best of the repeats that fit in ``seconds`` (at least two), and the CPU's capability as torch
    reports it (a CPU without AVX-512 BF16 runs bfloat16 products far below float32)."""
    import torch
    import torch.nn.functional as F

    ceiling: dict[str, Any] = {"cpu_capability": torch.backends.cpu.get_cpu_capability()}
    for name, (m, k, n) in (shapes or GEMM_SHAPES).items():
        ceiling[name] = {}
        for dtype in (torch.float32, torch.bfloat16):
            x, weight = torch.randn(m, k, dtype=dtype), torch.randn(n, k, dtype=dtype)
            best, spent, runs = float("inf"), 0.0, 0
            while runs < 2 or spent < seconds:
                start = time.perf_counter()
                F.linear(x, weight)
                elapsed = time.perf_counter() - start
                best, spent, runs = min(best, elapsed), spent + elapsed, runs + 1
            ceiling[name][str(dtype).removeprefix("torch.")] = round(2 * m * k * n / best / 1e9, 1)
    return ceiling


def correctness_checks(
    learner: Any, plain: TransformersPolicy, greedy: list[Any], sampled: list[Any], seed: int
) -> dict[str, Any]:
    """The incremental path's greedy episodes replayed on the plain path (token for token), and its sampled
    episodes' recorded log-probs against a fresh forward pass over the finished sequences."""
    config = learner.config
    _, replayed = evaluate_policy(
        plain,
        lambda: learner.make_env(config.eval_split),
        len(greedy),
        num_envs=config.rollout_batch_size,
        sampling=learner.eval_sampling,
        seed=seed,
        max_sequence_tokens=config.max_sequence_tokens,
    )
    identical = sum(
        a.token_ids == b.token_ids and a.loss_mask == b.loss_mask for a, b in zip(greedy, replayed, strict=True)
    )
    return {
        "greedy_episodes_compared": len(greedy),
        "greedy_identical": identical,
        "logprob_episodes": min(16, len(sampled)),
        "logprob_max_abs_diff": float(logprob_differences(learner, sampled[:16]).max()),
    }


def logprob_differences(learner: Any, episodes: list[Any]) -> Any:
    """``|recorded - fresh|`` for every sampled token of ``episodes``: the sampler's recorded log-probs against a
    fresh float32 forward pass of the learner's model (at the sampling temperature)."""
    import torch

    from rezero_agents.scoring import TokenScorer, pad_sequences, target_values

    scorer = TokenScorer(learner.unwrapped_model, temperature=learner.sampling.temperature)
    differences = []
    with torch.no_grad():
        for episode in episodes:
            ids, attention, targets = pad_sequences([(episode.token_ids, episode.loss_mask)], 0, torch.device("cpu"))
            fresh = scorer(ids, attention, targets)
            recorded = target_values([episode.logprobs], ids.shape[1], torch.device("cpu"))
            differences.append((fresh - recorded)[targets].abs())
    return torch.cat(differences)


def sampler_gap(learner: Any, episodes: list[Any]) -> float:
    """The mean ``|Δ log-prob|`` between a sampler's recorded log-probs and the float32 learner's, on 16 episodes."""
    return round(float(logprob_differences(learner, episodes[:16]).mean()), 5)


def measure(
    model: str = "smollm2-135m",
    questions: int = 16,
    samples: int = 4,
    batch_sizes: tuple[int, ...] = (16, 32, 64),
    plain_batch_sizes: tuple[int, ...] = (PLAIN_ENVS, 64),
    eval_questions: int | None = None,
    check_questions: int = 32,
    seed: int = 0,
    gemm_seconds: float = 0.5,
    **overrides: Any,
) -> dict[str, Any]:
    """The suite's numbers (see the module docstring); ``overrides`` change the ``cpu-demo`` settings (tests)."""
    from rezero_agents.grpo import GRPOLearner

    with tempfile.TemporaryDirectory() as scratch:
        config = demo_config(Path(scratch), model, device="cpu", dtype="float32", **overrides)
        learner = GRPOLearner(config)
        start = time.perf_counter()
        warm = learner.warm_up()
        warm_seconds = time.perf_counter() - start
        model_ = learner.unwrapped_model
        formatter = learner.formatter
        rows = {}
        for size in plain_batch_sizes:
            plain = TransformersPolicy(model_, formatter, batch_size=size, incremental=False)
            rows[f"plain-{size}"] = play(learner, plain, size, questions, samples, seed)[0]
        best_plain = max(plain_batch_sizes, key=lambda size: rows[f"plain-{size}"]["episodes_per_s"])
        sampled: list[Any] = []
        for size in batch_sizes:
            policy = TransformersPolicy(model_, formatter, batch_size=size)
            rows[f"incremental-{size}"], sampled = play(learner, policy, size, questions, samples, seed)
        best = max(batch_sizes, key=lambda size: rows[f"incremental-{size}"]["episodes_per_s"])
        half_sampled: list[Any] = []
        for size in batch_sizes:
            policy = TransformersPolicy(model_, formatter, batch_size=size, dtype="bfloat16")
            rows[f"incremental-bf16-{size}"], half_sampled = play(learner, policy, size, questions, samples, seed)
        best_half = max(batch_sizes, key=lambda size: rows[f"incremental-bf16-{size}"]["episodes_per_s"])
        merged = TransformersPolicy(model_, formatter, batch_size=max(batch_sizes), dtype="float32")
        rows[f"incremental-merged-{max(batch_sizes)}"] = play(
            learner, merged, max(batch_sizes), questions, samples, seed
        )[0]
        ceiling = gemm_ceiling(seconds=gemm_seconds)

        policy = TransformersPolicy(model_, formatter, batch_size=best)
        start = time.perf_counter()
        summary, episodes = evaluate_policy(
            policy,
            lambda: learner.make_env(config.eval_split),
            eval_questions,
            num_envs=best,
            sampling=learner.eval_sampling,
            seed=seed,
            max_sequence_tokens=config.max_sequence_tokens,
        )
        evaluation = {
            "questions": len(episodes),
            "envs": best,
            "seconds": round(time.perf_counter() - start, 1),
            "accuracy": round(summary["accuracy"], 4),
            "turns_per_episode": round(sum(e.num_turns for e in episodes) / len(episodes), 2),
        }
        plain = TransformersPolicy(model_, formatter, batch_size=PLAIN_ENVS, incremental=False)
        checks = correctness_checks(learner, plain, episodes[:check_questions], sampled, seed)

        checks["bf16_logprob_gap_mean"] = sampler_gap(learner, half_sampled)

        steps = {}
        float32_scorer = learner.scorer.autocast
        for name, incremental, dtype in (
            ("plain", False, "float32"),
            ("incremental", True, "float32"),
            ("incremental-bf16", True, "bfloat16"),
        ):
            size = best if incremental else best_plain
            learner.policy = TransformersPolicy(
                model_, formatter, batch_size=size, incremental=incremental, dtype=dtype
            )
            learner.config.share_prompt_in_training = incremental  # the plain step runs every token, as before
            learner.scorer.autocast = torch_dtype(dtype, "cpu") if dtype != "float32" else float32_scorer
            learner.train_envs = [learner.make_env(config.train_split) for _ in range(size)]
            metrics = learner.train_step()
            steps[name] = {
                "envs": size,
                "dtype": dtype,
                "rollout_seconds": round(metrics["perf/rollout_seconds"], 2),
                "forward_seconds": round(metrics["perf/forward_seconds"], 2),
                "backward_seconds": round(metrics["perf/backward_seconds"], 2),
                "train_seconds": round(metrics["perf/train_seconds"], 2),
                "seconds": round(metrics["perf/rollout_seconds"] + metrics["perf/train_seconds"], 2),
                "sampler_logprob_gap": round(metrics["loss/sampler_logprob_gap"], 5),
                "truncated_weights": round(metrics["loss/truncated_weights"], 5),
            }
        learner.close()
    speedup = rows[f"incremental-{best}"]["episodes_per_s"] / rows[f"plain-{best_plain}"]["episodes_per_s"]
    same = max(batch_sizes)  # the same episodes at the largest batch, both dtypes
    fp32_row, bf16_row = rows[f"incremental-{same}"], rows[f"incremental-bf16-{same}"]
    merged_row = rows[f"incremental-merged-{same}"]
    bf16 = {
        "batch": same,
        "merged_fp32_episodes_speedup": round(merged_row["episodes_per_s"] / fp32_row["episodes_per_s"], 3),
        "prefill_speedup": round(bf16_row["prefill_tokens_per_s"] / fp32_row["prefill_tokens_per_s"], 3),
        "decode_speedup": round(bf16_row["decode_tokens_per_s"] / fp32_row["decode_tokens_per_s"], 3),
        "episodes_speedup": round(bf16_row["episodes_per_s"] / fp32_row["episodes_per_s"], 3),
        "best_batch": best_half,
        "best_episodes_speedup": round(
            rows[f"incremental-bf16-{best_half}"]["episodes_per_s"] / rows[f"incremental-{best}"]["episodes_per_s"], 3
        ),
        "step_ratio": round(steps["incremental-bf16"]["seconds"] / steps["incremental"]["seconds"], 3),
    }
    return {
        "model": model,
        "questions": questions,
        "samples": samples,
        "max_turns": config.max_turns,
        "max_new_tokens": config.max_new_tokens,
        "top_k": config.top_k,
        "warm_up_seconds": round(warm_seconds, 1),
        "warm_up_steps": config.sft_warmup_steps,
        "warm_up_last_loss": round(warm["sft_last_loss"], 4),
        "paths": rows,
        "best_batch": best,
        "best_plain_batch": best_plain,
        "speedup": round(speedup, 3),
        "evaluation": evaluation,
        "checks": checks,
        "grpo_step": steps,
        "step_speedup": round(steps["plain"]["seconds"] / steps["incremental"]["seconds"], 3),
        "bf16": bf16,
        "gemm_gflops": ceiling,
        "peak_rss_mib": round(peak_rss_mib(), 0),
    }


def table(row: dict[str, Any]) -> str:
    lines = [
        f"{row['model']} after the cpu-demo warm-up ({row['warm_up_steps']} SFT steps, "
        f"{row['warm_up_seconds']:.0f} s); "
        f"{row['questions']} training questions × {row['samples']} samples, ≤ {row['max_turns']} turns, "
        f"≤ {row['max_new_tokens']} new tokens per turn, BM25 top-{row['top_k']}, temperature 0.9.",
        "",
        "| path | dtype | lock-step envs | episodes/s | s | generated tokens | turns/episode | prompt tokens "
        "prefilled | reused from cache | prefill tokens/s | decode tokens/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, path in row["paths"].items():
        label = "plain (re-reads the transcript)" if name.startswith("plain") else "incremental"
        label += ", LoRA merged copy" if "merged" in name or "bf16" in name else ""
        lines.append(
            f"| {label} | {path.get('dtype', 'float32')} | {path['envs']} | {path['episodes_per_s']:.3f} | "
            f"{path['seconds']:.1f} | {path['generated_tokens']:,} | {path['turns_per_episode']:.2f} | "
            f"{path.get('prefilled_tokens', 'all')} | {path.get('reused_tokens', 0):,} | "
            f"{path.get('prefill_tokens_per_s', '–')} | {path.get('decode_tokens_per_s', '–')} |"
        )
    evaluation, steps = row["evaluation"], row["grpo_step"]
    lines += [
        "",
        f"Incremental at its best batch ({row['best_batch']} envs) ÷ plain at its best ({row['best_plain_batch']} "
        f"envs): **{row['speedup']:.2f}×** episodes/s. "
        f"Greedy evaluation of {evaluation['questions']} synthetic test questions ({evaluation['envs']} envs, "
        f"{evaluation['turns_per_episode']:.2f} turns each): **{evaluation['seconds']:.0f} s** "
        f"(accuracy {evaluation['accuracy']:.1%}).",
        "",
        "| cpu-demo GRPO step (multi-turn) | envs | dtype | rollout s | forward s | backward s | train s | step s "
        "| mean \\|Δ log-prob\\| |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, step in steps.items():
        lines.append(
            f"| {name} | {step['envs']} | {step.get('dtype', 'float32')} | {step['rollout_seconds']:.1f} | "
            f"{step.get('forward_seconds', float('nan')):.1f} | {step.get('backward_seconds', float('nan')):.1f} | "
            f"{step['train_seconds']:.1f} | {step['seconds']:.1f} | "
            f"{step.get('sampler_logprob_gap', float('nan')):.1e} |"
        )
    checks = row["checks"]
    if "bf16" in row:
        half, ceiling = row["bf16"], row["gemm_gflops"]
        lines += [
            "",
            f"bfloat16 ÷ float32 on the same episodes at {half['batch']} envs: "
            f"prefill **{half['prefill_speedup']:.2f}×**, decode **{half['decode_speedup']:.2f}×**, "
            f"episodes/s **{half['episodes_speedup']:.2f}×** (best batch "
            f"against best: {half['best_episodes_speedup']:.2f}×); a float32 copy with LoRA merged ÷ the peft "
            f"model: {half['merged_fp32_episodes_speedup']:.2f}× episodes/s; cpu-demo GRPO step bf16 ÷ fp32: "
            f"**{half['step_ratio']:.2f}×**. Sampler vs float32 learner: mean |Δ log-prob| "
            f"{checks.get('bf16_logprob_gap_mean', float('nan')):.3f} on sampled tokens.",
            "",
            "| GEMM ceiling, same run | float32 GFLOPS | bfloat16 GFLOPS |",
            "|---|---|---|",
            *(
                f"| {name} | {g['float32']:.0f} | {g['bfloat16']:.0f} |"
                for name, g in ceiling.items()
                if isinstance(g, dict)
            ),
            "",
            f"CPU capability (torch): {ceiling['cpu_capability']}.",
        ]
    lines += [
        "",
        f"Step plain ÷ incremental: {row['step_speedup']:.2f}× (the plain step also runs every prompt token in the "
        f"training forward). Peak RSS {row['peak_rss_mib']:,.0f} MiB.",
        "",
        f"Correctness: {checks['greedy_identical']}/{checks['greedy_episodes_compared']} greedy evaluation episodes "
        f"token-for-token identical on both paths; recorded log-probs of {checks['logprob_episodes']} sampled "
        f"episodes within {checks['logprob_max_abs_diff']:.1e} (max abs) of a fresh forward pass.",
    ]
    return "\n".join(lines)


def run(quick: bool = False) -> SuiteResult:
    if quick:
        row = measure(
            questions=4, samples=4, batch_sizes=(16,), eval_questions=16, check_questions=8, sft_warmup_steps=8
        )
    else:
        row = measure()
    half = row["bf16"]
    targets = [
        Target("incremental ÷ plain rollout episodes/s", row["speedup"], GOAL_SPEEDUP),
        Target("bf16 ÷ fp32 prefill tokens/s, same episodes", half["prefill_speedup"], BF16_GOALS["prefill"]),
        Target("bf16 ÷ fp32 decode tokens/s, same episodes", half["decode_speedup"], BF16_GOALS["decode"]),
        Target("bf16 ÷ fp32 rollout episodes/s, same episodes", half["episodes_speedup"], BF16_GOALS["episodes"]),
        Target("bf16 ÷ fp32 cpu-demo GRPO step seconds", half["step_ratio"], BF16_GOALS["step"], True),
    ]
    if row["evaluation"]["questions"] >= 160:
        targets.append(
            Target("greedy eval of 160 test questions, s", row["evaluation"]["seconds"], EVAL_GOAL_SECONDS, True)
        )
    return SuiteResult("rollout", row, targets, table(row))
