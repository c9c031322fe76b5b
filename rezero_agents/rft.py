"""Expert iteration (rejection-sampling fine-tuning) on SearchQA-v0: the baseline a GRPO gain must beat.

One step (:meth:`RFTLearner.train_step`):
1. draw ``questions_per_step`` training questions and play ``num_generations`` episodes of each, as GRPO does;
2. with ``guidance``, help the groups in which no sample was judged correct, as GRPO does
   (:mod:`rezero_agents.guidance`): ``"trajectory"`` adds the guide's transcript, ``"prefix"`` samples again after
   the guide's first turns;
3. keep the episodes judged correct (or, with ``rft_keep="best"``, the best of each group by reward), each distinct
   token sequence once;
4. one AdamW step on their negative log-likelihood: the tokens of their loss masks (what the policy sampled, or
   the guide's messages), averaged over those tokens, gradients clipped to ``max_grad_norm``.

Reward shaping, advantages and clipping play no part: a sample counts when its answer is judged correct, whatever
else it did (Havrilla et al. 2024, arXiv 2403.04642; Search-R1's rejection-sampling baseline). The schedule —
warm-up, validation, best checkpoint, logging, resume — is :class:`~rezero_agents.learner.Learner`'s, so RFT and
GRPO runs are compared on the same footing. In the episode log a kept episode's ``learner.advantage`` is 1 (its
weight in the loss) and any other's 0.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import nullcontext

from rezero_agents.group_stats import success_shares
from rezero_agents.guidance import GuidedStep
from rezero_agents.learner import Learner
from rezero_agents.objectives import token_nll
from rezero_agents.records import Episode
from rezero_agents.scoring import micro_batches, pad_sequences


def kept_episodes(episodes: Sequence[Episode], keep: str = "correct") -> list[int]:
    """Indices of the episodes to imitate, each distinct token sequence once and never one with an empty loss mask:
    those judged correct (``keep="correct"``), or the best of each group by reward when it beats the group's worst
    (``keep="best"``: RAFT's best-of-k, for rewards without a verdict).

    Example:
        >>> from rezero_env.types import Task
        >>> task, right = Task("t", "q?", ("a",)), {"correctness": 1.0}
        >>> a, b, c = (Episode(task, 0, reward_terms=right) for _ in range(3))
        >>> for episode, ids in ((a, [1, 2]), (b, [1, 2]), (c, [1, 3])):
        ...     episode.extend(ids, trainable=True)
        >>> kept_episodes([a, b, c, Episode(task, 0)])
        [0, 2]
        >>> a.reward, c.reward = 2.0, 1.0
        >>> kept_episodes([a, c], keep="best")
        [0]
    """
    if keep not in ("correct", "best"):
        raise ValueError(f"keep must be 'correct' or 'best', got {keep!r}")
    rewards: dict[int, list[float]] = {}
    for episode in episodes:
        rewards.setdefault(episode.group, []).append(episode.reward)
    seen: set[tuple[int, ...]] = set()
    kept = []
    for index, episode in enumerate(episodes):
        if keep == "correct":
            wanted = episode.correct
        else:
            group = rewards[episode.group]
            wanted = episode.reward == max(group) > min(group)
        sequence = tuple(episode.token_ids)
        if wanted and sum(episode.loss_mask) > 0 and sequence not in seen:
            seen.add(sequence)
            kept.append(index)
    return kept


class RFTLearner(Learner):
    """Expert iteration on the shared schedule of :class:`~rezero_agents.learner.Learner` (see the module
    docstring)."""

    phase = "RFT"

    def train_step(self) -> dict[str, float]:
        """Sample questions, play ``G`` episodes each, help the failing groups, fine-tune on the correct episodes.
        Returns the step's metrics."""
        config = self.config
        questions = self.draw_questions(config.questions_per_step)
        start = time.perf_counter()
        samples = self.play_groups(questions)
        rollout_seconds = time.perf_counter() - start

        start = time.perf_counter()
        guided = GuidedStep(samples)
        if self.guidance is not None:
            guided = self.guidance.apply(samples, questions, self.policy, self.sampling, seed=self.step_seed())
        guidance_seconds = time.perf_counter() - start
        episodes = guided.episodes

        kept = kept_episodes(episodes, config.rft_keep)
        start = time.perf_counter()
        loss_stats = self.fit([episodes[i] for i in kept])
        train_seconds = time.perf_counter() - start

        generated = sum(sum(e.loss_mask) for e in samples) + guided.prefix_tokens
        metrics = {
            **self.rollout_metrics(samples),
            **{f"loss/{k}": v for k, v in loss_stats.items()},
            **success_shares(samples, "train/solvable_groups"),
            **success_shares(episodes, "train/solvable_groups_guided"),
            **guided.metrics(),
            "train/kept_episodes": float(len(kept)),
            "train/kept_guide_episodes": float(sum(episodes[i].guide for i in kept)),
            "perf/rollout_seconds": rollout_seconds,
            "perf/guidance_seconds": guidance_seconds,
            "perf/train_seconds": train_seconds,
            "perf/step_seconds": rollout_seconds + guidance_seconds + train_seconds,
            "perf/generated_tokens": float(generated),
            "perf/trained_sequence_tokens": float(sum(len(episodes[i].token_ids) for i in kept)),
            "perf/generated_tokens_per_s": generated / max(rollout_seconds + guidance_seconds, 1e-9),
            "perf/trained_tokens_per_s": loss_stats["trained_tokens"] / max(train_seconds, 1e-9),
            "train/lr": self.scheduler.get_last_lr()[0],
        }
        self.step += 1
        weights = [float(i in set(kept)) for i in range(len(episodes))]
        self.log_training(metrics, episodes, weights, guided.displaced)
        return metrics

    def fit(self, episodes: Sequence[Episode]) -> dict[str, float]:
        """One AdamW step on the mean negative log-likelihood of ``episodes``' loss-mask tokens (no step when there
        are none)."""
        config = self.config
        normalizer = float(sum(sum(e.loss_mask[1:]) for e in episodes))
        chunks = micro_batches(episodes, range(len(episodes)), config.micro_batch_size, config.share_prompt_in_training)
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for index, (chunk, prefix) in enumerate(chunks):
            input_ids, attention, targets = pad_sequences(
                [(episodes[i].token_ids, episodes[i].loss_mask) for i in chunk],
                self.tokenizer.pad_token_id,
                self.accelerator.device,
            )
            syncing = index == len(chunks) - 1
            with nullcontext() if syncing else self.accelerator.no_sync(self.scorer):
                logprobs = self.scorer(input_ids, attention, targets, shared_prefix=prefix)
                loss = token_nll(logprobs, targets, normalizer=max(normalizer, 1.0))
                self.accelerator.backward(loss)
            total += float(loss.detach())
        grad_norm = float(self.accelerator.clip_grad_norm_(self.trainable, config.max_grad_norm)) if chunks else 0.0
        self.optimizer.step()  # parameters without a gradient are left alone
        self.scheduler.step()
        return {
            "loss": total if chunks else float("nan"),
            "grad_norm": grad_norm,
            "trained_episodes": float(len(episodes)),
            "trained_tokens": normalizer,
        }
