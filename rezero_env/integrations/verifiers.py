"""Evaluate and train on ``SearchQA-v0`` with verifiers (0.4, the ``verifiers.v1`` API; prime-rl's environments).

verifiers 0.4 builds an environment from a *taskset* (the tasks), a *harness* (the program an agent runs, whose
every model call goes through verifiers' interception server, which records the trace) and the task's *rewards*
(weighted ``@vf.reward`` functions, the rubric). Here:

- :class:`SearchQATaskset` yields one task per question of the env's split (:class:`SearchQATaskData`: the env id
  and arguments, and the ``task_id`` or ``seed`` of the episode);
- :class:`SearchQAHarness` plays the multi-turn protocol in-process (verifiers' "the interception is the contract,
  not the process"): it asks the model through the interception endpoint, steps the Gymnasium env with the reply,
  sends the env's ``<information>`` block back as the next user message (the ``env_response``) and stops when the
  env ends the episode (the stop condition); ``stop`` strings end a turn at ``</search>``/``</answer>`` and the
  closing tag is restored, as the env expects it;
- :class:`SearchQATask`'s rewards are the env preset's terms, one reward per term with the preset's weight, so the
  trace's reward (``sum(score × weight)``) is the env's reward;
- :func:`load_environment` returns the ``vf.Env`` (a ``SingleAgentEnv`` over this taskset and harness).

verifiers resolves plugins by installed module name; importing this module registers it as ``rezero_search_qa``
(:data:`TASKSET_ID`), so ``load_environment()`` and ``vf.load_environment`` find it in the same process.

Example (against an OpenAI-compatible server, e.g. ``vllm serve`` or ``trl vllm-serve``)::

    import asyncio, verifiers.v1 as vf
    from rezero_env.integrations.verifiers import load_environment

    env = load_environment(env_kwargs={"max_turns": 4})
    ctx = vf.ModelContext(model="my-model", client=vf.EvalClientConfig(base_url="http://127.0.0.1:8000/v1",
                                                                       api_key_var="OPENAI_API_KEY"))
    async def play():
        async with env.serving():
            task = next(iter(env.taskset))
            episode = await env.run_episode(task, ctx)
            return episode.traces[0].reward
    print(asyncio.run(play()))
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import verifiers.v1 as vf
from pydantic import Field
from verifiers.v1.runtimes import ProgramResult, Runtime

from rezero_env.envs.search_qa import UnscoredEpisodeWarning
from rezero_env.integrations.common import DEFAULT_ENV_ID, EpisodeDriver, make_env, reward_terms
from rezero_env.protocol import has_tag
from rezero_env.types import current_task

logger = logging.getLogger(__name__)

#: The plugin id verifiers loads this module under (``--env.taskset.id``).
TASKSET_ID = "rezero_search_qa"
#: ``trace.info`` key holding the episode as the env saw it: ``reward_terms``, ``reward``, ``observations`` and
#: ``rewards`` (one per step), ``task_id``, ``terminated``, ``truncated``.
INFO_KEY = "rezero"
DEFAULT_STOP = ("</search>", "</answer>")


class SearchQATaskData(vf.TaskData):  # type: ignore[misc]
    """One episode: the Gymnasium env to play and the task (``task_id``) or the seed that draws one."""

    env_id: str = DEFAULT_ENV_ID
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    task_id: str | None = None
    seed: int | None = None


class SearchQATaskConfig(vf.TaskConfig):  # type: ignore[misc]
    """Task config (``--env.taskset.task.*``): nothing beyond verifiers' own (judges, extra rewards, stops)."""


class SearchQATask(vf.Task[SearchQATaskData, vf.State, SearchQATaskConfig]):  # type: ignore[misc]
    """A SearchQA episode whose rewards are the env preset's terms, weighted as the preset weights them."""

    def hooks(self, attr: str) -> list[Callable[..., Any]]:
        """verifiers' hooks, plus one ``reward`` per env reward term (raw value, the preset's weight)."""
        found: list[Callable[..., Any]] = super().hooks(attr)
        if attr != "reward":
            return found
        names = {fn.__name__ for fn in found}
        terms = _env_terms(self.data.env_id, json.dumps(self.data.env_kwargs, sort_keys=True))
        return [_term_reward(name, weight) for name, weight in terms if name not in names] + found


def _term_reward(name: str, weight: float) -> Callable[..., Awaitable[float]]:
    """A verifiers reward function (a coroutine, as verifiers awaits them) returning the env's raw value of term
    ``name`` for the trace's episode."""

    async def reward(trace: vf.Trace) -> float:
        episode = trace.info.get(INFO_KEY)
        if not isinstance(episode, Mapping) or name not in episode.get("reward_terms", {}):
            raise ValueError(f"the trace holds no finished SearchQA episode with the reward term {name!r}")
        return float(episode["reward_terms"][name])

    reward.__name__ = name
    reward.reward = True  # type: ignore[attr-defined]
    reward.reward_priority = 0  # type: ignore[attr-defined]
    reward._vf_weight = weight  # type: ignore[attr-defined]
    return reward


@functools.lru_cache(maxsize=32)
def _env_terms(env_id: str, env_kwargs_json: str) -> tuple[tuple[str, float], ...]:
    env = make_env(env_id, json.loads(env_kwargs_json))
    try:
        return tuple(reward_terms(env))
    finally:
        env.close()


class SearchQATasksetConfig(vf.TasksetConfig):  # type: ignore[misc]
    """Which env and which questions (``--env.taskset.*``)."""

    env_id: str = DEFAULT_ENV_ID
    """The Gymnasium id (``SearchQA-v0``, or any id built on it)."""
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    """``gym.make`` arguments, e.g. ``{"split": "test", "max_turns": 4}``."""


class SearchQATaskset(vf.Taskset[SearchQATask, SearchQATasksetConfig]):  # type: ignore[misc]
    """One task per question of the env's split, in the split's order."""

    def load(self) -> Iterable[SearchQATask]:
        env = make_env(self.config.env_id, self.config.env_kwargs)
        try:
            tasks = list(env.unwrapped.tasks)  # type: ignore[attr-defined]
        finally:
            env.close()
        for task in tasks:
            data = SearchQATaskData(
                id=task.id,
                prompt=task.question,
                env_id=self.config.env_id,
                env_kwargs=dict(self.config.env_kwargs),
                task_id=task.id,
            )
            yield SearchQATask(data, self.config.task)


class SearchQAHarnessConfig(vf.HarnessConfig):  # type: ignore[misc]
    """How the harness asks the model."""

    stop: list[str] = Field(default_factory=lambda: list(DEFAULT_STOP))
    """Stop strings for each turn; a turn stopped on one gets it back (the env reads the closing tag)."""


class SearchQAHarness(vf.Harness[SearchQAHarnessConfig]):  # type: ignore[misc]
    """The ``<search>``/``<answer>`` loop, in-process, every model call through the interception ``endpoint``."""

    APPENDS_SYSTEM_PROMPT = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def setup(self, runtime: Runtime) -> None:
        """Nothing to install: the loop runs in this process."""

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        **kwargs: Any,
    ) -> ProgramResult:
        """Play one episode: model turn, env step, until the env ends it; the episode lands in ``trace.info``."""
        from openai import AsyncOpenAI

        driver = EpisodeDriver(getattr(data, "env_id", DEFAULT_ENV_ID), getattr(data, "env_kwargs", None))
        messages: list[Any] = list(driver.reset(**_pin(data)))
        observations: list[str] = []
        rewards: list[float] = []
        client = AsyncOpenAI(base_url=endpoint, api_key=secret)
        outcome = None
        try:
            while outcome is None or not outcome.done:
                response = await client.chat.completions.create(
                    model=ctx.model, messages=messages, **({"stop": self.config.stop} if self.config.stop else {})
                )
                choice = response.choices[0]
                text = restore_stop(choice.message.content or "", choice.finish_reason, self.config.stop)
                messages.append({"role": "assistant", "content": text})
                outcome = await asyncio.to_thread(driver.step, text)
                observations.append(outcome.observation)
                rewards.append(outcome.reward)
                if not outcome.done:
                    messages.append({"role": "user", "content": outcome.observation})
        finally:
            await client.close()
            driver.close()
        trace.info[INFO_KEY] = {
            "task_id": driver.task_id,
            "reward": driver.total_reward,
            "reward_terms": dict(outcome.reward_terms),
            "observations": observations,
            "rewards": rewards,
            "terminated": outcome.terminated,
            "truncated": outcome.truncated,
        }
        return ProgramResult(exit_code=0, stdout="", stderr="")


def _pin(data: vf.TaskData) -> dict[str, Any]:
    """How to reset the env for ``data``: by its ``seed`` when it has one (the task it draws is ``task_id``), else on
    ``task_id``."""
    seed = getattr(data, "seed", None)
    return {"seed": seed} if seed is not None else {"task_id": getattr(data, "task_id", None)}


def seeded_task(
    seed: int,
    env_id: str = DEFAULT_ENV_ID,
    env_kwargs: Mapping[str, Any] | None = None,
    config: SearchQATaskConfig | None = None,
) -> SearchQATask:
    """The task of the episode ``gym.make(env_id, **env_kwargs).reset(seed=seed)`` starts (the harness resets with
    the same seed), with its question as the prompt."""
    driver = EpisodeDriver(env_id, env_kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnscoredEpisodeWarning)
        driver.reset(seed=seed)
    task = current_task(driver.env)
    driver.close()
    data = SearchQATaskData(
        id=task.id, prompt=task.question, env_id=env_id, env_kwargs=dict(env_kwargs or {}), task_id=task.id, seed=seed
    )
    return SearchQATask(data, config or SearchQATaskConfig())


def restore_stop(text: str, finish_reason: str | None, stop: Iterable[str]) -> str:
    """``text`` with the stop string it was cut at put back: an OpenAI-compatible server leaves it out, and the env
    needs the closing tag to see the search or the answer.

    Example:
        >>> restore_stop("<search>Velmora river", "stop", ["</search>", "</answer>"])
        '<search>Velmora river</search>'
        >>> restore_stop("<answer>1743</answer>", "stop", ["</search>", "</answer>"])
        '<answer>1743</answer>'
    """
    if finish_reason != "stop":
        return text
    for closing in stop:
        tag = closing.removeprefix("</").removesuffix(">")
        if closing.startswith("</") and f"<{tag}>" in text and not has_tag(text, tag):
            return text + closing
    return text


def load_environment(
    env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None, **config: Any
) -> vf.Env:
    """The verifiers environment over ``env_id`` (``gym.make`` arguments ``env_kwargs``); ``config`` holds further
    ``EnvConfig`` fields (``max_concurrent_agents``, ``timeout``, ``agent``, ...). The agent runs in the local
    ``subprocess`` runtime unless ``config["agent"]["runtime"]`` says otherwise (the harness loop is in-process and
    needs no sandbox; verifiers' own default is a remote Prime sandbox)."""
    agent = dict(config.pop("agent", None) or {})
    agent.setdefault("runtime", {"type": "subprocess"})
    env_config = vf.resolve_env_config(
        {
            **config,
            "agent": agent,
            "taskset": {"id": TASKSET_ID, "env_id": env_id, "env_kwargs": dict(env_kwargs or {})},
        }
    )
    return vf.load_environment(env_config)


sys.modules.setdefault(TASKSET_ID, sys.modules[__name__])

__all__ = [
    "INFO_KEY",
    "TASKSET_ID",
    "SearchQAHarness",
    "SearchQAHarnessConfig",
    "SearchQATask",
    "SearchQATaskData",
    "SearchQATaskset",
    "SearchQATasksetConfig",
    "load_environment",
    "restore_stop",
    "seeded_task",
]
