"""``learning_retry``: ReZero's retry question, asked from a warm start that retries.

The ``learning`` suite's warm start (48 supervised steps) searches once and answers: it retried in none of its test
episodes and in none of the 384 episodes its GRPO runs sampled, so the retry term was the same for every answered
episode and its retry and no-retry runs trained alike. The question can only be answered by a policy that sometimes
searches again. This suite asks it from the 16-step warm-up, which retries in most of its episodes, in ReZero's own
setting: the shaping terms added to the reward whatever the verdict (``reward_shaping="additive"``), temperature 0.9,
every sampled group trained (no dynamic sampling). Otherwise it is the ``learning`` suite — same budget
(:data:`benchmarks.learning.BUDGET`), validation, best checkpoint, test split, paired comparisons and verdicts — without
the supervised reference (it answers the other question). ``--quick`` runs two steps of each on a few questions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from benchmarks.common import SuiteResult
from benchmarks.learning import BUDGET, QUICK, REPO_ROOT, LearningSetup, measure, tables

RETRYING_WARM_START: dict[str, Any] = {
    "sft_warmup_steps": 16,
    "temperature": 0.9,
    "reward_shaping": "additive",
    "dynamic_sampling": False,
}
"""What this suite changes in the ``cpu-learning`` recipe: a warm-up short enough to keep retrying, and ReZero's
plain sum of rewards at its sampling temperature."""

SETUP = LearningSetup(
    overrides={**BUDGET, **RETRYING_WARM_START},
    output_root=REPO_ROOT / "runs" / "learning-retry",
    plot=REPO_ROOT / "docs" / "learning-retry.png",
    reference=False,
)
QUICK_SETUP = dataclasses.replace(
    SETUP,
    overrides={**QUICK.overrides, **RETRYING_WARM_START, "sft_warmup_steps": QUICK.overrides["sft_warmup_steps"]},
    output_root=REPO_ROOT / "runs" / "learning-retry-quick",
    plot=None,
    smoke=True,
)


def run(quick: bool = False, setup: LearningSetup | None = None) -> SuiteResult:
    """The suite (``setup`` replaces :data:`SETUP`, e.g. in tests). No targets: the verdict goes either way."""
    result = measure(setup or (QUICK_SETUP if quick else SETUP))
    return SuiteResult("learning_retry", result, [], tables(result))
