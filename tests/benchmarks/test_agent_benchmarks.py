"""Small versions of the agent benchmarks (``rollout``, ``grpo_step``) on the tiny random model: they run and return
positive numbers (no timing asserts)."""

from __future__ import annotations

from benchmarks import grpo_step, rollout


def test_rollout_measures_both_paths_on_tiny_model() -> None:
    row = rollout.measure(
        "tiny-random",
        questions=2,
        samples=2,
        batch_sizes=(2, 4),
        plain_batch_sizes=(4,),
        eval_questions=4,
        check_questions=4,
        sft_warmup_steps=1,
        sft_batch_size=2,
        max_new_tokens=8,
        rollout_batch_size=4,
        gemm_seconds=0.01,
    )
    assert set(row["paths"]) == {
        "plain-4",
        "incremental-2",
        "incremental-4",
        "incremental-bf16-2",
        "incremental-bf16-4",
        "incremental-merged-4",
    }
    for path in row["paths"].values():
        assert path["episodes"] == 4 and path["episodes_per_s"] > 0 and path["generated_tokens"] > 0
    assert row["paths"]["incremental-4"]["prefilled_tokens"] > 0
    assert (
        row["paths"]["incremental-bf16-4"]["dtype"] == "bfloat16"
        and row["paths"]["incremental-4"]["dtype"] == "float32"
    )
    assert (
        row["paths"]["incremental-bf16-4"]["prefill_tokens_per_s"]
        > 0
        < row["paths"]["incremental-4"]["decode_tokens_per_s"]
    )
    assert row["best_batch"] in (2, 4) and row["speedup"] > 0
    assert row["evaluation"]["questions"] == 4
    assert set(row["grpo_step"]) == {"plain", "incremental", "incremental-bf16"}
    assert row["checks"]["greedy_identical"] == row["checks"]["greedy_episodes_compared"] == 4
    assert row["checks"]["logprob_max_abs_diff"] < 1e-4 < row["checks"]["bf16_logprob_gap_mean"] < 0.5
    assert row["bf16"]["batch"] == 4 and row["bf16"]["step_ratio"] > 0
    assert all(g["float32"] > 0 and g["bfloat16"] > 0 for g in row["gemm_gflops"].values() if isinstance(g, dict))
    assert "incremental" in rollout.table(row) and "GEMM ceiling" in rollout.table(row)


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
