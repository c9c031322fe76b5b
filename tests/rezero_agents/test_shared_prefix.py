"""Running a group's common prompt once in the training forward gives the same log-probs and the same gradient."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rezero_agents.models import load_model
from rezero_agents.rollout import Episode
from rezero_agents.scoring import TokenScorer, micro_batches, pad_sequences
from rezero_env.types import Task

PROMPT = list(range(100, 140))
COMPLETIONS = [[7, 8, 9, 10, 11], [7, 8, 12], [13, 14, 15, 16, 17, 18, 19], [20, 21]]


def sequences() -> list[tuple[list[int], list[int]]]:
    """A group: the same prompt, then a completion (trained), an environment block (not), a second completion."""
    rows = []
    for index, completion in enumerate(COMPLETIONS):
        information = [300 + index, 301, 302]
        second = [400 + index, 401]
        ids = PROMPT + completion + information + second
        mask = [0] * len(PROMPT) + [1] * len(completion) + [0] * len(information) + [1] * len(second)
        rows.append((ids, mask))
    return rows


@pytest.fixture
def lora_model(tiny_model_path: str) -> Any:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj"], init_lora_weights=False)
    return get_peft_model(load_model(tiny_model_path, dtype="float32"), config)


def gradients(model: Any, logprobs: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad(set_to_none=True)
    (logprobs * torch.linspace(-1, 1, logprobs.shape[1])).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}


def test_shared_prefix_gives_the_same_logprobs_and_gradient(lora_model: Any, tokenizer: Any) -> None:
    scorer = TokenScorer(lora_model, temperature=0.9)
    input_ids, attention, targets = pad_sequences(sequences(), tokenizer.pad_token_id, torch.device("cpu"))
    full = scorer(input_ids, attention, targets)
    full_grads = gradients(lora_model, full)
    shared = scorer(input_ids, attention, targets, shared_prefix=len(PROMPT))
    shared_grads = gradients(lora_model, shared)
    assert torch.allclose(full, shared, atol=1e-5)
    assert (full[targets] != 0).all() and (full[~targets] == 0).all() and (shared[~targets] == 0).all()
    assert full_grads.keys() == shared_grads.keys() and full_grads
    for name, grad in full_grads.items():
        assert torch.allclose(grad, shared_grads[name], atol=1e-5, rtol=1e-4), name


def test_a_prefix_the_rows_do_not_share_is_refused(lora_model: Any, tokenizer: Any) -> None:
    rows = sequences()
    rows[1] = ([999, *rows[1][0][1:]], rows[1][1])
    input_ids, attention, targets = pad_sequences(rows, tokenizer.pad_token_id, torch.device("cpu"))
    with pytest.raises(ValueError, match="same unpadded tokens"):
        TokenScorer(lora_model)(input_ids, attention, targets, shared_prefix=len(PROMPT))


def test_micro_batches_keep_groups_together_and_stop_the_prefix_before_the_first_trained_token() -> None:
    task = Task(id="t", question="q", answers=["a"])
    episodes = []
    for group in (0, 1):
        for ids, mask in sequences():
            episodes.append(Episode(task=task, group=group, token_ids=ids, loss_mask=mask))
    episodes[5].loss_mask = [0] * 20 + [1] * (len(episodes[5].loss_mask) - 20)  # trained from position 20
    chunks = micro_batches(episodes, list(range(8)), size=3)
    assert chunks == [([0, 1, 2], len(PROMPT)), ([3], 0), ([4, 5, 6], 20), ([7], 0)]
    assert micro_batches(episodes, list(range(8)), size=4, share_prompt=False) == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
