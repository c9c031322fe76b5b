"""The GRPO learner on a tiny random model: updates, masking, advantages, zero-signal groups, resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rezero_agents import checkpoints
from rezero_agents import learner as learner_module
from rezero_agents.grpo import GRPOLearner
from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.objectives import group_advantages, grpo_loss
from tests.rezero_agents.conftest import tiny_config


def test_advantages_are_zero_mean_within_each_group() -> None:
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=24)
    groups = np.repeat(np.arange(6), 4)
    for scale in (True, False):
        advantages, flat = group_advantages(rewards, groups, scale=scale)
        for group in range(6):
            assert abs(advantages[groups == group].mean()) < 1e-9
        assert flat == 0
    advantages, flat = group_advantages([1.0, 1.0, 1.0, 0.0, 2.0, 4.0], [0, 0, 0, 1, 1, 1])
    assert flat == 1 and advantages[:3].tolist() == [0.0, 0.0, 0.0]
    assert advantages[3:].tolist() == pytest.approx([-1.0, 0.0, 1.0], abs=1e-3)  # scaled by the group's std (2)


def test_loss_has_no_policy_gradient_when_advantages_are_zero() -> None:
    logits = torch.randn(2, 5, requires_grad=True)
    new = logits.log_softmax(-1)
    mask = torch.ones(2, 5, dtype=torch.bool)
    loss, _ = grpo_loss(
        new,
        new.detach(),
        None,
        torch.zeros(2),
        mask,
        epsilon=0.2,
        epsilon_high=0.2,
        beta=0.0,
        loss_type="token_mean",
        normalizer=10.0,
    )
    loss.backward()
    assert logits.grad is not None and torch.count_nonzero(logits.grad) == 0


def trainable_and_frozen(learner: GRPOLearner) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    named = dict(learner.unwrapped_model.named_parameters())
    trainable = {n: p.detach().clone() for n, p in named.items() if p.requires_grad}
    frozen = {n: p.detach().clone() for n, p in named.items() if not p.requires_grad}
    return trainable, frozen


def test_one_step_changes_adapters_and_leaves_the_base_model_untouched(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path))
    before_trainable, before_frozen = trainable_and_frozen(learner)
    assert before_trainable and before_frozen and all("lora_" in n for n in before_trainable)
    metrics = learner.train_step()
    after_trainable, after_frozen = trainable_and_frozen(learner)
    assert metrics["train/zero_signal_groups"] < 1.0  # the length reward differs within groups
    assert any(not torch.equal(before_trainable[n], after_trainable[n]) for n in before_trainable)
    assert all(torch.equal(before_frozen[n], after_frozen[n]) for n in before_frozen)
    for key in (
        "train/mean_reward",
        "train/accuracy",
        "train/mean_searches",
        "train/retry_rate",
        "loss/grad_norm",
        "loss/kl",
        "train/lr",
        "perf/generated_tokens_per_s",
        "train/mean_generated_tokens",
    ):
        assert key in metrics
    learner.close()


def test_identical_rewards_leave_the_policy_unchanged(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, env_id="SearchQA-v0", reward="none"))  # every reward is 0
    before, _ = trainable_and_frozen(learner)
    metrics = learner.train_step()
    after, _ = trainable_and_frozen(learner)
    assert metrics["train/zero_signal_groups"] == 1.0
    assert metrics["loss/grad_norm"] == 0.0
    assert all(torch.equal(before[n], after[n]) for n in before)
    learner.close()


def test_full_fine_tuning_with_a_reference_model(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, use_lora=False, beta=0.1))
    before, frozen = trainable_and_frozen(learner)
    assert not frozen
    first = learner.train_step()
    assert learner.reference is not None  # a frozen copy taken at the start of GRPO
    assert first["loss/kl"] == pytest.approx(0.0, abs=1e-6)  # the first step starts at the reference
    metrics = learner.train_step()
    after, _ = trainable_and_frozen(learner)
    assert any(not torch.equal(before[n], after[n]) for n in before)
    assert metrics["loss/kl"] > 0  # the policy moved away from the reference
    reference = dict(learner.reference.model.named_parameters())
    assert all(torch.equal(reference[n], before[n]) for n in before)
    learner.close()


def test_the_kl_reference_is_the_warm_start_not_the_base_model(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, beta=0.1, sft_warmup_steps=2, sft_batch_size=2))
    learner.warm_up()
    warm, _ = trainable_and_frozen(learner)
    assert any(bool(v.abs().sum() > 0) for n, v in warm.items() if "lora_B" in n)  # the warm-up moved the adapters
    learner.mark_start()
    first = learner.train_step()
    assert first["loss/kl"] == pytest.approx(0.0, abs=1e-6)  # measured against the warm start: nothing moved yet
    assert all(torch.equal(learner.start_weights[n], warm[n]) for n in warm)  # type: ignore[index]
    now, _ = trainable_and_frozen(learner)
    assert any(not torch.equal(now[n], warm[n]) for n in warm)  # the swap for the reference restored the weights
    learner.save()
    resumed = GRPOLearner(tiny_config(tmp_path, beta=0.1, sft_warmup_steps=2, sft_batch_size=2, resume=True))
    resumed.load(resumed.latest_checkpoint())  # type: ignore[arg-type]
    assert all(torch.equal(resumed.start_weights[n], warm[n]) for n in warm)  # type: ignore[index]
    learner.close()
    resumed.close()


KEYS = ("loss/loss", "loss/grad_norm", "train/mean_reward", "train/mean_generated_tokens")


def test_resume_continues_exactly(tmp_path: Path) -> None:
    straight = GRPOLearner(tiny_config(tmp_path, total_steps=3))
    straight.train_step()
    straight.save()
    expected = [straight.train_step() for _ in range(2)]
    expected_weights, _ = trainable_and_frozen(straight)
    straight.close()
    assert expected[0]["loss/grad_norm"] > 0  # the steps after the checkpoint do learn something

    resumed = GRPOLearner(tiny_config(tmp_path, total_steps=3, resume=True))
    resumed.load(resumed.latest_checkpoint())  # type: ignore[arg-type]
    assert resumed.step == 1
    for want in expected:
        got = resumed.train_step()
        assert {k: got[k] for k in KEYS} == pytest.approx({k: want[k] for k in KEYS}, rel=1e-5, abs=1e-7)
    weights, _ = trainable_and_frozen(resumed)
    assert all(torch.allclose(weights[n], expected_weights[n], atol=1e-6) for n in weights)
    resumed.close()


def test_a_resumed_run_reports_every_step_and_validation_of_the_run(tmp_path: Path) -> None:
    settings = {"eval_every": 1, "validation_questions": 3, "eval_after": False, "save_every": 1}
    first = GRPOLearner(tiny_config(tmp_path, total_steps=2, **settings)).train()
    assert [row["step"] for row in first["history"]] == [1, 2]
    resumed = GRPOLearner(tiny_config(tmp_path, total_steps=3, resume=True, **settings)).train()
    assert [row["step"] for row in resumed["history"]] == [1, 2, 3]
    assert json.dumps(resumed["history"][:2]) == json.dumps(first["history"])  # NaN-safe: the same records
    assert [step for step, _ in resumed["validation"]] == [0, 1, 2, 3]
    assert resumed["validation"][:3] == first["validation"]
    assert len(json.loads((tmp_path / "summary.json").read_text())["history"]) == 3


def test_a_checkpoint_with_a_malformed_run_record_is_refused_by_name(tmp_path: Path) -> None:
    GRPOLearner(tiny_config(tmp_path, total_steps=1, save_every=1)).train()
    state_file = tmp_path / "checkpoints" / "step-000001" / "state.json"
    state = json.loads(state_file.read_text())
    state["validation_curve"] = [[0, "high"]]
    state_file.write_text(json.dumps(state))
    info = checkpoints.CheckpointInfo(state_file.parent, state, verified=True)
    with pytest.raises(checkpoints.CheckpointError, match=r"state\.json.*'validation_curve'"):
        checkpoints.run_record(info)


def test_train_writes_summary_logs_and_checkpoint(tmp_path: Path) -> None:
    learner = GRPOLearner(
        tiny_config(
            tmp_path,
            env_id="SearchQA-v0",
            reward="rezero",
            eval_before=True,
            sft_warmup_steps=2,
            sft_batch_size=2,
            sft_learning_rate=1e-2,
        )
    )
    reports: list[tuple[str, int, int]] = []
    learner.progress = lambda phase, done, total: reports.append((phase, done, total))
    summary = learner.train()
    assert {"eval_base", "sft", "eval_after_sft", "eval_final", "checkpoint", "history"} <= set(summary)
    # each phase reports its progress; GRPO from 0, so a progress bar times the first step too
    assert [r for r in reports if r[0] == "GRPO"] == [("GRPO", 0, 2), ("GRPO", 1, 2), ("GRPO", 2, 2)]
    assert ("warm-up", 2, 2) in reports and ("eval last", 2, 2) in reports
    assert summary["sft"]["sft_last_loss"] < summary["sft"]["sft_first_loss"]
    assert len(summary["history"]) == 2
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    checkpoint = Path(summary["checkpoint"])
    assert (checkpoint / "model" / "adapter_config.json").is_file() and (checkpoint / "optimizer.pt").is_file()
    records = [json.loads(line) for line in (tmp_path / "episodes.jsonl").read_text().splitlines()]
    assert {r["phase"] for r in records} == {"train", "eval"}
    # evaluations are told apart: a stage label each, and unique episode ids
    assert {r["stage"] for r in records if r["phase"] == "eval"} == {"base+few-shot", "warm-up", "step 2"}
    assert len({r["episode_id"] for r in records}) == len(records)
    last = [r for r in records if r["stage"] == "step 2"]
    assert all(r["checkpoint"].endswith("checkpoints/step-000002") for r in last)
    trained = [r for r in records if r["phase"] == "train"]
    assert all("advantage" in r["learner"] and len(r["learner"]["group_members"]) == 2 for r in trained)
    assert json.loads((tmp_path / "summary.json").read_text())["eval_final"]["episodes"] == 2


def scalar_tags(folder: Path) -> set[str]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: set[str] = set()
    for events in folder.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        tags |= set(accumulator.Tags()["scalars"])
    return tags


DIAGNOSTICS = (
    "loss/entropy",
    "loss/kl",
    "loss/clip_ratio",
    "loss/grad_norm",
    "train/tokens_per_turn",
    "train/mean_searches",
    "train/zero_signal_groups",
    "train/reward_terms/length",
    "perf/rollout_seconds",
    "perf/forward_seconds",
    "perf/backward_seconds",
    "perf/generated_tokens_per_s",
    "perf/trained_tokens_per_s",
    "validation/accuracy",
    "validation/best_accuracy",
    "test_last/accuracy",
    "test_best/accuracy",
)


def test_validation_keeps_the_best_checkpoint_and_logs_every_diagnostic(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, total_steps=2, eval_every=1, validation_questions=3))
    assert set(learner.train_tasks).isdisjoint(learner.validation_tasks) and len(learner.validation_tasks) == 3
    accuracies = iter([0.2, 0.6, 0.4])  # step 0, 1, 2: the best is step 1
    real_evaluate = learner.evaluate

    def evaluate(label: str, *args: Any, validation: bool = False, **kwargs: Any) -> dict[str, Any]:
        summary = real_evaluate(label, *args, validation=validation, **kwargs)
        if validation:
            summary["accuracy"] = next(accuracies)
        return summary

    learner.evaluate = evaluate  # type: ignore[method-assign]
    weights_at = {}
    real_step = learner.train_step

    def train_step() -> dict[str, float]:
        metrics = real_step()
        weights_at[learner.step] = {k: v.clone() for k, v in trainable_and_frozen(learner)[0].items()}
        return metrics

    learner.train_step = train_step  # type: ignore[method-assign]
    summary = learner.train()
    assert summary["best"] == {"step": 1, "split": "validation", "accuracy": 0.6, "n": 3}
    best = tmp_path / "checkpoints" / "best"
    assert json.loads((best / "state.json").read_text())["selected"]["step"] == 1
    assert (tmp_path / "checkpoints" / "latest").read_text().strip() == "step-000002"  # best leaves latest alone
    assert {"eval_final", "eval_best", "stopped"} <= set(summary)
    assert summary["eval_best"]["label"] == "best" and summary["eval_final"]["label"] == "last"
    # the model was evaluated with the best step's weights
    weights, _ = trainable_and_frozen(learner)
    assert all(torch.equal(weights[n], weights_at[1][n]) for n in weights)
    assert not all(torch.equal(weights_at[2][n], weights_at[1][n]) for n in weights)
    missing = set(DIAGNOSTICS) - scalar_tags(tmp_path / "tb")
    assert not missing, missing


def test_eval_every_refuses_to_select_on_the_test_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="validation"):
        tiny_config(tmp_path, eval_every=1, validation_questions=0)


def test_validation_questions_are_never_trained_on(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, validation_questions=50, questions_per_step=8))
    held_out = set(learner.validation_tasks)
    drawn = set()
    for _ in range(40):
        drawn |= set(learner.rng.choice(learner.train_tasks, size=8, replace=False).tolist())
    assert drawn and drawn.isdisjoint(held_out)
    again = GRPOLearner(tiny_config(tmp_path / "other", validation_questions=50, seed=7))
    assert again.validation_tasks == learner.validation_tasks  # validation_seed, not seed, draws them
    learner.close()
    again.close()


def test_collapse_guard_stops_on_entropy_out_of_band(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, total_steps=4, max_entropy=1e-6, collapse_patience=2))
    summary = learner.train()
    assert summary["stopped"]["step"] == 2
    assert "max_entropy" in summary["stopped"]["reason"] and len(summary["history"]) == 2


def test_collapse_guard_rules() -> None:
    from rezero_agents.collapse import CollapseGuard

    guard = CollapseGuard(GRPOConfig(collapse_margin=0.1))
    assert guard.after_validation(0.35, best=0.4) is None
    assert "collapse_margin" in (guard.after_validation(0.25, best=0.4) or "")
    guard = CollapseGuard(GRPOConfig(max_tokens_per_turn=50, collapse_patience=2))
    assert guard.after_step({"train/tokens_per_turn": 60}) is None
    assert guard.after_step({"train/tokens_per_turn": 40}) is None  # back in the band: the count restarts
    assert guard.after_step({"train/tokens_per_turn": 60}) is None
    assert "max_tokens_per_turn" in (guard.after_step({"train/tokens_per_turn": 61}) or "")


def test_init_from_starts_from_a_saved_warm_start(tmp_path: Path) -> None:
    warm = GRPOLearner(tiny_config(tmp_path / "warm", sft_warmup_steps=1, sft_batch_size=2))
    warm.warm_up()
    folder = warm.save()
    saved, _ = trainable_and_frozen(warm)
    warm.close()
    learner = GRPOLearner(tiny_config(tmp_path / "run", sft_warmup_steps=5, init_from=tmp_path / "warm"))
    assert learner.initialize_from(tmp_path / "warm") == folder
    weights, _ = trainable_and_frozen(learner)
    assert all(torch.equal(weights[n], saved[n]) for n in weights) and learner.sft_done
    learner.close()
    with pytest.raises(checkpoints.CheckpointError, match="holds no checkpoint"):
        GRPOLearner(tiny_config(tmp_path / "x", init_from=tmp_path / "nothing")).train()


def test_dynamic_sampling_trains_only_groups_whose_rewards_differ(tmp_path: Path) -> None:
    learner = GRPOLearner(
        tiny_config(tmp_path, dynamic_sampling=True, oversample=2.0, questions_per_step=2, rollout_batch_size=8)
    )
    seen: list[list[int]] = []
    real_optimize = learner.optimize

    def optimize(episodes: Any, advantages: Any) -> dict[str, float]:
        seen.append([e.group for e in episodes])
        assert len(episodes) == len(advantages)
        return real_optimize(episodes, advantages)

    learner.optimize = optimize  # type: ignore[method-assign]
    rewards_by_group: dict[int, list[float]] = {}
    real_collect = learner_module.collect_episodes

    def collect(*args: Any, **kwargs: Any) -> Any:
        episodes = real_collect(*args, **kwargs)
        for e in episodes:
            rewards_by_group.setdefault(e.group, []).append(e.reward)
        return episodes

    learner_module.collect_episodes = collect  # type: ignore[assignment]
    try:
        metrics = learner.train_step()
    finally:
        learner_module.collect_episodes = real_collect  # type: ignore[assignment]
    assert len(rewards_by_group) == 4  # 2 questions × oversample 2 drawn and played
    trained = set(seen[0])
    assert len(trained) == metrics["train/trained_groups"] <= 2
    assert all(len(set(rewards_by_group[g])) > 1 for g in trained)
    learner.close()


def test_gated_shaping_pays_shaping_terms_only_with_a_correct_answer(tmp_path: Path) -> None:
    from rezero_agents.rollout import Episode
    from rezero_env.types import Task

    learner = GRPOLearner(tiny_config(tmp_path, env_id="SearchQA-v0", reward="rezero", reward_shaping="gated"))
    task = Task(id="t", question="q?", answers=("a",))
    terms = {"correctness": 0.0, "format": 1.0, "retry": 0.5, "em_chunk": 1.0, "search_strategy": 0.6}
    wrong = Episode(task, 0, reward=4 * 0 + 2 * 1 + 0.5 + 1 + 0.6, reward_terms=terms)
    right = Episode(task, 0, reward=4 + 2 * 1 + 0.5 + 1 + 0.6, reward_terms={**terms, "correctness": 1.0})
    assert learner.training_reward(wrong) == pytest.approx(2.0)  # format only
    assert learner.training_reward(right) == pytest.approx(right.reward)
    learner.close()
    with pytest.raises(ValueError, match="named reward preset"):
        GRPOLearner(tiny_config(tmp_path / "x", reward_shaping="gated", reward="custom"))


def test_resume_refuses_settings_that_change_the_run_unless_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 27, item 2: ``--resume`` after changing the dataset and the learning rate used to continue silently
    and overwrite config.json."""
    first = GRPOLearner(tiny_config(tmp_path, total_steps=1))
    first.train_step()
    first.save()
    first.close()
    saved = (tmp_path / "config.json").read_text()
    changed = {"learning_rate": 5e-3, "top_k": 2}
    with pytest.raises(checkpoints.CheckpointError, match=r"state\.json: resume") as refused:
        GRPOLearner(tiny_config(tmp_path, total_steps=1, resume=True, **changed))
    assert "learning_rate 0.01 → 0.005" in str(refused.value) and "top_k 3 → 2" in str(refused.value)
    assert "--resume-allow-changes top_k learning_rate" in str(refused.value)
    assert (tmp_path / "config.json").read_text() == saved  # refused before anything was written

    with caplog.at_level("INFO", logger="rezero_agents.learner"):  # total_steps only extends the run: allowed
        allowed = ("learning-rate", "top_k")  # the flag's spelling or the field's
        resumed = GRPOLearner(
            tiny_config(tmp_path, total_steps=2, resume=True, resume_allow_changes=allowed, **changed)
        )
    assert "total_steps 1 → 2" in caplog.text and "learning_rate 0.01 → 0.005" in caplog.text
    assert json.loads((tmp_path / "config.json").read_text())["learning_rate"] == 5e-3
    resumed.close()
    with pytest.raises(ValueError, match=r"resume_allow_changes.*no_such_field"):
        tiny_config(tmp_path, resume_allow_changes=("no_such_field",))
