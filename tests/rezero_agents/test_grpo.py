"""The GRPO learner on a tiny random model: updates, masking, advantages, zero-signal groups, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rezero_agents.grpo import GRPOLearner, group_advantages, grpo_loss
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
    assert learner.reference is not None
    before, frozen = trainable_and_frozen(learner)
    assert not frozen
    learner.train_step()
    metrics = learner.train_step()
    after, _ = trainable_and_frozen(learner)
    assert any(not torch.equal(before[n], after[n]) for n in before)
    assert metrics["loss/kl"] > 0  # the policy moved away from the reference
    learner.close()


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


def test_train_writes_summary_logs_and_checkpoint(tmp_path: Path) -> None:
    learner = GRPOLearner(
        tiny_config(
            tmp_path, env_id="SearchQA-v0", reward="rezero", eval_before=True, sft_warmup_steps=2, sft_batch_size=2
        )
    )
    summary = learner.train()
    assert {"eval_base", "sft", "eval_after_sft", "eval_final", "checkpoint", "history"} <= set(summary)
    assert summary["sft"]["sft_last_loss"] < summary["sft"]["sft_first_loss"]
    assert len(summary["history"]) == 2
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    checkpoint = Path(summary["checkpoint"])
    assert (checkpoint / "model" / "adapter_config.json").is_file() and (checkpoint / "optimizer.pt").is_file()
    phases = {json.loads(line)["phase"] for line in (tmp_path / "episodes.jsonl").read_text().splitlines()}
    assert phases == {"train", "eval"}
    assert json.loads((tmp_path / "summary.json").read_text())["eval_final"]["episodes"] == 2
