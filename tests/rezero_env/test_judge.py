import ast
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rezero_env.rewards import judge as judge_module
from rezero_env.rewards import judges as judges_package
from rezero_env.rewards.judge import EMF1Judge, default_judge, exact_match, normalize_answer, token_f1
from rezero_env.rewards.judges import em_f1


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
    assert judge("Velmora Orlen", ["Velmora"]) == 0.0  # two names: a list, screened (issue 26)
    with pytest.raises(ValueError):
        EMF1Judge(f1_threshold=0)


answer_words = st.lists(
    st.sampled_from(["the", "a", "Velmora", "Orlen", "vask", "1643", "!", "—", " ", "x"]), max_size=12
)


@given(
    answer_words.map(" ".join), st.lists(answer_words.map(" ".join), max_size=3), st.sampled_from([0.3, 0.5, 0.8, 1.0])
)
def test_emf1_judge_is_exact_match_or_f1_at_threshold(prediction: str, answers: list[str], threshold: float) -> None:
    # The judge normalises once and skips hopeless predictions; unscreened, its verdict must stay the textbook one on
    # every gold that normalises to something (one that normalises to nothing would accept an empty answer: issue 26).
    judgeable = [answer for answer in answers if normalize_answer(answer)]
    expected = 1.0 if exact_match(prediction, judgeable) else float(token_f1(prediction, judgeable) >= threshold)
    assert EMF1Judge(f1_threshold=threshold, screen=False)(prediction, answers) == expected
    # the hack screen only ever takes credit away
    assert EMF1Judge(f1_threshold=threshold)(prediction, answers) <= expected


def test_emf1_judge_bounds_its_work_on_huge_predictions() -> None:
    # Normalising a crafted megabyte took up to 150 ms (a step's whole budget is 50 ms); past max_prediction_chars
    # a prediction is judged wrong unread, below it the verdict is the textbook one.
    start = time.perf_counter()
    for crafted in ("a—" * 500_000, "a " * 500_000, "the word " * 116_000, "Orlen Vask" + " " * 1_000_000):
        assert default_judge(crafted, ["Orlen Vask"]) == 0.0
    assert time.perf_counter() - start < 0.5
    assert default_judge("Orlen Vask" + " " * 16_000, ["Orlen Vask"]) == 1.0
    assert default_judge("orlen vask " + "x" * 16_000, ["Orlen Vask"]) == 1.0  # F1 = 0.8
    unbounded = EMF1Judge(max_prediction_chars=None)
    assert unbounded("Orlen Vask" + " " * 1_000_000, ["Orlen Vask"]) == 1.0
    assert repr(unbounded) == "EMF1Judge(f1_threshold=0.8, max_prediction_chars=None)"
    with pytest.raises(ValueError, match="max_prediction_chars must be a positive integer or None"):
        EMF1Judge(max_prediction_chars=0)


# --- One home for the judges: rezero_env.rewards.judge re-exports rezero_env.rewards.judges, never the reverse ------


@pytest.mark.parametrize(
    "modules",
    [
        ("rezero_env.rewards.judges", "rezero_env.rewards.judge"),
        ("rezero_env.rewards.judge", "rezero_env.rewards.judges"),
        ("rezero_env.rewards.judges.em_f1", "rezero_env.rewards.judge"),
        ("rezero_env.rewards.judges.contains", "rezero_env.rewards.judges.cascade", "rezero_env.rewards.judge"),
    ],
)
def test_judge_modules_import_in_any_order(modules: tuple[str, ...]) -> None:
    imports = "; ".join(f"import {module}" for module in modules)
    check = (
        "from rezero_env.rewards.judge import resolve_judge; "
        "assert type(resolve_judge('contains')).__name__ == 'ContainsJudge'"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{imports}; {check}"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def _imported_modules(tree: ast.AST, package: str) -> set[str]:
    """The modules every ``import``/``from … import`` in ``tree`` names (relative ones resolved in ``package``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_imports_between_judge_and_judges_go_one_way() -> None:
    rewards = Path(str(judge_module.__file__)).parent
    # judge.py imports at module level only: no function-level import left to hide a cycle.
    tree = ast.parse((rewards / "judge.py").read_text(encoding="utf-8"))
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            assert not [n for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom)], function.name
    # No module of the judges package imports rezero_env.rewards.judge, at any level.
    for path in sorted((rewards / "judges").glob("*.py")):
        named = _imported_modules(ast.parse(path.read_text(encoding="utf-8")), "rezero_env.rewards.judges")
        assert "rezero_env.rewards.judge" not in named, path.name
        assert not {"rezero_env.rewards", "rezero_env"} & named, path.name  # nor the package that imports it
    # The re-exported names are the judges package's own objects.
    for name in ("EMF1Judge", "Judge", "default_judge", "resolve_judge"):
        assert getattr(judge_module, name) is getattr(judges_package, name)
    for name in ("MAX_PREDICTION_CHARS", "exact_match", "normalize_answer", "token_f1"):
        assert getattr(judge_module, name) is getattr(em_f1, name)
