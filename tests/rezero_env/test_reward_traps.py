"""Reward and env traps (issue 16, items 6-9): a term applied twice, the weighted terms adding up to the reward,
TimeLimit truncation, datasets without supporting ids, engines returning the wrong type."""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
import pytest

import rezero_env
from rezero_env.data.dataset import QADataset
from rezero_env.envs.search_qa import UnscoredEpisodeWarning
from rezero_env.rewards import (
    REWARD_PRESETS,
    CorrectnessReward,
    DuplicateRewardWarning,
    EmChunkReward,
    RetryReward,
)
from rezero_env.types import Document, SearchResult, Task, current_task

THINK = "<think>Let me look this up.</think>"
ANALYSED = "<think>Based on the results, I found it.</think>"


def weighted_sum(info: dict[str, Any]) -> float:
    assert set(info["reward_terms"]) == set(info["reward_weights"])
    return sum(info["reward_weights"][key] * value for key, value in info["reward_terms"].items())


def play(env: gym.Env[str, str], actions: list[str], task_index: int = 0) -> tuple[float, dict[str, Any], bool]:
    """Play ``actions`` (stopping when the episode ends); the last reward, info and whether it was truncated."""
    env.reset(seed=0, options={"task_index": task_index})
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return float(reward), info, truncated
        assert reward == 0.0 and info["reward_terms"] == {}
    raise AssertionError("the episode did not end")


def episodes(answer: str, question: str) -> dict[str, list[str]]:
    return {
        "search then right answer": [f"{THINK}<search>{question}</search>", f"{ANALYSED}<answer>{answer}</answer>"],
        "two searches then wrong answer": [
            f"{THINK}<search>{question}</search>",
            f"{ANALYSED}<search>{question} again</search>",
            f"{ANALYSED}<answer>nobody at all</answer>",
        ],
        "repeated query then right answer": [
            f"{THINK}<search>{question}</search>",
            f"{ANALYSED}<search>{question}</search>",
            f"{ANALYSED}<answer>{answer}</answer>",
        ],
        "no tags": ["I do not know."],
        "truncated at max_turns": [f"{THINK}<search>{question} {i}</search>" for i in range(3)],
    }


@pytest.mark.parametrize("preset", sorted(REWARD_PRESETS))
def test_weighted_terms_add_up_to_the_reward_for_every_preset(preset: str) -> None:
    env = gym.make("SearchQA-v0", reward=preset, max_turns=3)
    env.reset(options={"task_index": 0})
    task = current_task(env)
    expected_keys = {wrapper.name for wrapper, _ in REWARD_PRESETS[preset]}
    seen_rewards = set()
    for name, actions in episodes(task.answers[0], task.question).items():
        reward, info, truncated = play(env, actions)
        assert set(info["reward_terms"]) == expected_keys, name
        assert math.isclose(reward, weighted_sum(info), abs_tol=1e-9), (name, reward, info["reward_terms"])
        assert truncated == (name == "truncated at max_turns")
        seen_rewards.add(round(reward, 6))
    if preset != "none":
        assert len(seen_rewards) > 1  # the episodes really score differently, so the identity is not 0 == 0


def test_a_term_applied_twice_warns_and_still_adds_up() -> None:
    with pytest.warns(DuplicateRewardWarning, match=r"CorrectnessReward \('correctness'\) is applied twice"):
        env = CorrectnessReward(gym.make("SearchQA-v0"), weight=4.0)
    assert env.key == "correctness_2"
    env.reset(options={"task_index": 0})
    task = current_task(env)
    reward, info, _ = play(
        env, [f"{THINK}<search>{task.question}</search>", f"{ANALYSED}<answer>{task.answers[0]}</answer>"]
    )
    assert info["reward_terms"]["correctness"] == info["reward_terms"]["correctness_2"] == 1.0
    assert math.isclose(reward, weighted_sum(info))
    assert info["reward_weights"]["correctness_2"] == 4.0


def test_a_third_copy_gets_its_own_key_and_distinct_terms_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DuplicateRewardWarning)
        env = RetryReward(CorrectnessReward(gym.make("SearchQA-v0", reward="none")))  # no duplicate: no warning
    with pytest.warns(DuplicateRewardWarning):
        env = RetryReward(env)
    with pytest.warns(DuplicateRewardWarning, match="retry_3"):
        env = RetryReward(env)
    assert env.key == "retry_3"


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), "4", True])
def test_a_weight_that_is_not_a_finite_number_is_refused(weight: Any) -> None:
    with pytest.raises(ValueError, match="RetryReward: weight must be a finite number"):
        RetryReward(gym.make("SearchQA-v0", reward="none"), weight=weight)


def test_notes_explain_the_terms() -> None:
    env = gym.make("SearchQA-v0", max_turns=4)
    env.reset(options={"task_index": 0})
    task = current_task(env)
    _, info, _ = play(
        env,
        [
            f"{THINK}<search>{task.question}</search>",
            f"{ANALYSED}<search>{task.question}</search>",
            f"{ANALYSED}<answer>{task.answers[0]}</answer>",
        ],
    )
    notes = info["reward_notes"]
    assert notes["retry"] == "2 searches → 0.2 + 0.15·2"
    assert notes["search_diversity"] == "2 queries, 1 distinct: 1 repeated (−0.2 each)"
    assert notes["format"] == "last message well formed"
    assert notes["search_strategy"].startswith("think+search first 0.2")


# --- item 7: TimeLimit truncation -------------------------------------------------------------------------------


def test_time_limit_truncation_is_unscored_and_the_next_reset_warns() -> None:
    env = gym.make("SearchQA-v0", max_episode_steps=2)  # TimeLimit outside the reward wrappers
    env.reset(options={"task_index": 0})
    env.step(f"{THINK}<search>a</search>")
    _, reward, terminated, truncated, info = env.step(f"{THINK}<search>b</search>")
    assert (terminated, truncated, reward, info["reward_terms"]) == (False, True, 0.0, {})
    with pytest.warns(UnscoredEpisodeWarning, match=r"use max_turns=n instead"):
        env.reset()
    with warnings.catch_warnings():  # once per environment
        warnings.simplefilter("error", UnscoredEpisodeWarning)
        env.step(f"{THINK}<search>a</search>")
        env.reset()


def test_max_turns_truncation_is_scored() -> None:
    env = gym.make("SearchQA-v0", max_turns=2)
    env.reset(options={"task_index": 0})
    env.step(f"{THINK}<search>a</search>")
    _, reward, terminated, truncated, info = env.step(f"{THINK}<search>b</search>")
    assert (terminated, truncated) == (False, True)
    assert info["reward_terms"]["format"] == 1.0 and reward == pytest.approx(weighted_sum(info)) and reward > 0
    with warnings.catch_warnings():  # an episode the env ended: no warning
        warnings.simplefilter("error", UnscoredEpisodeWarning)
        env.reset()


def test_max_episode_steps_given_to_the_env_itself_points_to_max_turns() -> None:
    with pytest.raises(ValueError, match=r"max_episode_steps=3: limit SearchQA episodes with max_turns"):
        gym.make_vec("SearchQA-v0", num_envs=2, max_episode_steps=3)
    with pytest.raises(ValueError, match="max_turns=3"):
        rezero_env.SearchQAEnv(max_episode_steps=3)


# --- item 8: datasets without supporting ids --------------------------------------------------------------------


def no_supporting_ids_dataset() -> QADataset:
    documents = (
        Document("0", "The Aurora was built in 1821 in Halvik.", title="Aurora"),
        Document("1", "The Borealis sank off the coast.", title="Borealis"),
    )
    tasks = (
        Task("q0", "When was the Aurora built?", ("1821",)),
        Task("q1", "Where did the Borealis sink?", ("Cape Morn",)),
    )
    return QADataset(name="no-support", documents=documents, tasks=tasks)


def test_em_chunk_falls_back_to_a_gold_answer_in_the_results() -> None:
    env = gym.make("SearchQA-v0", dataset=no_supporting_ids_dataset(), split="all", top_k=1)
    actions = [f"{THINK}<search>Aurora built</search>", f"{ANALYSED}<answer>1821</answer>"]
    _, info, _ = play(env, actions, task_index=0)
    assert info["reward_terms"]["em_chunk"] == 1.0
    assert (
        info["reward_notes"]["em_chunk"] == "no supporting paragraph in this dataset: a result contains a gold answer"
    )
    _, info, _ = play(env, [f"{THINK}<search>Borealis sank</search>", f"{ANALYSED}<answer>x</answer>"], task_index=1)
    assert info["reward_terms"]["em_chunk"] == 0.0  # "Cape Morn" is in no document


def test_em_chunk_keeps_rezero_rule_when_supporting_ids_exist() -> None:
    env = EmChunkReward(gym.make("SearchQA-v0", reward="none"))
    env.reset(options={"task_index": 0})
    task = current_task(env)
    # a search that misses the supporting paragraph scores 0 even though the answer is right
    _, info, _ = play(env, [f"{THINK}<search>zzzz qqqq</search>", f"{ANALYSED}<answer>{task.answers[0]}</answer>"])
    assert info["reward_terms"]["em_chunk"] == 0.0
    assert info["reward_notes"]["em_chunk"] == "the supporting paragraph was not retrieved"


# --- item 9: engines returning the wrong type -------------------------------------------------------------------


class DictEngine:
    """Returns dicts instead of SearchResult."""

    def search(self, query: str, k: int) -> list[Any]:
        return [{"doc_id": "0", "text": "x", "score": 1.0}]

    def batch_search(self, queries: list[str], k: int) -> list[list[Any]]:
        return [self.search(query, k) for query in queries]


class GoodSearchBadBatch(DictEngine):
    def search(self, query: str, k: int) -> list[Any]:
        return [SearchResult("0", "x", 1.0)]

    def batch_search(self, queries: list[str], k: int) -> list[list[Any]]:
        return [[SearchResult("0", "x", 1.0)]]  # one list whatever the number of queries


def test_an_engine_returning_dicts_gets_a_type_error_naming_it() -> None:
    env = gym.make("SearchQA-v0", search_engine=DictEngine())
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"DictEngine\.search\(\) returned a list holding a dict .* SearchResult"):
        env.step("<search>anything</search>")
    envs = gym.make_vec("SearchQA-v0", num_envs=2, search_engine=DictEngine())
    envs.reset(seed=0)
    with pytest.raises(TypeError, match=r"DictEngine\.batch_search\(\) returned a list holding a dict"):
        envs.step(("<search>a</search>", "<search>b</search>"))


def test_an_engine_returning_a_string_or_too_few_lists_is_named() -> None:
    class StringEngine(DictEngine):
        def search(self, query: str, k: int) -> Any:
            return "Doc 1: x"

    env = gym.make("SearchQA-v0", search_engine=StringEngine())
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"StringEngine\.search\(\) returned a str; it must return a list of"):
        env.step("<search>anything</search>")
    envs = gym.make_vec("SearchQA-v0", num_envs=2, search_engine=GoodSearchBadBatch())
    envs.reset(seed=0)
    with pytest.raises(TypeError, match=r"GoodSearchBadBatch\.batch_search\(\) returned 1 result lists for 2 queries"):
        envs.step(("<search>a</search>", "<search>b</search>"))


def test_current_task_on_a_foreign_env_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="CartPoleEnv is not a rezero_env environment"):
        current_task(gym.make("CartPole-v1"))
    with pytest.raises(RuntimeError, match="call reset"):
        current_task(gym.make("SearchQA-v0"))


def test_the_readme_composition_example_runs() -> None:
    import re

    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"Compose your own:\n\n```python\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    namespace: dict[str, Any] = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    env = namespace["env"]
    env.reset(options={"task_index": 0})
    task = current_task(env)
    reward, info, _ = play(
        env, [f"{THINK}<search>{task.question}</search>", f"{ANALYSED}<answer>{task.answers[0]}</answer>"]
    )
    assert info["reward_weights"] == {"correctness": 4.0, "retry": 1.0}
    assert reward == pytest.approx(4.0 + 0.35)
