"""``grpo_step``: seconds per GRPO step of our :class:`~rezero_agents.grpo.GRPOLearner` against TRL's ``GRPOTrainer``
on the same model, batch, lengths and LoRA adapters, with each side's peak resident memory.

The setting is single-turn: ``max_turns=1``, so every episode is exactly one generation of at most
``max_new_tokens`` tokens for a SearchQA question. Both sides:

- start from the same float32 model, wrap it with the same peft ``LoraConfig`` (the ``cpu-demo`` preset's r, alpha
  and last-N layers), use ``beta=0`` (no reference model), ``epsilon=0.2``, ``max_grad_norm=0.1``;
- sample ``questions_per_step × num_generations`` completions per step with temperature 0.9, top-p 0.95, top-k 50;
- score and back-propagate them in micro-batches of ``micro_batch_size`` (TRL: ``per_device_train_batch_size``, with
  ``gradient_accumulation_steps`` making up the step; the generation batch is then exactly one step, so TRL computes
  no separate old log-probs, like ours);
- see the same prompts: TRL's dataset holds the environment's own system and question messages (conversational
  format), rendered by the same tokenizer chat template.

Ours runs with its defaults: incremental decoding (the G samples of a question and the system prompt are prefilled
once) and micro-batches of one group whose common prompt is run once in the training forward (the same gradient);
TRL prefills every prompt and runs every token. The multi-turn ``cpu-demo`` step, plain path against incremental, is
in the ``rollout`` suite.

Differences that remain, reported rather than hidden: our sampler stops at ``</search>`` / ``</answer>`` (TRL's
generation cannot take stop strings without a tokenizer), so mean completion lengths are reported for both; ours
gets the environment's reward, TRL a trivial one (completion length mod 5), which changes no work done. TRL's own
defaults that would make the comparison unequal are switched off: ``gradient_checkpointing`` (TRL defaults it to
True) and ``bf16`` (TRL defaults it to True unless ``fp16`` is set).

Each side runs one warm-up step, then ``steps`` timed steps. Peak RSS is per process, so by default each side runs
in its own subprocess (``python -m benchmarks.grpo_step --side ours|trl``); in-process runs report the process's
peak so far and say so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target, peak_rss_mib
from rezero_agents.grpo_config import LORA_TARGETS, PRESETS
from rezero_agents.models import DEFAULT_MODEL

GOAL_PERCENT = 50.0
"""Our step time must be at most this percentage of TRL's."""
REPO_ROOT = Path(__file__).resolve().parent.parent
_DEMO = PRESETS["cpu-demo"]


@dataclass(frozen=True)
class StepSetup:
    """What both sides train: model, batch, lengths, adapters, and how many steps are timed."""

    model: str = DEFAULT_MODEL
    questions_per_step: int = 4
    num_generations: int = 4
    max_new_tokens: int = 48
    steps: int = 3
    """Timed steps, after one warm-up step."""
    micro_batch_size: int = 0
    """Completions per forward/backward pass (0: the whole step's batch)."""
    lora_r: int = _DEMO.lora_r
    lora_alpha: int = _DEMO.lora_alpha
    lora_last_layers: int = _DEMO.lora_last_layers
    """Adapters on the last N layers only (0: all), as the learner does."""
    temperature: float = 0.9
    top_p: float = 0.95
    top_k: int = 50
    learning_rate: float = 1e-4
    seed: int = 0

    @property
    def batch(self) -> int:
        return self.questions_per_step * self.num_generations

    @property
    def micro(self) -> int:
        micro = self.micro_batch_size or self.batch
        if self.batch % micro:
            raise ValueError(f"micro_batch_size {micro} must divide the batch {self.batch}")
        return micro


def lora_config(setup: StepSetup, model: Any) -> Any:
    """The peft ``LoraConfig`` :class:`~rezero_agents.grpo.GRPOLearner` builds for these settings: both come from
    :func:`rezero_agents.models.lora_config`, so the two sides train the same adapters."""
    from rezero_agents.models import lora_config as build_lora_config

    return build_lora_config(
        model,
        r=setup.lora_r,
        alpha=setup.lora_alpha,
        dropout=0.0,
        targets=LORA_TARGETS,
        last_layers=setup.lora_last_layers,
    )


# --- ours -----------------------------------------------------------------------------------------------------


def measure_ours(setup: StepSetup) -> dict[str, Any]:
    """Seconds per :meth:`GRPOLearner.train_step` (rollout + optimisation) after one warm-up step."""
    from rezero_agents.grpo import GRPOLearner
    from rezero_agents.grpo_config import GRPOConfig

    with tempfile.TemporaryDirectory() as scratch:
        config = GRPOConfig(
            output_dir=Path(scratch),
            model=setup.model,
            device="cpu",
            dtype="float32",
            seed=setup.seed,
            use_lora=True,
            lora_r=setup.lora_r,
            lora_alpha=setup.lora_alpha,
            lora_dropout=0.0,
            lora_target_modules=LORA_TARGETS,
            lora_last_layers=setup.lora_last_layers,
            max_turns=1,
            few_shot=False,
            total_steps=setup.steps + 1,
            questions_per_step=setup.questions_per_step,
            num_generations=setup.num_generations,
            rollout_batch_size=setup.batch,
            temperature=setup.temperature,
            top_p=setup.top_p,
            top_k_sampling=setup.top_k,
            max_new_tokens=setup.max_new_tokens,
            learning_rate=setup.learning_rate,
            beta=0.0,
            micro_batch_size=setup.micro,
            eval_before=False,
            log_episodes=False,
        )
        learner = GRPOLearner(config)
        learner.train_step()  # warm-up
        seconds, rollout, train, tokens = [], [], [], []
        for _ in range(setup.steps):
            start = time.perf_counter()
            metrics = learner.train_step()
            seconds.append(time.perf_counter() - start)
            rollout.append(metrics["perf/rollout_seconds"])
            train.append(metrics["perf/train_seconds"])
            tokens.append(metrics["perf/generated_tokens_per_s"] * metrics["perf/rollout_seconds"] / setup.batch)
        learner.close()
    return {
        "seconds_per_step": statistics.mean(seconds),
        "step_seconds": seconds,
        "rollout_seconds": statistics.mean(rollout),
        "train_seconds": statistics.mean(train),
        "completion_tokens_mean": statistics.mean(tokens),
        "peak_rss_mib": peak_rss_mib(),
    }


# --- TRL ------------------------------------------------------------------------------------------------------


def length_reward(completion_ids: list[list[int]], **kwargs: Any) -> list[float | None]:
    """A trivial reward for TRL: completion length mod 5 (varies within groups, so advantages are non-zero)."""
    return [float(len(ids) % 5) for ids in completion_ids]


def question_prompts(count: int, split: str = "train") -> list[list[dict[str, str]]]:
    """The system and question messages SearchQA-v0 starts its first ``count`` episodes of ``split`` with."""
    import gymnasium as gym

    import rezero_env  # noqa: F401  (registers the ids)
    from rezero_env.types import split_tasks

    env = gym.make("SearchQA-v0", split=split, max_turns=1)
    count = min(count, len(split_tasks(env)))
    prompts = []
    for index in range(count):
        _, info = env.reset(seed=index, options={"task_index": index})
        prompts.append([{"role": m["role"], "content": m["content"]} for m in info["messages"]])
    env.close()
    return prompts


def measure_trl(setup: StepSetup) -> dict[str, Any]:
    """Seconds per ``GRPOTrainer`` optimizer step (generation + scoring + backward + step) after one warm-up step,
    timed between consecutive ``on_step_end`` callbacks."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback, ProgressCallback, TrainerCallback
    from trl.trainer.grpo_config import GRPOConfig as TRLConfig
    from trl.trainer.grpo_trainer import GRPOTrainer

    from rezero_agents.models import load_model, load_tokenizer, resolve_model

    class StepClock(TrainerCallback):
        """Records the time of every ``on_step_end`` and the logged metrics."""

        def __init__(self) -> None:
            self.ends: list[float] = []
            self.logs: list[dict[str, float]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.ends.append(time.perf_counter())

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
            if logs:
                self.logs.append(dict(logs))

    path = resolve_model(setup.model)
    tokenizer = load_tokenizer(path)
    torch.manual_seed(setup.seed)
    model = load_model(path, dtype="float32", device="cpu")
    prompts = question_prompts(max(64, (setup.steps + 1) * setup.questions_per_step))
    dataset = Dataset.from_list([{"prompt": p} for p in prompts])
    clock = StepClock()
    with tempfile.TemporaryDirectory() as scratch:
        args = TRLConfig(
            output_dir=scratch,
            per_device_train_batch_size=setup.micro,
            gradient_accumulation_steps=setup.batch // setup.micro,
            num_generations=setup.num_generations,
            max_completion_length=setup.max_new_tokens,
            temperature=setup.temperature,
            top_p=setup.top_p,
            top_k=setup.top_k,
            learning_rate=setup.learning_rate,
            max_grad_norm=0.1,
            epsilon=0.2,
            beta=0.0,
            loss_type="dapo",  # tokens of the whole step, like our token_mean
            use_cpu=True,
            bf16=False,
            fp16=False,
            activation_checkpointing=False,  # TRL defaults gradient_checkpointing (its alias) to True
            use_vllm=False,
            report_to="none",
            save_strategy="no",
            logging_steps=1,
            disable_tqdm=True,
            max_steps=setup.steps + 1,
            seed=setup.seed,
            dataloader_pin_memory=False,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=length_reward,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(setup, model),
            callbacks=[clock],
        )
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        trainer.train()
        checkpointing = bool(trainer.args.activation_checkpointing)
    seconds = [b - a for a, b in zip(clock.ends, clock.ends[1:], strict=False)]
    lengths = [log["completions/mean_length"] for log in clock.logs[1:] if "completions/mean_length" in log]
    return {
        "seconds_per_step": statistics.mean(seconds),
        "step_seconds": seconds,
        "completion_tokens_mean": statistics.mean(lengths) if lengths else float("nan"),
        "activation_checkpointing": checkpointing,
        "peak_rss_mib": peak_rss_mib(),
    }


# --- both -----------------------------------------------------------------------------------------------------

SIDES = {"ours": measure_ours, "trl": measure_trl}


def measure_in_subprocess(side: str, setup: StepSetup) -> dict[str, Any]:
    """Run one side in a fresh Python process (so its peak RSS is its own) and return its result."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "benchmarks.grpo_step", "--side", side, "--setup", json.dumps(asdict(setup))]
        subprocess.run([*command, "--output", str(output)], check=True, cwd=REPO_ROOT, env=os.environ.copy())
        result: dict[str, Any] = json.loads(output.read_text())
        return result


def measure(model: str = DEFAULT_MODEL, isolated: bool = True, **settings: Any) -> dict[str, Any]:
    """Both sides on ``model`` with :class:`StepSetup` ``settings`` (e.g. ``questions_per_step=2,
    num_generations=2, max_new_tokens=8, steps=1``); ``isolated`` runs each in its own process."""
    setup = StepSetup(model=model, **settings)
    results = {
        side: measure_in_subprocess(side, setup) if isolated else function(setup) for side, function in SIDES.items()
    }
    ours, trl = results["ours"], results["trl"]
    return {
        **asdict(setup),
        "batch": setup.batch,
        "isolated_rss": isolated,
        "ours_seconds_per_step": round(ours["seconds_per_step"], 3),
        "ours_rollout_seconds": round(ours["rollout_seconds"], 3),
        "ours_train_seconds": round(ours["train_seconds"], 3),
        "ours_completion_tokens": round(ours["completion_tokens_mean"], 1),
        "ours_peak_rss_mib": round(ours["peak_rss_mib"], 0),
        "trl_seconds_per_step": round(trl["seconds_per_step"], 3),
        "trl_completion_tokens": round(trl["completion_tokens_mean"], 1),
        "trl_peak_rss_mib": round(trl["peak_rss_mib"], 0),
        "trl_activation_checkpointing": trl["activation_checkpointing"],
        "ours_over_trl": round(ours["seconds_per_step"] / trl["seconds_per_step"], 3),
        "ours_step_seconds": [round(s, 3) for s in ours["step_seconds"]],
        "trl_step_seconds": [round(s, 3) for s in trl["step_seconds"]],
    }


def run(quick: bool = False) -> SuiteResult:
    row = measure(DEFAULT_MODEL, questions_per_step=4, num_generations=4, max_new_tokens=48, steps=2 if quick else 5)
    rss_note = "own process" if row["isolated_rss"] else "shared process"
    table = "\n".join(
        [
            f"{row['model']}, {row['questions_per_step']} questions × {row['num_generations']} generations, "
            f"≤ {row['max_new_tokens']} new tokens, LoRA r={row['lora_r']} on the last {row['lora_last_layers']} "
            f"layers, β=0; mean of {row['steps']} steps after a warm-up.",
            "",
            "| trainer | s/step | mean completion tokens | peak RSS (MiB, " + rss_note + ") |",
            "|---|---|---|---|",
            f"| rezero GRPOLearner (rollout {row['ours_rollout_seconds']:.1f} s + train "
            f"{row['ours_train_seconds']:.1f} s) | {row['ours_seconds_per_step']:.2f} | "
            f"{row['ours_completion_tokens']:.1f} | {row['ours_peak_rss_mib']:,.0f} |",
            f"| TRL GRPOTrainer | {row['trl_seconds_per_step']:.2f} | {row['trl_completion_tokens']:.1f} | "
            f"{row['trl_peak_rss_mib']:,.0f} |",
            "",
            f"Ours ÷ TRL step time: {row['ours_over_trl']:.2f}.",
        ]
    )
    targets = [
        Target("GRPO step time, % of TRL's", round(100 * row["ours_over_trl"], 1), GOAL_PERCENT, lower_is_better=True)
    ]
    return SuiteResult("grpo_step", row, targets, table)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.grpo_step --side ours|trl --setup JSON --output FILE``: one side, result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grpo_step", description=main.__doc__)
    parser.add_argument("--side", choices=sorted(SIDES), required=True)
    parser.add_argument("--setup", default="{}", help="StepSetup fields as JSON")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)
    known = {f.name for f in dataclasses.fields(StepSetup)}
    setup = StepSetup(**{k: v for k, v in json.loads(args.setup).items() if k in known})
    args.output.write_text(json.dumps(SIDES[args.side](setup)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
