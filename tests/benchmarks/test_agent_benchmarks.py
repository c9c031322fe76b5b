"""Small versions of the agent benchmarks (``rollout``, ``grpo_step``) on the tiny random model: they run and return
positive numbers (no timing asserts)."""

from __future__ import annotations

from benchmarks import grpo_step, rollout


def test_rollout_measures_tiny_model() -> None:
    row = rollout.measure("tiny-random", num_envs=4, max_new_tokens=8)
    assert row["generate_calls"] >= 1 and row["env_tokens"] > 0
    assert row["env_tokens"] == row["replay_tokens"]  # same prompts and seed: the replay samples the same tokens
    for key in ("env_tokens_per_s", "policy_tokens_per_s", "raw_tokens_per_s", "env_over_raw", "peak_rss_mib"):
        assert row[key] > 0, key


def test_grpo_step_measures_both_trainers_on_tiny_model() -> None:
    row = grpo_step.measure(
        "tiny-random", isolated=False, questions_per_step=2, num_generations=2, max_new_tokens=8, steps=1
    )
    assert row["batch"] == 4 and len(row["ours_step_seconds"]) == 1 and len(row["trl_step_seconds"]) == 1
    for key in (
        "ours_seconds_per_step",
        "ours_train_seconds",
        "ours_completion_tokens",
        "ours_peak_rss_mib",
        "trl_seconds_per_step",
        "trl_completion_tokens",
        "trl_peak_rss_mib",
        "ours_over_trl",
    ):
        assert row[key] > 0, key
