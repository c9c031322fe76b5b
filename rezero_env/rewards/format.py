"""ReZero's format term: strict tag rules on the last assistant message."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.protocol import has_information_block, has_tag
from rezero_env.rewards.base import RewardTerm, count_blocks, last_assistant_content
from rezero_env.types import Message, Task

#: ReZero's rule is the regex ``(\*\*|\*|_)</?(?:think|search|answer|information|info)>\1``; it matches exactly when one
#: of these substrings occurs (``**<t>**`` holds ``*<t>*``). Substring search reads a megabyte in ~0.3 ms whatever it
#: holds, where the regex tries a match at every ``*`` and ``_`` (~25 ms for a megabyte of them).
_WRAPPED_TAGS = {
    mark: tuple(
        f"{mark}<{slash}{tag}>{mark}"
        for slash in ("", "/")
        for tag in ("think", "search", "answer", "information", "info")
    )
    for mark in ("*", "_")
}


def has_markdown_wrapped_tag(content: str) -> bool:
    """True if a tag is wrapped in bold or italic markers (``**<think>**``, ``*</search>*``, ``_<answer>_``, …).

    Example:
        >>> has_markdown_wrapped_tag("**<think>**x"), has_markdown_wrapped_tag("*<think>_")
        (True, False)
    """
    return any(
        f"{mark}<" in content and any(wrapped in content for wrapped in wrapped_tags)
        for mark, wrapped_tags in _WRAPPED_TAGS.items()
    )


def format_reward(messages: Sequence[Message]) -> float:
    """1 if the last assistant message is well formed, else 0.

    Well formed: no bold/italic-wrapped tag (``**<think>**``, ``*<search>*``, ``_<answer>_``, …); no information block;
    at least one ``<think>…</think>``; exactly one ``<answer>…</answer>`` or at least one ``<search>…</search>``, not
    both; the last ``</think>`` before the first ``<answer>``/``<search>``; and the stripped text ends with
    ``</search>`` or ``</answer>``.

    Example:
        >>> ok = "<think>I should look this up.</think>\\n<search>who founded x</search>"
        >>> format_reward([{"role": "assistant", "content": ok}])
        1.0
        >>> format_reward([{"role": "assistant", "content": "<search>who founded x</search>"}])  # no think
        0.0
        >>> format_reward([{"role": "assistant", "content": ok + "<answer>Y</answer>"}])  # search and answer
        0.0
    """
    content = last_assistant_content(messages)
    if content is None or has_markdown_wrapped_tag(content) or has_information_block(content):
        return 0.0
    think = has_tag(content, "think")
    answer = count_blocks(content, "answer", limit=2) == 1
    search = has_tag(content, "search")
    if search and answer:
        return 0.0
    if answer or search:
        last_think_end = content.rfind("</think>")
        first_tag = min(
            content.find("<answer>") if answer else len(content),
            content.find("<search>") if search else len(content),
        )
        if last_think_end == -1 or last_think_end > first_tag:
            return 0.0
    stripped = content.strip()
    ends_well = stripped.endswith("</search>") or stripped.endswith("</answer>")
    return 1.0 if think and (answer or search) and ends_well else 0.0


class FormatReward(RewardTerm):
    """Wrapper adding :func:`format_reward` (ReZero weight 2)."""

    name = "format"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return format_reward(messages)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        return "last message well formed" if value else "last message breaks the tag rules"
