"""Train on ``SearchQA-v0`` with SkyRL: a SkyRL-Gym ``BaseTextEnv`` registered as ``"rezero-search-qa"``.

SkyRL's generator builds one env per prompt with ``skyrl_gym.make(env_class, env_config=..., extras=...)``, calls
``init(prompt)`` and then ``step(assistant_text)`` until ``done``, and masks the observation tokens it appends. This
env plays the Gymnasium env underneath: the first prompt is the env's own (system and question messages), each
observation is the env's ``<information>`` block as a user message, and the rewards are the env's (0 until the
episode ends, then the preset's weighted sum; the terms are in ``metadata["reward_terms"]``).

- ``env_config`` (SkyRL's ``environment.skyrl_gym.rezero-search-qa`` section, a dict or OmegaConf node):
  ``env_id`` (default ``"SearchQA-v0"``) and ``env_kwargs`` for ``gym.make`` (e.g. ``{"search_engine": "remote",
  "search_options": {"url": "http://retriever:8000/retrieve"}}`` to share one retriever server).
- ``extras`` (the dataset row's columns besides ``prompt`` and ``env_class``): ``task_id`` or ``task_index`` pins the
  question, ``seed`` draws one (at the top level or inside ``extra_info``). :func:`skyrl_dataset` writes such rows.

Example:
    >>> import skyrl_gym
    >>> from rezero_env.integrations.skyrl import SKYRL_ENV_ID, register
    >>> register()
    >>> env = skyrl_gym.make(SKYRL_ENV_ID, env_config={}, extras={"task_index": 0})
    >>> prompt, meta = env.init([])
    >>> prompt[-1]["role"], meta["task_id"] == env.driver.task_id
    ('user', True)
    >>> output = env.step("<answer>unknown</answer>")
    >>> output["done"], output["observations"]
    (True, [])
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput, ConversationType

from rezero_env.envs.search_qa import UnscoredEpisodeWarning
from rezero_env.integrations.common import DEFAULT_ENV_ID, EpisodeDriver

#: The id this module registers with SkyRL-Gym (``environment.env_class`` in SkyRL's config).
SKYRL_ENV_ID = "rezero-search-qa"


class SearchQASkyRLEnv(BaseTextEnv):  # type: ignore[misc]
    """One SearchQA episode as a SkyRL-Gym text env (see the module docstring).

    Args:
        env_config: ``env_id`` and ``env_kwargs`` of the Gymnasium env (a mapping or an OmegaConf node).
        extras: The episode's pin: ``task_id``, ``task_index`` or ``seed``; ``max_turns`` is ignored (the env's
            ``max_turns`` argument bounds the episode).
    """

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        config = _plain(env_config) if env_config is not None else {}
        if not isinstance(config, dict):
            raise ValueError(f"{SKYRL_ENV_ID}: env_config must be a mapping, got {type(env_config).__name__}")
        unknown = sorted(set(config) - {"env_id", "env_kwargs"})
        if unknown:
            raise ValueError(f"{SKYRL_ENV_ID}: unknown env_config keys {unknown} (expected env_id, env_kwargs)")
        row = dict(_plain(extras) or {})
        nested = row.get("extra_info")
        self.extras = {**(nested if isinstance(nested, dict) else {}), **row}
        self.driver = EpisodeDriver(config.get("env_id", DEFAULT_ENV_ID), config.get("env_kwargs"))
        self.max_turns = int(getattr(self.driver.env.unwrapped, "max_turns", 1))
        self._reward_terms: dict[str, float] = {}

    def init(self, prompt: ConversationType) -> tuple[ConversationType, dict[str, Any]]:
        """Reset on the pinned task and return the env's prompt (the dataset's ``prompt`` is replaced by it)."""
        messages = self.driver.reset(
            seed=self.extras.get("seed"), task_id=self.extras.get("task_id"), task_index=self.extras.get("task_index")
        )
        self.turns = 0
        self._reward_terms = {}
        return [dict(m) for m in messages], {"task_id": self.driver.task_id}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        """Play one assistant message: the env's observation (none once done), reward and ``done``."""
        outcome = self.driver.step(action)
        self.turns += 1
        self._reward_terms = dict(outcome.reward_terms)
        observations = [] if outcome.done else [{"role": "user", "content": outcome.observation}]
        metadata = {**outcome.info, "terminated": outcome.terminated, "truncated": outcome.truncated}
        return BaseTextEnvStepOutput(
            observations=observations, reward=outcome.reward, done=outcome.done, metadata=metadata
        )

    def get_metrics(self) -> dict[str, Any]:
        """The episode's reward terms and turns, for SkyRL's per-env metrics."""
        terms = {f"reward_terms/{name}": value for name, value in self._reward_terms.items()}
        return {"turns": self.driver.turns, "reward": self.driver.total_reward, **terms}

    def close(self) -> None:
        self.driver.close()


def skyrl_dataset(
    env_id: str = DEFAULT_ENV_ID, env_kwargs: Mapping[str, Any] | None = None, env_class: str = SKYRL_ENV_ID
) -> list[dict[str, Any]]:
    """SkyRL's dataset rows for every question of the env's split: ``prompt`` (the env's own messages),
    ``env_class``, ``reward_spec`` (the gold answers, for reference: the env computes the reward), ``task_id`` and
    ``extra_info``. Write them with ``pandas.DataFrame(rows).to_parquet(...)``.

    Example:
        >>> rows = skyrl_dataset(env_kwargs={"split": "test"})
        >>> rows[0]["env_class"], rows[0]["prompt"][-1]["role"], rows[0]["task_id"] == rows[0]["extra_info"]["task_id"]
        ('rezero-search-qa', 'user', True)
    """
    driver = EpisodeDriver(env_id, env_kwargs)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnscoredEpisodeWarning)  # the prompts are read, the episodes never played
        for index, task in enumerate(driver.env.unwrapped.tasks):  # type: ignore[attr-defined]
            prompt = driver.reset(task_index=index)
            rows.append(
                {
                    "data_source": f"rezero/{env_id}",
                    "prompt": prompt,
                    "env_class": env_class,
                    "reward_spec": {"method": "rule", "ground_truth": {"target": list(task.answers)}},
                    "task_id": task.id,
                    "extra_info": {"task_id": task.id, "env_id": env_id},
                }
            )
    driver.close()
    return rows


def register(env_id: str = SKYRL_ENV_ID) -> None:
    """Register :class:`SearchQASkyRLEnv` with SkyRL-Gym as ``env_id`` (again is a no-op)."""
    import skyrl_gym

    if env_id not in skyrl_gym.registry:
        skyrl_gym.register(id=env_id, entry_point=f"{__name__}:SearchQASkyRLEnv")


def _plain(value: Any) -> Any:
    """An OmegaConf node as plain containers; anything else as it is."""
    try:
        from omegaconf import DictConfig, OmegaConf
    except ImportError:  # pragma: no cover - skyrl-gym depends on omegaconf
        return value
    if isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value


register()

__all__ = ["SKYRL_ENV_ID", "SearchQASkyRLEnv", "register", "skyrl_dataset"]
