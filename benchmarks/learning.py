"""``learning``: does GRPO teach SmolLM2-135M to answer held-out questions better than its warm start, and does
ReZero's retry reward help?

From one saved warm start (the ``cpu-learning`` preset's supervised warm-up on scripted transcripts), the suite
trains with ``reward="rezero"`` and with ``reward="rezero-no-retry"`` — same seed, steps, recipe and evaluation —
with the recipe's gated shaping (and, with ``additive_pair``, with additive shaping too), and continues
the warm-up by supervised fine-tuning for the same wall time as the retry run's training (the compute-matched
reference: what more imitation buys). Every run validates every ``eval_every`` steps on the validation split carved
from the training questions, keeps its best checkpoint by validation accuracy, and is scored on the whole synthetic
test split (160 questions, greedy) at its best and its last step; selection never reads the test split.

Recorded: validation accuracy by step for each run (plotted to ``docs/learning.png``), test accuracy of the warm
start, best and last with 95 % Wilson intervals, paired differences (bootstrap interval, exact McNemar) of each
against the warm start and of retry against no-retry, the training wall time, and the verdicts in one sentence
each. ``--quick`` runs two steps of each on a few questions (a smoke check, not a result).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target
from rezero_agents.grpo import GRPOLearner
from rezero_agents.grpo_config import PRESETS, GRPOConfig
from rezero_agents.stats import compare

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
PLOT = REPO_ROOT / "docs" / "learning.png"
RUNS = (("retry", "rezero"), ("no-retry", "rezero-no-retry"))
ADDITIVE = "-additive"
"""Suffix of the runs that pay the shaping terms whatever the verdict (``reward_shaping="additive"``, ReZero's own
sum of rewards), trained beside the recipe's gated runs when ``LearningSetup.additive_pair`` is set."""
RETRY_PAIRS = {"": "The retry reward", ADDITIVE: "With additive shaping (ReZero's sum of rewards), the retry reward"}
"""Run-name suffix of each retry / no-retry pair, and how its verdict names the retry reward."""


def _pair_key(kind: str, suffix: str) -> str:
    """Key of a retry / no-retry pair's entry: ``retry_minus_no_retry`` + ``_additive`` for the additive pair."""
    return kind + suffix.replace("-", "_")


GAIN_GOAL = 10.0
"""Accuracy points GRPO (retry reward on) should add over its warm start on the test split (the issue's target)."""


BUDGET: dict[str, Any] = {"total_steps": 12, "eval_every": 6}
"""The recorded run's budget, what fits a working session on 2 CPU cores: 12 GRPO steps (about 7 minutes of
training at ~35 s a step) and three validations of 160 questions per run; with the warm start, both runs, the
reference and the test evaluations about 75 minutes when nothing else runs. The ``cpu-learning`` preset's 80 steps
take about 1.5 hours per run here."""


@dataclass
class LearningSetup:
    """What the suite trains and evaluates; the recipe is the ``cpu-learning`` preset plus ``overrides``."""

    preset: str = "cpu-learning"
    overrides: dict[str, Any] = field(default_factory=lambda: dict(BUDGET))
    seeds: tuple[int, ...] = (0,)
    output_root: Path = REPO_ROOT / "runs" / "learning"
    plot: Path | None = PLOT
    reference: bool = True
    """Run the compute-matched supervised reference."""
    smoke: bool = False
    """A smoke check (``--quick``): a few questions, no goal, said so in the caption."""
    additive_pair: bool = False
    """Also train the retry and no-retry runs with ``reward_shaping="additive"`` (ReZero's plain sum of rewards). With
    the recipe's gated shaping the retry term pays only beside a correct answer, where it is a constant for a policy
    that always searches once (0.35), so retry and no-retry then train alike; the additive pair shows whether the
    term matters when it is paid for every answered episode. Not validated (``eval_every=0``, to fit a budget):
    compared at their last step. Off in the recorded run (see the README)."""

    def config(self, name: str, **fields: Any) -> GRPOConfig:
        base = PRESETS[self.preset]
        return dataclasses.replace(base, **{**self.overrides, "output_dir": self.output_root / name, **fields})


QUICK = LearningSetup(
    overrides={
        "total_steps": 2,
        "eval_every": 1,
        "validation_questions": 6,
        "eval_questions": 6,
        "questions_per_step": 2,
        "num_generations": 2,
        "rollout_batch_size": 6,
        "sft_warmup_steps": 2,
        "max_turns": 2,
        "max_new_tokens": 24,
    },
    output_root=REPO_ROOT / "runs" / "learning-quick",
    plot=None,
    smoke=True,
)


def _accuracy_cells(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "accuracy": summary["accuracy"],
        "low": summary["accuracy_low"],
        "high": summary["accuracy_high"],
        "n": summary["episodes"],
        "accuracy_by_level": summary.get("accuracy_by_level", {}),
        "intervals_by_level": summary.get("intervals_by_level", {}),
        "mean_searches": summary.get("mean_searches"),
        "retry_rate": summary.get("retry_rate"),
        "mean_reward": summary.get("mean_reward"),
        "verdicts": summary["verdicts"],
    }


RESULT_FILE = "learning-part.json"
"""Each part (warm start, run, reference) records its outcome in its folder; a rerun with the same settings reuses it,
so a suite stopped part-way (e.g. by the end of a session) continues where it was."""


def reuse_part(config: GRPOConfig) -> dict[str, Any] | None:
    """The recorded result of a part trained with ``config``, if there is one. Settings added to ``GRPOConfig``
    after the part was recorded count as equal when they hold their default (they did not exist, so the part ran
    with the behaviour the default keeps)."""
    path = config.output_dir / RESULT_FILE
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text())
    current = _json(config.to_dict())
    defaults = _json(GRPOConfig().to_dict())
    saved = recorded.get("config") or {}
    current = {k: v for k, v in current.items() if k in saved or v != defaults.get(k)}
    if saved == current:
        logger.warning("learning: reusing %s (delete it to retrain)", path)
        return dict(recorded["result"])
    return None


def _json(data: dict[str, Any]) -> dict[str, Any]:
    normalised: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return normalised


def record_part(config: GRPOConfig, result: dict[str, Any]) -> dict[str, Any]:
    config.output_dir.mkdir(parents=True, exist_ok=True)
    payload = {"config": config.to_dict(), "result": result}
    (config.output_dir / RESULT_FILE).write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return result


def warm_start(setup: LearningSetup, seed: int) -> dict[str, Any]:
    """Warm up once, save it as step 0, evaluate it on the test split."""
    config = setup.config(f"seed{seed}/warm-start", seed=seed, eval_every=0, total_steps=1)
    if (reused := reuse_part(config)) is not None:
        return reused
    learner = GRPOLearner(config)
    sft = learner.warm_up()
    folder = learner.save()
    test = learner.evaluate("warm-up")
    learner.close()
    return record_part(config, {"checkpoint": str(folder), "sft": sft, "test": _accuracy_cells(test)})


def grpo_run(
    setup: LearningSetup, seed: int, name: str, reward: str, warm: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    config = setup.config(f"seed{seed}/{name}", seed=seed, reward=reward, init_from=Path(warm["checkpoint"]), **fields)
    config.eval_before = False  # the warm start's test evaluation is shared (same weights, greedy)
    config.resume = True  # an interrupted run continues from its latest checkpoint
    config.save_every = config.save_every or config.eval_every
    if (reused := reuse_part(config)) is not None:
        return reused
    summary = GRPOLearner(config).train()
    history = summary["history"]
    training_seconds = sum(h["perf/rollout_seconds"] + h["perf/train_seconds"] for h in history)
    return record_part(
        config,
        {
            "reward": reward,
            "steps": len(history),
            "training_seconds": training_seconds,
            "validation_curve": summary["validation"],
            "best": summary.get("best"),
            "stopped": summary["stopped"],
            "test_last": _accuracy_cells(summary["eval_final"]),
            "test_best": _accuracy_cells(summary.get("eval_best", summary["eval_final"])),
            "zero_signal_groups": _mean([h["train/zero_signal_groups"] for h in history]),
            "train_reward_first_last": [history[0]["train/mean_reward"], history[-1]["train/mean_reward"]],
            "train_accuracy_first_last": [history[0]["train/accuracy"], history[-1]["train/accuracy"]],
            "entropy_first_last": [history[0]["loss/entropy"], history[-1]["loss/entropy"]],
        },
    )


def sft_reference(setup: LearningSetup, seed: int, warm: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The warm-up continued by supervised fine-tuning for about ``seconds`` of wall time (new transcripts)."""
    per_step = warm["sft"]["sft_seconds"] / max(1.0, warm["sft"]["sft_steps"])
    steps = max(1, round(seconds / per_step))
    config = setup.config(
        f"seed{seed}/sft-reference", seed=seed + 1, init_from=Path(warm["checkpoint"]), sft_warmup_steps=steps
    )
    if (reused := reuse_part(config)) is not None:
        return reused
    learner = GRPOLearner(config)
    learner.initialize_from(Path(warm["checkpoint"]))
    sft = learner.warm_up(steps=steps)
    test = learner.evaluate("sft-reference")
    learner.close()
    return record_part(config, {"sft": sft, "test": _accuracy_cells(test)})


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else float("nan")


def paired(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return compare(a["verdicts"], b["verdicts"]).to_dict()


def measure(setup: LearningSetup | None = None) -> dict[str, Any]:
    setup = setup or LearningSetup()
    results: dict[str, Any] = {
        "setup": {"preset": setup.preset, "overrides": setup.overrides, "smoke": setup.smoke},
        "seeds": {},
    }
    results["setup"]["config"] = setup.config("x").to_dict()
    for seed in setup.seeds:
        began = time.perf_counter()
        warm = warm_start(setup, seed)
        runs = {name: grpo_run(setup, seed, name, reward, warm) for name, reward in RUNS}
        if setup.additive_pair:
            for name, reward in RUNS:
                runs[name + ADDITIVE] = grpo_run(
                    setup, seed, name + ADDITIVE, reward, warm, reward_shaping="additive", eval_every=0
                )
        seed_result: dict[str, Any] = {"warm_start": warm, "runs": runs}
        if setup.reference:
            seed_result["sft_reference"] = sft_reference(setup, seed, warm, runs["retry"]["training_seconds"])
        comparisons = {}
        for name, run in runs.items():
            comparisons[f"{name}_best_minus_warm"] = paired(run["test_best"], warm["test"])
            comparisons[f"{name}_last_minus_warm"] = paired(run["test_last"], warm["test"])
        for suffix in (s for s in RETRY_PAIRS if "retry" + s in runs):
            retry, no_retry = runs["retry" + suffix], runs["no-retry" + suffix]
            for which in ("best", "last"):
                comparisons[f"{_pair_key('retry_minus_no_retry', suffix)}_{which}"] = paired(
                    retry[f"test_{which}"], no_retry[f"test_{which}"]
                )
        if "sft_reference" in seed_result:
            reference = seed_result["sft_reference"]["test"]
            comparisons["sft_reference_minus_warm"] = paired(reference, warm["test"])
            comparisons["retry_best_minus_sft_reference"] = paired(runs["retry"]["test_best"], reference)
        seed_result["comparisons"] = comparisons
        seed_result["verdicts"] = verdicts(comparisons)
        seed_result["wall_seconds"] = time.perf_counter() - began
        results["seeds"][str(seed)] = seed_result
        gc.collect()
    if setup.plot is not None:
        plot(results, setup.plot)
        plotted = setup.plot.resolve()
        results["plot"] = str(plotted.relative_to(REPO_ROOT) if plotted.is_relative_to(REPO_ROOT) else plotted)
    return results


def _verdict(comparison: dict[str, Any], better: str, worse: str) -> str:
    difference, low, high = (100 * comparison[k] for k in ("difference", "low", "high"))
    cells = f"{difference:+.1f} points, 95 % CI [{low:+.1f}, {high:+.1f}], McNemar p={comparison['p_value']:.3g}"
    if low > 0:
        return f"{better} beats {worse} ({cells})."
    if high < 0:
        return f"{better} is worse than {worse} ({cells})."
    return f"{better} and {worse} cannot be told apart on these questions ({cells})."


def verdicts(comparisons: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One sentence per question the suite answers, whichever way it falls."""
    sentences = {
        "grpo_vs_warm_start": _verdict(
            comparisons["retry_best_minus_warm"], "GRPO (retry reward on, best checkpoint)", "its warm start"
        ),
    }
    for suffix, retry_reward in RETRY_PAIRS.items():
        key = _pair_key("retry_minus_no_retry", suffix) + "_best"
        if key in comparisons:
            sentences[_pair_key("retry_vs_no_retry", suffix)] = _verdict(
                comparisons[key], retry_reward, "the same training without it"
            )
    if "retry_best_minus_sft_reference" in comparisons:
        sentences["grpo_vs_more_sft"] = _verdict(
            comparisons["retry_best_minus_sft_reference"],
            "GRPO",
            "the warm-up continued for the same wall time",
        )
    return sentences


def plot(results: dict[str, Any], path: Path) -> None:
    """Validation accuracy by step of each run (one line per run and seed), the warm start and the SFT reference's
    test accuracies as reference lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure, axis = plt.subplots(figsize=(7, 4))
    for seed, seed_result in results["seeds"].items():
        for name, run in seed_result["runs"].items():
            if not run["validation_curve"]:  # a run compared at its last step only
                continue
            steps = [s for s, _ in run["validation_curve"]]
            values = [v for _, v in run["validation_curve"]]
            axis.plot(steps, values, marker="o", label=f"GRPO {name} (seed {seed}), validation")
            best = run["best"]
            if best:
                axis.annotate("best", (best["step"], best["accuracy"]), textcoords="offset points", xytext=(0, 6))
        axis.axhline(
            seed_result["warm_start"]["test"]["accuracy"], color="grey", linestyle=":", label="warm start, test"
        )
        if "sft_reference" in seed_result:
            axis.axhline(
                seed_result["sft_reference"]["test"]["accuracy"],
                color="black",
                linestyle="--",
                label="warm-up continued (same wall time), test",
            )
    axis.set_xlabel("GRPO step")
    axis.set_ylabel("accuracy (greedy)")
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _cell(cells: dict[str, Any]) -> str:
    return f"{cells['accuracy']:.1%} [{cells['low']:.1%}, {cells['high']:.1%}] (n={cells['n']})"


def _difference(comparison: dict[str, Any]) -> str:
    return (
        f"{100 * comparison['difference']:+.1f} [{100 * comparison['low']:+.1f}, {100 * comparison['high']:+.1f}], "
        f"p={comparison['p_value']:.2g}"
    )


def searching_cells(cells: dict[str, Any]) -> tuple[str, str]:
    """Searches per episode and retry rate of an evaluation, formatted ("–" where it was not recorded)."""
    searches, retries = cells.get("mean_searches"), cells.get("retry_rate")
    return (f"{searches:.2f}" if searches is not None else "–"), (f"{retries:.0%}" if retries is not None else "–")


def _searching(cells: dict[str, Any]) -> str:
    """The searches/episode and retry-rate cells of a row."""
    return " | ".join(searching_cells(cells))


def tables(result: dict[str, Any]) -> str:
    config = result["setup"]["config"]
    additive = any(name.endswith(ADDITIVE) for seed in result["seeds"].values() for name in seed["runs"])
    additive_note = "; runs marked additive pay the shaping terms whatever the verdict" if additive else ""
    questions = config.get("eval_questions") or 0
    whole = "the whole synthetic test split"
    test_split = f"the first {questions} questions of the synthetic test split" if questions else whole
    smoke = (
        f"Smoke check (--quick): n = {questions or 'all'} test questions, {config['total_steps']} steps — the "
        "wiring runs, nothing is measured. "
        if result["setup"].get("smoke")
        else ""
    )
    lines = [
        f"{smoke}SmolLM2-135M on the synthetic world; recipe `{result['setup']['preset']}` "
        f"({config['total_steps']} steps × {config['questions_per_step']} questions × {config['num_generations']} "
        f"samples, lr {config['learning_rate']}, reward shaping {config['reward_shaping']}, dynamic sampling "
        f"{config['dynamic_sampling']}{additive_note}). "
        f"Best = the step with the best accuracy on {config['validation_questions']} "
        f"validation questions carved from the training split; test = {test_split}, greedy. "
        "Intervals: 95 % Wilson; differences vs the warm start: paired bootstrap 95 % CI (points) and exact "
        "McNemar p.",
        "",
        "| seed | policy | training wall time | test accuracy | minus warm start | searches/episode | retry rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, seed_result in result["seeds"].items():
        warm = seed_result["warm_start"]
        comparisons = seed_result["comparisons"]
        lines.append(
            f"| {seed} | warm start (SFT {warm['sft']['sft_steps']:.0f} steps) | "
            f"{warm['sft']['sft_seconds'] / 60:.1f} min | {_cell(warm['test'])} | – | {_searching(warm['test'])} |"
        )
        for name, run in seed_result["runs"].items():
            minutes = f"{run['training_seconds'] / 60:.1f} min ({run['steps']} steps)"
            best = run["best"] or {"step": "–"}
            lines.append(
                f"| {seed} | GRPO {name}, best (step {best['step']}) | {minutes} | {_cell(run['test_best'])} | "
                f"{_difference(comparisons[f'{name}_best_minus_warm'])} | {_searching(run['test_best'])} |"
            )
            lines.append(
                f"| {seed} | GRPO {name}, last | {minutes} | {_cell(run['test_last'])} | "
                f"{_difference(comparisons[f'{name}_last_minus_warm'])} | {_searching(run['test_last'])} |"
            )
        if "sft_reference" in seed_result:
            reference = seed_result["sft_reference"]
            lines.append(
                f"| {seed} | warm-up continued ({reference['sft']['sft_steps']:.0f} more SFT steps) | "
                f"{reference['sft']['sft_seconds'] / 60:.1f} min | {_cell(reference['test'])} | "
                f"{_difference(comparisons['sft_reference_minus_warm'])} | {_searching(reference['test'])} |"
            )
        lines.append("")
        for suffix in RETRY_PAIRS:
            key = _pair_key("retry_minus_no_retry", suffix)
            if f"{key}_best" in comparisons:
                lines.append(
                    f"Seed {seed}{', additive shaping' if suffix else ''}: retry minus no-retry (best checkpoints): "
                    f"{_difference(comparisons[f'{key}_best'])}; (last): {_difference(comparisons[f'{key}_last'])}."
                )
        lines += [f"- {sentence}" for sentence in seed_result["verdicts"].values()]
        lines.append("")
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[Target]:
    """GRPO (retry reward on, best checkpoint) minus its warm start on the test split, in points, per seed; none
    for a smoke check."""
    if result["setup"].get("smoke"):
        return []
    return [
        Target(
            f"seed {seed}: GRPO best minus warm start, test accuracy points",
            100 * seed_result["comparisons"]["retry_best_minus_warm"]["difference"],
            GAIN_GOAL,
        )
        for seed, seed_result in result["seeds"].items()
    ]


def run(quick: bool = False, setup: LearningSetup | None = None) -> SuiteResult:
    setup = setup or (QUICK if quick else LearningSetup())
    result = measure(setup)
    return SuiteResult("learning", result, targets(result), tables(result))
