"""Adapters that let other RL libraries play rezero's environments without torch, one module per library.

- :mod:`rezero_env.integrations.openenv`: an OpenEnv ``Environment`` (served over HTTP/WebSocket by
  ``python -m rezero_env.integrations.openenv serve``) and its client;
- :mod:`rezero_env.integrations.skyrl`: a SkyRL-Gym ``BaseTextEnv`` registered as ``rezero-search-qa``;
- :mod:`rezero_env.integrations.gem`: a GEM ``Env`` registered as ``rezero:SearchQA-v0``;
- :mod:`rezero_env.integrations.verifiers`: a verifiers (0.4, ``verifiers.v1``) taskset and environment,
  ``load_environment()``.

Every adapter plays a Gymnasium env built by ``gym.make(env_id, **env_kwargs)`` (``"SearchQA-v0"`` by default, any
id built on it too) through :class:`~rezero_env.integrations.common.EpisodeDriver`, so its observations and rewards
are the env's own. None of them is imported by ``import rezero_env``; each imports its library when it is imported
(``pip install 'rezero[integrations]'``). veRL's agent loop needs torch and lives in
:mod:`rezero_agents.integrations.verl`.
"""
