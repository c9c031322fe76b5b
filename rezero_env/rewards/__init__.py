"""Reward terms as composable Gymnasium wrappers, their pure scoring functions, judges and presets.

Each term is one wrapper (``CorrectnessReward``, ``FormatReward``, …) that, when an episode ends, adds
``weight * value`` to the reward and records ``value`` in ``info["reward_terms"][name]``. The scoring functions
(``format_reward(messages)``, …) are plain callables on a transcript, usable by any trainer.
"""

from rezero_env.rewards.base import DuplicateRewardWarning, RewardTerm
from rezero_env.rewards.correctness import (
    CorrectnessReward,
    ExactMatchReward,
    correctness_reward,
    exact_match_reward,
)
from rezero_env.rewards.em_chunk import EmChunkReward, em_chunk_reward
from rezero_env.rewards.evidence import EvidenceReward, evidence_reward, paragraph_evidence_reward
from rezero_env.rewards.format import FormatReward, format_reward
from rezero_env.rewards.judge import (
    EMF1Judge,
    Judge,
    default_judge,
    exact_match,
    normalize_answer,
    resolve_judge,
    token_f1,
)
from rezero_env.rewards.judges import (
    JUDGES,
    BaseJudge,
    CascadeJudge,
    ContainsJudge,
    JudgeError,
    Verdict,
    make_judge,
)
from rezero_env.rewards.presets import REWARD_PRESETS, apply_reward_preset
from rezero_env.rewards.retry import RetryReward, retry_reward
from rezero_env.rewards.search_diversity import SearchDiversityReward, search_diversity_reward
from rezero_env.rewards.search_strategy import SearchStrategyReward, search_strategy_reward

__all__ = [
    "JUDGES",
    "REWARD_PRESETS",
    "BaseJudge",
    "CascadeJudge",
    "ContainsJudge",
    "CorrectnessReward",
    "DuplicateRewardWarning",
    "EMF1Judge",
    "EmChunkReward",
    "EvidenceReward",
    "ExactMatchReward",
    "FormatReward",
    "Judge",
    "JudgeError",
    "RetryReward",
    "RewardTerm",
    "SearchDiversityReward",
    "SearchStrategyReward",
    "Verdict",
    "apply_reward_preset",
    "correctness_reward",
    "default_judge",
    "em_chunk_reward",
    "evidence_reward",
    "exact_match",
    "exact_match_reward",
    "format_reward",
    "make_judge",
    "normalize_answer",
    "paragraph_evidence_reward",
    "resolve_judge",
    "retry_reward",
    "search_diversity_reward",
    "search_strategy_reward",
    "token_f1",
]
