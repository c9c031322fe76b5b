"""SkyRL-Gym plays SearchQA-v0 through ``rezero_env.integrations.skyrl`` (the real skyrl-gym package)."""

from __future__ import annotations

import pytest

skyrl_gym = pytest.importorskip("skyrl_gym")

from rezero_env.integrations.skyrl import SKYRL_ENV_ID, SearchQASkyRLEnv, register  # noqa: E402
from tests.rezero_env.scripted_play import Played, assert_same_episodes, next_action  # noqa: E402


def play_skyrl(seed: int) -> Played:
    env = skyrl_gym.make(SKYRL_ENV_ID, env_config={"env_id": "SearchQA-v0"}, extras={"seed": seed})
    assert isinstance(env, SearchQASkyRLEnv)
    prompt, meta = env.init([{"role": "user", "content": "ignored: the env's own prompt is used"}])
    played = Played(task_id=meta["task_id"], observations=[env.driver.first_observation])
    chat = list(prompt)
    done = False
    while not done:
        action = next_action(chat)
        output = env.step(action)
        chat.append({"role": "assistant", "content": action})
        chat += output["observations"]
        played.actions.append(action)
        played.observations.append(output["observations"][0]["content"] if output["observations"] else "")
        played.rewards.append(output["reward"])
        done = output["done"]
        if done:
            played.reward_terms = output["metadata"]["reward_terms"]
    assert env.get_metrics()["reward"] == pytest.approx(played.total)
    env.close()
    return played


def test_skyrl_episodes_equal_the_gymnasium_env() -> None:
    assert_same_episodes(play_skyrl)


def test_registration_is_idempotent_and_config_is_checked() -> None:
    register()
    register()
    assert SKYRL_ENV_ID in skyrl_gym.registry
    with pytest.raises(ValueError, match="unknown env_config keys"):
        skyrl_gym.make(SKYRL_ENV_ID, env_config={"env": "SearchQA-v0"}, extras={})
    env = skyrl_gym.make(SKYRL_ENV_ID, env_config={"env_kwargs": {"max_turns": 1}}, extras={"task_index": 3})
    prompt, _ = env.init([])
    output = env.step("<search>Velmora</search>")
    assert output["done"] and output["metadata"]["truncated"] and output["observations"] == []
    assert env.max_turns == 1 and prompt[0]["role"] == "system"


def test_omegaconf_env_config_is_accepted() -> None:
    from omegaconf import OmegaConf

    config = OmegaConf.create({"env_id": "SearchQA-v0", "env_kwargs": {"top_k": 2}})
    env = skyrl_gym.make(SKYRL_ENV_ID, env_config=config, extras={"task_index": 0})
    env.init([])
    assert env.driver.env.unwrapped.top_k == 2
