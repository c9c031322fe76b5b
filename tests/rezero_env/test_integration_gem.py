"""GEM plays SearchQA-v0 through ``rezero_env.integrations.gem`` (the real gem-llm package)."""

from __future__ import annotations

import pytest

gem = pytest.importorskip("gem")

from rezero_env.integrations.gem import GEM_ENV_ID, SearchQAGemEnv  # noqa: E402
from tests.rezero_env.scripted_play import Played, assert_same_episodes, next_action  # noqa: E402


def play_gem(seed: int) -> Played:
    env = gem.make(GEM_ENV_ID)
    assert isinstance(env, SearchQAGemEnv)
    observation, info = env.reset(seed=seed)
    played = Played(task_id=info["task_id"], observations=[observation])
    done = False
    while not done:
        action = next_action(env.driver.messages)
        observation, reward, terminated, truncated, info = env.step(action)
        played.actions.append(action)
        played.observations.append(observation)
        played.rewards.append(reward)
        done = terminated or truncated
    played.reward_terms = info["reward_terms"]
    return played


def test_gem_episodes_equal_the_gymnasium_env() -> None:
    assert_same_episodes(play_gem)


def test_gem_make_vec_seeds_each_copy() -> None:
    vec = gem.make_vec([GEM_ENV_ID] * 2, seed=5)
    observations, _ = vec.reset()
    single = [gem.make(GEM_ENV_ID, seed=seed).reset()[0] for seed in (5, 6)]
    assert list(observations) == single
    observations, rewards, terminated, _, _ = vec.step(["<answer>unknown</answer>"] * 2)
    assert list(terminated) == [True, True] and len(rewards) == 2
