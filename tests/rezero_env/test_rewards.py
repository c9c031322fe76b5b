"""ReZero's six reward rules on hand-written transcripts (rules: ../shared/notes/rezero-rewards.md)."""

from __future__ import annotations

import difflib
import re
import time

import gymnasium as gym
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rezero_env  # noqa: F401  (registers the ids)
from rezero_env.rewards import (
    correctness_reward,
    em_chunk_reward,
    exact_match_reward,
    format_reward,
    retry_reward,
    search_diversity_reward,
    search_strategy_reward,
)
from rezero_env.types import Message


def assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}


def info(content: str) -> Message:
    return {"role": "user", "content": f"<information>{content}</information>"}


PROMPT: list[Message] = [
    {"role": "system", "content": "You are a research assistant."},
    {"role": "user", "content": "Who founded x?"},
]
SEARCH = assistant("<think>I should look this up.</think>\n<search>who founded x</search>")
INFO = info("Doc 1: x was founded by Y.")
ANSWER = assistant("<think>Based on the information, the answer is clear.</think>\n<answer>Y</answer>")
RETRY = assistant(
    "<think>According to the results I need another angle.</think>\n<search>history founder origin</search>"
)
EXAMPLE_1 = [*PROMPT, SEARCH, INFO, ANSWER]
EXAMPLE_2 = [*PROMPT, SEARCH, INFO, RETRY, info("more"), ANSWER]


def test_worked_example_1() -> None:
    assert format_reward(EXAMPLE_1) == 1.0
    assert retry_reward(EXAMPLE_1) == 0.35
    assert search_strategy_reward(EXAMPLE_1) == 0.6
    assert search_diversity_reward(EXAMPLE_1) == 0.2
    assert correctness_reward(EXAMPLE_1, ["Y"]) == 1.0
    assert em_chunk_reward(EXAMPLE_1, "x was founded by Y.") == 1.0


def test_worked_example_2() -> None:
    assert format_reward(EXAMPLE_2) == 1.0
    assert retry_reward(EXAMPLE_2) == 0.5
    assert search_strategy_reward(EXAMPLE_2) == 0.8
    assert search_diversity_reward(EXAMPLE_2) == pytest.approx(0.5714, abs=1e-4)


def test_correctness_rule() -> None:
    assert correctness_reward(EXAMPLE_1, ["y"]) == 1.0
    assert correctness_reward(EXAMPLE_1, ["Z"]) == 0.0
    assert correctness_reward([*PROMPT, SEARCH, INFO], ["Y"]) == 0.0  # last message is not the assistant's
    assert correctness_reward([*PROMPT, assistant("<think>t</think>Y")], ["Y"]) == 0.0  # no answer tag
    with_search = assistant("<think>t</think><search>q</search><answer>Y</answer>")
    assert correctness_reward([*PROMPT, with_search], ["Y"]) == 0.0
    with_info = assistant("<answer>Y</answer><information>Y</information>")
    assert correctness_reward([*PROMPT, with_info], ["Y"]) == 0.0
    assert correctness_reward(EXAMPLE_1, ["Y"], judge=lambda p, a: 0.5) == 0.5
    assert correctness_reward(EXAMPLE_1, ["Y"], judge=lambda p, a: 7.0) == 1.0  # clipped to [0, 1]
    assert correctness_reward([], ["Y"]) == 0.0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<think>a</think>\n<search>q</search>", 1.0),
        ("<think>a</think><answer>Y</answer>  \n", 1.0),
        ("<search>q</search>", 0.0),  # no think
        ("**<think>**a**</think>**<answer>Y</answer>", 0.0),  # bold-wrapped tag
        ("<think>a</think>_<answer>_Y</answer>", 0.0),  # italic-wrapped tag
        ("<think>a</think><answer>Y</answer><answer>Z</answer>", 0.0),  # two answers
        ("<think>a</think><search>q</search><answer>Y</answer>", 0.0),  # search and answer
        ("<think>a</think><search>q</search><think>b</think><search>r</search>", 0.0),  # a think after the search
        ("<think>a</think><answer>Y</answer> and more words", 0.0),  # does not end with a tag
        ("<think>a</think><information>r</information><search>q</search>", 0.0),  # information block
        ("<think>a</think><Info>r</Info><search>q</search>", 0.0),
        ("<think>a</think>", 0.0),  # neither answer nor search
        ("", 0.0),
    ],
)
def test_format_rule(content: str, expected: float) -> None:
    assert format_reward([*PROMPT, assistant(content)]) == expected


def test_format_looks_at_last_assistant_message_only() -> None:
    assert format_reward([*PROMPT, assistant("junk"), INFO, ANSWER]) == 1.0
    assert format_reward([*PROMPT, SEARCH, INFO, assistant("junk")]) == 0.0
    assert format_reward(PROMPT) == 0.0


@pytest.mark.parametrize(("searches", "expected"), [(0, 0.0), (1, 0.35), (2, 0.5), (3, 0.65), (5, 0.95), (7, 0.95)])
def test_retry_rule_counts_searches(searches: int, expected: float) -> None:
    assert retry_reward([*PROMPT, *[SEARCH, INFO] * searches, ANSWER]) == expected


def test_retry_rule_halves_and_needs_an_answer() -> None:
    double = assistant("<think>t</think><search>a</search><search>b</search>")
    assert retry_reward([*PROMPT, double, INFO, SEARCH, INFO, ANSWER]) == 0.325  # 3 searches, halved
    assert retry_reward([*PROMPT, SEARCH, INFO, SEARCH, INFO]) == 0.0  # no final answer
    assert retry_reward(PROMPT) == 0.0


def test_em_chunk_rule() -> None:
    paragraph = "x was founded by Y."
    assert em_chunk_reward([*PROMPT, SEARCH, INFO], paragraph) == 1.0
    assert em_chunk_reward([*PROMPT, SEARCH, info("something else")], paragraph) == 0.0
    assert em_chunk_reward([*PROMPT, assistant(f"<information>{paragraph}</information>")], paragraph) == 0.0
    tool = {"role": "tool", "content": f"  <information>{paragraph}</information>"}
    assert em_chunk_reward([*PROMPT, tool], paragraph) == 1.0
    not_information = {"role": "user", "content": f"Note: {paragraph}"}
    assert em_chunk_reward([*PROMPT, not_information], paragraph) == 0.0
    assert em_chunk_reward([*PROMPT, SEARCH, INFO], "") == 0.0


def test_search_strategy_rule() -> None:
    assert search_strategy_reward([*PROMPT, SEARCH]) == 0.2  # initial only
    analysed_search = assistant("<think>The results show nothing useful.</think><search>q2</search>")
    three_rounds = [*PROMPT, SEARCH, INFO, analysed_search, INFO, analysed_search, INFO, analysed_search, INFO, ANSWER]
    assert search_strategy_reward(three_rounds) == 1.0  # the middle part is capped at 0.4
    # Information holding "<" or ">" does not count as information, and resets the state.
    bracketed = {"role": "user", "content": "<information>a < b</information>"}
    assert search_strategy_reward([*PROMPT, SEARCH, bracketed, analysed_search, INFO, ANSWER]) == 0.6
    # Any other non-assistant message resets the after-information state.
    note = {"role": "user", "content": "note"}
    assert search_strategy_reward([*PROMPT, SEARCH, INFO, note, analysed_search, INFO, ANSWER]) == 0.6
    # An answer without an analysing think is not final.
    assert search_strategy_reward([*PROMPT, SEARCH, INFO, assistant("<think>ok</think><answer>Y</answer>")]) == 0.2


def _search(query: str) -> Message:
    return assistant(f"<think>t</think><search>{query}</search>")


def test_search_diversity_rule() -> None:
    assert search_diversity_reward(PROMPT) == 0.0
    assert search_diversity_reward([*PROMPT, _search("a query")]) == 0.2
    ratio = difflib.SequenceMatcher(None, "who founded x", "history founder origin").ratio()
    assert search_diversity_reward(EXAMPLE_2) == pytest.approx(0.4 + 0.4 * (1 - ratio))
    # A duplicate: one unique query, no diversity, a 0.2 penalty.
    assert search_diversity_reward([*PROMPT, _search("who founded x"), _search("Who founded X?")]) == 0.0
    # A similar pair (ratio in (0.8, 1)) costs 0.1.
    similar = difflib.SequenceMatcher(None, "who founded x", "who founded xy").ratio()
    assert 0.8 < similar < 1
    assert search_diversity_reward([*PROMPT, _search("who founded x"), _search("who founded xy")]) == pytest.approx(
        0.4 + 0.4 * (1 - similar) - 0.1
    )
    # Operators: similarity scaled by max(0.3, 1 - 0.2 * |ops_a ^ ops_b|), and a bonus.
    plain = difflib.SequenceMatcher(None, "apollo", "apollo 13 oxygen").ratio()
    expected = 0.4 + 0.4 * (1 - 0.8 * plain) + (0.05 * 1 + 0.05 * 0.5)
    queries = [*PROMPT, _search("apollo site:nasa.gov"), _search("Apollo 13 oxygen")]
    assert search_diversity_reward(queries) == pytest.approx(expected)


def test_exact_match_reward() -> None:
    assert exact_match_reward(EXAMPLE_1, ["Y"]) == 1.0
    assert exact_match_reward(EXAMPLE_1, ["Z"]) == 0.0
    assert exact_match_reward(PROMPT, ["Y"]) == 0.0


def test_no_retry_preset_is_rezero_without_the_retry_term() -> None:
    env = gym.make("SearchQA-v0", reward="rezero-no-retry")
    env.reset(seed=0, options={"task_index": 0})
    env.step("<think>search</think>\n<search>anything</search>")
    *_, info = env.step("<think>done</think>\n<answer>x</answer>")
    assert set(info["reward_terms"]) == {"correctness", "format", "em_chunk", "search_strategy", "search_diversity"}


# --- Linear time on adversarial messages (issue 14, items 1 and 2) -------------------------------------------------

# ReZero's analysis rule, as its regex: the reference the linear-time implementation must agree with.
REZERO_ANALYSIS = re.compile(
    r"<think>[^<>]*?\b(?:based|according|from|results?|found|shows?|provided|information)\b[^<>]*?</think>",
    re.IGNORECASE,
)
analysis_soup = st.lists(
    st.sampled_from(
        [
            *("<think>", "</think>", "<", ">", " ", "found", "FounD", "founder", "_based", "results", "résult", "é"),
            *("reſult", "ſhows", "\u0130nformation", "\u0131nformation", "\u212a", "s", "1", "x", "from", "\n"),
        ]
    ),
    max_size=25,
).map("".join)


@given(analysis_soup)
def test_search_strategy_analysis_agrees_with_rezero_regex(content: str) -> None:
    from rezero_env.rewards.search_strategy import has_analysis

    assert has_analysis(content) == bool(REZERO_ANALYSIS.search(content))


# ReZero's markdown rule, as its regex.
REZERO_MARKDOWN = re.compile(r"(\*\*|\*|_)</?(?:think|search|answer|information|info)>\1")
tag_soup = st.lists(
    st.sampled_from(
        ["*", "**", "_", "<", "/", ">", "think", "info", "information", "search", "answer", "<think>", "x"]
    ),
    max_size=25,
).map("".join)


@given(tag_soup)
def test_markdown_rule_agrees_with_rezero_regex(content: str) -> None:
    from rezero_env.rewards.format import has_markdown_wrapped_tag

    assert has_markdown_wrapped_tag(content) == bool(REZERO_MARKDOWN.search(content))


@given(st.lists(st.sampled_from(["<search>", "</search>", "<answer>", "</answer>", "a", "<", "/"]), max_size=30))
def test_block_helpers_agree_with_the_protocol(parts: list[str]) -> None:
    from rezero_env.protocol import count_tag, tag_contents
    from rezero_env.rewards.base import count_blocks, first_block

    text = "".join(parts)
    for tag in ("search", "answer"):
        assert [count_blocks(text, tag, limit) for limit in (1, 2, 5, 99)] == [
            min(n, count_tag(text, tag)) for n in (1, 2, 5, 99)
        ]
        contents = tag_contents(text, tag)
        assert first_block(text, tag) == (contents[0] if contents else None)


@given(
    st.lists(st.text(alphabet="ab c", max_size=12) | st.sampled_from(["a" * 250, "ab" * 125, "b a" * 90]), max_size=8)
)
def test_budgeted_ratios_equal_difflib(texts: list[str]) -> None:
    from rezero_env.rewards.search_diversity import COMPARISON_BUDGET, _pair_scores

    expected = {
        (i, j): difflib.SequenceMatcher(None, texts[i], texts[j]).ratio()
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
    }
    no_operators = [frozenset[str]()] * len(texts)
    assert {
        pair: ratio for pair, (ratio, _) in _pair_scores(texts, no_operators, COMPARISON_BUDGET).items()
    } == expected
    cut = _pair_scores(texts, no_operators, budget=300)  # a small budget: the first pairs exactly, the rest absent
    assert all(expected[pair] == ratio for pair, (ratio, _) in cut.items())


@given(st.lists(st.text(alphabet="ab c-", max_size=15) | st.sampled_from(["a" * 150, "ab" * 70]), max_size=8))
def test_running_out_of_comparison_budget_never_raises_the_score(queries: list[str]) -> None:
    from rezero_env.rewards import search_diversity

    messages = [*PROMPT, *(_search(query) for query in queries if query.strip())]
    full = search_diversity_reward(messages)
    with pytest.MonkeyPatch.context() as patch:
        for budget in (0, 200, 2_000):
            patch.setattr(search_diversity, "COMPARISON_BUDGET", budget)
            assert search_diversity_reward(messages) <= full


def test_search_strategy_is_linear_on_an_unclosed_think() -> None:
    # ReZero's lazy regex takes ~14 s on this 100 KB message (quadratic); 1 MiB would take ~25 minutes.
    content = "<think>" + "found " * 16_000 + "<answer>x</answer>"
    start = time.perf_counter()
    assert search_strategy_reward([*PROMPT, SEARCH, INFO, assistant(content)]) == 0.2
    assert time.perf_counter() - start < 2.0


def test_search_diversity_scores_the_queries_as_searched() -> None:
    # The env cuts each query to max_query_chars before searching; the reward must score those cut queries.
    long_a, long_b = "apollo " + "x" * 50, "apollo " + "y" * 50
    messages = [*PROMPT, _search(long_a), INFO, _search(long_b), INFO]
    assert search_diversity_reward(messages, max_query_chars=6) == search_diversity_reward(
        [*PROMPT, _search("apollo"), INFO, _search("apollo"), INFO]
    )
    assert search_diversity_reward(messages, max_query_chars=None) > 0.2  # uncut: two different queries
    env = gym.make("SearchQA-v0", max_query_chars=6, max_turns=3)
    env.reset(seed=0)
    env.step(f"<think>t</think><search>{long_a}</search>")
    env.step(f"<think>t</think><search>{long_b}</search>")
    *_, info = env.step("<think>t</think><answer>x</answer>")
    assert [search["query"] for search in info["searches"]] == ["apollo", "apollo"]
    assert info["reward_terms"]["search_diversity"] == 0.0  # a duplicate, as searched


def test_search_diversity_is_bounded_on_huge_and_pathological_queries() -> None:
    huge = "<think>t</think><search>" + " ".join(f"w{i}" for i in range(150_000)) + "</search>"
    short = "".join(f"<search>query {i} about apollo</search>" for i in range(63))
    start = time.perf_counter()
    search_diversity_reward([*PROMPT, assistant(huge + short)])  # 1 MB query + 63 short ones: 13.9 s before
    assert time.perf_counter() - start < 2.0
    # difflib is cubic on repetitive strings under 200 characters: one such pair costs ~60 ms, 2,016 pairs minutes.
    pathological = "".join(
        f"<search>{'a' * (199 - i) if i % 2 else ('ab' * 100)[: 199 - i]}</search>" for i in range(64)
    )
    start = time.perf_counter()
    value = search_diversity_reward([*PROMPT, assistant(pathological)])
    assert time.perf_counter() - start < 2.0
    assert 0.0 <= value <= 1.0
