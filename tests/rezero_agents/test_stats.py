"""Accuracy intervals and paired comparisons (rezero_agents.stats)."""

from __future__ import annotations

import pytest

from rezero_agents.stats import accuracy_summary, compare, mcnemar_exact, wilson_interval


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(7, 32)
    assert (round(low, 3), round(high, 3)) == (0.11, 0.388)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 3)


def test_accuracy_summary_counts_and_brackets_the_accuracy() -> None:
    summary = accuracy_summary([True, False, False, True])
    assert summary["n"] == 4 and summary["correct"] == 2 and summary["accuracy"] == 0.5
    assert summary["low"] < 0.5 < summary["high"]


def test_mcnemar_is_the_exact_binomial_test_on_discordant_questions() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(7, 0) == pytest.approx(2 * 0.5**7)
    assert mcnemar_exact(3, 3) == 1.0


def test_compare_pairs_questions_by_id_and_brackets_the_difference() -> None:
    a = {f"q{i}": i < 20 for i in range(40)}
    b = {f"q{i}": i < 8 for i in range(40)}
    result = compare(a, b)
    assert result.difference == pytest.approx(0.3)
    assert result.a_only == 12 and result.b_only == 0
    assert 0 < result.low < 0.3 < result.high
    assert result.p_value < 0.001
    assert "+30.0 points" in str(result)
    # order of the mapping does not matter; swapping the sides negates the difference
    swapped = compare(dict(reversed(list(b.items()))), a)
    assert swapped.difference == pytest.approx(-0.3) and swapped.b_only == 12


def test_compare_of_a_policy_with_itself_is_zero_with_p_one() -> None:
    verdicts = [True, False, True, True, False]
    result = compare(verdicts, verdicts)
    assert (result.difference, result.low, result.high, result.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_compare_refuses_unpaired_results() -> None:
    with pytest.raises(ValueError, match="different questions"):
        compare({"a": True}, {"b": True})
    with pytest.raises(ValueError, match="same"):
        compare([True], [True, False])
    with pytest.raises(TypeError, match="two sequences or two mappings"):
        compare([True], {"a": True})
    with pytest.raises(ValueError, match="no questions"):
        compare([], [])
