"""Train on ``SearchQA-v0`` with veRL: an agent loop for the ``<search>``/``<answer>`` protocol.

veRL's ``ToolAgentLoop`` parses JSON tool calls; our protocol is tags in plain assistant text, so it gets a loop of
its own. :class:`RezeroSearchAgentLoop` (registered with veRL as ``"rezero_search_agent"``) plays one episode of the
Gymnasium env per dataset row: it generates a turn through veRL's rollout server (``server_manager.generate``),
steps the env with the decoded text, appends the env's ``<information>`` message as template tokens and generates
again, until the env ends the episode. It returns veRL's ``AgentLoopOutput``: ``prompt_ids``, ``response_ids``,
``response_mask`` (1 on sampled tokens, 0 on the ``<information>`` messages and the chat template's turn markers),
``response_logprobs`` and ``reward_score`` (the env's reward; the terms are in ``extra_fields["reward_terms"]``).

The tokens are built exactly as rezero's own rollout builds them (:class:`~rezero_agents.chat.ChatFormatter`:
sampled ids appended as they were sampled, then the template text that follows them), by
:func:`play_search_episode`, which needs neither veRL nor a GPU; the veRL class only adapts its inputs and output.

Dataset rows (veRL's parquet): ``agent_name: "rezero_search_agent"``, ``raw_prompt`` (ignored: the env's own
prompt is used) and ``extra_info`` with ``task_id`` (or ``seed``), and optionally ``env_id`` and ``env_kwargs``.
Register the loop with veRL's ``actor_rollout_ref.rollout.agent.agent_loop_config_path`` pointing to a YAML file::

    - name: rezero_search_agent
      _target_: rezero_agents.integrations.verl.RezeroSearchAgentLoop

veRL 0.9.1 itself cannot be installed beside this project's stack (it pins ``transformers<5.11`` and, through
hydra-core, ``antlr4-python3-runtime==4.9.*``); :data:`RezeroSearchAgentLoop` is built on first access, where veRL
is installed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rezero_agents.chat import ChatFormatter
from rezero_env.integrations.common import DEFAULT_ENV_ID, EpisodeDriver
from rezero_env.types import Message

logger = logging.getLogger(__name__)

AGENT_NAME = "rezero_search_agent"
#: Stop strings each turn ends at; veRL's servers keep them in the output with ``include_stop_str_in_output``.
STOP = ("</search>", "</answer>")

#: ``generate(token_ids) -> (sampled ids, their log-probs or None)``: one assistant turn from the rollout server.
Generate = Callable[[list[int]], Awaitable[tuple[list[int], list[float] | None]]]


@dataclass
class SearchEpisode:
    """One played episode in veRL's terms (see :func:`play_search_episode`)."""

    prompt_ids: list[int]
    response_ids: list[int]
    response_mask: list[int]
    response_logprobs: list[float]
    reward_score: float
    reward_terms: dict[str, float] = field(default_factory=dict)
    num_turns: int = 0
    cut: bool = False
    messages: list[Message] = field(default_factory=list)


async def play_search_episode(
    driver: EpisodeDriver,
    formatter: ChatFormatter,
    generate: Generate,
    *,
    response_length: int,
    max_new_tokens: int = 0,
) -> SearchEpisode:
    """Play the episode ``driver`` was reset on: generate, step, append the env's message, until the env ends it.

    Args:
        driver: An env already reset on the episode's task.
        formatter: The chat template renderer (the model's tokenizer).
        generate: One assistant turn from token ids.
        response_length: Most response tokens (veRL's ``rollout.response_length``); when the response so far plus
            ``max_new_tokens`` reaches it, the episode is ended with an empty message (no search: the env
            terminates it) and ``cut`` is set, as rezero's rollout does at ``max_sequence_tokens``.
        max_new_tokens: Tokens one turn may generate (veRL's sampling ``max_tokens``; 0: not known).
    """
    prompt_ids = formatter.prompt_ids(driver.messages)
    response: list[int] = []
    mask: list[int] = []
    logprobs: list[float] = []
    outcome = None
    cut = False
    turns = 0
    while outcome is None or not outcome.done:
        token_ids, token_logprobs = await generate(prompt_ids + response)
        token_ids = list(token_ids)
        text = formatter.tokenizer.decode(token_ids, skip_special_tokens=True)
        before = list(driver.messages)
        outcome = driver.step(text)
        turns += 1
        response += token_ids
        mask += [1] * len(token_ids)
        logprobs += list(token_logprobs) if token_logprobs is not None else [0.0] * len(token_ids)
        if outcome.done:
            break
        continuation = formatter.continuation_ids(before, text, token_ids, driver.messages[len(before) + 1 :])
        response += continuation
        mask += [0] * len(continuation)
        logprobs += [0.0] * len(continuation)
        if len(response) + max_new_tokens >= response_length:
            outcome = driver.step("")  # a message without a search ends the episode
            cut = True
    return SearchEpisode(
        prompt_ids=prompt_ids,
        response_ids=response[:response_length],
        response_mask=mask[:response_length],
        response_logprobs=logprobs[:response_length],
        reward_score=driver.total_reward,
        reward_terms=dict(outcome.reward_terms),
        num_turns=turns,
        cut=cut,
        messages=list(driver.messages),
    )


def episode_driver(extra_info: Mapping[str, Any] | None) -> EpisodeDriver:
    """The env of a dataset row's ``extra_info`` (``env_id``, ``env_kwargs``), reset on its ``task_id``/``seed``."""
    info = dict(extra_info or {})
    driver = EpisodeDriver(info.get("env_id", DEFAULT_ENV_ID), info.get("env_kwargs"))
    driver.reset(seed=info.get("seed"), task_id=info.get("task_id"), task_index=info.get("task_index"))
    return driver


def _build_agent_loop_class() -> type[Any]:
    """veRL's ``AgentLoopBase`` subclass, registered as :data:`AGENT_NAME` (imports veRL)."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register

    @register(AGENT_NAME)
    class RezeroSearchAgentLoop(AgentLoopBase):  # type: ignore[misc]
        """The ``<search>``/``<answer>`` protocol against a SearchQA env (see the module docstring)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.response_length = int(self.rollout_config.response_length)
            self.formatter = ChatFormatter(self.tokenizer)

        async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> Any:
            driver = episode_driver(kwargs.get("extra_info"))
            params = {**sampling_params, "stop": list(STOP), "include_stop_str_in_output": True}

            async def generate(ids: list[int]) -> tuple[list[int], list[float] | None]:
                output = await self.server_manager.generate(
                    request_id=uuid.uuid4().hex, prompt_ids=ids, sampling_params=params
                )
                return list(output.token_ids), list(output.log_probs) if output.log_probs else None

            try:
                episode = await play_search_episode(
                    driver,
                    self.formatter,
                    generate,
                    response_length=self.response_length,
                    max_new_tokens=int(sampling_params.get("max_tokens") or 0),
                )
            finally:
                driver.close()
            output = AgentLoopOutput(
                prompt_ids=episode.prompt_ids,
                response_ids=episode.response_ids,
                response_mask=episode.response_mask,
                response_logprobs=episode.response_logprobs,
                reward_score=episode.reward_score,
                num_turns=2 * episode.num_turns,
                metrics={},
            )
            output.extra_fields.update(
                {"reward_terms": episode.reward_terms, "turn_scores": [], "tool_rewards": [], "cut": episode.cut}
            )
            return output

    return RezeroSearchAgentLoop


def __getattr__(name: str) -> Any:
    if name == "RezeroSearchAgentLoop":
        cls = _build_agent_loop_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AGENT_NAME", "STOP", "SearchEpisode", "episode_driver", "play_search_episode"]
