"""``guidance``: does guidance give the groups in which every sample fails a success to learn from, and what does it
cost a step?

From the ``learning`` suite's warm start (the ``cpu-learning`` preset's 48-step supervised warm-up, shared with that
suite), short GRPO runs of the same recipe, one per mode, with the same seed (so step ``i`` of every run draws the
same questions):

- ``none``: the recipe as it is; ``evidence``: the ``rezero-evidence`` reward with the evidence term paid whatever
  the verdict (``ungated_terms=("evidence",)``), so a two-hop episode that found both documents outscores one that
  found one;
- ``trajectory``: the scripted guide's episode joins each all-fail group (advantage-weighted likelihood on its
  tokens, the default), ``trajectory-shaped``: the same with LUFFY's shaped objective;
- ``prefix``: ``trajectory`` plus samples branched after the guide's first turns.

Recorded per run and step: the share of two-hop groups with a success among the unaided samples and in what the
update used, the share of two-hop groups without signal, guided and branched groups, the policy's mean probability
of the guide's tokens, the step's wall time (rollout, guidance, training) and generated tokens per second. Target:
a guided step costs at most twice an unguided one. Learning itself (accuracy after training) is the ``learning``
suite's question, not this one's. ``--quick`` runs two steps of each on the tiny random model's scale of the
``learning`` suite's quick setup.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target
from benchmarks.learning import QUICK, REPO_ROOT, LearningSetup, record_part, reuse_part, warm_start
from rezero_agents.grpo_config import PRESETS, GRPOConfig
from rezero_agents.learners import make_learner

logger = logging.getLogger(__name__)

MODES: dict[str, dict[str, Any]] = {
    "none": {},
    "evidence": {"reward": "rezero-evidence", "ungated_terms": ("evidence",)},
    "trajectory": {"guidance": "trajectory"},
    "trajectory-shaped": {"guidance": "trajectory", "guide_objective": "shaped"},
    "prefix": {"guidance": "prefix"},
}
"""Each run's changes to the recipe."""

LEVEL = "two-hop"
"""The question level whose groups all fail after the warm-up."""

RECORDED = (
    "train/accuracy",
    f"train/accuracy_by_level/{LEVEL}",
    f"train/solvable_groups/{LEVEL}",
    f"train/solvable_groups_guided/{LEVEL}",
    f"train/zero_signal_groups/{LEVEL}",
    "train/zero_signal_groups",
    "train/failing_groups",
    "train/guided_groups",
    "train/branched_groups",
    "train/prefix_turns",
    "train/guide_success",
    "train/trained_groups",
    "train/trained_thanks_to_guidance",
    "loss/guide_token_probability",
    "loss/trained_tokens",
    "perf/rollout_seconds",
    "perf/guidance_seconds",
    "perf/train_seconds",
    "perf/step_seconds",
    "perf/generated_tokens_per_s",
)
"""The step metrics kept for each run (absent ones, e.g. a level not drawn in a step, are left out)."""

MAX_STEP_COST = 2.0
"""A guided step may cost at most this many unguided steps (wall time)."""


@dataclass
class GuidanceSetup:
    """The warm start (``learning``'s setup), the runs' length and where they go."""

    learning: LearningSetup = field(default_factory=LearningSetup)
    steps: int = 8
    modes: tuple[str, ...] = tuple(MODES)
    output_root: Path = REPO_ROOT / "runs" / "guidance"

    def config(self, mode: str, checkpoint: Path) -> GRPOConfig:
        fields = {
            **self.learning.overrides,
            **MODES[mode],
            "output_dir": self.output_root / mode,
            "init_from": checkpoint,
            "total_steps": self.steps,
            "eval_every": 0,
            "eval_before": False,
        }
        return dataclasses.replace(PRESETS[self.learning.preset], **fields)


QUICK_SETUP = GuidanceSetup(learning=QUICK, steps=2, output_root=REPO_ROOT / "runs" / "guidance-quick")


def guided_run(setup: GuidanceSetup, mode: str, warm: dict[str, Any]) -> dict[str, Any]:
    """``setup.steps`` steps from the warm start; each step's :data:`RECORDED` metrics."""
    config = setup.config(mode, Path(warm["checkpoint"]))
    if (reused := reuse_part(config)) is not None:
        return reused
    learner = make_learner(config)
    learner.initialize_from(Path(warm["checkpoint"]))
    learner.mark_start()
    steps = []
    for _ in range(config.total_steps):
        metrics = learner.train_step()
        steps.append({key: metrics[key] for key in RECORDED if key in metrics})
        logger.info("guidance %s step %d: %s", mode, learner.step, steps[-1])
    learner.close()
    return record_part(config, {"steps": steps})


def _mean(steps: list[dict[str, float]], key: str) -> float:
    values = [s[key] for s in steps if key in s and s[key] == s[key]]  # skip missing and nan
    return sum(values) / len(values) if values else float("nan")


def summarize(steps: list[dict[str, float]]) -> dict[str, float]:
    """Means over a run's steps of its recorded metrics (nan-free), and the first step's guide-token probability."""
    summary = {key: _mean(steps, key) for key in RECORDED}
    summary["first_guide_token_probability"] = steps[0].get("loss/guide_token_probability", float("nan"))
    summary[f"{LEVEL}_groups"] = float(sum(1 for s in steps if f"train/solvable_groups/{LEVEL}" in s))
    return summary


def measure(setup: GuidanceSetup | None = None) -> dict[str, Any]:
    setup = setup or GuidanceSetup()
    warm = warm_start(setup.learning, seed=0)
    runs = {mode: guided_run(setup, mode, warm) for mode in setup.modes}
    summaries = {mode: summarize(run["steps"]) for mode, run in runs.items()}
    base = summaries.get("none", {}).get("perf/step_seconds", float("nan"))
    for summary in summaries.values():
        summary["step_cost_vs_none"] = summary["perf/step_seconds"] / base
    return {
        "setup": {"preset": setup.learning.preset, "steps": setup.steps, "modes": {m: MODES[m] for m in setup.modes}},
        "config": setup.config("none", Path(warm["checkpoint"])).to_dict(),
        "warm_start": {"checkpoint": warm["checkpoint"], "test": {k: warm["test"][k] for k in ("accuracy", "n")}},
        "runs": runs,
        "summaries": summaries,
    }


def _percent(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"


def tables(result: dict[str, Any]) -> str:
    config = result["config"]
    lines = [
        f"SmolLM2-135M from the `{result['setup']['preset']}` warm start; {result['setup']['steps']} GRPO steps per "
        f"run of {config['questions_per_step']} trained of {config['questions_per_step'] * config['oversample']:.0f} "
        f"drawn questions × {config['num_generations']} samples, same questions step by step in every run. "
        f"Two-hop columns: means over steps of the share of the step's two-hop groups. Step time: rollout + "
        "guidance + training, mean per step.",
        "",
        "| run | two-hop groups with a success: unaided | … in the update | two-hop groups without signal | "
        "guided / branched groups per step | P(guide token), first step | step time | vs none | generated tokens/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, s in result["summaries"].items():
        lines.append(
            f"| {mode} | {_percent(s[f'train/solvable_groups/{LEVEL}'])} | "
            f"{_percent(s[f'train/solvable_groups_guided/{LEVEL}'])} | "
            f"{_percent(s[f'train/zero_signal_groups/{LEVEL}'])} | "
            f"{s['train/guided_groups']:.1f} / {s['train/branched_groups']:.1f} | "
            f"{s['first_guide_token_probability']:.2f} | {s['perf/step_seconds']:.1f} s "
            f"({s['perf/rollout_seconds']:.1f} + {s['perf/guidance_seconds']:.1f} + {s['perf/train_seconds']:.1f}) | "
            f"{s['step_cost_vs_none']:.2f}× | {s['perf/generated_tokens_per_s']:.0f} |"
        )
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[Target]:
    return [
        Target(f"{mode}: step time / unguided step time", summary["step_cost_vs_none"], MAX_STEP_COST, True)
        for mode, summary in result["summaries"].items()
        if MODES[mode].get("guidance")
    ]


def run(quick: bool = False, setup: GuidanceSetup | None = None) -> SuiteResult:
    setup = setup or (QUICK_SETUP if quick else GuidanceSetup())
    result = measure(setup)
    return SuiteResult("guidance", result, targets(result), tables(result))
