"""The tag protocol of an assistant message: ``<think>``, ``<search>``, ``<answer>`` and ``<information>``.

The helpers here scan text in linear time (``str.find`` instead of lazy regexes), so an adversarial message such as
a megabyte of unclosed ``<search>`` tags costs no more than reading it once. They agree exactly with the regexes
``<tag>([\\s\\S]*?)</tag>`` that ReZero uses: leftmost opening tag, nearest closing tag after it, non-overlapping.
"""

from __future__ import annotations

import re

INFORMATION_OPEN = "<information>"
INFORMATION_CLOSE = "</information>"


def tag_spans(text: str, tag: str) -> list[tuple[int, int]]:
    """Return ``(start, end)`` of every closed ``<tag>…</tag>`` block, as ``re.finditer`` of the lazy regex would.

    Example:
        >>> tag_spans("<a>x</a> <a>y", "a")
        [(0, 8)]
    """
    opening, closing = f"<{tag}>", f"</{tag}>"
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        start = text.find(opening, position)
        if start < 0:
            return spans
        stop = text.find(closing, start + len(opening))
        if stop < 0:
            return spans
        end = stop + len(closing)
        spans.append((start, end))
        position = end


def tag_contents(text: str, tag: str) -> list[str]:
    """Return the inner text of every closed ``<tag>…</tag>`` block, in order (not stripped).

    Example:
        >>> tag_contents("<search>a</search><search> b </search>", "search")
        ['a', ' b ']
    """
    width = len(tag) + 2
    return [text[start + width : end - width - 1] for start, end in tag_spans(text, tag)]


def has_tag(text: str, tag: str) -> bool:
    """True if ``text`` holds at least one closed ``<tag>…</tag>`` block."""
    start = text.find(f"<{tag}>")
    return start >= 0 and text.find(f"</{tag}>", start + len(tag) + 2) >= 0


def count_tag(text: str, tag: str) -> int:
    """Number of non-overlapping closed ``<tag>…</tag>`` blocks in ``text``."""
    return len(tag_spans(text, tag))


def first_content(text: str, tag: str) -> str | None:
    """The inner text of the first closed ``<tag>…</tag>`` block (not stripped), or None; reads no further.

    Example:
        >>> first_content("<search>a</search><search>b</search>", "search"), first_content("<search>a", "search")
        ('a', None)
    """
    opening, closing = f"<{tag}>", f"</{tag}>"
    start = text.find(opening)
    if start < 0:
        return None
    stop = text.find(closing, start + len(opening))
    return text[start + len(opening) : stop] if stop >= 0 else None


def first_answer(text: str) -> str | None:
    """The stripped content of the first ``<answer>…</answer>`` block, or None when there is none."""
    answer = first_content(text, "answer")
    return answer.strip() if answer is not None else None


def first_search(text: str) -> str | None:
    """The content of the first ``<search>…</search>`` block (not stripped), or None when there is none."""
    return first_content(text, "search")


_INFO_OPEN = re.compile(r"<info\w*>", re.IGNORECASE)
_INFO_CLOSE = re.compile(r"</info\w*>", re.IGNORECASE)


def has_information_block(text: str) -> bool:
    """True if ``text`` holds an information block: ``<information>…</information>``, ``<info>…</info>`` or any
    ``<Info…>…</Info…>`` (case-insensitive), as ReZero's format rule checks."""
    opening = _INFO_OPEN.search(text)
    return opening is not None and _INFO_CLOSE.search(text, opening.end()) is not None


def is_information_message(content: str) -> bool:
    """True if a non-assistant message carries search results (its stripped text starts with ``<information>``)."""
    return content.strip().startswith(INFORMATION_OPEN)
