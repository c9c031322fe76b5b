"""ReZero's retry term: reward searching more than once — but only when the episode ends with an answer."""

from __future__ import annotations

from collections.abc import Sequence

from rezero_env.protocol import has_tag
from rezero_env.rewards.base import RewardTerm, assistant_contents, count_blocks
from rezero_env.types import Message, Task

#: Searches beyond this many change nothing (the value saturates at 5 searches; halving needs 2 in one message), so a
#: message holding 50,000 searches is read only up to its fifth.
_COUNTED_SEARCHES = 5


def retry_reward(messages: Sequence[Message]) -> float:
    """``min(1, 0.2 + 0.15 * min(n, 5))`` for ``n`` searches over all assistant messages, halved if one message holds
    more than one search, rounded to 3 decimals; 0 without searches or when the last assistant message has no
    ``<answer>…</answer>``.

    Example:
        >>> search = {"role": "assistant", "content": "<think>t</think><search>q</search>"}
        >>> info = {"role": "user", "content": "<information>r</information>"}
        >>> answer = {"role": "assistant", "content": "<think>t</think><answer>a</answer>"}
        >>> retry_reward([search, info, answer]), retry_reward([search, info, search, info, answer])
        (0.35, 0.5)
        >>> retry_reward([search, info])  # no final answer
        0.0
    """
    contents = assistant_contents(messages)
    if not contents or not has_tag(contents[-1], "answer"):
        return 0.0
    counts = [count_blocks(content, "search", limit=_COUNTED_SEARCHES) for content in contents]
    total = sum(counts)
    if total == 0:
        return 0.0
    value = min(1.0, 0.2 + 0.15 * min(total, 5))
    if max(counts) > 1:
        value /= 2
    return round(value, 3)


class RetryReward(RewardTerm):
    """Wrapper adding :func:`retry_reward` (ReZero weight 1)."""

    name = "retry"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return retry_reward(messages)

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        return retry_explanation(messages)


def retry_explanation(messages: Sequence[Message]) -> str:
    """Why :func:`retry_reward` gives what it gives, in one line.

    Example:
        >>> search = {"role": "assistant", "content": "<think>t</think><search>q</search>"}
        >>> info = {"role": "user", "content": "<information>r</information>"}
        >>> answer = {"role": "assistant", "content": "<think>t</think><answer>a</answer>"}
        >>> retry_explanation([search, info, search, info, answer])
        '2 searches → 0.2 + 0.15·2'
        >>> retry_explanation([search, info])
        'no final answer → 0'
    """
    contents = assistant_contents(messages)
    if not contents or not has_tag(contents[-1], "answer"):
        return "no final answer → 0"
    counts = [count_blocks(content, "search", limit=_COUNTED_SEARCHES) for content in contents]
    total = sum(counts)
    if total == 0:
        return "no search → 0"
    counted = min(total, 5)
    text = f"{total} {'search' if total == 1 else 'searches'} → 0.2 + 0.15·{counted}"
    if total > counted:
        text += " (5 count at most)"
    if max(counts) > 1:
        text += ", halved: several searches in one message"
    return text
