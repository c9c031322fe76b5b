"""A vector environment for ``SearchQA`` that sends the searches of all its environments to the engine as one batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from rezero_env.envs.factory import make_search_qa
from rezero_env.envs.search_qa import SearchQAEnv, check_results
from rezero_env.rewards.correctness import CorrectnessReward, final_answer
from rezero_env.rewards.judges.base import BaseJudge, Item
from rezero_env.search import SearchEngine, SearchError


class SearchQAVectorEnv(SyncVectorEnv):
    """``SyncVectorEnv`` over ``SearchQA`` environments whose ``step`` makes one ``batch_search`` call per shared
    engine instead of one ``search`` per environment (a dense engine encodes all queries in one forward pass).

    Observations, rewards and autoreset behave exactly as in ``SyncVectorEnv``; only the searching is batched. It is
    what ``gym.make_vec("SearchQA-v0", num_envs=n)`` builds by default (``vectorization_mode="vector_entry_point"``);
    pass ``vectorization_mode="sync"`` or ``"async"`` for Gymnasium's own vector environments (e.g. to add wrappers).

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> envs = gym.make_vec("SearchQA-v0", num_envs=2)
        >>> type(envs).__name__
        'SearchQAVectorEnv'
        >>> _ = envs.reset(seed=0)
        >>> observations, *_ = envs.step(("<search>Velmora</search>", "<answer>x</answer>"))
        >>> observations[0].startswith("<information>"), observations[1]
        (True, '')
    """

    def __init__(
        self,
        num_envs: int = 1,
        env_fns: Sequence[Callable[[], gym.Env[str, str]]] | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        if env_fns is None:
            if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
                raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
            env_fns = [lambda: make_search_qa(**kwargs)] * num_envs
        elif kwargs:
            raise ValueError(f"Pass either env_fns or environment keyword arguments, not both (got {sorted(kwargs)})")
        super().__init__(env_fns, copy=True, autoreset_mode=autoreset_mode)
        self.search_envs: list[SearchQAEnv] = []
        for env in self.envs:
            base = env.unwrapped
            if not isinstance(base, SearchQAEnv):
                raise TypeError(f"SearchQAVectorEnv needs SearchQA environments, got {type(base).__name__}")
            self.search_envs.append(base)

    def step(
        self, actions: Any
    ) -> tuple[Any, np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], dict[str, Any]]:
        """Batch this step's searches per engine, then step every environment as ``SyncVectorEnv`` does."""
        self._prefetch(list(actions))
        self._prefetch_judgements(list(actions))
        return super().step(actions)

    def _prefetch_judgements(self, actions: list[Any]) -> None:
        """Hand every answer this step will judge to its judge in one batch (an LLM judge grades them together)."""
        batches: dict[int, tuple[BaseJudge, list[Item]]] = {}
        for i, (env, action) in enumerate(zip(self.envs, actions, strict=True)):
            if (self.autoreset_mode == AutoresetMode.NEXT_STEP and self._autoreset_envs[i]) or not isinstance(
                action, str
            ):
                continue
            prediction = final_answer([{"role": "assistant", "content": action}])
            if prediction is None:
                continue
            task = self.search_envs[i].task
            if task is None:
                continue
            layer: Any = env
            while isinstance(layer, gym.Wrapper):
                judge = getattr(layer, "judge", None) if isinstance(layer, CorrectnessReward) else None
                if isinstance(judge, BaseJudge) and type(judge).prefetch is not BaseJudge.prefetch:
                    batches.setdefault(id(judge), (judge, []))[1].append(Item(prediction, task.answers, task.question))
                layer = layer.env
        for judge, items in batches.values():
            judge.prefetch(items)

    def _prefetch(self, actions: list[Any]) -> None:
        groups: dict[tuple[int, int], tuple[SearchEngine, int, list[tuple[SearchQAEnv, str]]]] = {}
        for i, (env, action) in enumerate(zip(self.search_envs, actions, strict=True)):
            resetting = self.autoreset_mode == AutoresetMode.NEXT_STEP and self._autoreset_envs[i]
            query = None if resetting or not isinstance(action, str) else env.pending_query(action)
            if query:
                _, _, members = groups.setdefault((id(env.engine), env.top_k), (env.engine, env.top_k, []))
                members.append((env, query))
        for engine, top_k, members in groups.values():
            queries = list(dict.fromkeys(query for _, query in members))
            try:
                batches = engine.batch_search(queries, top_k)
            except SearchError:
                continue  # every environment searches on its own and reports its own error
            if not isinstance(batches, list | tuple) or len(batches) != len(queries):
                raise TypeError(
                    f"Search engine {type(engine).__name__}.batch_search() returned "
                    f"{len(batches) if isinstance(batches, list | tuple) else type(batches).__name__!s} "
                    f"result lists for {len(queries)} queries; it must return one list of "
                    "rezero_env.types.SearchResult per query"
                )
            found = {
                query: check_results(results, engine, "batch_search")
                for query, results in zip(queries, batches, strict=True)
            }
            for env, query in members:
                env.prefetch({query: found[query]})
