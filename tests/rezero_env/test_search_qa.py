"""SearchQA-v0 behaviour users rely on: registration, the Gymnasium API, episode rules, options and errors."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Sequence

import gymnasium as gym
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

import rezero_env
from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.protocol import tag_contents
from rezero_env.search import SearchError
from rezero_env.types import SearchResult, Task

gym.register_envs(rezero_env)


def search_action(query: str) -> str:
    return f"<think>I should search for this.</think>\n<search>{query}</search>"


def answer_action(answer: str) -> str:
    return f"<think>Based on the information, I found it.</think>\n<answer>{answer}</answer>"


def test_make_by_module_prefix_in_a_fresh_interpreter() -> None:
    code = (
        "import sys, gymnasium as gym\n"
        "env = gym.make('rezero_env:SearchQA-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "assert 'Question:' in obs, obs\n"
        "print(type(env.unwrapped).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "SearchQAEnv"


def test_import_is_cheap() -> None:
    code = (
        "import sys, rezero_env; print(sorted(m for m in ('bm25s', 'torch', 'transformers', 'rezero_agents') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_check_env_passes_with_warnings_as_errors() -> None:
    env = gym.make("SearchQA-v0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_envs_step(mode: str) -> None:
    envs = gym.make_vec("SearchQA-v0", num_envs=4, vectorization_mode=mode)
    try:
        observations, _ = envs.reset(seed=0)
        assert len(observations) == 4 and all("Question:" in o for o in observations)
        observations, rewards, terminated, truncated, _ = envs.step(tuple(search_action("born 1700") for _ in range(4)))
        assert all(o.startswith("<information>") for o in observations)
        assert not terminated.any() and not truncated.any()
        _, rewards, terminated, _, infos = envs.step(tuple(answer_action("nobody") for _ in range(4)))
        assert terminated.all()
        terms = infos["reward_terms"]  # vector envs batch dict infos key by key
        names = ["correctness", "format", "retry", "em_chunk", "search_strategy", "search_diversity"]
        assert [name for name in terms if not name.startswith("_")] == names
        assert (terms["format"] == 1.0).all() and (terms["correctness"] == 0.0).all()
        assert rewards == pytest.approx(
            sum(weight * terms[name] for weight, name in zip([4, 2, 1, 1, 1, 1], names, strict=True))
        )
    finally:
        envs.close()


def run_scripted_episode(env: gym.Env[str, str], answer: str | None = None) -> tuple[float, dict[str, object]]:
    env.reset(seed=3)
    task = env.unwrapped.task  # type: ignore[attr-defined]
    observation, reward, terminated, truncated, info = env.step(search_action(task.question))
    assert observation.startswith("<information>") and not (terminated or truncated)
    total = float(reward)
    _, reward, terminated, truncated, info = env.step(answer_action(answer or task.answers[0]))
    assert terminated and not truncated
    return total + float(reward), info


def test_scripted_correct_episode_scores() -> None:
    env = gym.make("SearchQA-v0")
    total, info = run_scripted_episode(env)
    terms = info["reward_terms"]
    assert isinstance(terms, dict)
    assert terms["correctness"] == 1.0
    assert terms["format"] == 1.0
    assert terms["retry"] == 0.35
    assert total > 0
    weights = {"correctness": 4, "format": 2, "retry": 1, "em_chunk": 1, "search_strategy": 1, "search_diversity": 1}
    assert total == pytest.approx(sum(weights[name] * value for name, value in terms.items()))


def test_wrong_answer_gets_no_correctness() -> None:
    _, info = run_scripted_episode(gym.make("SearchQA-v0"), answer="certainly not the answer")
    assert info["reward_terms"]["correctness"] == 0.0  # type: ignore[index]


def test_turn_limit_truncates() -> None:
    env = gym.make("SearchQA-v0", max_turns=3)
    env.reset(seed=0)
    for turn in range(1, 4):
        _, _, terminated, truncated, info = env.step(search_action(f"query {turn}"))
        assert info["turn"] == turn
    assert truncated and not terminated
    assert info["reward_terms"]["correctness"] == 0.0
    with pytest.raises(ResetNeeded):
        env.step(search_action("one more"))


def test_reply_without_search_terminates() -> None:
    env = gym.make("SearchQA-v0")
    env.reset(seed=0)
    observation, _, terminated, truncated, _ = env.step("I think it is probably 1643.")
    assert terminated and not truncated and observation == ""


def test_answer_wins_over_search_in_the_same_message() -> None:
    env = gym.make("SearchQA-v0")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step("<search>q</search><answer>x</answer>")
    assert terminated and info["searches"] == []


def play(env: gym.Env[str, str], seed: int, actions: Sequence[str]) -> list[object]:
    trace: list[object] = list(env.reset(seed=seed))
    for action in actions:
        trace.extend(env.step(action))
    return trace


def test_same_seed_same_episode() -> None:
    actions = [search_action("born in"), search_action("founded by"), answer_action("x")]
    first = play(gym.make("SearchQA-v0"), 11, actions)
    second = play(gym.make("SearchQA-v0"), 11, actions)
    assert first == second
    other = play(gym.make("SearchQA-v0"), 12, actions)
    assert other[0] != first[0]


def test_info_carries_the_transcript() -> None:
    env = gym.make("SearchQA-v0")
    observation, info = env.reset(seed=0)
    task = env.unwrapped.task  # type: ignore[attr-defined]
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert task.question in info["messages"][1]["content"]
    assert info["task_id"] == task.id and info["turn"] == 0 and info["searches"] == [] and info["reward_terms"] == {}
    observation, _, _, _, info = env.step(search_action(task.question))
    assert [m["role"] for m in info["messages"]] == ["system", "user", "assistant", "user"]
    assert info["messages"][-1]["content"] == observation
    assert info["searches"][0]["query"] == task.question
    assert info["searches"][0]["doc_ids"] and info["searches"][0]["error"] is None
    info["messages"].clear()  # the caller's copy; the env is unaffected
    assert len(env.unwrapped.messages) == 4  # type: ignore[attr-defined]


def test_gold_answer_never_in_the_reset_observation() -> None:
    env = SearchQAEnv(split="all")
    for index in range(len(env.tasks)):
        observation, _ = env.reset(options={"task_index": index})
        answers = env.task.answers  # type: ignore[union-attr]
        assert not any(re.search(rf"\b{re.escape(answer)}\b", observation) for answer in answers), env.task


def test_results_are_rendered_with_titles_and_texts() -> None:
    env = SearchQAEnv(top_k=3)
    single_hop = next(i for i, task in enumerate(env.tasks) if task.meta["level"] == "single-hop")
    env.reset(options={"task_index": single_hop})
    assert env.task is not None
    observation, *_ = env.step(search_action(env.task.question))
    [body] = tag_contents(observation, "information")
    assert body.count("\nDoc ") == 3
    supporting = env.dataset.document(env.task.supporting_ids[-1])
    assert supporting.text in observation


def test_pinning_tasks_through_reset_options() -> None:
    env = SearchQAEnv(split="test")
    env.reset(options={"task_index": 5})
    assert env.task == env.tasks[5]
    env.reset(options={"task_id": env.tasks[7].id})
    assert env.task == env.tasks[7]
    custom = Task(id="mine", question="Who is the best?", answers=("me",))
    observation, info = env.reset(options={"task": custom})
    assert "Who is the best?" in observation and info["task_id"] == "mine"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"task_index": 10_000}, ValueError),
        ({"task_index": "3"}, ValueError),
        ({"task_id": "no-such-task"}, KeyError),
        ({"task": "a question"}, TypeError),
        ({"task": Task(id="x", question="q", answers=("a",), supporting_ids=("missing",))}, KeyError),
        ({"task_index": 1, "task_id": "synth-00001"}, ValueError),
        ({"tsk_index": 1}, ValueError),
    ],
)
def test_bad_reset_options_raise_clear_errors(options: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        SearchQAEnv().reset(options=options)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"top_k": 0},
        {"max_turns": 0},
        {"max_turns": 2.5},
        {"split": "validation"},
        {"search_engine": "google"},
        {"search_engine": 42},
        {"search_options": {"colour": "blue"}},
        {"prompt_template": "no placeholder"},
        {"dataset": "no-such-dataset"},
        {"render_mode": "human"},
        {"reward": "best"},
    ],
)
def test_bad_options_raise_clear_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError, FileNotFoundError)):
        gym.make("SearchQA-v0", **kwargs)


def test_step_errors() -> None:
    env = SearchQAEnv()
    with pytest.raises(ResetNeeded):
        env.step("<answer>x</answer>")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="str"):
        env.step(None)  # type: ignore[arg-type]
    env.step("<answer>x</answer>")
    with pytest.raises(ResetNeeded):
        env.step("<answer>x</answer>")


@pytest.mark.parametrize("query", ["", "   \n ", "the of and", "zzzqqq", "x" * 100_000, "word " * 20_000])
def test_degenerate_queries_give_defined_observations(query: str) -> None:
    env = SearchQAEnv()
    env.reset(seed=0)
    observation, _, terminated, truncated, info = env.step(f"<search>{query}</search>")
    assert observation.startswith("<information>") and observation.endswith("</information>")
    assert env.observation_space.contains(observation)
    assert not terminated and not truncated
    assert len(info["searches"][0]["query"]) <= env.max_query_chars
    if not query.strip():
        assert "Search failed" in observation and info["searches"][0]["error"] == "empty query"


class _FlakyEngine:
    """A SearchEngine that fails every other call, as a web engine might."""

    def __init__(self) -> None:
        self.calls = 0

    def search(self, query: str, k: int) -> list[SearchResult]:
        self.calls += 1
        if self.calls % 2 == 0:
            raise SearchError("the search service timed out")
        return [SearchResult(doc_id=f"d{i}", text=f"result {i} for {query}", score=1.0 / (i + 1)) for i in range(9)]

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        return [self.search(query, k) for query in queries]


def test_custom_engine_and_search_failures_become_observations() -> None:
    env = gym.make("SearchQA-v0", search_engine=_FlakyEngine(), top_k=2)
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step(search_action("first"))
    assert "result 1 for first" in observation and "result 2" not in observation  # cut to top_k
    observation, _, terminated, _, info = env.step(search_action("second"))
    assert observation == "<information>\nSearch failed: the search service timed out\n</information>"
    assert not terminated and info["searches"][-1]["error"] == "the search service timed out"


def test_reward_presets() -> None:
    env = gym.make("SearchQA-v0", reward="em")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(f"<answer>{env.unwrapped.task.answers[0]}</answer>")  # type: ignore[attr-defined]
    assert reward == 1.0 and info["reward_terms"] == {"exact_match": 1.0}
    env = gym.make("SearchQA-v0", reward="none")
    env.reset(seed=0)
    _, reward, _, _, info = env.step(f"<answer>{env.unwrapped.task.answers[0]}</answer>")  # type: ignore[attr-defined]
    assert reward == 0.0 and info["reward_terms"] == {}


def test_custom_judge_is_used() -> None:
    env = gym.make("SearchQA-v0", judge=lambda prediction, answers: float(prediction == "always right"))
    env.reset(seed=0)
    _, _, _, _, info = env.step("<think>t</think><answer>always right</answer>")
    assert info["reward_terms"]["correctness"] == 1.0


@pytest.mark.parametrize("reward", ["rezero", "none"])
def test_judge_is_validated_when_the_env_is_made(reward: str) -> None:
    # Issue 14, item 13: a bad judge used to be accepted and fail at the first episode end ("'str' object is not
    # callable"), or never, with a preset that judges nothing.
    with pytest.raises(ValueError, match=r"judge='contain': unknown judge; choose one of"):
        gym.make("SearchQA-v0", reward=reward, judge="contain")
    with pytest.raises(TypeError, match=r"judge must be a callable judge\(prediction, answers\) -> float, .*got int"):
        gym.make("SearchQA-v0", reward=reward, judge=42)
    from rezero_env.rewards import CorrectnessReward, EMF1Judge

    with pytest.raises(ValueError, match="unknown judge"):
        CorrectnessReward(SearchQAEnv(), judge="em_f2")
    assert gym.make("SearchQA-v0", reward=reward, judge=EMF1Judge(0.5)) is not None


def test_spec_recreates_the_same_wrapped_env() -> None:
    env = gym.make("SearchQA-v0", top_k=2)
    again = gym.make(env.spec)  # type: ignore[arg-type]
    assert str(again) == str(env)
    assert again.unwrapped.top_k == 2  # type: ignore[attr-defined]


def test_render_ansi() -> None:
    env = gym.make("SearchQA-v0", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and text.startswith("[system]") and "[user]" in text


def test_engines_are_shared_between_envs_over_the_same_dataset() -> None:
    assert SearchQAEnv().engine is SearchQAEnv(split="test").engine
    assert SearchQAEnv().engine is not SearchQAEnv(search_options={"backend": "rank_bm25"}).engine


def test_no_system_prompt_and_custom_template() -> None:
    env = SearchQAEnv(system_prompt=None, prompt_template="Q: {question} {not a placeholder}")
    observation, info = env.reset(options={"task_index": 0})
    assert env.task is not None
    assert observation == f"Q: {env.task.question} {{not a placeholder}}"
    assert [m["role"] for m in info["messages"]] == ["user"]


@pytest.mark.parametrize("key", ["task_id", "task_index", "task"])
def test_a_reset_option_given_as_none_is_refused(key: str) -> None:
    """Issue 27, item 8: ``{"task_id": None}`` used to draw a random task silently."""
    with pytest.raises(ValueError, match=rf"'{key}' is None"):
        SearchQAEnv().reset(options={key: None})


@pytest.mark.parametrize("template", ["{question} {x}", "Q: {questions}", "{question} {Question}"])
def test_a_prompt_template_with_another_placeholder_is_refused(template: str) -> None:
    """Issue 27, item 8: a ``{name}`` other than ``{question}`` is never filled (a typo such as ``{questions}``)."""
    with pytest.raises(ValueError, match=r"prompt_template.*\{(x|questions|Question)\}"):
        SearchQAEnv(prompt_template=template)
