import pytest

from rezero_env.rewards.judge import EMF1Judge, default_judge, exact_match, normalize_answer, token_f1


def test_normalize_answer_follows_squad() -> None:
    assert normalize_answer("The  Velmora, Observatory!") == "velmora observatory"
    assert normalize_answer("An apple a day") == "apple day"


def test_exact_match_over_aliases() -> None:
    assert exact_match("velmora observatory", ["Grand Hall", "The Velmora Observatory"]) == 1.0
    assert exact_match("Velmora", ["Velmora Observatory"]) == 0.0


def test_token_f1_is_best_over_answers() -> None:
    assert token_f1("Velmora Observatory", ["Velmora"]) == pytest.approx(2 / 3)
    assert token_f1("Velmora", ["x", "Velmora"]) == 1.0
    assert token_f1("", ["Velmora"]) == 0.0


def test_default_judge_accepts_em_or_high_f1_only() -> None:
    assert default_judge("1643", ["1643"]) == 1.0
    assert default_judge("1634", ["1643"]) == 0.0  # a near-duplicate value is wrong
    assert default_judge("Orlan Vask", ["Orlen Vask"]) == 0.0  # a near-twin name is wrong
    assert default_judge("the big red harbour crane", ["big red harbour crane"]) == 1.0
    judge = EMF1Judge(f1_threshold=0.5)
    assert judge("Velmora Observatory", ["Velmora"]) == 1.0
    with pytest.raises(ValueError):
        EMF1Judge(f1_threshold=0)
