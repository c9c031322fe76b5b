"""Sampling in bfloat16 from float32 master weights, the sampler/learner gap and its correction, and training under
bfloat16 autocast, on the tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from rezero_agents.chat import ChatFormatter
from rezero_agents.grpo import GRPOLearner
from rezero_agents.models import load_model
from rezero_agents.objectives import grpo_loss, truncated_importance_weights
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.sampling_copy import SamplingCopy
from rezero_agents.scoring import TokenScorer, pad_sequences
from rezero_env.types import Message
from tests.rezero_agents.conftest import tiny_config


@pytest.fixture
def lora_model(tiny_model_path: str) -> Any:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj"], init_lora_weights=False)
    return get_peft_model(load_model(tiny_model_path, dtype="float32"), config).eval()


def logits(model: Any, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


IDS = torch.tensor([[5, 60, 700, 8000, 9, 10, 11, 12]])


def test_a_copy_with_lora_merged_computes_what_the_peft_model_computes(lora_model: Any) -> None:
    copy = SamplingCopy(lora_model, "float32")
    assert not any("lora" in name for name, _ in copy.model.named_parameters())
    assert torch.allclose(logits(copy.model, IDS), logits(lora_model, IDS), atol=1e-5)
    half = SamplingCopy(lora_model, "bfloat16")
    assert next(half.model.parameters()).dtype == torch.bfloat16
    assert torch.allclose(logits(half.model, IDS), logits(lora_model, IDS), atol=0.1)


def test_the_copy_follows_every_change_of_the_master_weights(lora_model: Any) -> None:
    copy = SamplingCopy(lora_model, "float32")
    assert not copy.refresh()  # nothing changed
    with torch.no_grad():
        for name, parameter in lora_model.named_parameters():
            if "lora_B" in name:
                parameter.add_(0.5)
    assert not torch.allclose(logits(copy.model, IDS), logits(lora_model, IDS), atol=1e-3)  # stale until refreshed
    assert copy.refresh() and not copy.refresh()
    assert torch.allclose(logits(copy.model, IDS), logits(lora_model, IDS), atol=1e-5)


def test_a_bfloat16_policy_samples_from_the_current_weights(lora_model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(lora_model, formatter, batch_size=4, dtype="bfloat16")
    assert policy.dtype == "bfloat16" and TransformersPolicy(lora_model, formatter).dtype == "float32"
    prompt = formatter.prompt_ids([Message(role="system", content="s"), Message(role="user", content="Who?")])
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=6)
    before = policy.generate([prompt], greedy)[0].token_ids
    with torch.no_grad():
        for name, parameter in lora_model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(-20.0)
    after = policy.generate([prompt], greedy)[0].token_ids
    fresh = TransformersPolicy(lora_model, formatter, batch_size=4, dtype="bfloat16").generate([prompt], greedy)
    assert after == fresh[0].token_ids and after != before  # the new weights, not the cached copy's


def test_recorded_bfloat16_logprobs_are_close_to_the_learners(lora_model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    sampling = SamplingConfig(temperature=0.9, max_new_tokens=10)
    prompt = formatter.prompt_ids([Message(role="system", content="s"), Message(role="user", content="Where?")])
    gaps = {}
    for dtype in ("auto", "float32", "bfloat16"):
        completion = TransformersPolicy(lora_model, formatter, dtype=dtype).generate([prompt] * 4, sampling, seed=3)
        rows = [(prompt + c.token_ids, [0] * len(prompt) + [1] * len(c.token_ids)) for c in completion]
        input_ids, attention, targets = pad_sequences(rows, tokenizer.pad_token_id, torch.device("cpu"))
        with torch.no_grad():
            learner = TokenScorer(lora_model, temperature=0.9)(input_ids, attention, targets)
        recorded = [lp for c in completion for lp in c.logprobs[: len(c.token_ids)]]
        gaps[dtype] = float((learner[targets] - torch.tensor(recorded[: int(targets.sum())])).abs().mean())
    assert max(gaps["auto"], gaps["float32"]) < 1e-4 < gaps["bfloat16"] < 0.2, gaps  # float32: a LoRA-merged copy


def test_truncated_importance_weights_scale_the_policy_gradient() -> None:
    logits = torch.randn(1, 4, requires_grad=True)
    new = logits.log_softmax(-1)
    mask = torch.ones(1, 4, dtype=torch.bool)
    sampler = new.detach() + torch.tensor([[0.0, 0.5, -0.5, -2.0]])  # the learner gives the last token e^2 more
    weights, stats = truncated_importance_weights(new, sampler, mask, cap=3.0)
    assert weights.tolist()[0] == pytest.approx([1.0, 0.6065, 1.6487, 3.0], abs=1e-4)
    assert stats["truncated_tokens"] == 1 and stats["logprob_gap_sum"] == pytest.approx(3.0)
    common = {"epsilon": 0.2, "epsilon_high": 0.2, "beta": 0.0, "loss_type": "token_mean", "normalizer": 4.0}
    advantages = torch.tensor([1.0])
    weighted, _ = grpo_loss(new, new.detach(), None, advantages, mask, sampling_weights=weights, **common)
    (with_weights,) = torch.autograd.grad(weighted, logits, retain_graph=True)
    one_token = [mask & (torch.arange(4) == t) for t in range(4)]
    per_token = [grpo_loss(new, new.detach(), None, advantages, only, **common)[0] for only in one_token]
    grads = [torch.autograd.grad(loss, logits, retain_graph=True)[0] for loss in per_token]
    expected = sum(w * grad for w, grad in zip(weights[0], grads, strict=True))
    assert torch.allclose(with_weights, expected, atol=1e-6)


@pytest.mark.parametrize("autocast", [None, torch.bfloat16])
def test_shared_prefix_gradient_under_autocast(lora_model: Any, tokenizer: Any, autocast: Any) -> None:
    from tests.rezero_agents.test_shared_prefix import PROMPT, gradients, sequences

    scorer = TokenScorer(lora_model.train(), temperature=0.9, autocast=autocast)
    input_ids, attention, targets = pad_sequences(sequences(), tokenizer.pad_token_id, torch.device("cpu"))
    full = scorer(input_ids, attention, targets)
    full_grads = gradients(lora_model, full)
    shared = scorer(input_ids, attention, targets, shared_prefix=len(PROMPT))
    shared_grads = gradients(lora_model, shared)
    tolerance = 1e-5 if autocast is None else 2e-2  # bfloat16 keeps 8 bits of mantissa
    assert full.dtype == torch.float32 and torch.allclose(full, shared, atol=tolerance * 10)
    for name, grad in full_grads.items():
        assert grad.dtype == torch.float32  # master gradients stay float32
        scale = float(grad.abs().max()) + 1e-12
        assert float((grad - shared_grads[name]).abs().max()) <= tolerance * scale * 10, name


@pytest.mark.parametrize("train_dtype", ["float32", "bfloat16"])
def test_zero_advantages_leave_the_policy_unchanged_in_either_dtype(tmp_path: Path, train_dtype: str) -> None:
    learner = GRPOLearner(
        tiny_config(tmp_path, env_id="SearchQA-v0", reward="none", rollout_dtype="bfloat16", train_dtype=train_dtype)
    )
    before = {n: p.detach().clone() for n, p in learner.unwrapped_model.named_parameters() if p.requires_grad}
    metrics = learner.train_step()
    after = dict(learner.unwrapped_model.named_parameters())
    assert metrics["loss/grad_norm"] == 0.0 and all(torch.equal(before[n], after[n]) for n in before)
    learner.close()


def test_a_bfloat16_run_logs_the_gap_and_its_dtypes(tmp_path: Path) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, rollout_dtype="bfloat16", train_dtype="bfloat16", eval_before=True))
    assert learner.eval_policy is not learner.policy  # evaluation keeps the master dtype by default
    metrics = learner.train_step()
    assert 0 < metrics["loss/sampler_logprob_gap"] < 0.5 and 0 <= metrics["loss/truncated_weights"] <= 1
    assert learner.evaluate("last")["dtype"] == "float32"
    learner.close()
    fp32 = GRPOLearner(tiny_config(tmp_path / "fp32"))
    assert fp32.train_step()["loss/sampler_logprob_gap"] < 1e-4
    fp32.close()
