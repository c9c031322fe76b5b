"""rezero_env: Gymnasium environments for teaching LLMs to search.

Importing the package registers the environment ids (it loads no data and no index)::

    import gymnasium as gym
    import rezero_env

    gym.register_envs(rezero_env)
    env = gym.make("SearchQA-v0")

``gym.make("rezero_env:SearchQA-v0")`` works without the import.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"

_ENTRY_POINT = "rezero_env.envs.factory:make_search_qa"
_VECTOR_ENTRY_POINT = "rezero_env.envs.vector:SearchQAVectorEnv"

#: The noise of ``SearchQA-Noisy-v0``: BM25 results with a near-duplicate distractor in half the searches, a tenth of
#: the results dropped, half the result lists shuffled and a tenth of the texts cut short.
NOISY_SEARCH_OPTIONS: dict[str, Any] = {
    "base": "bm25",
    "distractor_prob": 0.5,
    "drop_prob": 0.1,
    "shuffle_prob": 0.5,
    "truncate_prob": 0.1,
}

#: Registered ids and their default keyword arguments.
ENV_IDS: dict[str, dict[str, Any]] = {
    # The embedded synthetic fact world, BM25, ReZero's reward.
    "SearchQA-v0": {},
    # ReZero's own data (Apollo 13 mission report); needs the folder "rezero-apollo" under $REZERO_DATA_DIR or ./data
    # (see data/rezero-apollo/prepare.py).
    "SearchQA-Apollo-v0": {"dataset": "rezero-apollo"},
    # The embedded world behind a noisy search engine (seeded from the env's RNG): does retrying pay more here?
    "SearchQA-Noisy-v0": {"search_engine": "noisy", "search_options": NOISY_SEARCH_OPTIONS},
}

for _env_id, _kwargs in ENV_IDS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_ENTRY_POINT, vector_entry_point=_VECTOR_ENTRY_POINT, kwargs=_kwargs)

_LAZY = {
    "SearchQAEnv": "rezero_env.envs.search_qa",
    "SearchQAVectorEnv": "rezero_env.envs.vector",
    "make_search_qa": "rezero_env.envs.factory",
    "Task": "rezero_env.types",
    "Document": "rezero_env.types",
    "SearchResult": "rezero_env.types",
    "current_task": "rezero_env.types",
    "split_tasks": "rezero_env.types",
    "QADataset": "rezero_env.data.dataset",
    "load_dataset": "rezero_env.data",
    "SearchEngine": "rezero_env.search.base",
    "SearchError": "rezero_env.search.base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rezero_env' has no attribute {name!r}")


__all__ = ["ENV_IDS", "__version__", *_LAZY]
