"""Evaluate a policy on a split of SearchQA-v0: accuracy, searches, retry rate, format compliance, reward terms.

    python scripts/evaluate.py --policy scripted                                   # the scripted searcher
    python scripts/evaluate.py --policy model                                       # the base model (SmolLM2-135M)
    python scripts/evaluate.py --policy model --checkpoint runs/cpu-demo/checkpoints/step-000020
    python scripts/evaluate.py --policy model --checkpoint runs/cpu-demo           # its latest checkpoint
    python scripts/evaluate.py --policy model --model Qwen/Qwen2.5-0.5B-Instruct --dataset rezero-apollo

    python scripts/evaluate.py --policy model --checkpoint runs/a --samples 4    # + sampled accuracy and pass@4
    python scripts/evaluate.py ... --compare-with runs/eval-b/summary.json          # paired: this minus that

Prints accuracy with its 95 % Wilson interval (overall and per question level), greedy by default; ``--samples K``
adds K samples per question at ``--sample-temperature`` (mean sampled accuracy and pass@K); ``--compare-with``
pairs this evaluation with another one's summary.json on the same questions (difference, paired bootstrap
interval, exact McNemar p). Writes OUTPUT_DIR/summary.json (with per-question ``verdicts``) and
OUTPUT_DIR/episodes.jsonl (the episode log the playback UI reads: the greedy episodes, then with ``--samples`` the
sampled ones, stage ``sampled T=…`` and each with its ``sample`` index). A checkpoint
is read through ``rezero_agents.checkpoints`` (verified against the checksums in its state.json) and prompted as it
was trained: with the worked examples only if its state.json says ``few_shot`` (``--few-shot/--no-few-shot``
overrides); its base model is the one it records (``--model`` overrides).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import tyro

import rezero_env  # noqa: F401
from rezero_agents import checkpoints
from rezero_agents.chat import ChatFormatter
from rezero_agents.episode_log import EpisodeLogWriter, episode_record
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.grpo_config import EnvOptions
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_agents.rollout import Episode, TextPolicy
from rezero_agents.scripted import ScriptedSearcher
from rezero_agents.stats import compare

logger = logging.getLogger(__name__)


@dataclass
class Args(EnvOptions):
    """The environment's options (the group train_grpo.py and train_trl_grpo.py take), then the evaluation's."""

    policy: Literal["scripted", "model"] = "scripted"
    """scripted: the non-LLM searcher; model: an LLM (the base model, or a checkpoint of it)."""
    model: str | None = None
    """Base model: smollm2-135m, a folder or a hub id (default: the one a checkpoint records, else smollm2-135m)."""
    checkpoint: Path | None = None
    """A training checkpoint folder (checkpoints/step-N), or a run or checkpoints/ folder (its latest checkpoint that
    verifies); its model/ holds the adapter or the full weights."""
    allow_unverified: bool = False
    """Read a checkpoint that cannot be verified (no state.json, or one written before checksums) with a warning
    instead of refusing it."""
    output_dir: Path = Path("runs/eval")
    """Where summary.json and episodes.jsonl go."""
    split: str = "test"
    """The split to evaluate on."""
    num_questions: int | None = None
    """First N questions of the split (all when omitted)."""
    few_shot: tyro.conf.DisallowNone[bool | None] = None
    """Show the worked examples before the question (default: as a checkpoint was trained, per its state.json; yes
    for a base model)."""
    max_new_tokens: int = 96
    max_sequence_tokens: int = 2048
    num_envs: int = 64
    temperature: float = 0.0
    """0: greedy decoding."""
    samples: int = 0
    """Also play each question K times at sample_temperature: mean sampled accuracy and pass@K (0: no)."""
    sample_temperature: float = 0.9
    """Temperature of those samples (the GRPO presets' training temperature), with top-p 0.95 and top-k 50."""
    compare_with: Path | None = None
    """Another evaluation's summary.json (same split and questions): report this minus that, paired."""
    seed: int = 0


def build_policy(args: Args) -> tuple[TransformersPolicy | TextPolicy, str]:
    """The policy ``args`` describe and its label (the model folder or name).

    Raises:
        CheckpointError: ``--checkpoint`` holds no checkpoint, or a damaged one (the message names the file).
    """
    if args.policy == "scripted":
        return ScriptedSearcher(), "scripted"
    if args.checkpoint is None:
        base = args.model or DEFAULT_MODEL
        few_shot = True if args.few_shot is None else args.few_shot
        model, tokenizer, label = load_model(base), load_tokenizer(base), base
    else:
        info = checkpoints.resolve(args.checkpoint, allow_unverified=args.allow_unverified)
        if info is None:
            raise checkpoints.CheckpointError(
                args.checkpoint, "holds no checkpoint (no state.json or model/, no checkpoints/latest, no step-*)"
            )
        base = args.model or info.base_model(DEFAULT_MODEL)
        few_shot = info.few_shot if args.few_shot is None else args.few_shot
        model = checkpoints.load_checkpoint_model(info, base)
        tokenizer = load_tokenizer(checkpoints.tokenizer_source(info, base))
        label = str(info.model_dir)
        logger.info("Evaluating %s (base %s, few-shot %s)", info.folder, base, few_shot)
    formatter = ChatFormatter(tokenizer, FEW_SHOT_MESSAGES if few_shot else ())
    return TransformersPolicy(model, formatter, batch_size=args.num_envs), label


def main(args: Args) -> int:
    logging.basicConfig(level=logging.WARNING)
    try:
        policy, label = build_policy(args)
    except checkpoints.CheckpointError as error:
        logger.error("evaluate: %s", error)
        return 2

    judge = args.judge
    if judge is None:
        from rezero_env.data import load_dataset

        judge = load_dataset(args.dataset).recommended_judge

    def make_env() -> gym.Env[str, str]:
        return gym.make(args.env_id, split=args.split, **{**args.env_kwargs, "judge": judge})

    other = None
    if args.compare_with is not None:
        try:
            other = json.loads(args.compare_with.read_text())["verdicts"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.error("evaluate: --compare-with %s: not a summary.json with verdicts (%s)", args.compare_with, error)
            return 2
    sampling = SamplingConfig(temperature=args.temperature, max_new_tokens=args.max_new_tokens)
    common = {"num_envs": args.num_envs, "seed": args.seed, "max_sequence_tokens": args.max_sequence_tokens}
    summary, episodes = evaluate_policy(policy, make_env, args.num_questions, sampling=sampling, **common)
    sampled_episodes: list[Episode] = []
    if args.samples:
        hot = SamplingConfig(args.sample_temperature, 0.95, 50, args.max_new_tokens)
        sampled, sampled_episodes = evaluate_policy(
            policy, make_env, args.num_questions, sampling=hot, samples=args.samples, **common
        )
        summary["sampled"] = {k: sampled[k] for k in ("sampled_accuracy", "pass_at_k", "k", "mean_reward")}
        summary["sampled"]["temperature"] = args.sample_temperature
    if other is not None:
        try:
            summary["comparison"] = {"with": str(args.compare_with), **compare(summary["verdicts"], other).to_dict()}
        except ValueError as error:
            logger.error("evaluate: --compare-with %s: %s", args.compare_with, error)
            return 2
    summary.update(
        {
            "policy": args.policy,
            "model": label,
            "dataset": args.dataset,
            "split": args.split,
            "judge": judge,
            "temperature": args.temperature,
        }
    )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    common_fields: dict[str, Any] = {
        "run_id": args.output_dir.name,
        "step": -1,
        "split": args.split,
        "phase": "eval",
        "policy": args.policy,
        "model": label,
        "checkpoint": str(Path(label).parent) if args.checkpoint else None,  # the resolved step-N folder
    }
    with EpisodeLogWriter(args.output_dir / "episodes.jsonl") as log:
        log.write(episode_record(e, **common_fields) for e in episodes)
        log.write(  # the samples of each question follow each other (evaluate_policy plays them so)
            episode_record(e, **common_fields, stage=f"sampled T={args.sample_temperature}", sample=i % args.samples)
            for i, e in enumerate(sampled_episodes)
        )
    print(report(summary))
    return 0


def report(summary: dict[str, Any]) -> str:
    """The summary for a reader: accuracy with its interval, per level, sampled accuracy, the comparison."""
    lines = [
        f"{summary['policy']} ({summary['model']}) on {summary['dataset']}/{summary['split']}: accuracy "
        f"{summary['accuracy']:.1%} [95 % CI {summary['accuracy_low']:.1%}, {summary['accuracy_high']:.1%}], "
        f"n={summary['episodes']}, "
        f"{'greedy' if not summary['temperature'] else 'T=' + str(summary['temperature'])}, judge {summary['judge']}"
        if "accuracy" in summary
        else "no episodes",
    ]
    for level, accuracy in summary.get("accuracy_by_level", {}).items():
        low, high, n = summary["intervals_by_level"][level]
        lines.append(f"  {level}: {accuracy:.1%} [{low:.1%}, {high:.1%}], n={n}")
    if "sampled" in summary:
        sampled = summary["sampled"]
        lines.append(
            f"sampled at T={sampled['temperature']}: mean accuracy {sampled['sampled_accuracy']:.1%}, "
            f"pass@{sampled['k']:.0f} {sampled['pass_at_k']:.1%}"
        )
    if "comparison" in summary:
        c = summary["comparison"]
        lines.append(
            f"minus {c['with']}: {100 * c['difference']:+.1f} points [{100 * c['low']:+.1f}, {100 * c['high']:+.1f}], "
            f"exact McNemar p={c['p_value']:.3g} ({c['a_only']} vs {c['b_only']} discordant questions)"
        )
    for key in ("mean_searches", "retry_rate", "mean_reward"):
        if key in summary:
            lines.append(f"{key}: {summary[key]:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args, description=__doc__)))
