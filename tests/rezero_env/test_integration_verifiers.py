"""verifiers' own rollout code (``vf.Env.run_episode``: interception server, client, harness session, task scoring)
plays SearchQA-v0 through ``rezero_env.integrations.verifiers`` against an OpenAI-compatible stub on 127.0.0.1 whose
"model" is the scripted searcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

vf = pytest.importorskip("verifiers.v1")
uvicorn = pytest.importorskip("uvicorn")
from fastapi import FastAPI, Request  # noqa: E402

from rezero_env.integrations.common import make_env, reward_terms  # noqa: E402
from rezero_env.integrations.verifiers import (  # noqa: E402
    INFO_KEY,
    load_environment,
    restore_stop,
    seeded_task,
)
from tests.rezero_env.scripted_play import Played, assert_same_episodes, next_action  # noqa: E402
from tests.serving import serve_in_thread  # noqa: E402

STUB_KEY_VAR = "REZERO_TEST_STUB_KEY"


def stub_app(requests: list[dict[str, Any]]) -> FastAPI:
    """An OpenAI-compatible chat endpoint whose replies are the scripted searcher's next messages."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> dict[str, Any]:
        body = await request.json()
        requests.append(body)
        text = next_action([{"role": m["role"], "content": m["content"]} for m in body["messages"]])
        return {
            "id": f"chatcmpl-{len(requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    return app


@pytest.fixture(scope="module")
def stub() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    config = uvicorn.Config(stub_app(requests), host="127.0.0.1", port=0, log_level="warning")
    with serve_in_thread(config, "the stub") as url:
        yield f"{url}/v1", requests


def run_episodes(base_url: str, seeds: list[int]) -> list[Any]:
    env = load_environment()
    ctx = vf.ModelContext(model="scripted", client=vf.EvalClientConfig(base_url=base_url, api_key_var=STUB_KEY_VAR))

    async def play() -> list[Any]:
        async with env.serving():
            tasks = [seeded_task(seed) for seed in seeds]
            return list(await asyncio.gather(*(env.run_episode(task, ctx) for task in tasks)))

    return asyncio.run(play())


def test_verifiers_rollouts_equal_the_gymnasium_env(
    stub: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STUB_KEY_VAR, "stub-key")
    base_url, requests = stub
    seeds = list(range(32))
    episodes = run_episodes(base_url, seeds)
    reference_env = make_env()
    weights = dict(reward_terms(reference_env))
    played: dict[int, Played] = {}
    for seed, episode in zip(seeds, episodes, strict=True):
        assert episode.ok, episode.errors
        (trace,) = episode.traces
        record = trace.info[INFO_KEY]
        actions = [m.content for m in trace.branches[-1].messages if m.role == "assistant"]
        played[seed] = Played(
            task_id=record["task_id"],
            actions=actions,
            observations=[reference_env.reset(seed=seed)[0], *record["observations"]],
            rewards=record["rewards"],
            reward_terms=record["reward_terms"],
        )
        # the rubric: one reward per env term, with the preset's weight; their weighted sum is the env's reward
        assert {name: r.weight for name, r in trace.rewards.items()} == weights
        assert {name: r.score for name, r in trace.rewards.items()} == record["reward_terms"]
        assert trace.reward == pytest.approx(sum(record["rewards"]))
    assert requests and requests[0]["stop"] == ["</search>", "</answer>"]
    assert_same_episodes(played.__getitem__)


def test_taskset_lists_the_split_and_load_environment_takes_env_kwargs() -> None:
    env = load_environment(env_kwargs={"split": "test"})
    tasks = list(env.taskset)
    split = make_env(env_kwargs={"split": "test"}).unwrapped.tasks
    assert [t.data.task_id for t in tasks] == [t.id for t in split]
    assert tasks[0].data.prompt == split[0].question and tasks[0].data.env_kwargs == {"split": "test"}


def test_a_turn_cut_at_a_stop_string_gets_it_back() -> None:
    stop = ["</search>", "</answer>"]
    assert restore_stop("<think>x</think><search>q", "stop", stop) == "<think>x</think><search>q</search>"
    assert restore_stop("<search>q", "length", stop) == "<search>q"
    assert restore_stop("no tags", "stop", stop) == "no tags"
