"""Arbitrary actions never crash the environment and always yield a valid observation."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rezero_env  # noqa: F401  (registers the ids)

ENV = gym.make("SearchQA-v0", max_turns=3)

tag_soup = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<think>",
                "</think>",
                "<search>",
                "</search>",
                "<answer>",
                "</answer>",
                "<information>",
                "</information>",
                "**",
                "_",
                "<",
                ">",
                "\n",
                " ",
            ]
        ),
        st.text(max_size=20),
    ),
    max_size=40,
).map("".join)
actions = st.one_of(st.text(), tag_soup, st.text(alphabet=st.characters(codec="utf-8"), max_size=2000))


def check_step(action: str) -> None:
    ENV.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        observation, reward, terminated, truncated, info = ENV.step(action)
        assert ENV.observation_space.contains(observation)
        assert isinstance(float(reward), float)
        assert info["messages"][-1 if terminated else -2]["content"] == action


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions)
def test_arbitrary_actions_never_raise(action: str) -> None:
    check_step(action)


@given(st.text(max_size=50))
@settings(max_examples=50, deadline=None)
def test_arbitrary_search_queries_give_information(query: str) -> None:
    ENV.reset(seed=0)
    observation, _, terminated, _, _ = ENV.step(f"<search>{query}</search>")
    assert not terminated
    assert observation.startswith("<information>") and ENV.observation_space.contains(observation)


@pytest.mark.parametrize(
    "action",
    [
        "",
        "x" * 1_000_000,
        "<search>" * 125_000,
        "<answer>" * 125_000,
        "<think>" + "a" * 1_000_000 + "</think><search>" + "b " * 1000 + "</search>",
        "<search><search>nested</search></search>",
        "<search>unclosed",
        "<search>🚀 emoji \x00 control \ud7ff</search>",
        "<answer><answer>x</answer></answer>",
        "<search>a</search>" * 50_000,
    ],
)
def test_pathological_actions(action: str) -> None:
    check_step(action)
