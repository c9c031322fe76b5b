"""ReZero's search_strategy term: search first, analyse what came back, answer from the analysis."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rezero_env.rewards.base import RewardTerm
from rezero_env.types import Message, Task

_THINK = re.compile(r"<think>[^<>]+</think>")
_SEARCH = re.compile(r"<search>[^<>]+</search>")
_ANSWER = re.compile(r"<answer>[^<>]+</answer>")
_ANALYSIS = re.compile(
    r"<think>[^<>]*?\b(?:based|according|from|results?|found|shows?|provided|information)\b[^<>]*?</think>",
    re.IGNORECASE,
)
_INFORMATION = re.compile(r"<information>[^<>]+</information>")


def search_strategy_reward(messages: Sequence[Message]) -> float:
    """``0.2·initial + min(0.4, 0.2·min(searches_after_info, analyses_after_info)) + 0.4·final``.

    Walking the messages in order: *initial* is set by the first assistant message with a think and a search;
    after an information message (user/ipython role matching ``<information>[^<>]+</information>``), each assistant
    message with a think adds its search (0/1) and its analysis — a think citing the results ("based", "according",
    "found", …) — (0/1); *final* is set by an assistant message with a think, an analysis and an answer. Any other
    non-assistant message resets the after-information state. Tag contents may not contain ``<`` or ``>``.

    Example:
        >>> messages = [
        ...     {"role": "assistant", "content": "<think>I should look this up.</think><search>who founded x</search>"},
        ...     {"role": "user", "content": "<information>Doc 1: x was founded by Y.</information>"},
        ...     {"role": "assistant", "content": "<think>Based on the information, Y.</think><answer>Y</answer>"},
        ... ]
        >>> search_strategy_reward(messages)
        0.6
    """
    initial = final = last_was_information = False
    searches_after_information = analyses_after_information = 0
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant":
            think = bool(_THINK.search(content))
            search = bool(_SEARCH.search(content))
            analysis = bool(_ANALYSIS.search(content))
            if think and search and not initial:
                initial = True
            if last_was_information and think:
                searches_after_information += search
                analyses_after_information += analysis
            if _ANSWER.search(content) and think and analysis:
                final = True
        elif message["role"] in ("user", "ipython") and _INFORMATION.search(content):
            last_was_information = True
        else:
            last_was_information = False
    score = 0.2 * initial + min(0.4, 0.2 * min(searches_after_information, analyses_after_information)) + 0.4 * final
    return round(score, 10)


class SearchStrategyReward(RewardTerm):
    """Wrapper adding :func:`search_strategy_reward` (ReZero weight 1)."""

    name = "search_strategy"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return search_strategy_reward(messages)
