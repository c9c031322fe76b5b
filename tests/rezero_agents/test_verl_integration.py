"""veRL's agent loop for the <search>/<answer> protocol: the same tokens, loss mask and reward as rezero's own rollout.

veRL 0.9.1 cannot be installed beside this project's stack (``pip install verl==0.9.1`` with transformers 5.24:
``ResolutionImpossible: verl 0.9.1 depends on transformers!=5.6.0, <5.11 and >=5.5.3``; its hydra-core also pins
``antlr4-python3-runtime==4.9.*`` while gem-llm's math-verify pins 4.13.2), so the loop's logic
(:func:`play_search_episode`) is tested without veRL's runtime; the ``AgentLoopBase`` subclass is built from it only
where veRL is installed (checked at the end, skipped here)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import pytest

import rezero_env  # noqa: F401
from rezero_agents.chat import ChatFormatter
from rezero_agents.integrations.verl import AGENT_NAME, episode_driver, play_search_episode
from rezero_agents.policy import Completion, SamplingConfig
from rezero_agents.rollout import collect_episodes
from tests.rezero_env.scripted_play import play_gym


class Replay:
    """A policy that writes given messages (the scripted searcher's, from the Gymnasium reference), as token ids
    ending with the end-of-turn token, with made-up log-probs."""

    def __init__(self, tokenizer: Any, texts: Sequence[str]) -> None:
        self.formatter = ChatFormatter(tokenizer)
        self.texts = list(texts)
        self.turn = 0

    def completion(self) -> Completion:
        text = self.texts[self.turn]
        self.turn += 1
        ids = [*self.formatter.encode(text), self.formatter.eos_token_id]
        return Completion(text, ids, [-0.25 - 0.01 * i for i in range(len(ids))], "eos")

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        return [self.completion() for _ in prompts]

    async def agenerate(self, ids: list[int]) -> tuple[list[int], list[float] | None]:
        completion = self.completion()
        return completion.token_ids, completion.logprobs


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_the_loop_builds_the_rollouts_tokens_mask_and_reward(tokenizer: Any, seed: int) -> None:
    reference = play_gym(seed)
    assert len(reference.actions) >= 2  # at least one search, so there is an <information> message to mask
    (ours,) = collect_episodes(
        [gym.make("SearchQA-v0")],
        Replay(tokenizer, reference.actions),  # type: ignore[arg-type]
        [{"task_id": reference.task_id}],
        max_sequence_tokens=100_000,
    )
    driver = episode_driver({"task_id": reference.task_id})
    loop = asyncio.run(
        play_search_episode(
            driver, ChatFormatter(tokenizer), Replay(tokenizer, reference.actions).agenerate, response_length=100_000
        )
    )
    assert loop.prompt_ids + loop.response_ids == ours.token_ids
    prompt_length = len(loop.prompt_ids)
    assert loop.response_mask == ours.loss_mask[prompt_length:] and not any(ours.loss_mask[:prompt_length])
    assert loop.response_logprobs == pytest.approx(ours.logprobs[prompt_length:])
    assert loop.reward_score == pytest.approx(ours.reward) == pytest.approx(reference.total)
    assert loop.reward_terms == ours.reward_terms == reference.reward_terms
    # the mask is 0 exactly on the template text around the env's messages: every <information> block is unmasked
    masked = tokenizer.decode([t for t, m in zip(loop.response_ids, loop.response_mask, strict=True) if m == 0])
    trained = tokenizer.decode([t for t, m in zip(loop.response_ids, loop.response_mask, strict=True) if m == 1])
    assert masked.count("<information>") == len(reference.actions) - 1 and "<information>" not in trained
    assert loop.num_turns == len(reference.actions) and not loop.cut


def test_a_response_over_response_length_is_cut_and_scored(tokenizer: Any) -> None:
    reference = play_gym(0)
    driver = episode_driver({"task_id": reference.task_id})
    loop = asyncio.run(
        play_search_episode(
            driver,
            ChatFormatter(tokenizer),
            Replay(tokenizer, reference.actions).agenerate,
            response_length=200,
            max_new_tokens=64,
        )
    )
    assert loop.cut and loop.num_turns == 1 and len(loop.response_ids) <= 200
    assert loop.reward_terms and loop.reward_score == pytest.approx(driver.total_reward)


def test_the_verl_class_is_registered_where_verl_is_installed() -> None:
    agent_loop = pytest.importorskip(
        "verl.experimental.agent_loop.agent_loop",
        reason="verl 0.9.1 pins transformers<5.11 (this project runs 5.24) and antlr4 4.9 (gem-llm needs 4.13.2)",
    )
    from rezero_agents.integrations import verl

    assert issubclass(verl.RezeroSearchAgentLoop, agent_loop.AgentLoopBase)
    assert agent_loop._agent_loop_registry[AGENT_NAME]["_target_"].endswith("RezeroSearchAgentLoop")
