"""ReZero's search_diversity term: reward varied queries, penalise near-duplicates."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterator, Sequence

from rezero_env.rewards.base import RewardTerm, assistant_contents
from rezero_env.types import Message, Task

_QUERY = re.compile(r"<search>([^<>]+)</search>")

#: Only the first this-many queries are scored: ReZero compares every pair, which is quadratic, and a message
#: holding thousands of searches would stall training. Episodes within the turn limit never reach it.
MAX_SCORED_QUERIES = 64
#: Queries are scored as searched: stripped and cut to this many characters, the environment's default
#: ``max_query_chars`` (the wrapper uses the environment's own value).
MAX_QUERY_CHARS = 1024
#: Work allowed for comparing one transcript's queries, in steps of difflib's matching loop (an upper bound of each
#: call's steps is charged before the call, so the budget is never overrun; a step takes 30-100 ns, the budget
#: 5-20 ms). difflib's ``ratio()`` is cubic in the worst case (``"a" * 199`` against ``"ab" * 99``: ~60 ms for one
#: pair), so without a bound 64 crafted queries would stall a step for minutes. It covers every pair of about 17
#: typical queries (ten 50-character questions use 40 % of it); a pair left when it runs out counts as identical
#: (ratio 1) and as a similar pair (the 0.1 penalty), so running it out can only lower the score.
COMPARISON_BUDGET = 200_000
#: Steps charged per element of ``a`` (its loop turn and its share of the extension loops), per matcher call and per
#: pair (the fixed cost of ``ratio()``: ~10 µs), so that a step costs about the same time whatever the queries.
_STEPS_PER_ELEMENT, _STEPS_PER_CALL, _STEPS_PER_PAIR = 4, 10, 100
#: Below this length difflib junks nothing, so equal texts always have ratio 1 (from 200 on, "popular" characters
#: are ignored by its matching loop and equal texts can score less).
_NO_AUTOJUNK_BELOW = 200
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


def _queries(messages: Sequence[Message], max_query_chars: int | None) -> Iterator[str]:
    for content in assistant_contents(messages):
        for match in _QUERY.finditer(content):
            query = match[1].strip()
            yield query if max_query_chars is None else query[:max_query_chars]


def search_queries(messages: Sequence[Message], max_query_chars: int | None = MAX_QUERY_CHARS) -> list[str]:
    """Every ``<search>`` query of the assistant messages, in order (tag contents without ``<``/``>``), as the
    environment searches it: stripped and cut to ``max_query_chars`` (None: uncut).

    Example:
        >>> search_queries([{"role": "assistant", "content": "<search> apollo 13 </search>"}], max_query_chars=6)
        ['apollo']
    """
    return list(_queries(messages, max_query_chars))


class _OverBudget(Exception):
    """The comparison budget ran out."""


class _BudgetedMatcher(difflib.SequenceMatcher[str]):
    """difflib's matcher, results unchanged, whose every ``find_longest_match`` call first charges an upper bound of
    its steps (per element of ``a`` in range: its occurrences in ``b`` plus :data:`_STEPS_PER_ELEMENT`; plus
    :data:`_STEPS_PER_CALL`) to a shared budget, and raises :class:`_OverBudget` instead of running when the budget
    does not cover it."""

    # Set by difflib (not in its type stubs): the first sequence, and each element of the second → its positions.
    a: str
    b2j: dict[str, list[int]]

    def __init__(self, budget: int) -> None:
        super().__init__(None, "", "")
        self.remaining = budget
        self._steps = [0]

    def spend(self, steps: int) -> None:
        """Take ``steps`` from the budget; :class:`_OverBudget` when it does not cover them."""
        self.remaining -= steps
        if self.remaining < 0:
            raise _OverBudget

    def against(self, b: str) -> None:
        """Make ``b`` the sequence that following :meth:`ratio_of` calls compare against."""
        self.spend(len(b) + 1)
        self.set_seq2(b)

    def ratio_of(self, a: str) -> float:
        """``difflib.SequenceMatcher(None, a, b).ratio()`` for the current ``b``."""
        self.spend(len(a) + _STEPS_PER_PAIR)
        self.set_seq1(a)
        occurrences = self.b2j
        self._steps = [
            0,
            *itertools.accumulate(len(occurrences.get(element, ())) + _STEPS_PER_ELEMENT for element in a),
        ]
        return self.ratio()

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        stop = len(self.a) if ahi is None else ahi
        self.spend(self._steps[stop] - self._steps[alo] + _STEPS_PER_CALL)
        return super().find_longest_match(alo, ahi, blo, bhi)


def _pair_scores(
    texts: Sequence[str], operators: Sequence[frozenset[str]], budget: int
) -> dict[tuple[int, int], tuple[float, float]]:
    """For ``i < j``: difflib's ``ratio()`` of ``(texts[i], texts[j])`` and the operator factor
    ``max(0.3, 1 − 0.2·|operators[i] △ operators[j]|)`` (1 for equal sets), comparing each query with those before
    it, in order, until ``budget`` runs out; pairs not reached are absent. Repeated pairs of texts are compared once.
    """
    matcher = _BudgetedMatcher(budget)
    scores: dict[tuple[int, int], tuple[float, float]] = {}
    known: dict[tuple[str, str], float] = {}
    try:
        for j in range(1, len(texts)):
            b = texts[j]
            matched_against = False
            for i in range(j):
                a = texts[i]
                if a == b and len(b) < _NO_AUTOJUNK_BELOW:
                    ratio = 1.0
                else:
                    if (a, b) not in known:
                        if not matched_against:
                            matcher.against(b)
                            matched_against = True
                        known[a, b] = matcher.ratio_of(a)
                    ratio = known[a, b]
                ops_a, ops_b = operators[i], operators[j]
                matcher.spend(1 + (len(ops_a) + len(ops_b)) // 4)  # set comparisons, ~15 ns an element
                factor = 1.0 if ops_a == ops_b else max(0.3, 1 - 0.2 * len(ops_a ^ ops_b))
                scores[i, j] = (ratio, factor)
    except _OverBudget:
        pass
    return scores


def search_diversity_reward(messages: Sequence[Message], max_query_chars: int | None = MAX_QUERY_CHARS) -> float:
    """0 without queries, 0.2 for one; otherwise
    ``clip(min(0.4, 0.2·unique) + 0.4·diversity + operator bonus − penalties, 0, 1)``.

    diversity = 1 − mean pairwise similarity, where similarity is difflib's ratio of the normalised texts, scaled by
    ``max(0.3, 1 − 0.2·|ops_a △ ops_b|)`` when the two queries use different operators. Operator bonus =
    ``min(0.15, 0.05·distinct operators) + 0.05·(share of queries with an operator)``. Penalties: 0.1 per pair with
    plain ratio strictly between 0.8 and 1 (halved with two or more distinct operators) and 0.2 per query whose
    normalised text was seen before. ``unique`` counts distinct normalised texts. Only the first
    :data:`MAX_SCORED_QUERIES` queries count, each as searched (stripped, cut to ``max_query_chars``; None: uncut).
    The pairwise comparisons share a work budget (:data:`COMPARISON_BUDGET`); a pair it does not reach counts as
    identical and similar (similarity 1, penalised), which only crafted queries or about 17 and more real ones cause.

    Example:
        >>> def search(q):
        ...     return {"role": "assistant", "content": f"<think>t</think><search>{q}</search>"}
        >>> round(search_diversity_reward([search("who founded x"), search("history founder origin")]), 4)
        0.5714
        >>> round(search_diversity_reward([search("who founded x"), search("who founded x")]), 4)  # a duplicate
        0.0
    """
    queries = list(itertools.islice(_queries(messages, max_query_chars), MAX_SCORED_QUERIES))
    if not queries:
        return 0.0
    if len(queries) == 1:
        return 0.2
    normalized = [normalize_query(query) for query in queries]
    scores = _pair_scores(
        [text for text, _ in normalized], [frozenset(ops) for _, ops in normalized], COMPARISON_BUDGET
    )
    similarities, similar_pairs = [], 0
    for pair in itertools.combinations(range(len(normalized)), 2):
        if pair not in scores:  # not compared within the budget: identical and similar
            similarities.append(1.0)
            similar_pairs += 1
            continue
        ratio, factor = scores[pair]
        if 0.8 < ratio < 1.0:
            similar_pairs += 1
        similarities.append(ratio * factor)
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
    """Wrapper adding :func:`search_diversity_reward` (ReZero weight 1), scoring queries cut to the environment's
    ``max_query_chars``, as they were searched."""

    name = "search_diversity"

    def score(self, messages: Sequence[Message], task: Task) -> float:
        return search_diversity_reward(messages, getattr(self.env.unwrapped, "max_query_chars", MAX_QUERY_CHARS))

    def explain(self, messages: Sequence[Message], task: Task, value: float) -> str:
        return diversity_explanation(messages, getattr(self.env.unwrapped, "max_query_chars", MAX_QUERY_CHARS))


def diversity_explanation(messages: Sequence[Message], max_query_chars: int | None = MAX_QUERY_CHARS) -> str:
    """How many queries the episode searched and how many repeat an earlier one (after normalisation), in one line.

    Example:
        >>> def search(q):
        ...     return {"role": "assistant", "content": f"<search>{q}</search>"}
        >>> diversity_explanation([search("who founded x"), search("Who founded X?")])
        '2 queries, 1 distinct: 1 repeated (−0.2 each)'
        >>> diversity_explanation([])
        'no query → 0'
    """
    queries = list(itertools.islice(_queries(messages, max_query_chars), MAX_SCORED_QUERIES))
    if not queries:
        return "no query → 0"
    if len(queries) == 1:
        return "1 query → 0.2"
    distinct = len({normalize_query(query)[0] for query in queries})
    text = f"{len(queries)} queries, {distinct} distinct"
    if distinct < len(queries):
        text += f": {len(queries) - distinct} repeated (−0.2 each)"
    return text
