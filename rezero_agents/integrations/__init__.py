"""Adapters that let other RL libraries train on rezero's environments (:mod:`rezero_agents.integrations.trl`).

Nothing here is imported by ``rezero_env``; each adapter imports its library lazily, when used.
"""
