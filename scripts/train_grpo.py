"""Train an LLM to search with GRPO (or expert iteration, ``--learner rft``) on SearchQA-v0.

    python scripts/train_grpo.py --preset smoke --output-dir runs/smoke       # 1 step, tiny model, < 2 min
    python scripts/train_grpo.py --preset cpu-demo                            # SmolLM2-135M, ~12 min on 2 cores
    python scripts/train_grpo.py --preset cpu-demo --guidance trajectory      # the guide in all-fail groups (make demo)
    python scripts/train_grpo.py --preset cpu-demo --learner rft              # expert iteration, same schedule
    python scripts/train_grpo.py --preset rezero-paper --model PATH           # ReZero's setup, on a GPU
    accelerate launch --multi_gpu --num_processes 2 scripts/train_grpo.py --preset smoke  # DDP (gloo on CPUs)

Any field of GRPOConfig can be overridden (``--learning-rate 1e-5``, ``--total-steps 100``, ``--resume``, ...);
``--help`` lists them with the preset's values as defaults. Your own data: ``--dataset FOLDER``; your own reward
term: ``--env-id my_module:MyQA-v0`` (an env your module registers; README, "Train on your own corpus").
TensorBoard: ``tensorboard --logdir OUTPUT_DIR/tb``.
"""

from __future__ import annotations

import json
import logging
import sys

from tqdm import tqdm

from rezero_agents import checkpoints
from rezero_agents.cli import config_from_cli
from rezero_agents.learner import WarmUpError
from rezero_agents.learners import make_learner


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "transformers", "accelerate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = config_from_cli(sys.argv[1:] if argv is None else argv, description=__doc__)
    try:
        learner = make_learner(config)
    except checkpoints.CheckpointError as error:  # --resume: a damaged run, or settings that differ (listed)
        logging.getLogger("train_grpo").error("train_grpo: %s", error)
        return 2
    try:
        summary = learner.train(progress=lambda steps: tqdm(steps, desc=learner.phase, disable=not learner.is_main))
    except WarmUpError as error:  # a corpus the scripted searcher cannot play: nothing to imitate
        logging.getLogger("train_grpo").error("train_grpo: %s", error)
        return 2
    if learner.is_main:
        table = {k: summary[k] for k in ("eval_base", "eval_after_sft", "eval_final") if k in summary}
        print(
            json.dumps(
                {k: {m: v.get(m) for m in ("accuracy", "mean_reward", "mean_searches")} for k, v in table.items()},
                indent=2,
            )
        )
        print(f"TensorBoard: tensorboard --logdir {config.output_dir / 'tb'}")
        print(f"Episode log: {config.output_dir / 'episodes.jsonl'}")
        print(f"Checkpoint: {summary['checkpoint']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
