"""ReZero's search_strategy term: search first, analyse what came back, answer from the analysis."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rezero_env.rewards.base import RewardTerm
from rezero_env.types import Message, Task

# Each of these scans in linear time: a block's text cannot hold "<" or ">", so a failed match stops at the next one.
_THINK = re.compile(r"<think>([^<>]+)</think>")
_SEARCH = re.compile(r"<search>[^<>]+</search>")
_ANSWER = re.compile(r"<answer>[^<>]+</answer>")
_INFORMATION = re.compile(r"<information>[^<>]+</information>")

#: ReZero's analysis rule is one lazy regex, ``<think>[^<>]*?\b(?:based|according|from|results?|found|shows?|provided|
#: information)\b[^<>]*?</think>`` (case-insensitive), quadratic in the length of an unclosed ``<think>`` (100 KB:
#: 14 s). :func:`has_analysis` decides the same in linear time: it joins the think blocks' texts with ``<`` (a
#: non-word character, as the ``>``/``<`` around each block are) and looks for each word between word boundaries.
_ANALYSIS_WORDS = ("based", "according", "from", "result", "found", "show", "provided", "information")
#: One regex per word, starting with the word itself so that the regex engine skips to its occurrences;
#: ``(?<!\wword)`` is the ``\b`` before it.
_ANALYSIS_PATTERNS = tuple(
    (word, re.compile(rf"{word}(?<!\w{word}){'s?' if word in ('result', 'show') else ''}\b"))
    for word in _ANALYSIS_WORDS
)


def _casefold_ascii(text: str) -> str:
    """``text`` lowercased so that it equals one of the analysis words exactly where ``re.IGNORECASE`` would match it:
    the characters Python's regex engine also equates with ``i`` and ``s`` (U+0130 İ, U+0131 ı, U+017F ſ) become
    those letters, and ``str.lower`` does the rest (also K, U+212A, → ``k``). Length and word characters are kept."""
    return text.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


def has_analysis(content: str) -> bool:
    """True if a ``<think>…</think>`` block of ``content`` cites the results ("based", "according", "found", …),
    exactly as ReZero's regex decides, in time linear in ``len(content)``.

    Example:
        >>> has_analysis("<think>Based on the results, Y.</think>"), has_analysis("<think>" + "found " * 9)
        (True, False)
    """
    return _cites_results(_THINK.findall(content))


def _cites_results(think_texts: list[str]) -> bool:
    if not think_texts:
        return False
    text = _casefold_ascii("<".join(think_texts))
    return any(word in text and pattern.search(text) for word, pattern in _ANALYSIS_PATTERNS)


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
    initial, again, final = _strategy_parts(messages)
    return round(0.2 * initial + min(0.4, 0.2 * again) + 0.4 * final, 10)


def strategy_explanation(messages: Sequence[Message]) -> str:
    """The parts of :func:`search_strategy_reward` that paid, in one line.

    Example:
        >>> strategy_explanation([{"role": "assistant", "content": "<think>t</think><search>q</search>"}])
        'think+search first 0.2; no search after analysing; no answer grounded in analysis'
    """
    initial, again, final = _strategy_parts(messages)
    return "; ".join(
        (
            "think+search first 0.2" if initial else "no think+search first",
            f"{again} search(es) after analysing → {min(0.4, 0.2 * again):g}" if again else "no search after analysing",
            "answer grounded in analysis 0.4" if final else "no answer grounded in analysis",
        )
    )


def _strategy_parts(messages: Sequence[Message]) -> tuple[bool, int, bool]:
    """(initial, min(searches after information, analyses after information), final) of the walk described in
    :func:`search_strategy_reward`."""
    initial = final = last_was_information = False
    searches_after_information = analyses_after_information = 0
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant":
            think_texts = _THINK.findall(content)
            think = bool(think_texts)
            search = bool(_SEARCH.search(content))
            analysis = _cites_results(think_texts)
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
    return initial, min(searches_after_information, analyses_after_information), final


class SearchStrategyReward(RewardTerm):
    """Wrapper adding :func:`search_strategy_reward` (ReZero weight 1)."""

    name = "search_strategy"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return search_strategy_reward(messages)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        return strategy_explanation(messages)
