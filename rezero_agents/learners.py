"""Learners by name: ``make_learner(config)`` builds the learner ``config.learner`` names."""

from __future__ import annotations

from rezero_agents.grpo import GRPOLearner
from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.learner import Learner
from rezero_agents.policy import Policy
from rezero_agents.rft import RFTLearner
from rezero_agents.rollout import TextPolicy

LEARNERS: dict[str, type[Learner]] = {"grpo": GRPOLearner, "rft": RFTLearner}
"""``GRPOConfig.learner`` → learner class."""


def make_learner(config: GRPOConfig, guide: Policy | TextPolicy | None = None) -> Learner:
    """The learner ``config.learner`` names (:data:`LEARNERS`), with ``guide`` as the guide of
    ``config.guidance`` (default: built from ``config.guide``)."""
    return LEARNERS[config.learner](config, guide)
