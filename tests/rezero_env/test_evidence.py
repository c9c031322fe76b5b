"""The evidence term: the share of a task's supporting documents that the episode's searches returned."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import pytest

import rezero_env  # noqa: F401  (registers the ids)
from rezero_env.rewards import REWARD_PRESETS, EvidenceReward, evidence_reward, paragraph_evidence_reward
from rezero_env.types import Message, Task


def search(turn: int, *doc_ids: str, error: str | None = None) -> dict[str, Any]:
    return {"turn": turn, "query": f"query {turn}", "doc_ids": list(doc_ids), "error": error}


def info(content: str) -> Message:
    return {"role": "user", "content": f"<information>{content}</information>"}


TWO_HOP = ("person-a-life", "person-b-career")


@pytest.mark.parametrize(
    ("searches", "expected"),
    [
        ([], 0.0),  # no search
        ([search(1, "x", "y"), search(2, error="timeout")], 0.0),  # searches that missed, one failed
        ([search(1, "x", "person-a-life")], 0.5),  # the first hop only
        ([search(1, "person-b-career")], 0.5),  # the second hop only
        ([search(1, "person-a-life", "x"), search(2, "person-b-career")], 1.0),  # both, over two searches
        ([search(1, "person-b-career", "person-a-life")], 1.0),  # both in one search
    ],
)
def test_two_hop_values(searches: list[dict[str, Any]], expected: float) -> None:
    assert evidence_reward(searches, TWO_HOP) == expected


def test_a_document_retrieved_twice_counts_once() -> None:
    searches = [search(1, "person-a-life"), search(2, "person-a-life", "x"), search(3, "person-a-life")]
    assert evidence_reward(searches, TWO_HOP) == 0.5
    assert evidence_reward(searches, ("person-a-life", "person-a-life")) == 1.0  # a repeated supporting id, once
    assert evidence_reward(searches, ()) == 0.0


def test_paragraph_fallback_function() -> None:
    first, second = "Orlen Vask was a pupil of Ida Rusk.", "Ida Rusk worked as a cartographer."
    one = [info(f"Doc 1 (Title: Orlen Vask)\n{first}")]
    assert paragraph_evidence_reward(one, [first, second]) == 0.5
    assert paragraph_evidence_reward([*one, info(f"Doc 1\n{second}")], [first, second]) == 1.0
    assert paragraph_evidence_reward([*one, *one], [first, first, "  "]) == 1.0  # distinct, non-blank paragraphs
    assistant_echo: Message = {"role": "assistant", "content": f"<information>{second}</information>"}
    assert paragraph_evidence_reward([assistant_echo], [second]) == 0.0  # only information messages count
    assert paragraph_evidence_reward(one, []) == 0.0


def test_rezero_evidence_preset_is_rezero_plus_evidence() -> None:
    assert REWARD_PRESETS["rezero-evidence"] == (*REWARD_PRESETS["rezero"], (EvidenceReward, 1.0))


# --- Through gym.make on the synthetic world ----------------------------------------------------------------------


def first_two_hop(env: gym.Env[str, str]) -> Task:
    tasks: list[Task] = env.unwrapped.tasks  # type: ignore[attr-defined]
    return next(task for task in tasks if task.meta.get("level") == "two-hop" and len(task.supporting_ids) == 2)


def titles(env: gym.Env[str, str], task: Task) -> list[str]:
    dataset = env.unwrapped.dataset  # type: ignore[attr-defined]
    return [str(dataset.document(doc_id).title) for doc_id in task.supporting_ids]


def play(
    env: gym.Env[str, str], task: Task, queries: list[str], pin: str = "task_id"
) -> tuple[SupportsFloat, dict[str, Any]]:
    """Search each query in turn, then answer with the gold answer; the final reward and info."""
    env.reset(seed=0, options={pin: task.id if pin == "task_id" else task})
    for query in queries:
        *_, terminated, truncated, _ = env.step(f"<think>I need to look up {query}.</think>\n<search>{query}</search>")
        assert not (terminated or truncated)
    answer = f"<think>Based on the information, I know the answer.</think>\n<answer>{task.answers[0]}</answer>"
    _, reward, terminated, _, final = env.step(answer)
    assert terminated
    return reward, final


def test_evidence_rises_as_a_two_hop_question_is_researched() -> None:
    env = gym.make("SearchQA-v0", reward="rezero-evidence")
    task = first_two_hop(env)
    first_entity, bridge_entity = titles(env, task)
    first_id, bridge_id = task.supporting_ids
    values = []
    for queries in ([], [first_entity], [first_entity, bridge_entity]):
        reward, final = play(env, task, queries)
        retrieved = [set(record["doc_ids"]) for record in final["searches"]]
        # The first search finds the first hop's document only; the second finds the bridge's.
        assert [first_id in ids for ids in retrieved[:1]] == [True][: len(queries)]
        assert [bridge_id in ids for ids in retrieved] == [False, True][: len(queries)]
        terms, weights = final["reward_terms"], final["reward_weights"]
        assert set(terms) == {
            "correctness", "format", "retry", "em_chunk", "search_strategy", "search_diversity", "evidence"
        }  # fmt: skip
        assert weights["evidence"] == 1.0
        assert float(reward) == pytest.approx(sum(weights[name] * value for name, value in terms.items()))
        values.append(terms["evidence"])
        total = len(queries)
        assert final["reward_notes"]["evidence"] == f"{total} of 2 supporting documents retrieved"
    assert values == [0.0, 0.5, 1.0]


def test_tasks_without_supporting_ids_fall_back() -> None:
    env = gym.make("SearchQA-v0", reward="none")
    wrapped = EvidenceReward(env, weight=2.0)
    two_hop = first_two_hop(env)
    first_entity, bridge_entity = titles(env, two_hop)
    dataset = env.unwrapped.dataset  # type: ignore[attr-defined]
    paragraphs = [dataset.document(doc_id).text for doc_id in two_hop.supporting_ids]

    # ReZero's format: supporting paragraph texts, no ids; the share found verbatim in the results.
    with_paragraphs = Task("p", two_hop.question, two_hop.answers, meta={"supporting_paragraphs": paragraphs})
    for queries, expected in (([], 0.0), ([first_entity], 0.5), ([first_entity, bridge_entity], 1.0)):
        reward, final = play(wrapped, with_paragraphs, queries, pin="task")
        assert final["reward_terms"]["evidence"] == expected
        assert float(reward) == 2.0 * expected
        assert final["reward_notes"]["evidence"] == f"{len(queries)} of 2 supporting paragraphs retrieved verbatim"

    # Neither ids nor paragraphs: did a retrieved document contain a gold answer?
    bare = Task("b", two_hop.question, two_hop.answers)
    _, final = play(wrapped, bare, [first_entity], pin="task")
    assert final["reward_terms"]["evidence"] == 0.0  # the first hop does not name the answer
    _, final = play(wrapped, bare, [first_entity, bridge_entity], pin="task")
    assert final["reward_terms"]["evidence"] == 1.0
    note = final["reward_notes"]["evidence"]
    assert note == "no supporting documents in this dataset: a result contains a gold answer"


class DropSearches(gym.Wrapper[str, str, str, str]):
    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, step_info = self.env.step(action)
        step_info.pop("searches", None)
        return observation, reward, terminated, truncated, step_info


def test_an_env_that_records_no_searches_is_named() -> None:
    env = EvidenceReward(DropSearches(gym.make("SearchQA-v0", reward="none")))
    env.reset(options={"task_index": 0})
    with pytest.raises(KeyError, match=r"info\['searches'\]"):
        env.step("<think>t</think><answer>x</answer>")
