"""Evaluate a policy on a split of SearchQA-v0: accuracy, searches, retry rate, format compliance, reward terms.

    python scripts/evaluate.py --policy scripted                                   # the scripted searcher
    python scripts/evaluate.py --policy model                                       # the base model (SmolLM2-135M)
    python scripts/evaluate.py --policy model --checkpoint runs/cpu-demo/checkpoints/step-000020
    python scripts/evaluate.py --policy model --model Qwen/Qwen2.5-0.5B-Instruct --dataset rezero-apollo

Writes OUTPUT_DIR/summary.json and OUTPUT_DIR/episodes.jsonl (the episode log the playback UI reads).
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
from rezero_agents.chat import ChatFormatter
from rezero_agents.episode_log import EpisodeLogWriter, episode_record
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_agents.rollout import TextPolicy
from rezero_agents.scripted import ScriptedSearcher


@dataclass
class Args:
    policy: Literal["scripted", "model"] = "scripted"
    """scripted: the non-LLM searcher; model: an LLM (the base model, or a checkpoint of it)."""
    model: str = DEFAULT_MODEL
    """Base model: smollm2-135m, a folder or a hub id."""
    checkpoint: Path | None = None
    """A training checkpoint folder (checkpoints/step-N); its model/ holds the adapter or the full weights."""
    output_dir: Path = Path("runs/eval")
    dataset: str = "synthetic"
    split: str = "test"
    num_questions: int | None = None
    """First N questions of the split (all when omitted)."""
    top_k: int = 3
    max_turns: int = 4
    reward: str = "rezero"
    few_shot: bool = True
    max_new_tokens: int = 96
    max_sequence_tokens: int = 2048
    num_envs: int = 16
    temperature: float = 0.0
    """0: greedy decoding."""
    seed: int = 0


def build_policy(args: Args) -> tuple[TransformersPolicy | TextPolicy, str]:
    if args.policy == "scripted":
        return ScriptedSearcher(), "scripted"
    source = str(args.checkpoint / "model") if args.checkpoint else args.model
    tokenizer = load_tokenizer(args.model)
    if args.checkpoint and (args.checkpoint / "model" / "adapter_config.json").is_file():
        from peft import PeftModel

        model = PeftModel.from_pretrained(load_model(args.model), source)
    else:
        model = load_model(source)
    formatter = ChatFormatter(tokenizer, FEW_SHOT_MESSAGES if args.few_shot else ())
    return TransformersPolicy(model, formatter, batch_size=args.num_envs), source


def main(args: Args) -> int:
    logging.basicConfig(level=logging.WARNING)
    policy, label = build_policy(args)

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
                checkpoint=str(args.checkpoint) if args.checkpoint else None,
            )
            for e in episodes
        )
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args, description=__doc__)))
