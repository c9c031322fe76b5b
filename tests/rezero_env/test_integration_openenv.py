"""openenv-core's own client plays SearchQA-v0 over 127.0.0.1, several sessions at once, through
``rezero_env.integrations.openenv`` (the real openenv-core package)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

pytest.importorskip("openenv")
uvicorn = pytest.importorskip("uvicorn")

from rezero_env.integrations.openenv import (  # noqa: E402
    SearchQAAction,
    SearchQAEnvClient,
    SearchQAEnvironment,
    main,
    make_app,
)
from tests.rezero_env.scripted_play import SEEDS, Played, assert_same_episodes, next_action  # noqa: E402
from tests.serving import serve_in_thread  # noqa: E402

SESSIONS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    config = uvicorn.Config(make_app(max_concurrent_envs=SESSIONS), host="127.0.0.1", port=0, log_level="warning")
    with serve_in_thread(config, "the OpenEnv server") as url:
        yield url


async def play_session(base_url: str, seeds: list[int]) -> dict[int, Played]:
    """One WebSocket session (its own env on the server) playing ``seeds`` one after another."""
    played: dict[int, Played] = {}
    async with SearchQAEnvClient(base_url=base_url) as client:
        for seed in seeds:
            result = await client.reset(seed=seed)
            episode = Played(task_id=result.observation.task_id, observations=[result.observation.text])
            messages = result.observation.messages
            while not result.done:
                action = next_action(messages)
                result = await client.step(SearchQAAction(message=action))
                episode.actions.append(action)
                episode.observations.append(result.observation.text)
                episode.rewards.append(result.reward)
                messages = result.observation.messages
            episode.reward_terms = result.observation.reward_terms
            state = await client.state()
            assert state.task_id == episode.task_id and state.step_count == len(episode.actions)
            played[seed] = episode
    return played


def test_openenv_sessions_play_the_same_episodes_as_gymnasium(server: str) -> None:
    async def all_sessions() -> dict[int, Played]:
        shares = [list(SEEDS[i::SESSIONS]) for i in range(SESSIONS)]
        results = await asyncio.gather(*(play_session(server, share) for share in shares))
        return {seed: episode for result in results for seed, episode in result.items()}

    played = asyncio.run(all_sessions())
    assert sorted(played) == list(SEEDS)
    assert_same_episodes(played.__getitem__)


def test_http_endpoints_answer(server: str) -> None:
    with urllib.request.urlopen(f"{server}/schema", timeout=10) as response:
        schema = json.loads(response.read())
    assert "message" in schema["action"]["properties"] and "reward_terms" in schema["observation"]["properties"]
    request = urllib.request.Request(
        f"{server}/reset", data=json.dumps({"seed": 1}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        reset = json.loads(response.read())
    assert reset["done"] is False and "Question:" in reset["observation"]["text"]


def test_environment_pins_tasks_and_refuses_bad_input() -> None:
    env = SearchQAEnvironment(env_kwargs={"max_turns": 2})
    first = env.reset(task_index=2)
    assert first.task_id == env.driver.env.unwrapped.tasks[2].id
    with pytest.raises(ValueError, match="not both"):
        env.reset(task_index=2, task_id="x")
    env.step(SearchQAAction(message="<answer>x</answer>"))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(SearchQAAction(message="<answer>x</answer>"))
    with pytest.raises(ValueError, match="max_concurrent_envs"):
        make_app(max_concurrent_envs=0)


def test_serve_entry_point_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--env-kwargs", "{nope"])
    assert "--env-kwargs must be a JSON object" in capsys.readouterr().err
    shown = subprocess.run(
        [sys.executable, "-m", "rezero_env.integrations.openenv", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0 and "--max-concurrent-envs" in shown.stdout
