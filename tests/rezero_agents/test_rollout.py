"""The loss mask is 1 exactly on assistant-generated tokens, checked against a hand-built transcript."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym

import rezero_env  # noqa: F401
from rezero_agents.chat import ChatFormatter
from rezero_agents.policy import Completion, SamplingConfig
from rezero_agents.rollout import collect_episodes

MESSAGES = [
    "<think>I will search.</think>\n<search>Velmora river</search>",
    "<think>Based on the results, it is clear.</think>\n<answer>Nowhere</answer>",
]


class ScriptedTokenPolicy:
    """Returns fixed messages as token completions (the second one ends with the end-of-turn token)."""

    def __init__(self, formatter: ChatFormatter) -> None:
        self.formatter = formatter
        self.calls = 0

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        text = MESSAGES[self.calls]
        self.calls += 1
        ids = self.formatter.encode(text) + ([self.formatter.eos_token_id] if self.calls == 2 else [])
        return [Completion(text, ids, [-0.5] * len(ids), "stop") for _ in prompts]


def test_loss_mask_marks_exactly_the_sampled_tokens(tokenizer) -> None:  # type: ignore[no-untyped-def]
    formatter = ChatFormatter(tokenizer)
    env = gym.make("SearchQA-v0", max_turns=4)
    [episode] = collect_episodes([env], ScriptedTokenPolicy(formatter), [{"task_index": 3}])

    # the same transcript, built by hand
    messages = episode.messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    first = formatter.encode(MESSAGES[0])
    second = [*formatter.encode(MESSAGES[1]), tokenizer.eos_token_id]
    prompt = formatter.prompt_ids(messages[:2])
    information = formatter.continuation_ids(messages[:2], MESSAGES[0], first, messages[3:4])
    expected_ids = prompt + first + information + second
    expected_mask = [0] * len(prompt) + [1] * len(first) + [0] * len(information) + [1] * len(second)

    assert episode.token_ids == expected_ids
    assert episode.loss_mask == expected_mask
    assert [lp for lp, m in zip(episode.logprobs, episode.loss_mask, strict=True) if m] == [-0.5] * sum(expected_mask)
    assert all(lp == 0.0 for lp, m in zip(episode.logprobs, episode.loss_mask, strict=True) if not m)
    # the information block is in the sequence, but never in the trainable part
    trainable = tokenizer.decode([t for t, m in zip(episode.token_ids, episode.loss_mask, strict=True) if m])
    assert "<information>" not in trainable and "<information>" in tokenizer.decode(episode.token_ids)
    assert episode.terminated and episode.reward_terms["format"] == 1.0


def test_sequences_over_budget_are_cut(tokenizer) -> None:  # type: ignore[no-untyped-def]
    formatter = ChatFormatter(tokenizer)
    env = gym.make("SearchQA-v0", max_turns=4)
    budget = len(formatter.prompt_ids(env.reset(options={"task_index": 3})[1]["messages"])) + 30
    [episode] = collect_episodes(
        [env],
        ScriptedTokenPolicy(formatter),
        [{"task_index": 3}],
        sampling=SamplingConfig(max_new_tokens=16),
        max_sequence_tokens=budget,
    )
    assert episode.cut and episode.terminated and episode.num_turns == 1
    assert episode.messages[-1] == {"role": "assistant", "content": ""}


def test_waves_reuse_environments(tokenizer) -> None:  # type: ignore[no-untyped-def]
    from rezero_agents.scripted import ScriptedSearcher

    envs = [gym.make("SearchQA-v0", split="test") for _ in range(3)]
    episodes = collect_episodes(envs, ScriptedSearcher(), [{"task_index": i} for i in range(7)], groups=[0] * 7)
    assert [e.task.id for e in episodes] == [envs[0].unwrapped.tasks[i].id for i in range(7)]  # type: ignore[attr-defined]
    assert all(e.correct and e.token_ids == [] for e in episodes)


class CutPolicy:
    """Writes one message that ``max_new_tokens`` stopped before ``</search>`` was complete."""

    text = "<think>I will search.</think>\n<search>Velmora riv"

    def __init__(self, formatter: ChatFormatter) -> None:
        self.formatter = formatter

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        ids = self.formatter.encode(self.text)[: sampling.max_new_tokens]
        return [Completion(self.text, ids, [-0.5] * len(ids), "length") for _ in prompts]


def test_a_turn_stopped_by_max_new_tokens_is_marked_cut_in_its_record(tokenizer) -> None:  # type: ignore[no-untyped-def]
    """Issue 27, item 4: such a turn ended the episode ("terminated", format 0) and the log said ``cut: false``."""
    from rezero_agents.records import episode_records

    formatter = ChatFormatter(tokenizer)
    env = gym.make("SearchQA-v0", max_turns=4)
    limit = len(formatter.encode(CutPolicy.text))
    [episode] = collect_episodes(
        [env], CutPolicy(formatter), [{"task_index": 3}], sampling=SamplingConfig(max_new_tokens=limit)
    )
    [record] = episode_records([episode], run_id="r", step=0, split="train", phase="train", policy="p", model="m")
    assert record["turns"] == [{"turn": 1, "tokens": limit, "cut": True}]
    assert record["terminated"] and not record["cut"]  # the episode ended on the broken tag, not on its budget
    [scripted] = collect_episodes([env], ScriptedTokenPolicy(formatter), [{"task_index": 3}])
    [record] = episode_records([scripted], run_id="r", step=0, split="train", phase="train", policy="p", model="m")
    assert [turn["cut"] for turn in record["turns"]] == [False, False]
