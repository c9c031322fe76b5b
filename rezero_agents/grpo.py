"""GRPO on SearchQA-v0, readable top to bottom.

One step (:meth:`GRPOLearner.train_step`):
1. draw ``questions_per_step`` training questions (× ``oversample`` with dynamic sampling) and play
   ``num_generations`` episodes of each in lock-step with batched generation
   (:meth:`~rezero_agents.learner.Learner.play_groups`); each episode records its tokens and a loss mask that is 1
   only on tokens the policy sampled;
2. with ``guidance``, help the groups in which no sample was judged correct (:mod:`rezero_agents.guidance`): a
   guide's whole episode joins the group (``"trajectory"``), or the policy samples again after the guide's first
   turns (``"prefix"``);
3. advantages: each reward minus its group's mean, divided by the group's std (or not: Dr. GRPO); groups whose
   rewards are all equal carry no signal and are counted; with dynamic sampling only groups whose rewards differ
   are trained;
4. loss per trained token: ``-w·min(ratio·A, clip(ratio, 1-ε, 1+ε_high)·A) + β·KL(π‖π_ref)`` with the k3
   estimator, ``w = min(π_learner/π_sampler, tis_cap)`` the truncated importance weight that corrects for a
   sampler with other numerics (bfloat16 rollouts); a guide's tokens use an off-policy term instead
   (:func:`~rezero_agents.objectives.grpo_loss`); averaged over the step's tokens (or per episode);
5. gradients accumulate over micro-batches, are clipped to ``max_grad_norm`` and applied with AdamW.

Every step writes TensorBoard scalars and the episodes to ``episodes.jsonl``. The schedule around the steps —
warm-up, validation, the best checkpoint, the collapse guard, saving and resuming, evaluation — is
:class:`~rezero_agents.learner.Learner`'s, shared with expert iteration (:mod:`rezero_agents.rft`). Under
``accelerate launch`` each process plays a share of the questions and DDP averages the gradients.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch

from rezero_agents.group_stats import flat_shares, is_flat, rewards_by_group, success_shares
from rezero_agents.grpo_config import GRPOConfig
from rezero_agents.guidance import GuidedStep
from rezero_agents.learner import Learner
from rezero_agents.objectives import group_advantages, grpo_loss, mean_kl, truncated_importance_weights
from rezero_agents.policy import Policy
from rezero_agents.rollout import CORRECTNESS_TERMS, Episode, TextPolicy
from rezero_agents.scoring import micro_batches, pad_sequences, target_values
from rezero_env.rewards.presets import REWARD_PRESETS

NOT_LOSS_STATS = ("forward_seconds", "backward_seconds", "sequence_tokens")
"""What :meth:`GRPOLearner.optimize` returns that is logged under ``perf/``, not ``loss/``."""

UNGATED_TERMS = (*CORRECTNESS_TERMS, "format")
"""Terms that ``reward_shaping="gated"`` pays whatever the answer's verdict (besides ``config.ungated_terms``)."""


class GRPOLearner(Learner):
    """GRPO with optional guidance, on the shared schedule of :class:`~rezero_agents.learner.Learner` (see the
    module docstring)."""

    phase = "GRPO"

    def __init__(self, config: GRPOConfig, guide: Policy | TextPolicy | None = None) -> None:
        if config.reward_shaping == "gated" and config.reward not in REWARD_PRESETS:
            raise ValueError(f"reward_shaping='gated' needs a named reward preset, got reward={config.reward!r}")
        super().__init__(config, guide)
        self.term_weights = {cls.name: weight for cls, weight in REWARD_PRESETS.get(config.reward, ())}
        """Reward terms' weights, for ``reward_shaping="gated"``."""

    def train_step(self) -> dict[str, float]:
        """Sample questions, play ``G`` episodes each, help the failing groups, take one optimizer step. Returns the
        step's metrics."""
        config = self.config
        # 1. questions and their samples
        drawn = config.questions_per_step
        if config.dynamic_sampling:
            drawn = math.ceil(config.questions_per_step * config.oversample)
        questions = self.draw_questions(drawn)
        start = time.perf_counter()
        samples = self.play_groups(questions)
        rollout_seconds = time.perf_counter() - start

        # 2. guidance for the groups in which every sample failed
        start = time.perf_counter()
        guided = GuidedStep(samples)
        if self.guidance is not None:
            guided = self.guidance.apply(samples, questions, self.policy, self.sampling, seed=self.step_seed())
        guidance_seconds = time.perf_counter() - start
        episodes = guided.episodes

        # 3. advantages within each group; dynamic sampling keeps groups whose rewards differ
        groups = [e.group for e in episodes]
        rewards = [self.training_reward(e) for e in episodes]
        advantages, _ = group_advantages(rewards, groups, config.scale_rewards)
        trained = list(range(len(episodes)))
        if config.dynamic_sampling:  # DAPO: train on questions_per_step groups whose rewards differ, if there are
            by_group = rewards_by_group(groups, rewards)
            informative = [g for g in sorted(by_group) if not is_flat(by_group[g])]
            kept = set(informative[: math.ceil(config.questions_per_step / self.world)])
            trained = [i for i in trained if groups[i] in kept]

        # 4-5. the loss and one optimizer step
        start = time.perf_counter()
        loss_stats = self.optimize([episodes[i] for i in trained], advantages[trained])
        train_seconds = time.perf_counter() - start
        if config.backend == "vllm":
            self.policy.load_weights(self.unwrapped_model)  # type: ignore[attr-defined]

        trained_groups = {groups[i] for i in trained}
        generated = sum(sum(e.loss_mask) for e in samples)
        metrics = {
            **self.rollout_metrics(samples),
            **{f"loss/{k}": v for k, v in loss_stats.items() if k not in NOT_LOSS_STATS},
            **success_shares(samples, "train/solvable_groups"),
            **success_shares(episodes, "train/solvable_groups_guided"),
            **guided.metrics(),
            **flat_shares(episodes, rewards, "train/zero_signal_groups"),
            "train/trained_groups": float(len(trained_groups)),
            "train/trained_thanks_to_guidance": len(trained_groups & set(guided.guided)) / max(1, len(trained_groups)),
            "perf/rollout_seconds": rollout_seconds,
            "perf/guidance_seconds": guidance_seconds,
            "perf/train_seconds": train_seconds,
            "perf/forward_seconds": loss_stats["forward_seconds"],
            "perf/backward_seconds": loss_stats["backward_seconds"],
            "perf/step_seconds": rollout_seconds + guidance_seconds + train_seconds,
            "perf/generated_tokens": float(generated + guided.prefix_tokens),
            "perf/trained_sequence_tokens": loss_stats["sequence_tokens"],
            "perf/generated_tokens_per_s": (generated + guided.prefix_tokens)
            / max(rollout_seconds + guidance_seconds, 1e-9),
            "perf/trained_tokens_per_s": loss_stats["trained_tokens"] / max(train_seconds, 1e-9),
            "train/lr": self.scheduler.get_last_lr()[0],
        }
        self.step += 1
        used = np.zeros_like(advantages)  # what the update used: 0 for groups dynamic sampling left out
        used[trained] = advantages[trained]
        self.log_training(metrics, episodes, used.tolist(), guided.displaced)
        return metrics

    def training_reward(self, episode: Episode) -> float:
        """The reward the advantages are computed from: the env's, or with ``reward_shaping="gated"`` the env's
        less the shaping terms (all but correctness, format and ``config.ungated_terms``) of an episode not judged
        correct."""
        if self.config.reward_shaping == "additive" or episode.correct:
            return episode.reward
        return episode.reward - sum(
            self.term_weights.get(name, 0.0) * value
            for name, value in episode.reward_terms.items()
            if name not in UNGATED_TERMS and name not in self.config.ungated_terms
        )

    def optimize(self, episodes: Sequence[Episode], advantages: np.ndarray) -> dict[str, float]:
        """Accumulate the GRPO loss over micro-batches and take one clipped AdamW step.

        Episodes with a zero advantage are not run when ``beta`` is 0: their loss and gradient are exactly 0, and
        the normaliser still counts their tokens, so the step is the same. Besides the loss, returns diagnostics:
        the mean entropy of the tempered next-token distribution at trained tokens, the KL to the start of training
        (k3 estimator, see :meth:`mark_start`; with ``beta`` 0 it is estimated on the step's first micro-batch,
        nan without LoRA), the share of on-policy tokens whose ratio was clipped, the guide's tokens and their mean
        probability under the policy, the mean ``|log π_learner - log π_sampler|`` over sampled tokens and the share
        of their importance weights truncated at ``tis_cap``, the wall time of the forward and backward passes, and
        the tokens of the sequences run through them (``sequence_tokens``, the step's training compute).
        """
        config = self.config
        usable = [i for i, e in enumerate(episodes) if sum(e.loss_mask) > 0]
        normalizer = (
            float(sum(sum(episodes[i].loss_mask[1:]) for i in usable))
            if config.loss_type == "token_mean"
            else float(len(usable))
        )
        if config.beta == 0:
            usable = [i for i in usable if advantages[i] != 0]
        self.optimizer.zero_grad(set_to_none=True)
        names = ("loss", "kl", "tokens", "clipped_tokens", "off_policy_tokens", "off_policy_probability_sum")
        gap_names = ("logprob_gap_sum", "truncated_tokens", "sampled_tokens")
        totals = dict.fromkeys((*names, *gap_names, "entropy", "forward_s", "backward_s", "sequence_tokens"), 0.0)
        kl_to_start = float("nan")
        chunks = micro_batches(episodes, usable, config.micro_batch_size, config.share_prompt_in_training)
        device = self.accelerator.device
        for index, (chunk, prefix) in enumerate(chunks):
            input_ids, attention, targets = pad_sequences(
                [(episodes[i].token_ids, episodes[i].loss_mask) for i in chunk], self.tokenizer.pad_token_id, device
            )
            chunk_advantages = torch.tensor(advantages[chunk], dtype=torch.float32, device=device)
            totals["sequence_tokens"] += sum(len(episodes[i].token_ids) for i in chunk)
            off_policy = torch.tensor([episodes[i].guide for i in chunk], dtype=torch.bool, device=device)
            sampler = target_values([episodes[i].logprobs for i in chunk], input_ids.shape[1], device)
            syncing = index == len(chunks) - 1
            with nullcontext() if syncing else self.accelerator.no_sync(self.scorer):
                began = time.perf_counter()
                reference = None
                if config.beta > 0 or index == 0:  # before the policy's forward: it may swap the weights
                    reference = self.start_logprobs(input_ids, attention, targets, prefix)
                new, entropy = self.scorer(input_ids, attention, targets, shared_prefix=prefix, with_entropy=True)
                sampled = targets & ~off_policy[:, None]  # a guide's tokens have no sampler log-prob
                weights, gap = truncated_importance_weights(new, sampler, sampled, config.tis_cap)
                if config.beta == 0:
                    if reference is not None:
                        kl_to_start = mean_kl(new.detach(), reference, targets)
                    reference = None
                loss, stats = grpo_loss(
                    new,
                    new.detach(),
                    reference,
                    chunk_advantages,
                    targets,
                    epsilon=config.epsilon,
                    epsilon_high=config.epsilon_high,
                    beta=config.beta,
                    loss_type=config.loss_type,
                    normalizer=max(normalizer, 1.0),
                    off_policy=off_policy,
                    guide_objective=config.guide_objective,
                    guide_gamma=config.guide_gamma,
                    sampling_weights=weights,
                )
                totals["forward_s"] += time.perf_counter() - began
                began = time.perf_counter()
                self.accelerator.backward(loss)
                totals["backward_s"] += time.perf_counter() - began
            totals["loss"] += float(loss.detach())
            totals["kl"] += stats["kl"] * stats["tokens"]
            for key in names[2:]:
                totals[key] += stats[key]
            for key in gap_names:
                totals[key] += gap[key]
            totals["entropy"] += float((entropy * targets).sum())
        grad_norm = self.accelerator.clip_grad_norm_(self.trainable, config.max_grad_norm) if chunks else 0.0
        self.optimizer.step()
        self.scheduler.step()
        tokens = max(totals["tokens"], 1.0)
        off_tokens = totals["off_policy_tokens"]
        return {
            "loss": totals["loss"],
            "kl": totals["kl"] / tokens if config.beta > 0 else kl_to_start,
            "clip_ratio": totals["clipped_tokens"] / max(tokens - off_tokens, 1.0),
            "entropy": totals["entropy"] / tokens,
            "grad_norm": float(grad_norm),
            "trained_episodes": float(len(usable)),
            "trained_tokens": totals["tokens"],
            "guide_tokens": off_tokens,
            "guide_token_probability": totals["off_policy_probability_sum"] / off_tokens if off_tokens else math.nan,
            "sampler_logprob_gap": totals["logprob_gap_sum"] / max(totals["sampled_tokens"], 1.0),
            "truncated_weights": totals["truncated_tokens"] / max(totals["sampled_tokens"], 1.0),
            "forward_seconds": totals["forward_s"],
            "backward_seconds": totals["backward_s"],
            "sequence_tokens": totals["sequence_tokens"],
        }
