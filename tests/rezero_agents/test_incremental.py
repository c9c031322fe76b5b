"""Incremental decoding gives what re-reading the transcript gives: the same greedy tokens turn after turn, log-probs
that match a fresh forward pass, reproducible sampling, and no stale cache after the weights change."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from rezero_agents.chat import ChatFormatter
from rezero_agents.models import load_model
from rezero_agents.policy import Completion, SamplingConfig, TransformersPolicy
from rezero_agents.scoring import TokenScorer, pad_sequences
from rezero_env.types import Message

GREEDY = SamplingConfig(temperature=0.0, max_new_tokens=12)
QUESTIONS = ["Where was Velmora born?", "Who founded the Kessa printing house?", "When did the river flood?"]


def varied(model: Any) -> Any:
    """The tiny random model with its matrices perturbed (seeded): untouched, its greedy output is a run of newlines,
    which would make token-for-token comparisons trivially true."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.3)
    return model


@pytest.fixture(scope="module")
def model(tiny_model_path: str) -> Any:
    return varied(load_model(tiny_model_path, dtype="float32")).eval()


def prompts(formatter: ChatFormatter, copies: int = 2) -> list[list[int]]:
    """Each question ``copies`` times (a group), all behind the same system prompt."""
    return [
        formatter.prompt_ids([Message(role="system", content="Answer with search."), Message(role="user", content=q)])
        for q in QUESTIONS
        for _ in range(copies)
    ]


def extend(formatter: ChatFormatter, prompt: list[int], completion: Completion, turn: int) -> list[int]:
    """The next turn's prompt: the sampled ids, an end of turn, an information message, a generation prompt."""
    information = f"<information>Doc {turn}: the answer may be Kessa {turn * 7}.</information>"
    tail = formatter.encode(f"<|im_end|>\n<|im_start|>user\n{information}<|im_end|>\n<|im_start|>assistant\n")
    return prompt + completion.token_ids + tail


def play(policy: TransformersPolicy, first: list[list[int]], sampling: SamplingConfig, turns: int = 3) -> list[Any]:
    """``turns`` generate calls, each prompt extended by its completion; returns every call's completions."""
    current, calls = first, []
    for turn in range(turns):
        completions = policy.generate(current, sampling, seed=11 + turn)
        calls.append(completions)
        current = [extend(policy.formatter, p, c, turn) for p, c in zip(current, completions, strict=True)]
    return calls


def test_greedy_tokens_equal_the_plain_path_turn_after_turn(model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    incremental = TransformersPolicy(model, formatter, batch_size=4)
    plain = TransformersPolicy(model, formatter, batch_size=4, incremental=False)
    first = prompts(formatter)
    new, old = play(incremental, first, GREEDY), play(plain, first, GREEDY)
    assert len({tuple(c.token_ids) for call in old for c in call}) > 3  # not a trivial comparison
    assert [[c.token_ids for c in call] for call in new] == [[c.token_ids for c in call] for call in old]
    assert [[c.finish_reason for c in call] for call in new] == [[c.finish_reason for c in call] for call in old]
    stats = incremental.decoder.stats
    assert stats["reused_tokens"] > stats["prefill_tokens"]  # later turns read only what was appended


def test_logprobs_match_a_fresh_forward_pass(model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(model, formatter, batch_size=8)
    sampling = SamplingConfig(temperature=0.9, max_new_tokens=12)
    current = prompts(formatter)
    sequences: list[tuple[list[int], list[int], list[float]]] = [(p, [0] * len(p), [0.0] * len(p)) for p in current]
    for turn in range(3):
        completions = policy.generate(current, sampling, seed=turn)
        grown = []
        for (ids, mask, logprobs), prompt, completion in zip(sequences, current, completions, strict=True):
            nxt = extend(formatter, prompt, completion, turn)
            extra = len(nxt) - len(prompt) - len(completion.token_ids)
            ids = nxt
            mask = mask + [1] * len(completion.token_ids) + [0] * extra
            logprobs = logprobs + completion.logprobs + [0.0] * extra
            grown.append((ids, mask, logprobs))
        sequences, current = grown, [s[0] for s in grown]
    scorer = TokenScorer(model, temperature=sampling.temperature)  # recorded: under the tempered distribution
    input_ids, attention, targets = pad_sequences([(i, m) for i, m, _ in sequences], tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        fresh = scorer(input_ids, attention, targets)
    for row, (_, mask, recorded) in enumerate(sequences):
        trained = torch.tensor(mask[1:], dtype=torch.bool)
        difference = (fresh[row, : len(mask) - 1][trained] - torch.tensor(recorded[1:])[trained]).abs().max()
        assert float(difference) < 1e-4


def test_sampling_with_a_seed_reproduces_itself(model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    sampling = SamplingConfig(temperature=0.9, max_new_tokens=12)
    runs = [play(TransformersPolicy(model, formatter, batch_size=4), prompts(formatter), sampling) for _ in range(2)]
    assert [[c.token_ids for c in call] for call in runs[0]] == [[c.token_ids for c in call] for call in runs[1]]
    state = torch.get_rng_state()
    TransformersPolicy(model, formatter).generate(prompts(formatter), sampling, seed=5)
    assert torch.equal(state, torch.get_rng_state())  # torch's global generator is left alone


def test_a_group_and_the_shared_system_prompt_are_prefilled_once(model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(model, formatter, batch_size=16)
    group = prompts(formatter, copies=4)
    policy.generate(group, GREEDY, seed=0)
    unique = {tuple(p) for p in group}
    # every distinct prompt once, and the system prompt they share only once
    assert policy.decoder.stats["prefill_tokens"] < sum(len(p) for p in unique)


def test_a_weight_change_between_calls_drops_the_cache(tiny_model_path: str, tokenizer: Any) -> None:
    model = varied(load_model(tiny_model_path, dtype="float32")).eval()
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(model, formatter, batch_size=8)
    first = prompts(formatter)
    completions = policy.generate(first, GREEDY, seed=0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1.5)  # an in-place update, as an optimizer step makes
    second = [extend(formatter, p, c, 0) for p, c in zip(first, completions, strict=True)]
    new = policy.generate(second, GREEDY, seed=1)  # a stale cache would give other tokens
    old = TransformersPolicy(model, formatter, incremental=False).generate(second, GREEDY, seed=1)
    assert [c.token_ids for c in new] == [c.token_ids for c in old]


def test_calls_larger_than_a_batch_and_lora_models(tiny_model_path: str, tokenizer: Any) -> None:
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(
        varied(load_model(tiny_model_path, dtype="float32")),
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    ).eval()
    formatter = ChatFormatter(tokenizer)
    first = prompts(formatter)  # 6 prompts in batches of 4
    new = play(TransformersPolicy(model, formatter, batch_size=4), first, GREEDY, turns=2)
    old = play(TransformersPolicy(model, formatter, batch_size=4, incremental=False), first, GREEDY, turns=2)
    assert [[c.token_ids for c in call] for call in new] == [[c.token_ids for c in call] for call in old]


def test_clear_cache_forgets_the_previous_call(model: Any, tokenizer: Any) -> None:
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(model, formatter)
    policy.generate(prompts(formatter), GREEDY, seed=0)
    assert len(policy.decoder.store) > 0
    policy.clear_cache()
    assert len(policy.decoder.store) == 0


def test_rows_that_stop_early_leave_the_batch_and_keep_their_cache(model: Any, tokenizer: Any) -> None:
    from rezero_agents.incremental import IncrementalDecoder, Sampler

    def decode(decoder: IncrementalDecoder, batch: list[list[int]]) -> list[list[int]]:
        options = {"batch_size": 16, "max_new_tokens": 16, "sampler": Sampler(0.0), "eos_id": None, "pad_id": 0}
        return [row.token_ids for row in decoder.generate(batch, **options)]

    formatter = ChatFormatter(tokenizer)
    first = prompts(formatter, copies=1) + [[*p, 300 + i] for i, p in enumerate(prompts(formatter, copies=1))]
    shared = IncrementalDecoder(model, tokenizer, stop_strings=("a",))  # a frequent stop: rows end at many lengths
    outputs = decode(shared, first)
    assert len({len(o) for o in outputs}) > 2 and min(len(o) for o in outputs) < 16
    second = [p + o + [301, 302] for p, o in zip(first, outputs, strict=True)]
    again = decode(shared, second)
    assert shared.stats["reused_tokens"] > 0
    alone = [decode(IncrementalDecoder(model, tokenizer, stop_strings=("a",)), [p])[0] for p in first + second]
    assert outputs + again == alone
