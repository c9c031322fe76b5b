"""ReZero's search_diversity term: reward varied queries, penalise near-duplicates."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence

from rezero_env.rewards.base import RewardTerm, assistant_contents
from rezero_env.types import Message, Task

_QUERY = re.compile(r"<search>([^<>]+)</search>")

#: Only the first this-many queries are scored: ReZero compares every pair, which is quadratic, and a message
#: holding thousands of searches would stall training. Episodes within the turn limit never reach it.
MAX_SCORED_QUERIES = 64
_OPERATORS = (
    re.compile(r"site:\S+"),
    re.compile(r"filetype:\S+"),
    re.compile(r'"[^"]+"'),
    re.compile(r" OR "),
    re.compile(r" AND "),
    re.compile(r"(?<!\w)-\w+"),
)


def normalize_query(query: str) -> tuple[str, tuple[str, ...]]:
    """Split ``query`` into its normalised text and its search operators.

    Operators (``site:x``, ``filetype:x``, quoted phrases, `` OR ``, `` AND ``, ``-word``) are pulled out first; the
    rest is lowercased, non-word characters become spaces and runs of spaces collapse.

    Example:
        >>> normalize_query('Apollo 13 "oxygen tank" site:nasa.gov -movie')
        ('apollo 13', ('site:nasa.gov', '"oxygen tank"', '-movie'))
    """
    operators: list[str] = []
    rest = query
    for pattern in _OPERATORS:
        operators += [found.strip() for found in pattern.findall(rest)]
        rest = pattern.sub(" ", rest)
    text = " ".join(re.sub(r"\W", " ", rest.lower()).split())
    return text, tuple(operators)


def search_queries(messages: Sequence[Message]) -> list[str]:
    """Every ``<search>`` query of the assistant messages, in order (tag contents without ``<``/``>``, stripped)."""
    return [query.strip() for content in assistant_contents(messages) for query in _QUERY.findall(content)]


def search_diversity_reward(messages: Sequence[Message]) -> float:
    """0 without queries, 0.2 for one; otherwise
    ``clip(min(0.4, 0.2·unique) + 0.4·diversity + operator bonus − penalties, 0, 1)``.

    diversity = 1 − mean pairwise similarity, where similarity is difflib's ratio of the normalised texts, scaled by
    ``max(0.3, 1 − 0.2·|ops_a △ ops_b|)`` when the two queries use different operators. Operator bonus =
    ``min(0.15, 0.05·distinct operators) + 0.05·(share of queries with an operator)``. Penalties: 0.1 per pair with
    plain ratio strictly between 0.8 and 1 (halved with two or more distinct operators) and 0.2 per query whose
    normalised text was seen before. ``unique`` counts distinct normalised texts. Only the first
    :data:`MAX_SCORED_QUERIES` queries count.

    Example:
        >>> def search(q):
        ...     return {"role": "assistant", "content": f"<think>t</think><search>{q}</search>"}
        >>> round(search_diversity_reward([search("who founded x"), search("history founder origin")]), 4)
        0.5714
        >>> round(search_diversity_reward([search("who founded x"), search("who founded x")]), 4)  # a duplicate
        0.0
    """
    queries = search_queries(messages)[:MAX_SCORED_QUERIES]
    if not queries:
        return 0.0
    if len(queries) == 1:
        return 0.2
    normalized = [normalize_query(query) for query in queries]
    similarities, similar_pairs = [], 0
    for (text_a, ops_a), (text_b, ops_b) in itertools.combinations(normalized, 2):
        ratio = difflib.SequenceMatcher(None, text_a, text_b).ratio()
        if 0.8 < ratio < 1.0:
            similar_pairs += 1
        if set(ops_a) != set(ops_b):
            ratio *= max(0.3, 1 - 0.2 * len(set(ops_a) ^ set(ops_b)))
        similarities.append(ratio)
    seen: set[str] = set()
    duplicates = 0
    for text, _ in normalized:
        duplicates += text in seen
        seen.add(text)
    distinct_operators = {op for _, ops in normalized for op in ops}
    with_operators = sum(1 for _, ops in normalized if ops) / len(normalized)
    diversity = 1 - sum(similarities) / len(similarities)
    bonus = min(0.15, 0.05 * len(distinct_operators)) + 0.05 * with_operators
    similarity_penalty = 0.1 * similar_pairs * (0.5 if len(distinct_operators) >= 2 else 1.0)
    score = min(0.4, 0.2 * len(seen)) + 0.4 * diversity + bonus - similarity_penalty - 0.2 * duplicates
    return min(1.0, max(0.0, score))


class SearchDiversityReward(RewardTerm):
    """Wrapper adding :func:`search_diversity_reward` (ReZero weight 1)."""

    name = "search_diversity"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return search_diversity_reward(messages)
