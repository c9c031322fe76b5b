"""Serve ``SearchQA-v0`` as an OpenEnv environment (HTTP and WebSocket), and the client that plays it.

OpenEnv's server (``openenv.core.env_server.http_server.create_app``) gives each WebSocket client its own
environment instance (``/ws``, up to ``max_concurrent_envs`` at once) and also answers ``/reset``, ``/step``,
``/state``, ``/schema`` and ``/health``; TRL's and other trainers' OpenEnv integrations talk to it through
``EnvClient``. Here:

- :class:`SearchQAAction`: ``message``, the assistant's whole message;
- :class:`SearchQAObservation`: ``text`` (the env's observation: the prompt after ``reset``, the ``<information>``
  block after a search, empty at the end), ``messages``, ``turn``, ``task_id``, ``terminated``, ``truncated``,
  ``reward_terms`` (filled when the episode ends), plus OpenEnv's ``reward`` and ``done``;
- :class:`SearchQAEnvironment`: the Gymnasium env behind OpenEnv's ``Environment``; ``reset(seed=..., task_id=...,
  task_index=...)``;
- :class:`SearchQAEnvClient`: the ``EnvClient`` (``await client.reset(seed=3)``, ``client.sync()`` for plain calls).

Run a server (``--env-kwargs`` are ``gym.make`` arguments as JSON; bind 127.0.0.1 or a private network)::

    python -m rezero_env.integrations.openenv serve --port 8001 --max-concurrent-envs 16
    python -m rezero_env.integrations.openenv serve --env-id SearchQA-v0 \\
        --env-kwargs '{"search_engine": "remote", "search_options": {"url": "http://127.0.0.1:8000/retrieve"}}'

Example:
    >>> env = SearchQAEnvironment(env_kwargs={"max_turns": 2})
    >>> first = env.reset(seed=0)
    >>> first.done, first.text.count("Question:") >= 1
    (False, True)
    >>> last = env.step(SearchQAAction(message="<answer>unknown</answer>"))
    >>> last.done, last.reward == sum(last.reward_terms[t] * w for t, w in env.driver.terms)
    (True, True)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.http_server import create_app
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, EnvironmentMetadata, Observation, State
from pydantic import Field

from rezero_env.integrations.common import DEFAULT_ENV_ID, EpisodeDriver

logger = logging.getLogger(__name__)

ENV_NAME = "rezero-search-qa"


class SearchQAAction(Action):  # type: ignore[misc]
    """One assistant message of the ``<think>``/``<search>``/``<answer>`` protocol."""

    message: str = Field(..., description="The assistant's whole message.")


class SearchQAObservation(Observation):  # type: ignore[misc]
    """What the env shows after ``reset`` or a step (OpenEnv's ``reward`` is the step's reward)."""

    text: str = Field(default="", description="The env's observation text.")
    messages: list[dict[str, str]] = Field(default_factory=list, description="The transcript so far.")
    turn: int = Field(default=0, description="Assistant messages so far.")
    task_id: str | None = Field(default=None, description="The episode's task.")
    terminated: bool = Field(default=False, description="The episode ended (an answer, or no search).")
    truncated: bool = Field(default=False, description="The episode ran out of turns.")
    reward_terms: dict[str, float] = Field(default_factory=dict, description="Raw reward terms, at the end.")
    searches: list[dict[str, Any]] = Field(default_factory=list, description="The searches executed so far.")


class SearchQAState(State):  # type: ignore[misc]
    """The session's episode: OpenEnv's ``episode_id`` and ``step_count``, plus the task and the reward so far."""

    task_id: str | None = None
    total_reward: float = 0.0
    done: bool = False


class SearchQAEnvironment(Environment):  # type: ignore[misc]
    """The Gymnasium env behind OpenEnv's ``Environment`` (one instance per session).

    Args:
        env_id: The Gymnasium id to play.
        env_kwargs: Keyword arguments for ``gym.make``.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True  # each session has its own Gymnasium env; indexes are shared read-only

    def __init__(self, env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.driver = EpisodeDriver(env_id, env_kwargs)
        self._state = SearchQAState(episode_id=None, step_count=0)

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        task_id: str | None = None,
        task_index: int | None = None,
        **kwargs: Any,
    ) -> SearchQAObservation:
        """Start an episode on a pinned task (``task_id``/``task_index``) or one drawn with ``seed``."""
        if kwargs:
            logger.debug("Ignoring reset arguments %s", sorted(kwargs))
        messages = self.driver.reset(seed=seed, task_id=task_id, task_index=task_index)
        self._state = SearchQAState(
            episode_id=episode_id or uuid.uuid4().hex, step_count=0, task_id=self.driver.task_id
        )
        return SearchQAObservation(
            text=self.driver.first_observation,
            messages=messages,
            task_id=self.driver.task_id,
            done=False,
            reward=0.0,
        )

    def step(self, action: SearchQAAction, timeout_s: float | None = None, **kwargs: Any) -> SearchQAObservation:
        """Play one assistant message."""
        outcome = self.driver.step(action.message)
        self._state.step_count += 1
        self._state.total_reward = self.driver.total_reward
        self._state.done = outcome.done
        return SearchQAObservation(
            text=outcome.observation,
            messages=self.driver.messages,
            turn=int(outcome.info.get("turn", self.driver.turns)),
            task_id=self.driver.task_id,
            terminated=outcome.terminated,
            truncated=outcome.truncated,
            reward_terms=outcome.reward_terms,
            searches=list(outcome.info.get("searches", [])),
            done=outcome.done,
            reward=outcome.reward,
        )

    @property
    def state(self) -> SearchQAState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        return EnvironmentMetadata(
            name=ENV_NAME,
            description=f"rezero's {self.driver.env_id}: answer a question by searching a corpus, one message a step",
            version="0",
        )

    def close(self) -> None:
        self.driver.close()


class SearchQAEnvClient(EnvClient[SearchQAAction, SearchQAObservation, SearchQAState]):  # type: ignore[misc]
    """OpenEnv's WebSocket client for :class:`SearchQAEnvironment` (one server-side session per client).

    Example (against a running server)::

        with SearchQAEnvClient(base_url="http://127.0.0.1:8001").sync() as env:
            result = env.reset(seed=3)
            result = env.step(SearchQAAction(message="<search>Velmora</search>"))
    """

    def _step_payload(self, action: SearchQAAction) -> dict[str, Any]:
        return {"message": action.message}

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SearchQAObservation]:
        observation = SearchQAObservation(
            **payload.get("observation", {}), done=payload.get("done", False), reward=payload.get("reward")
        )
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> SearchQAState:
        return SearchQAState(**payload)


def make_app(
    env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None, max_concurrent_envs: int = 8
) -> Any:
    """OpenEnv's FastAPI app serving ``env_id`` with up to ``max_concurrent_envs`` WebSocket sessions.

    The env is built once here, so a bad ``env_id`` or ``env_kwargs`` fails now rather than in the first session.
    """
    if isinstance(max_concurrent_envs, bool) or not isinstance(max_concurrent_envs, int) or max_concurrent_envs < 1:
        raise ValueError(f"max_concurrent_envs must be an integer >= 1, got {max_concurrent_envs!r}")
    SearchQAEnvironment(env_id, env_kwargs).close()
    kwargs = dict(env_kwargs or {})

    def factory() -> SearchQAEnvironment:
        return SearchQAEnvironment(env_id, kwargs)

    return create_app(
        factory, SearchQAAction, SearchQAObservation, env_name=ENV_NAME, max_concurrent_envs=max_concurrent_envs
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rezero_env.integrations.openenv serve [--host] [--port] [--env-id] [--env-kwargs JSON]``."""
    parser = argparse.ArgumentParser(
        prog="python -m rezero_env.integrations.openenv", description="Serve SearchQA-v0 as an OpenEnv environment."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the env over HTTP and WebSocket")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (the server has no authentication)")
    serve.add_argument("--port", type=int, default=8001)
    serve.add_argument("--env-id", default=DEFAULT_ENV_ID, help="Gymnasium id, e.g. SearchQA-v0 or module:Id")
    serve.add_argument("--env-kwargs", default="{}", help="gym.make arguments as a JSON object")
    serve.add_argument("--max-concurrent-envs", type=int, default=8, help="WebSocket sessions at once")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as error:
        parser.error(f"--env-kwargs must be a JSON object such as '{{\"max_turns\": 4}}': {error}")
    if not isinstance(env_kwargs, dict):
        parser.error(f"--env-kwargs must be a JSON object, got {type(env_kwargs).__name__}")
    try:
        app = make_app(args.env_id, env_kwargs, args.max_concurrent_envs)
    except (ValueError, TypeError) as error:
        parser.error(str(error))
    import uvicorn

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.info("Serving %s as OpenEnv at http://%s:%d (ws: /ws)", args.env_id, args.host, args.port)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = [
    "SearchQAAction",
    "SearchQAEnvClient",
    "SearchQAEnvironment",
    "SearchQAObservation",
    "SearchQAState",
    "main",
    "make_app",
]
