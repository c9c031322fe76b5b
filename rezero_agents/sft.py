"""Supervised warm-up: token sequences of scripted-searcher transcripts, with a mask on the assistant's tokens.

A 135M model may never emit a valid ``<search>`` on its own, leaving GRPO without signal; a short warm-up on the
scripted searcher's transcripts teaches the protocol. Only episodes the searcher got right are used.
"""

from __future__ import annotations

from collections.abc import Sequence

from rezero_agents.chat import ChatFormatter
from rezero_agents.rollout import Episode
from rezero_env.types import Message


def transcript_tokens(formatter: ChatFormatter, messages: Sequence[Message]) -> tuple[list[int], list[int]]:
    """``(token_ids, loss_mask)`` of a whole transcript; the mask is 1 on each assistant message and its
    end-of-turn token, 0 on everything else (system, question, few-shot turns, information)."""
    messages = list(messages)
    first = next((i for i, m in enumerate(messages) if m["role"] == "assistant"), len(messages))
    ids = formatter.prompt_ids(messages[:first])
    mask = [0] * len(ids)
    index = first
    while index < len(messages):
        before, content = messages[:index], messages[index]["content"]
        _, target = formatter.assistant_turn_ids(before, content)
        ids += target
        mask += [1] * len(target)
        after_end = index + 1
        while after_end < len(messages) and messages[after_end]["role"] != "assistant":
            after_end += 1
        if after_end == index + 1 and after_end >= len(messages):
            break
        continuation = formatter.continuation_ids(before, content, target, messages[index + 1 : after_end])
        ids += continuation
        mask += [0] * len(continuation)
        index = after_end
    return ids, mask


def sft_sequences(
    formatter: ChatFormatter, episodes: Sequence[Episode], only_correct: bool = True
) -> list[tuple[list[int], list[int]]]:
    """Token sequences of the (correct, unless ``only_correct`` is False) episodes; an episode with an empty
    assistant message is left out."""
    sequences = []
    for episode in episodes:
        if (episode.correct or not only_correct) and all(
            m["content"] for m in episode.messages if m["role"] == "assistant"
        ):
            sequences.append(transcript_tokens(formatter, episode.messages))
    return sequences
