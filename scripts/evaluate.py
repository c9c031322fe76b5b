"""Evaluate a policy on a split of SearchQA-v0: accuracy, searches, retry rate, format compliance, reward terms.

    python scripts/evaluate.py --policy scripted                                   # the scripted searcher
    python scripts/evaluate.py --policy model                                       # the base model (SmolLM2-135M)
    python scripts/evaluate.py --policy model --checkpoint runs/cpu-demo/checkpoints/step-000020
    python scripts/evaluate.py --policy model --checkpoint runs/cpu-demo           # its latest checkpoint
    python scripts/evaluate.py --policy model --model Qwen/Qwen2.5-0.5B-Instruct --dataset rezero-apollo

Writes OUTPUT_DIR/summary.json and OUTPUT_DIR/episodes.jsonl (the episode log the playback UI reads). A checkpoint
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
from typing import Literal

import gymnasium as gym
import tyro

import rezero_env  # noqa: F401
from rezero_agents import checkpoints
from rezero_agents.chat import ChatFormatter
from rezero_agents.episode_log import EpisodeLogWriter, episode_record
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_agents.rollout import TextPolicy
from rezero_agents.scripted import ScriptedSearcher

logger = logging.getLogger(__name__)


@dataclass
class Args:
    policy: Literal["scripted", "model"] = "scripted"
    """scripted: the non-LLM searcher; model: an LLM (the base model, or a checkpoint of it)."""
    model: str | None = None
    """Base model: smollm2-135m, a folder or a hub id (default: the one a checkpoint records, else smollm2-135m)."""
    checkpoint: Path | None = None
    """A training checkpoint folder (checkpoints/step-N), or a run or checkpoints/ folder (its latest checkpoint that
    verifies); its model/ holds the adapter or the full weights."""
    output_dir: Path = Path("runs/eval")
    dataset: str = "synthetic"
    split: str = "test"
    num_questions: int | None = None
    """First N questions of the split (all when omitted)."""
    top_k: int = 3
    max_turns: int = 4
    reward: str = "rezero"
    few_shot: tyro.conf.DisallowNone[bool | None] = None
    """Show the worked examples before the question (default: as a checkpoint was trained, per its state.json; yes
    for a base model)."""
    max_new_tokens: int = 96
    max_sequence_tokens: int = 2048
    num_envs: int = 64
    temperature: float = 0.0
    """0: greedy decoding."""
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
        info = checkpoints.resolve(args.checkpoint)
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

    def make_env() -> gym.Env[str, str]:
        return gym.make(
            "SearchQA-v0",
            dataset=args.dataset,
            split=args.split,
            top_k=args.top_k,
            max_turns=args.max_turns,
            reward=args.reward,
        )

    sampling = SamplingConfig(temperature=args.temperature, max_new_tokens=args.max_new_tokens)
    summary, episodes = evaluate_policy(
        policy,
        make_env,
        args.num_questions,
        num_envs=args.num_envs,
        sampling=sampling,
        seed=args.seed,
        max_sequence_tokens=args.max_sequence_tokens,
    )
    summary.update({"policy": args.policy, "model": label, "dataset": args.dataset, "split": args.split})
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with EpisodeLogWriter(args.output_dir / "episodes.jsonl") as log:
        log.write(
            episode_record(
                e,
                run_id=args.output_dir.name,
                step=-1,
                split=args.split,
                phase="eval",
                policy=args.policy,
                model=label,
                checkpoint=str(Path(label).parent) if args.checkpoint else None,  # the resolved step-N folder
            )
            for e in episodes
        )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args, description=__doc__)))
