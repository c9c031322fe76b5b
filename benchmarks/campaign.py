"""``campaign``: does RL teach what imitation does not?

The plan, written down before any of it ran (every part is recorded in its folder and reused by a rerun with the
same settings, so the campaign continues where a stopped session left it):

1. **Warm start**: the ``learning`` suite's (the ``cpu-learning`` preset's 48-step supervised warm-up on scripted
   transcripts), one per seed, evaluated on the 160 synthetic test questions and compared with each other (paired:
   the same warm-up on the same kind of transcripts, so a difference is the seed's).
2. **Recipe chosen on validation**: each of :data:`CANDIDATES` trains :data:`SELECTION` (12 GRPO steps, validated
   on the 160 validation questions carved from the training split at steps 0, 6 and 12) from the seed-0 warm start
   and is never evaluated on the test split. Rule (:func:`choose`): the highest best validation accuracy; a tie goes
   to the cheaper step. Every candidate's validation curve is recorded.
3. **The chosen recipe**, trained for at most :data:`TRAINING_MINUTES` of training wall time (steps = the minutes
   over its candidate run's mean step time, at most :data:`MAX_STEPS`), validated every :data:`FINAL_EVAL_EVERY`
   steps, its best checkpoint (by validation) and its last step scored on the test split; seeds 0 and 1.
4. **References from the same warm start at equal compute**, compute counted as episodes — steps × episodes the
   learner played (GRPO, RFT) or trained on (SFT) — with tokens (generated + run through the training forward) and
   wall time reported beside: the warm-up continued (SFT on the scripted searcher's transcripts, as many transcripts
   as the GRPO run played episodes) and expert iteration (``learner="rft"``, same recipe and guidance, as many steps
   as play that many episodes: :func:`equal_episode_steps`).
5. **Where retrying pays** (chosen before running): ``SearchQA-Noisy-v0`` — the same world behind a search engine
   that adds a near-duplicate distractor to half the searches, drops a tenth of the results, shuffles half the lists
   and cuts a tenth of the texts short, so first searches often miss. The seed-0 warm start is evaluated there, then
   the chosen recipe trains there with ``reward="rezero"`` and with ``"rezero-no-retry"`` (same seed, :data:`RETRY`
   budget, validation and test on the noisy env); verdict on their best checkpoints.
6. **Per level and per dataset**: single-hop / two-hop / distractor accuracies with intervals for every row, and
   ReZero's 32 Apollo test questions under the ``contains`` judge for the warm start and the seed-0 best checkpoint
   (skipped, with a note, when the data is not there).

Statistics: 95 % Wilson intervals; paired differences with a bootstrap interval and the exact McNemar p-value
(:func:`rezero_agents.stats.compare`). ``--quick`` runs every part on a few questions (a smoke check, not a result).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from benchmarks.common import SuiteResult, Target
from benchmarks.learning import (
    QUICK,
    REPO_ROOT,
    LearningSetup,
    _accuracy_cells,
    _difference,
    _verdict,
    paired,
    record_part,
    reuse_part,
    searching_cells,
    warm_start,
)
from rezero_agents.grpo_config import PRESETS, GRPOConfig
from rezero_agents.learners import make_learner
from rezero_agents.stats import accuracy_summary
from rezero_env.types import split_tasks

logger = logging.getLogger(__name__)

EVIDENCE: dict[str, Any] = {"reward": "rezero-evidence", "ungated_terms": ("evidence",)}
CANDIDATES: dict[str, dict[str, Any]] = {
    "recipe": {},
    "recipe+evidence": EVIDENCE,
    "trajectory": {"guidance": "trajectory"},
    "trajectory+evidence": {"guidance": "trajectory", **EVIDENCE},
    "prefix": {"guidance": "prefix"},
    "prefix+evidence": {"guidance": "prefix", **EVIDENCE},
    "wide": {"questions_per_step": 16, "dynamic_sampling": False},
}
"""The recipes compared on validation: ``cpu-learning`` as it is, with guidance, with the evidence reward, and with
16 questions × 4 samples a step (the measured best rollout batch of 64)."""

SELECTION: dict[str, Any] = {"total_steps": 12, "eval_every": 6}
TRAINING_MINUTES = 60.0
MAX_STEPS = 80
FINAL_EVAL_EVERY = 5
"""Validation every 5 steps (10 in the first plan): changed after the ``trajectory`` candidate's validation curve
(46.3 % at step 0, 58.8 % at 6, 36.2 % at 12, stopped as a collapse) showed a run can gain and lose 20 points within
6 steps; decided on validation only, before any final run or test evaluation."""
SEEDS = (0, 1)
RETRY: dict[str, Any] = {"env_id": "SearchQA-Noisy-v0", "total_steps": 24, "eval_every": 8}
APOLLO_JUDGE = "contains"
GAIN_GOAL = 10.0
TWO_HOP_GOAL = 0.20
LEVEL = "two-hop"


@dataclass
class CampaignSetup:
    """What the campaign trains; the defaults are the recorded campaign."""

    learning: LearningSetup = field(default_factory=LearningSetup)
    """Whose warm starts are shared (the ``learning`` suite's folder, so its recorded warm start is reused)."""
    candidates: tuple[str, ...] = tuple(CANDIDATES)
    selection: dict[str, Any] = field(default_factory=lambda: dict(SELECTION))
    training_minutes: float = TRAINING_MINUTES
    max_steps: int = MAX_STEPS
    final_eval_every: int = FINAL_EVAL_EVERY
    seeds: tuple[int, ...] = SEEDS
    retry: dict[str, Any] = field(default_factory=lambda: dict(RETRY))
    apollo_dir: Path | None = REPO_ROOT.parent / "shared" / "datasets" / "rezero-apollo"
    output_root: Path = REPO_ROOT / "runs" / "campaign"
    overrides: dict[str, Any] = field(default_factory=dict)
    """Changes to every run of the campaign (tests: the tiny model)."""

    def config(self, name: str, warm: dict[str, Any], **fields: Any) -> GRPOConfig:
        values = {
            **self.overrides,
            "output_dir": self.output_root / name,
            "init_from": Path(warm["checkpoint"]),
            "eval_before": False,
            "resume": True,
            **fields,
        }
        values.setdefault("save_every", values.get("eval_every", 0))
        return dataclasses.replace(PRESETS[self.learning.preset], **values)


QUICK_SETUP = CampaignSetup(
    learning=QUICK,
    candidates=("recipe", "trajectory"),
    selection={"total_steps": 2, "eval_every": 1},
    training_minutes=0.05,
    max_steps=2,
    final_eval_every=1,
    seeds=(0,),
    retry={**RETRY, "total_steps": 1, "eval_every": 1},
    apollo_dir=None,
    output_root=REPO_ROOT / "runs" / "campaign-quick",
    overrides={k: v for k, v in QUICK.overrides.items() if k not in ("total_steps", "eval_every", "sft_warmup_steps")},
)


# --- the parts ----------------------------------------------------------------------------------------------------


def _history_cells(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over a run's steps (and totals) that explain it: compute, signal by level, entropy, searching."""

    def mean(key: str) -> float:
        values = [h[key] for h in history if key in h and h[key] == h[key]]
        return sum(values) / len(values) if values else float("nan")

    return {
        "steps": len(history),
        "training_seconds": sum(h["perf/step_seconds"] for h in history),
        "mean_step_seconds": mean("perf/step_seconds"),
        "episodes": sum(h["train/episodes"] for h in history),
        "generated_tokens": sum(h.get("perf/generated_tokens", 0.0) for h in history),
        "trained_sequence_tokens": sum(h.get("perf/trained_sequence_tokens", 0.0) for h in history),
        "solvable_two_hop": mean(f"train/solvable_groups/{LEVEL}"),
        "solvable_two_hop_guided": mean(f"train/solvable_groups_guided/{LEVEL}"),
        "zero_signal_groups": mean("train/zero_signal_groups"),
        "entropy_first_last": [history[0].get("loss/entropy"), history[-1].get("loss/entropy")] if history else [],
        "mean_searches": mean("train/mean_searches"),
    }


def train_run(setup: CampaignSetup, name: str, warm: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """One training run (GRPO or RFT) from ``warm`` through the learners' shared schedule; the test split only when
    ``eval_after``."""
    config = setup.config(name, warm, **fields)
    if (reused := reuse_part(config)) is not None:
        return reused
    summary = make_learner(config).train()
    result: dict[str, Any] = {
        **_history_cells(summary["history"]),
        "validation_curve": summary["validation"],
        "best": summary.get("best"),
        "stopped": summary["stopped"],
        "checkpoint": summary["checkpoint"],
    }
    for key, cell in (("eval_final", "test_last"), ("eval_best", "test_best")):
        if key in summary:
            result[cell] = _accuracy_cells(summary[key])
    return record_part(config, result)


def choose(candidates: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """The candidate with the highest best validation accuracy (a tie: the cheaper step), and the rule in words."""

    def key(name: str) -> tuple[float, float]:
        best = candidates[name]["best"] or {}
        return -float(best.get("accuracy", 0.0)), float(candidates[name]["mean_step_seconds"])

    ranked = sorted(candidates, key=key)
    rule = "highest best validation accuracy over the selection run (ties: the lower mean step time)"
    return ranked[0], rule


def final_steps(setup: CampaignSetup, candidate: dict[str, Any]) -> int:
    """GRPO steps that fit the training budget at the candidate's measured step time (at most ``max_steps``)."""
    fits = math.floor(setup.training_minutes * 60 / max(candidate["mean_step_seconds"], 1e-9))
    return max(1, min(setup.max_steps, fits))


def equal_episode_steps(episodes: float, config: GRPOConfig) -> int:
    """Expert-iteration steps that play ``episodes`` episodes: ``questions_per_step`` × ``num_generations`` a step
    (GRPO's dynamic sampling plays up to ``oversample`` times more a step, so equal steps would not be equal
    compute)."""
    return max(1, math.ceil(episodes / (config.questions_per_step * config.num_generations)))


def sft_reference(setup: CampaignSetup, warm: dict[str, Any], episodes: float) -> dict[str, Any]:
    """The warm-up continued by supervised fine-tuning on as many scripted transcripts as the GRPO run played
    episodes."""
    batch = PRESETS[setup.learning.preset].sft_batch_size
    steps = max(1, math.ceil(episodes / batch))
    config = setup.config("references/sft", warm, sft_warmup_steps=steps, seed=1, eval_every=0)
    if (reused := reuse_part(config)) is not None:
        return reused
    learner = make_learner(config)
    learner.initialize_from(Path(warm["checkpoint"]))
    sft = learner.warm_up(steps=steps)
    test = learner.evaluate("sft-reference")
    learner.close()
    return record_part(config, {"sft": sft, "episodes": float(steps * batch), "test": _accuracy_cells(test)})


def evaluate_checkpoint(setup: CampaignSetup, name: str, checkpoint: str, **fields: Any) -> dict[str, Any]:
    """A checkpoint scored on the test split of another environment (noisy search, Apollo)."""
    config = setup.config(
        name, {"checkpoint": checkpoint}, total_steps=1, eval_every=0, validation_questions=0, **fields
    )
    if (reused := reuse_part(config)) is not None:
        return reused
    learner = make_learner(config)
    learner.initialize_from(Path(checkpoint))
    test = learner.evaluate("test")
    learner.close()
    return record_part(config, {"checkpoint": checkpoint, "test": _accuracy_cells(test)})


def apollo_fields(setup: CampaignSetup) -> dict[str, Any] | None:
    """The settings that point a run at ReZero's Apollo data, or None when it is not there."""
    folder = setup.apollo_dir
    if folder is None or not (folder / "chunks.csv").is_file():
        return None
    return {"dataset": str(folder.resolve()), "judge": APOLLO_JUDGE, "max_sequence_tokens": 4096, "eval_questions": 0}


def test_levels(config: GRPOConfig) -> dict[str, str]:
    """Task id → question level of ``config``'s test split."""
    env = gym.make(config.env_id, split="test", **config.env_kwargs)
    try:
        return {task.id: str(task.meta["level"]) for task in split_tasks(env) if "level" in task.meta}
    finally:
        env.close()


def with_level_intervals(cells: dict[str, Any], levels: Mapping[str, str]) -> dict[str, Any]:
    """``cells`` with ``intervals_by_level`` ([low, high, n] per level) from its per-question verdicts when it was
    recorded without them (a warm start the learning suite recorded before it kept them)."""
    if cells.get("intervals_by_level") or not cells.get("verdicts"):
        return cells
    by_level: dict[str, list[bool]] = collections.defaultdict(list)
    for task_id, correct in cells["verdicts"].items():
        if task_id in levels:
            by_level[levels[task_id]].append(bool(correct))
    summaries = {level: accuracy_summary(outcomes) for level, outcomes in sorted(by_level.items())}
    return {**cells, "intervals_by_level": {level: [s["low"], s["high"], s["n"]] for level, s in summaries.items()}}


def measure(setup: CampaignSetup | None = None) -> dict[str, Any]:
    setup = setup or CampaignSetup()
    result: dict[str, Any] = {
        "setup": {
            "preset": setup.learning.preset,
            "candidates": {name: CANDIDATES[name] for name in setup.candidates},
            "selection": setup.selection,
            "training_minutes": setup.training_minutes,
            "max_steps": setup.max_steps,
            "seeds": list(setup.seeds),
            "retry": setup.retry,
        }
    }
    warm = {seed: warm_start(setup.learning, seed) for seed in setup.seeds}
    first = setup.seeds[0]
    levels = test_levels(setup.learning.config("levels"))
    warm = {seed: {**w, "test": with_level_intervals(w["test"], levels)} for seed, w in warm.items()}
    result["warm_start"] = {str(seed): w for seed, w in warm.items()}

    # 2. candidates on validation
    selection_fields = {**setup.selection, "seed": first, "eval_after": False}
    candidates = {
        name: train_run(setup, f"select/{name}", warm[first], **CANDIDATES[name], **selection_fields)
        for name in setup.candidates
    }
    winner, rule = choose(candidates)
    result["candidates"], result["chosen"], result["rule"] = candidates, winner, rule

    # 3. the chosen recipe, budgeted, on two seeds
    steps = final_steps(setup, candidates[winner])
    final_fields = {**CANDIDATES[winner], "total_steps": steps, "eval_every": setup.final_eval_every}
    finals = {
        seed: train_run(setup, f"final/seed{seed}", warm[seed], seed=seed, **final_fields) for seed in setup.seeds
    }
    result["final"] = {str(seed): run for seed, run in finals.items()}

    # 4. references from the seed-0 warm start, each on as many episodes as the GRPO run played (a collapse may stop
    # it before its budget): SFT on as many scripted transcripts, expert iteration on as many played episodes
    grpo = finals[first]
    rft_fields = {**final_fields, "seed": first, "learner": "rft"}
    rft_config = setup.config("references/rft", warm[first], **rft_fields)
    rft_fields["total_steps"] = equal_episode_steps(grpo["episodes"], rft_config)
    references = {
        "sft": sft_reference(setup, warm[first], grpo["episodes"]),
        "rft": train_run(setup, "references/rft", warm[first], **rft_fields),
    }
    result["references"] = references

    # 5. where retrying pays
    noisy = {"env_id": setup.retry["env_id"]}
    recipe = {k: v for k, v in CANDIDATES[winner].items() if k not in EVIDENCE}  # the retry runs compare presets
    retry_fields = {**recipe, **setup.retry, "seed": first}
    retry = {
        "warm_start": evaluate_checkpoint(setup, "retry/warm-start", warm[first]["checkpoint"], **noisy),
        "retry": train_run(setup, "retry/rezero", warm[first], reward="rezero", **retry_fields),
        "no-retry": train_run(setup, "retry/rezero-no-retry", warm[first], reward="rezero-no-retry", **retry_fields),
    }
    result["retry"] = retry

    # 6. Apollo
    apollo = apollo_fields(setup)
    if apollo is None:
        result["apollo"] = {"note": f"skipped: no ReZero Apollo data at {setup.apollo_dir}"}
    else:
        best = str(Path(grpo["checkpoint"]).parent / "best")
        result["apollo"] = {
            "warm_start": evaluate_checkpoint(setup, "apollo/warm-start", warm[first]["checkpoint"], **apollo),
            "grpo_best": evaluate_checkpoint(setup, "apollo/grpo-best", best, **apollo),
        }
    result["comparisons"] = comparisons(result, first)
    result["verdicts"] = verdicts(result["comparisons"])
    return result


def comparisons(result: dict[str, Any], first: int) -> dict[str, dict[str, Any]]:
    """Every paired difference the campaign reports (test split, same questions)."""
    out = warm_starts_compared(result["warm_start"])
    for seed, run in result["final"].items():
        warm = result["warm_start"][seed]["test"]
        out[f"seed{seed}_best_minus_warm"] = paired(run["test_best"], warm)
        out[f"seed{seed}_last_minus_warm"] = paired(run["test_last"], warm)
    grpo = result["final"][str(first)]["test_best"]
    out["grpo_minus_sft"] = paired(grpo, result["references"]["sft"]["test"])
    rft = result["references"]["rft"]
    out["grpo_minus_rft"] = paired(grpo, rft.get("test_best", rft.get("test_last")))
    retry = result["retry"]
    out["retry_minus_no_retry"] = paired(retry["retry"]["test_best"], retry["no-retry"]["test_best"])
    out["retry_minus_noisy_warm"] = paired(retry["retry"]["test_best"], retry["warm_start"]["test"])
    return out


def warm_starts_compared(warm_start: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each later seed's warm start minus the first's on the test split: the same warm-up on the same kind of
    transcripts, so any difference is the seed's."""
    (first, first_run), *others = warm_start.items()
    return {f"warm_seed{seed}_minus_seed{first}": paired(run["test"], first_run["test"]) for seed, run in others}


def verdicts(comparisons: dict[str, dict[str, Any]]) -> dict[str, str]:
    sentences = {
        key: _verdict(
            value,
            f"The warm start of seed {seeds[1]}",
            f"that of seed {seeds[2]} (the same warm-up on the same kind of transcripts)",
        )
        for key, value in comparisons.items()
        if (seeds := re.fullmatch(r"warm_seed(\w+)_minus_seed(\w+)", key))
    }
    seeds = [m[1] for key in comparisons if (m := re.fullmatch(r"seed(\w+)_best_minus_warm", key))]
    sentences |= {
        f"seed{seed}_best_minus_warm": _verdict(
            comparisons[f"seed{seed}_best_minus_warm"],
            f"GRPO (chosen recipe, seed {seed}, best checkpoint)",
            "its warm start",
        )
        for seed in seeds
    }
    grpo = f"GRPO (seed {seeds[0]}, best)" if seeds else "GRPO"  # the references share the first seed's warm start
    sentences["grpo_vs_sft"] = _verdict(
        comparisons["grpo_minus_sft"], grpo, "the warm-up continued on as many scripted transcripts"
    )
    sentences["grpo_vs_rft"] = _verdict(comparisons["grpo_minus_rft"], grpo, "expert iteration at equal episodes")
    sentences["retry"] = _verdict(
        comparisons["retry_minus_no_retry"], "On noisy search, the retry reward", "the same training without it"
    )
    return sentences


# --- reporting ----------------------------------------------------------------------------------------------------


def row_cell(cells: dict[str, Any]) -> str:
    intervals = cells.get("intervals_by_level") or {}

    def level_cell(level: str, value: float) -> str:
        low_high = f" [{intervals[level][0]:.0%}, {intervals[level][1]:.0%}]" if level in intervals else ""
        return f"{level} {value:.0%}{low_high}"

    by_level = ", ".join(level_cell(k, v) for k, v in sorted((cells.get("accuracy_by_level") or {}).items()))
    levels = f"; {by_level}" if by_level else ""
    return f"{cells['accuracy']:.1%} [{cells['low']:.1%}, {cells['high']:.1%}] (n={cells['n']}{levels})"


def _searching(cells: dict[str, Any]) -> str:
    searches, retries = searching_cells(cells)
    return f"{searches} searches/episode, retry rate {retries}"


def tables(result: dict[str, Any]) -> str:
    lines = [
        f"Chosen on validation: **{result['chosen']}** ({result['rule']}).",
        "",
        "| candidate | steps | best validation accuracy (step) | mean step s | two-hop groups solvable / in update |",
        "|---|---|---|---|---|",
    ]
    for name, run in result["candidates"].items():
        best = run["best"] or {"accuracy": float("nan"), "step": "–"}
        lines.append(
            f"| {name} | {run['steps']} | {best['accuracy']:.1%} ({best['step']}) | {run['mean_step_seconds']:.0f} | "
            f"{run['solvable_two_hop']:.0%} / {run['solvable_two_hop_guided']:.0%} |"
        )
    comparisons = result["comparisons"]
    lines += [
        "",
        "| row | test accuracy (per level) | minus warm start | episodes | tokens | training wall time |",
        "|---|---|---|---|---|---|",
    ]
    for seed, warm in result["warm_start"].items():
        spread = comparisons.get(f"warm_seed{seed}_minus_seed{next(iter(result['warm_start']))}")
        versus = f"{_difference(spread)} (vs the first seed's)" if spread else "–"
        lines.append(f"| warm start, seed {seed} | {row_cell(warm['test'])} | {versus} | – | – | – |")
    for seed, run in result["final"].items():
        tokens = run["generated_tokens"] + run["trained_sequence_tokens"]
        for which in ("best", "last"):
            lines.append(
                f"| GRPO {result['chosen']}, seed {seed}, {which} | {row_cell(run[f'test_{which}'])} | "
                f"{_difference(comparisons[f'seed{seed}_{which}_minus_warm'])} | {run['episodes']:.0f} | "
                f"{tokens:,.0f} | {run['training_seconds'] / 60:.1f} min |"
            )
    sft, rft = result["references"]["sft"], result["references"]["rft"]
    lines.append(
        f"| warm-up continued (SFT) | {row_cell(sft['test'])} | – | {sft['episodes']:.0f} | "
        f"{sft['sft'].get('sft_tokens', float('nan')):,.0f} | {sft['sft']['sft_seconds'] / 60:.1f} min |"
    )
    rft_tokens = rft["generated_tokens"] + rft["trained_sequence_tokens"]
    lines.append(
        f"| expert iteration (RFT), best | {row_cell(rft['test_best'])} | – | {rft['episodes']:.0f} | "
        f"{rft_tokens:,.0f} | {rft['training_seconds'] / 60:.1f} min |"
    )
    retry = result["retry"]
    lines += [
        "",
        f"GRPO minus SFT: {_difference(comparisons['grpo_minus_sft'])}; GRPO minus RFT: "
        f"{_difference(comparisons['grpo_minus_rft'])}.",
        "",
        f"Retry ({result['setup']['retry']['env_id']}): warm start {row_cell(retry['warm_start']['test'])}; rezero "
        f"{row_cell(retry['retry']['test_best'])}, {_searching(retry['retry']['test_best'])}; rezero-no-retry "
        f"{row_cell(retry['no-retry']['test_best'])}, {_searching(retry['no-retry']['test_best'])}; rezero minus "
        f"rezero-no-retry {_difference(comparisons['retry_minus_no_retry'])}; rezero minus the warm start "
        f"{_difference(comparisons['retry_minus_noisy_warm'])}.",
    ]
    apollo = result["apollo"]
    if "note" in apollo:
        lines += ["", f"Apollo: {apollo['note']}."]
    else:
        lines += [
            "",
            f"Apollo (32 test questions, judge {APOLLO_JUDGE}): warm start {row_cell(apollo['warm_start']['test'])}; "
            f"GRPO best {row_cell(apollo['grpo_best']['test'])}.",
        ]
    lines += ["", *(f"- {sentence}" for sentence in result["verdicts"].values())]
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[Target]:
    comparisons = result["comparisons"]
    out = [
        Target(
            f"seed {seed}: GRPO best minus warm start, test points",
            100 * comparisons[f"seed{seed}_best_minus_warm"]["difference"],
            GAIN_GOAL if index == 0 else 0.0,
        )
        for index, seed in enumerate(result["final"])
    ]
    out += [
        Target(
            f"seed {seed}: two-hop test accuracy of the best GRPO checkpoint",
            100 * run["test_best"]["accuracy_by_level"].get(LEVEL, 0.0),
            100 * TWO_HOP_GOAL,
        )
        for seed, run in result["final"].items()
    ]
    out += [
        Target("GRPO minus continued SFT, test points (CI low)", 100 * comparisons["grpo_minus_sft"]["low"], 0.0),
        Target("GRPO minus expert iteration, test points (CI low)", 100 * comparisons["grpo_minus_rft"]["low"], 0.0),
    ]
    return out


def run(quick: bool = False, setup: CampaignSetup | None = None) -> SuiteResult:
    setup = setup or (QUICK_SETUP if quick else CampaignSetup())
    result = measure(setup)
    return SuiteResult("campaign", result, targets(result), tables(result))
