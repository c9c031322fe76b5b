"""The loop every learner shares: build the model, optimizer, policy and environments; warm up; train step after
step, validating every ``eval_every`` steps, keeping the best checkpoint and stopping on collapse; evaluate; save and
resume. A learner (:class:`~rezero_agents.grpo.GRPOLearner`, :class:`~rezero_agents.rft.RFTLearner`) subclasses
:class:`Learner` and writes only :meth:`Learner.train_step`; :func:`rezero_agents.learners.make_learner` picks one
by ``config.learner``.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import rezero_env  # noqa: F401  (registers the environment ids)
from rezero_agents import checkpoints
from rezero_agents.chat import ChatFormatter
from rezero_agents.collapse import CollapseGuard
from rezero_agents.episode_log import EpisodeLogWriter
from rezero_agents.evaluation import (
    DEFAULT_VALIDATION_QUESTIONS,
    carve_validation,
    default_validation_size,
    evaluate_policy,
    summarize,
)
from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.guidance import Guidance, guidance_for, make_guide
from rezero_agents.models import load_model, load_tokenizer, lora_config, resolve_model, torch_dtype
from rezero_agents.objectives import token_nll
from rezero_agents.policy import Policy, SamplingConfig, TransformersPolicy, VLLMPolicy
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_agents.records import episode_records
from rezero_agents.rollout import CORRECTNESS_TERMS, Episode, TextPolicy, collect_episodes
from rezero_agents.scoring import TokenScorer, pad_sequences
from rezero_agents.scripted import ScriptedSearcher
from rezero_agents.sft import sft_sequences
from rezero_agents.stats import compare
from rezero_env.types import split_tasks

logger = logging.getLogger(__name__)


class WarmUpError(ValueError):
    """The supervised warm-up has no transcripts to learn from (the scripted searcher solves no training question)."""


START_WEIGHTS = "start.pt"
"""Checkpoint file (with LoRA) of the adapter weights at the start of training (the KL reference), kept across
resumes."""
RESUME_EXTENDS = ("total_steps",)
"""Settings a resumed run may change without leave because they only extend it (logged; with a decaying learning
rate schedule total_steps changes the schedule, so it needs ``resume_allow_changes`` then)."""
RESUME_IGNORED = ("resume", "resume_allow_changes", "output_dir", "run_name", "log_episodes", "save_every")
"""Settings that do not change what a run computes: its folder (moved), its name, what it logs, how often it
saves."""


class Learner:
    """Owns the model, optimizer, policy, environments, logs and checkpoints of one run, and runs its schedule
    (:meth:`train`); subclasses implement :meth:`train_step`."""

    phase = "train"
    """The progress-bar label of the training phase."""

    def __init__(self, config: GRPOConfig, guide: Policy | TextPolicy | None = None) -> None:
        """``guide``: the guide of ``config.guidance`` (default: built from ``config.guide``, the scripted
        searcher)."""
        from accelerate import Accelerator

        self.config = config
        self.output_dir = config.output_dir
        self.resume_from = self._resume_checkpoint() if config.resume else None
        """The verified checkpoint :meth:`train` continues from (``resume``), or None."""
        chosen_guide = guide if guide is not None or config.guidance == "none" else make_guide(config.guide)
        device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self.accelerator = Accelerator(cpu=device == "cpu")
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        self.is_main = self.accelerator.is_main_process
        torch.manual_seed(config.seed)
        random.seed(config.seed)
        self.rng = np.random.default_rng(config.seed)  # question sampling; identical on every rank

        # model, tokenizer, adapters
        self.model_path = resolve_model(config.model)
        self.tokenizer = load_tokenizer(self.model_path)
        model: Any = load_model(self.model_path, dtype=config.dtype, device=str(self.accelerator.device))
        if config.use_lora:
            from peft import get_peft_model

            lora = lora_config(
                model,
                r=config.lora_r,
                alpha=config.lora_alpha,
                dropout=config.lora_dropout,
                targets=config.lora_target_modules,
                last_layers=config.lora_last_layers,
            )
            model = get_peft_model(model, lora)
        self.formatter = ChatFormatter(self.tokenizer, FEW_SHOT_MESSAGES if config.few_shot else ())
        self.reference: TokenScorer | None = None
        """Without LoRA and with beta > 0: a frozen copy of the model at the start of training (made by mark_start)."""
        self.start_weights: dict[str, torch.Tensor] | None = None
        """With LoRA: the adapter weights at the start of training (after the warm-up), the KL reference."""

        # optimizer and schedule
        self.trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(self.trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_factor)
        autocast = torch_dtype(config.train_dtype, device) if config.train_dtype != "float32" else None
        scorer = TokenScorer(model, config.temperature, autocast=autocast)
        self.scorer, self.optimizer, self.scheduler = self.accelerator.prepare(scorer, optimizer, scheduler)

        # generation
        self.sampling = SamplingConfig(config.temperature, config.top_p, config.top_k_sampling, config.max_new_tokens)
        self.eval_sampling = SamplingConfig(temperature=0.0, max_new_tokens=config.max_new_tokens)
        self.policy: Policy
        if config.backend == "vllm":
            vllm_policy = VLLMPolicy(
                self.model_path,
                self.formatter,
                config.vllm_gpu_memory_utilization,
                max_model_len=config.max_sequence_tokens,
                seed=config.seed,
            )
            torch.manual_seed(config.seed)  # vLLM reseeds the process when it starts in-process
            self.policy = vllm_policy
        else:
            self.policy = self._transformers_policy(model, config.rollout_dtype)
        self.eval_policy: Policy = self.policy
        """The policy evaluations sample with (``eval_dtype``; the rollout policy when the dtypes agree)."""
        if config.backend != "vllm" and config.eval_dtype != config.rollout_dtype:
            self.eval_policy = self._transformers_policy(model, config.eval_dtype)

        # environments (plain Gymnasium envs)
        self.train_envs = [self.make_env(config.train_split) for _ in range(config.rollout_batch_size)]
        num_tasks = len(split_tasks(self.train_envs[0]))
        validation = config.validation_questions
        if validation is None:
            validation = default_validation_size(num_tasks)
            logger.info(
                "Validation split: %d of the %d questions of split %r held out (validation_questions unset: "
                "min(%d, a fifth)); %d left to train on",
                validation,
                num_tasks,
                config.train_split,
                DEFAULT_VALIDATION_QUESTIONS,
                num_tasks - validation,
            )
        if config.eval_every and not validation:
            raise ValueError(
                f"eval_every needs a validation split, and the {num_tasks} questions of split {config.train_split!r} "
                "leave none by default: set validation_questions (never the test split), or eval_every 0"
            )
        self.train_tasks, self.validation_tasks = carve_validation(num_tasks, validation, config.validation_seed)
        if config.questions_per_step > len(self.train_tasks):
            raise ValueError(
                f"questions_per_step={config.questions_per_step} exceeds the {len(self.train_tasks)} training "
                f"tasks of split {config.train_split!r} ({validation} held out for validation)"
            )

        # help for the groups in which every sample fails (guidance="trajectory"/"prefix")
        self.guidance: Guidance | None = None
        if chosen_guide is not None and config.guidance != "none":
            self.guidance = guidance_for(config, chosen_guide, self.train_envs, self.formatter)

        # logs
        self.step = 0
        self.validation_curve: list[tuple[int, float]] = []
        """(step, validation accuracy) of the run's validations (a resumed run's include those before the
        resume)."""
        self.history: list[dict[str, Any]] = []
        """One metrics record per training step of the run (a resumed run's include those before the resume)."""
        self.progress: Callable[[str, int, int], None] | None = None
        """Called as ``progress(phase, done, total)`` during evaluations (per wave), the warm-up and training (per
        step), e.g. by ``scripts/demo.py`` to show one progress bar per phase."""
        self.sft_done = config.sft_warmup_steps == 0
        self.writer: Any = None
        self.episode_log: EpisodeLogWriter | None = None
        if self.is_main:
            from torch.utils.tensorboard import SummaryWriter

            self.output_dir.mkdir(parents=True, exist_ok=True)
            (self.output_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
            self.writer = SummaryWriter(str(self.output_dir / "tb"))
        if self.is_main and config.log_episodes:
            self.episode_log = EpisodeLogWriter(self.output_dir / "episodes.jsonl")

    def _transformers_policy(self, model: Any, dtype: str) -> TransformersPolicy:
        config = self.config
        return TransformersPolicy(
            model,
            self.formatter,
            batch_size=max(config.rollout_batch_size, config.eval_batch_size),
            incremental=config.incremental_decoding,
            dtype=dtype,
        )

    def make_env(self, split: str) -> gym.Env[str, str]:
        return gym.make(self.config.env_id, split=split, **self.config.env_kwargs)

    def _lr_factor(self, step: int) -> float:
        config = self.config
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.total_steps - config.warmup_steps)
        if config.lr_scheduler == "linear":
            return max(0.0, 1 - progress)
        if config.lr_scheduler == "cosine":
            return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    @property
    def unwrapped_model(self) -> Any:
        return self.accelerator.unwrap_model(self.scorer).model

    # --- what every step does first ----------------------------------------------------------------------------

    def draw_questions(self, count: int) -> list[int]:
        """``count`` training questions drawn without replacement; this process's share of them (whole groups per
        process, so advantages stay local)."""
        questions = self.rng.choice(self.train_tasks, size=min(count, len(self.train_tasks)), replace=False).tolist()
        return [int(q) for q in questions[self.rank :: self.world]]

    def step_seed(self) -> int:
        """The seed of this step's episodes (distinct per step, seed and process)."""
        return int(self.config.seed * 100_003 + self.step * 1_009 + self.rank)

    def play_groups(self, questions: Sequence[int]) -> list[Episode]:
        """``num_generations`` sampled episodes of each question, in order; the episodes of ``questions[g]`` have
        ``group == g``."""
        samples = self.config.num_generations
        return collect_episodes(
            self.train_envs,
            self.policy,
            [{"task_index": q} for q in questions for _ in range(samples)],
            groups=[g for g in range(len(questions)) for _ in range(samples)],
            seed=self.step_seed(),
            sampling=self.sampling,
            max_sequence_tokens=self.config.max_sequence_tokens,
        )

    def train_step(self) -> dict[str, float]:
        """Play this step's episodes and take one optimizer step; returns the step's metrics (``train/…``,
        ``loss/…``, ``perf/…``) and advances :attr:`step`."""
        raise NotImplementedError

    def rollout_metrics(self, samples: Sequence[Episode]) -> dict[str, float]:
        """``train/…`` scalars of a step's unaided samples: accuracy (overall and by level), reward, searches,
        and the mean tokens per assistant turn."""
        generated = sum(sum(e.loss_mask) for e in samples)
        turns = sum(sum(m["role"] == "assistant" for m in e.messages) for e in samples)
        return {
            **{f"train/{k}": v for k, v in flatten_numbers(summarize(samples)).items()},
            "train/tokens_per_turn": generated / max(1, turns),
        }

    def log_training(
        self,
        metrics: dict[str, float],
        episodes: Sequence[Episode],
        advantages: Sequence[float],
        displaced: Sequence[Episode] = (),
    ) -> None:
        """Write a step's scalars and episodes (with the advantages the update used); ``displaced`` samples (which
        guidance kept out of the update) are logged too, with advantage 0 and episode ids ``unaided-train-…``."""
        self._log(metrics, episodes, phase="train", split=self.config.train_split, advantages=advantages)
        if displaced:
            self._log(
                {},
                displaced,
                phase="train",
                split=self.config.train_split,
                advantages=[0.0] * len(displaced),
                label="unaided",
            )

    def mark_start(self) -> None:
        """Take the current weights as the start of training: the reference of the KL term (beta > 0) and of the
        ``loss/kl`` diagnostic. Called by :meth:`train` after the warm-up (or ``init_from``), and by the first
        :meth:`start_logprobs` when nothing did."""
        if self.config.use_lora:
            self.start_weights = {
                n: p.detach().clone() for n, p in self.unwrapped_model.named_parameters() if p.requires_grad
            }
        elif self.config.beta > 0:
            self.reference = TokenScorer(
                copy.deepcopy(self.unwrapped_model).eval().requires_grad_(False), self.config.temperature
            )

    def start_logprobs(
        self, input_ids: torch.Tensor, attention: torch.Tensor, targets: torch.Tensor, prefix: int = 0
    ) -> torch.Tensor | None:
        """Log-probabilities of the targets under the start of training (see :meth:`mark_start`), without gradient;
        None without LoRA when beta is 0 (no copy of the model is kept then). With LoRA the start's adapter weights
        are put in place for the forward pass and the current ones restored after it."""
        if self.start_weights is None and self.reference is None:
            self.mark_start()
        with torch.no_grad():
            if self.reference is not None:
                reference: torch.Tensor = self.reference(input_ids, attention, targets, shared_prefix=prefix)
                return reference
            if self.start_weights is None:
                return None
            named = [(n, p) for n, p in self.unwrapped_model.named_parameters() if p.requires_grad]
            current = [p.detach().clone() for _, p in named]
            for name, parameter in named:
                parameter.copy_(self.start_weights[name])
            try:
                scorer = self.accelerator.unwrap_model(self.scorer)
                reference = scorer(input_ids, attention, targets, shared_prefix=prefix).detach()
            finally:
                for (_, parameter), value in zip(named, current, strict=True):
                    parameter.copy_(value)
            return reference

    # --- supervised warm-up ---------------------------------------------------------------------------------

    def warm_up(self, steps: int | None = None) -> dict[str, float]:
        """``steps`` (default ``sft_warmup_steps``) steps of supervised fine-tuning on the scripted searcher's
        correct transcripts of training questions (a fresh AdamW at ``sft_learning_rate``); the summary counts the
        tokens of the sequences trained (``sft_tokens``)."""
        config = self.config
        steps = config.sft_warmup_steps if steps is None else steps
        if steps < 1:
            raise ValueError(f"warm_up needs steps >= 1, got {steps}")
        began = time.perf_counter()
        needed = steps * config.sft_batch_size
        # twice the transcripts needed are played: with few turns the searcher cannot finish every two-hop question
        tasks = self.rng.permutation(self.train_tasks)[: 2 * needed].tolist()
        episodes = collect_episodes(
            self.train_envs, ScriptedSearcher(), [{"task_index": t} for t in tasks], seed=config.seed
        )
        judged = any(name in e.reward_terms for e in episodes for name in CORRECTNESS_TERMS)
        if not judged:
            logger.warning("The reward preset judges no answers: warming up on all scripted transcripts")
        sequences = sft_sequences(self.formatter, episodes, only_correct=judged)[:needed]
        if not sequences:
            raise WarmUpError(
                f"the supervised warm-up ({steps} steps, sft_warmup_steps) imitates the scripted searcher, which "
                f"answered none of {len(episodes)} training questions of {config.env_id} correctly (it plays the "
                "synthetic world's question forms); pass --sft-warmup-steps 0 on this dataset"
            )
        optimizer = torch.optim.AdamW(self.trainable, lr=config.sft_learning_rate)
        losses = []
        tokens = 0
        for step in range(steps):
            first = (step * self.world + self.rank) * config.sft_batch_size
            batch = [sequences[(first + j) % len(sequences)] for j in range(config.sft_batch_size)]
            tokens += sum(len(ids) for ids, _ in batch)
            input_ids, attention, targets = pad_sequences(batch, self.tokenizer.pad_token_id, self.accelerator.device)
            logprobs = self.scorer(input_ids, attention, targets)
            loss = token_nll(logprobs, targets, normalizer=max(1.0, float(targets.sum())))
            optimizer.zero_grad(set_to_none=True)
            self.accelerator.backward(loss)
            self.accelerator.clip_grad_norm_(self.trainable, 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
            if self.progress is not None:
                self.progress("warm-up", step + 1, steps)
            if self.writer is not None:
                self.writer.add_scalar("sft/loss", losses[-1], step)
        self.sft_done = True
        return {
            "sft_first_loss": losses[0],
            "sft_last_loss": losses[-1],
            "sft_sequences": float(len(sequences)),
            "sft_steps": float(steps),
            "sft_tokens": float(tokens),
            "sft_seconds": time.perf_counter() - began,
        }

    # --- evaluation, logging, checkpoints ------------------------------------------------------------------

    def evaluate(
        self,
        label: str,
        num_questions: int | None = None,
        few_shot: bool | None = None,
        *,
        validation: bool = False,
        samples: int = 0,
    ) -> dict[str, Any]:
        """Greedy episodes on the first ``eval_questions`` of the eval split (all when 0), or on the validation
        split; logged to TensorBoard under ``test_<label>/`` or ``validation/`` and to the episode log.
        ``few_shot`` overrides whether the worked examples precede the question (default: as in training);
        ``samples`` > 0 adds that many sampled episodes per question at the training temperature (mean sampled
        accuracy and pass@k, in ``summary["sampled"]``)."""
        config = self.config
        split = config.train_split if validation else config.eval_split
        indices = self.validation_tasks if validation else None
        count = (config.eval_questions or None) if num_questions is None else num_questions
        training_formatter = self.eval_policy.formatter
        if few_shot is not None and few_shot != config.few_shot:
            self.eval_policy.formatter = ChatFormatter(self.tokenizer, FEW_SHOT_MESSAGES if few_shot else ())
        common: dict[str, Any] = {
            "num_envs": config.eval_batch_size or config.rollout_batch_size,
            "seed": config.seed,
            "max_sequence_tokens": config.max_sequence_tokens,
            "task_indices": indices,
        }
        if self.progress is not None:
            report = self.progress
            common["progress"] = lambda done, total: report(f"eval {label}", done, total)
        try:
            make_env = functools.partial(self.make_env, split)
            policy = self.eval_policy
            summary, episodes = evaluate_policy(policy, make_env, count, sampling=self.eval_sampling, **common)
            if samples:
                sampled, sampled_episodes = evaluate_policy(
                    policy, make_env, count, sampling=self.sampling, samples=samples, **common
                )
                summary["sampled"] = {
                    key: sampled[key] for key in ("sampled_accuracy", "pass_at_k", "k", "mean_reward")
                }
                episodes += sampled_episodes
        finally:
            self.eval_policy.formatter = training_formatter
        summary["label"] = label
        summary["dtype"] = str(getattr(self.eval_policy, "dtype", config.dtype))
        summary["split"] = "validation" if validation else split
        summary["step"] = self.step
        summary["few_shot"] = config.few_shot if few_shot is None else few_shot
        prefix = "validation" if validation else f"test_{label}"
        stage, checkpoint = self._eval_stage(label, summary["few_shot"], validation)
        self._log(
            {f"{prefix}/{k}": v for k, v in flatten_numbers(summary).items()},
            episodes,
            phase="eval",
            split="validation" if validation else split,
            stage=stage,
            checkpoint=checkpoint,
            label=label,
        )
        return summary

    def _log(
        self,
        metrics: dict[str, float],
        episodes: Sequence[Episode],
        phase: str,
        split: str,
        *,
        stage: str | None = None,
        checkpoint: str | None = None,
        advantages: Sequence[float] | None = None,
        label: str = "",
    ) -> None:
        if self.writer is not None:
            for name, value in metrics.items():
                self.writer.add_scalar(name, value, self.step)
            self.writer.flush()
        if self.episode_log is not None:
            rank = f"r{self.rank}-" if self.world > 1 else ""
            self.episode_log.write(
                episode_records(
                    episodes,
                    run_id=self.config.name,
                    step=self.step,
                    split=split,
                    phase=phase,
                    policy=self.config.backend,
                    model=self.config.model,
                    checkpoint=checkpoint,
                    stage=stage,
                    advantages=advantages,
                    tokenizer=self.tokenizer if advantages is not None else None,
                    id_prefix=rank + (f"{label}-" if label else ""),
                )
            )

    def _eval_stage(self, label: str, few_shot: bool, validation: bool) -> tuple[str, str | None]:
        """The episode log's ``stage`` label and checkpoint path of an evaluation called ``label``."""
        folder = self.output_dir / checkpoints.CHECKPOINTS_DIR
        if label == "base":
            return ("base+few-shot" if few_shot else "base"), None
        if label == "best":
            return "best", str(folder / checkpoints.BEST)
        if label == "start":
            return "start", None if self.config.init_from is None else str(self.config.init_from)
        if label == "warm-up":
            return "warm-up", None
        if validation or label == "last":
            return f"step {self.step}", str(folder / checkpoints.step_name(self.step)) if label == "last" else None
        return label, None

    def save(self, best: dict[str, Any] | None = None) -> Path:
        """Publish ``checkpoints/step-NNNNNN`` (trainable weights, optimizer, scheduler, RNG states, step, and a
        ``model/`` folder loadable with ``from_pretrained``: the LoRA adapter or the full model) through
        :func:`rezero_agents.checkpoints.write_checkpoint`: staged, renamed into place, then ``latest`` replaced
        atomically. Saving a step that is already saved writes nothing (``train()`` saves the last step in its loop
        and again after the final evaluation; a published checkpoint is never rewritten).

        ``best`` (a ``{"step", "split", "accuracy", "n"}`` record): publish ``checkpoints/best`` instead, with the
        record as ``selected`` in its ``state.json``, replacing the previous best."""
        folder = self.output_dir / checkpoints.CHECKPOINTS_DIR / checkpoints.step_name(self.step)
        if best is not None:
            folder = folder.parent / checkpoints.BEST
        elif getattr(self, "_saved", None) == (folder, self.sft_done):
            logger.debug("Step %d is already saved in %s", self.step, folder)
            return folder
        if self.is_main:
            model = self.unwrapped_model
            trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}

            def write_model(target: Path) -> None:
                model.save_pretrained(target)
                self.tokenizer.save_pretrained(target)

            checkpoints.write_checkpoint(
                folder.parent,
                self.step,
                state={
                    "sft_done": self.sft_done,
                    "sampler": self.rng.bit_generator.state,
                    "world_size": self.world,
                    "config": self.config.to_dict(),
                    "base_model": self.model_path,
                    "history": self.history,
                    "validation_curve": self.validation_curve,
                    **({"selected": best} if best is not None else {}),
                },
                files={
                    checkpoints.TRAINABLE: trainable,
                    checkpoints.OPTIMIZER: self.optimizer.state_dict(),
                    checkpoints.SCHEDULER: self.scheduler.state_dict(),
                    checkpoints.RNG: checkpoints.capture_rng(),
                    **({START_WEIGHTS: self.start_weights} if self.start_weights is not None else {}),
                },
                write_model=write_model,
                parameters={name: tuple(tensor.shape) for name, tensor in trainable.items()},
                folder_name=None if best is None else checkpoints.BEST,
            )
        self.accelerator.wait_for_everyone()
        if best is None:
            self._saved: tuple[Path, bool] | None = (folder, self.sft_done)
        return folder

    def load(self, folder: Path) -> None:
        """Restore a checkpoint written by :meth:`save`, after verifying it: every file's size and checksum, then
        the trainable parameters' names and shapes and the optimizer state against this model. Nothing is applied
        until everything has been checked.

        Raises:
            rezero_agents.checkpoints.CheckpointError: a file is missing or damaged, or the checkpoint does not fit
                this model (e.g. other LoRA settings); the message names the file.
        """
        info = checkpoints.verify(folder, training=True)
        saved = checkpoints.load_training_state(info)
        step, sft_done, sampler = checkpoints.training_fields(info)
        history, validation_curve = checkpoints.run_record(info)
        differences = checkpoints.settings_differences(info.config, self.config.to_dict())
        model = self.unwrapped_model
        checkpoints.check_parameters(
            folder / checkpoints.TRAINABLE,
            saved.trainable,
            checkpoints.parameter_shapes(model.named_parameters()),
            differences,
        )
        checkpoints.check_optimizer(
            folder / checkpoints.OPTIMIZER,
            saved.optimizer,
            [group["params"] for group in self.optimizer.param_groups],
            differences,
        )
        rng = checkpoints.rng_states(saved.rng, folder / checkpoints.RNG)
        sampler_check = type(self.rng.bit_generator)()
        try:
            sampler_check.state = sampler
        except (ValueError, KeyError, TypeError) as error:
            raise checkpoints.CheckpointError(folder / checkpoints.STATE, f"bad sampler state ({error})") from None
        # everything is checked: apply
        try:
            self.optimizer.load_state_dict(saved.optimizer)
            self.scheduler.load_state_dict(saved.scheduler)
        except (ValueError, KeyError, TypeError, RuntimeError) as error:
            raise checkpoints.CheckpointError(folder, f"optimizer or scheduler state does not fit ({error})") from None
        start_file = folder / START_WEIGHTS
        start_weights = checkpoints.load_torch(start_file) if start_file.is_file() else None
        with torch.no_grad():
            model.load_state_dict(saved.trainable, strict=False)
        if start_weights is not None:
            self.start_weights = {name: tensor.to(self.accelerator.device) for name, tensor in start_weights.items()}
        self.rng.bit_generator.state = sampler
        rng.apply(cuda=self.world == 1)
        self.step = step
        self.sft_done = sft_done
        self.history, self.validation_curve = history, validation_curve
        if step and not history:
            logger.warning("%s predates recorded run histories: the summary covers the steps after %d", folder, step)
        own = self.output_dir / checkpoints.CHECKPOINTS_DIR / checkpoints.step_name(step)
        self._saved = (own, sft_done) if own.resolve() == folder.resolve() else None  # resuming: already saved

    def _resume_checkpoint(self) -> Path | None:
        """The checkpoint ``resume`` continues from (:meth:`latest_checkpoint`), once its config is compared with
        this run's: a setting that changes the run (all but :data:`RESUME_IGNORED` and :data:`RESUME_EXTENDS`) must
        be named in ``resume_allow_changes``; every change allowed is logged.

        Raises:
            rezero_agents.checkpoints.CheckpointError: settings differ (each listed with both values), or the run
                has checkpoints but none verifies.
        """
        config = self.config
        folder = self.latest_checkpoint()
        if folder is None:
            return None
        saved = checkpoints.read_state(folder).get("config")
        differences = checkpoints.config_differences(
            saved if isinstance(saved, dict) else {}, config.to_dict(), GRPOConfig().to_dict()
        )
        free = RESUME_IGNORED + (RESUME_EXTENDS if config.lr_scheduler == "constant" else ())
        refused = [d for d in differences if d[0] not in free and d[0] not in config.resume_allow_changes]

        def listed(changes: Sequence[tuple[str, Any, Any]]) -> str:
            return ", ".join(f"{key} {old!r} → {new!r}" for key, old, new in changes)

        if refused:
            raise checkpoints.CheckpointError(
                folder / checkpoints.STATE,
                f"resume: settings that change the run differ from the checkpoint's: {listed(refused)}; use another "
                f"output_dir, or allow them with --resume-allow-changes {' '.join(key for key, _, _ in refused)}",
            )
        changed = [d for d in differences if d[0] not in RESUME_IGNORED]
        if changed:
            logger.info("Resuming from %s with changed settings: %s", folder, listed(changed))
        return folder

    def latest_checkpoint(self) -> Path | None:
        """The checkpoint ``resume`` continues from: the one ``checkpoints/latest`` names when it verifies, else
        (logged WARNING) the newest that does; None when the run has none.

        Raises:
            rezero_agents.checkpoints.CheckpointError: the run has checkpoints but none verifies.
        """
        info = checkpoints.latest_checkpoint(self.output_dir / checkpoints.CHECKPOINTS_DIR, training=True)
        return None if info is None else info.folder

    # --- the whole run --------------------------------------------------------------------------------------

    def train(self, progress: Callable[[Iterable[int]], Iterable[int]] = lambda steps: steps) -> dict[str, Any]:
        """Evaluate, warm up (or start from ``init_from``), train for ``total_steps`` (validating every
        ``eval_every`` steps, keeping the best checkpoint, stopping early on collapse), evaluate the last (and the
        best) step on the eval split, checkpoint; returns a summary that is also written to ``summary.json``.

        The summary's ``eval_*`` entries are test-split evaluations: ``eval_base`` (the untrained model),
        ``eval_after_sft`` (after the warm-up) or ``eval_start`` (the ``init_from`` weights), ``eval_final`` (the
        last step) and ``eval_best`` (the best step by validation accuracy; both only with ``eval_after``);
        ``comparisons`` holds the paired
        differences of last and best against the start (:func:`rezero_agents.stats.compare`); ``stopped`` says
        why the run ended."""
        config = self.config
        summary: dict[str, Any] = {"config": config.to_dict(), "validation_questions": len(self.validation_tasks)}
        checkpoint = self.resume_from if config.resume else None
        if checkpoint is not None:
            self.load(checkpoint)
            logger.info("Resumed from %s at step %d", checkpoint, self.step)
        elif config.init_from is not None:
            summary["init_from"] = str(self.initialize_from(config.init_from))
        fresh = checkpoint is None
        if config.eval_before and fresh and config.init_from is None:
            summary["eval_base"] = self.evaluate(
                "base", config.base_eval_questions or None, few_shot=config.eval_base_few_shot
            )
        if not self.sft_done:
            summary["sft"] = self.warm_up()
            if config.eval_before:
                summary["eval_after_sft"] = self.evaluate("warm-up", samples=config.eval_samples)
        elif config.eval_before and fresh and config.init_from is not None:
            summary["eval_start"] = self.evaluate("start", samples=config.eval_samples)
        if self.start_weights is None and self.reference is None:
            self.mark_start()
        guard = CollapseGuard(config)
        best = self.best_checkpoint_record()
        if config.eval_every and best is None:
            best = self._validate(guard, best)
        history = self.history
        stopped: str | None = None
        if self.progress is not None and self.step < config.total_steps:
            self.progress(self.phase, self.step, config.total_steps)  # the bar from the first step's start
        for _ in progress(range(self.step, config.total_steps)):
            metrics = self.train_step()
            if self.progress is not None:
                self.progress(self.phase, self.step, config.total_steps)
            history.append({"step": self.step, **metrics})
            stopped = guard.after_step(metrics)
            if config.eval_every and self.step % config.eval_every == 0:
                best = self._validate(guard, best)
                history[-1]["validation/accuracy"] = guard.last_validation
                stopped = stopped or guard.stop_reason
            if config.save_every and self.step % config.save_every == 0:
                self.save()
            if stopped:
                logger.warning("Stopping at step %d: %s", self.step, stopped)
                break
        summary["stopped"] = {"step": self.step, "reason": stopped or f"total_steps={config.total_steps} reached"}
        if config.eval_after:
            summary["eval_final"] = self.evaluate("last", samples=config.eval_samples)
        summary["checkpoint"] = str(self.save())
        if best is not None:
            summary["best"] = best
        if best is not None and config.eval_after:
            if best["step"] == self.step:
                summary["eval_best"] = summary["eval_final"]
            else:
                self.initialize_from(self.output_dir / checkpoints.CHECKPOINTS_DIR / checkpoints.BEST)
                summary["eval_best"] = self.evaluate("best", samples=config.eval_samples)
        summary["validation"] = self.validation_curve
        summary["comparisons"] = _comparisons(summary)
        summary["history"] = history
        if self.is_main:
            (self.output_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        self.close()
        return summary

    def _validate(self, guard: CollapseGuard, best: dict[str, Any] | None) -> dict[str, Any] | None:
        """Evaluate on the validation split, publish ``checkpoints/best`` when it beats ``best`` (with
        ``keep_best``), tell the guard; returns the best record so far."""
        result = self.evaluate(f"step-{self.step}", validation=True)
        accuracy = float(result["accuracy"])
        self.validation_curve.append((self.step, accuracy))
        if best is None or accuracy > best["accuracy"]:
            best = {"step": self.step, "split": "validation", "accuracy": accuracy, "n": result["episodes"]}
            if self.config.keep_best:
                self.save(best=best)
            if self.writer is not None:
                self.writer.add_scalar("validation/best_accuracy", accuracy, self.step)
        guard.after_validation(accuracy, best["accuracy"])
        return best

    def best_checkpoint_record(self) -> dict[str, Any] | None:
        """The ``selected`` record of this run's ``checkpoints/best`` (step, split, accuracy, n), if any."""
        folder = self.output_dir / checkpoints.CHECKPOINTS_DIR / checkpoints.BEST
        if not (folder / checkpoints.STATE).exists():
            return None
        selected = checkpoints.read_state(folder).get("selected")
        return dict(selected) if isinstance(selected, dict) else None

    def initialize_from(self, path: Path) -> Path:
        """Load the trainable weights of the checkpoint ``path`` names (verified; the optimizer is left alone)
        and mark the warm-up done. Returns the checkpoint folder.

        Raises:
            rezero_agents.checkpoints.CheckpointError: there is no checkpoint at ``path``, it is damaged, or its
                weights do not fit this model (e.g. other LoRA settings).
        """
        info = checkpoints.resolve(Path(path), training=True)
        if info is None:
            raise checkpoints.CheckpointError(Path(path), "holds no checkpoint (init_from)")
        trainable = checkpoints.load_training_state(info).trainable
        model = self.unwrapped_model
        checkpoints.check_parameters(
            info.folder / checkpoints.TRAINABLE,
            trainable,
            checkpoints.parameter_shapes(model.named_parameters()),
            checkpoints.settings_differences(info.config, self.config.to_dict()),
        )
        with torch.no_grad():
            model.load_state_dict(trainable, strict=False)
        self.sft_done = True
        logger.info("Initialised the trainable weights from %s", info.folder)
        return info.folder

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.episode_log is not None:
            self.episode_log.close()
        for env in self.train_envs:
            env.close()


def flatten_numbers(summary: dict[str, Any]) -> dict[str, float]:
    """Flatten a summary's numbers (nested dicts become ``outer/inner``)."""
    flat: dict[str, float] = {}
    for key, value in summary.items():
        if key == "verdicts":
            continue
        if isinstance(value, dict):
            flat.update(
                {
                    f"{key}/{k}": float(v)
                    for k, v in value.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)
                }
            )
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[key] = float(value)
    return flat


def _comparisons(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Paired test-split differences of the last and best steps against the start of training (warm-up or
    ``init_from``), and of the start against the base model, where both sides have per-question verdicts."""
    start = summary.get("eval_after_sft") or summary.get("eval_start")
    pairs = {
        "last_minus_start": (summary.get("eval_final"), start),
        "best_minus_start": (summary.get("eval_best"), start),
        "start_minus_base": (start, summary.get("eval_base")),
    }
    results = {}
    for name, (a, b) in pairs.items():
        if a and b and "verdicts" in a and "verdicts" in b and set(a["verdicts"]) == set(b["verdicts"]):
            results[name] = compare(a["verdicts"], b["verdicts"]).to_dict()
    return results
