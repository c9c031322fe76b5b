from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym

import rezero_env  # noqa: F401
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.rollout import collect_episodes
from rezero_agents.scripted import ScriptedSearcher, parse_question
from rezero_env.data.synthetic import default_world
from rezero_env.search import BM25Search
from rezero_env.types import SearchResult


def test_parses_every_question_shape_of_the_synthetic_world() -> None:
    templates = {}
    for task in default_world().tasks:
        templates.setdefault(task.meta["template"], task)
    for template, task in templates.items():
        parsed = parse_question(task.question)
        assert parsed is not None, task.question
        assert len(parsed[1]) == template.count(">") + 1


def test_solves_the_synthetic_test_split() -> None:
    summary, episodes = evaluate_policy(ScriptedSearcher(), lambda: gym.make("SearchQA-v0", split="test"), 80)
    assert summary["accuracy"] >= 0.95
    assert summary["format_compliance"] == 1.0
    two_hop = [e for e in episodes if e.task.meta["level"] == "two-hop"]
    assert two_hop and all(len(e.searches) >= 2 or e.correct for e in two_hop)


class MissFirst:
    """A search engine whose first answer to every query is useless."""

    def __init__(self) -> None:
        self.engine = BM25Search(default_world().documents)
        self.seen: set[str] = set()

    def search(self, query: str, k: int) -> list[SearchResult]:
        if not self.seen:
            self.seen.add(query)
            return [SearchResult("x", "Nothing useful here.", 1.0)]
        return self.engine.search(query, k)

    def batch_search(self, queries: Sequence[str], k: int) -> list[list[SearchResult]]:
        return [self.search(q, k) for q in queries]


def test_retries_with_a_reformulated_query_when_a_search_misses() -> None:
    env = gym.make("SearchQA-v0", search_engine=MissFirst())
    single_hop = next(i for i, t in enumerate(env.unwrapped.tasks) if t.meta["level"] == "single-hop")  # type: ignore[attr-defined]
    [episode] = collect_episodes([env], ScriptedSearcher(), [{"task_index": single_hop}])
    queries = [s["query"] for s in episode.searches]
    assert len(queries) == 2 and queries[0] != queries[1]
    assert episode.correct and episode.reward_terms["retry"] == 0.5
    assert "different search" in episode.messages[4]["content"]


def test_without_retry_it_answers_after_one_miss() -> None:
    env = gym.make("SearchQA-v0", search_engine=MissFirst())
    [episode] = collect_episodes([env], ScriptedSearcher(retry=False), [{"task_index": 0}])
    assert len(episode.searches) == 1 and not episode.correct


def test_unknown_questions_get_a_search_and_an_answer() -> None:
    searcher = ScriptedSearcher()
    messages = [{"role": "user", "content": "Question: What colour is the sky on Mars?"}]
    first = searcher.next_message(messages)  # type: ignore[arg-type]
    assert "<search>What colour is the sky on Mars?</search>" in first
    messages += [
        {"role": "assistant", "content": first},
        {"role": "user", "content": "<information>\nDoc 1\nIt is butterscotch. Yes.\n</information>"},
    ]
    assert "<answer>It is butterscotch.</answer>" in searcher.next_message(messages)  # type: ignore[arg-type]
