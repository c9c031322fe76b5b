"""The learners' objectives: group-normalised advantages, the clipped GRPO loss with an off-policy term for guide
tokens, and the supervised (negative log-likelihood) loss of the warm-up and of expert iteration.

All losses are per micro-batch and scaled by the step's ``normalizer`` so that micro-batch losses add up to the
step's loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def group_advantages(rewards: Sequence[float], groups: Sequence[int], scale: bool = True) -> tuple[np.ndarray, int]:
    """Advantages normalised within each group, and the number of groups whose rewards are all equal.

    Example:
        >>> advantages, flat = group_advantages([1.0, 0.0, 2.0, 2.0], [0, 0, 1, 1])
        >>> advantages.round(3).tolist(), flat
        ([0.707, -0.707, 0.0, 0.0], 1)
    """
    values = np.asarray(rewards, dtype=np.float64)
    group_ids = np.asarray(groups)
    advantages = np.zeros_like(values)
    flat = 0
    for group in np.unique(group_ids):
        members = group_ids == group
        centred = values[members] - values[members].mean()
        spread = values[members].std(ddof=1) if members.sum() > 1 else 0.0
        flat += bool(np.allclose(values[members], values[members][0]))
        advantages[members] = centred / (spread + 1e-4) if scale else centred
    return advantages, flat


def shaped_probability(logprobs: torch.Tensor, gamma: float) -> torch.Tensor:
    """LUFFY's policy shaping ``f(p) = p / (p + γ)`` of the probabilities ``p = exp(logprobs)``.

    Its gradient with respect to ``log p`` is ``γ·p / (p + γ)²``: largest at ``p = γ``, so tokens the policy finds
    unlikely but not hopeless weigh most, and confident tokens stop pulling once they are learned.

    Example:
        >>> shaped_probability(torch.log(torch.tensor([0.1, 0.9])), gamma=0.1).tolist()
        [0.5, 0.8999999761581421]
    """
    probabilities = torch.exp(logprobs)
    return probabilities / (probabilities + gamma)


def grpo_loss(
    new_logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    epsilon: float,
    epsilon_high: float,
    beta: float,
    loss_type: str,
    normalizer: float,
    off_policy: torch.Tensor | None = None,
    guide_objective: str = "shaped",
    guide_gamma: float = 0.1,
    sampling_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped GRPO loss of a micro-batch.

    On-policy rows: ``-min(ratio·A, clip(ratio, 1-ε, 1+ε_high)·A)`` with ``ratio = exp(new - old)``. Rows marked in
    ``off_policy`` (a ``[rows]`` bool tensor: a guide's episode) are not clipped (clipping a ratio that starts far
    below 1 would stop the very tokens the policy has to learn) and use, by ``guide_objective``:

    - ``"shaped"`` — LUFFY's ``-A·f(π_θ)`` (:func:`shaped_probability`, ``γ = guide_gamma``): the importance ratio
      ``π_θ / π_guide`` with the guide's probability taken as 1 (a scripted guide is deterministic), shaped. Its
      gradient ``A·γπ/(π+γ)²·∇log π`` vanishes where the policy gives the guide's tokens almost no probability.
    - ``"likelihood"`` — ``-A·log π_θ``: the policy gradient with the importance weight set to 1, i.e. the guide's
      transcript imitated with weight ``A`` (positive in an all-fail group), whatever probability the policy gives
      it; so it also teaches a policy that starts far from the guide.

    ``sampling_weights`` (per token, no gradient): truncated importance weights ``min(π_learner / π_sampler, C)``
    that correct for a sampler with other numerics (bfloat16 rollouts); they multiply the policy-gradient term, as
    TRL applies its vLLM correction. With ``beta > 0`` the k3 KL to the reference is then added on every trained
    token.

    ``normalizer`` is the step's number of target tokens (``token_mean``) or episodes (``sequence_mean``).
    """
    weights = mask.float()
    ratio = torch.exp(new_logprobs - old_logprobs)
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + epsilon_high)
    per_token = -torch.min(ratio * advantages[:, None], clipped * advantages[:, None])
    on_policy = torch.ones_like(weights)
    if off_policy is not None and bool(off_policy.any()):
        if guide_objective == "shaped":
            guide_term = -shaped_probability(new_logprobs, guide_gamma) * advantages[:, None]
        elif guide_objective == "likelihood":
            guide_term = -new_logprobs * advantages[:, None]
        else:
            raise ValueError(f"guide_objective must be 'shaped' or 'likelihood', got {guide_objective!r}")
        per_token = torch.where(off_policy[:, None], guide_term, per_token)
        on_policy = (~off_policy)[:, None].float().expand_as(weights)
    if sampling_weights is not None:
        per_token = per_token * sampling_weights
    kl = torch.zeros_like(per_token)
    if ref_logprobs is not None:
        delta = ref_logprobs - new_logprobs
        kl = torch.exp(delta) - delta - 1
        per_token = per_token + beta * kl
    if loss_type == "token_mean":
        loss = (per_token * weights).sum() / normalizer
    else:
        loss = ((per_token * weights).sum(1) / weights.sum(1).clamp(min=1)).sum() / normalizer
    with torch.no_grad():
        tokens = weights.sum().clamp(min=1)
        on_weights = weights * on_policy
        off_weights = weights - on_weights
        is_clipped = ((ratio < 1 - epsilon) | (ratio > 1 + epsilon_high)).float()
        stats = {
            "kl": float((kl * weights).sum() / tokens),
            "tokens": float(weights.sum()),
            "clipped_tokens": float((is_clipped * on_weights).sum()),
            "off_policy_tokens": float(off_weights.sum()),
            "off_policy_probability_sum": float((torch.exp(new_logprobs) * off_weights).sum()),
        }
    return loss, stats


def truncated_importance_weights(
    learner_logprobs: torch.Tensor, sampler_logprobs: torch.Tensor, mask: torch.Tensor, cap: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """Per-token weights ``min(exp(learner - sampler), cap)`` on ``mask`` (1 elsewhere; ``cap`` 0: all 1), without
    gradient, and the gap's statistics over ``mask``: the summed ``|Δ log-prob|``, the number of truncated weights
    and of tokens.

    Example:
        >>> import math
        >>> weights, stats = truncated_importance_weights(
        ...     torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(2), -5.0]]), torch.tensor([[True, True]]), cap=3.0)
        >>> weights.round(decimals=3).tolist(), stats["truncated_tokens"]
        ([[0.5, 3.0]], 1.0)
    """
    with torch.no_grad():
        gap = learner_logprobs.detach() - sampler_logprobs
        ratio = torch.exp(gap)
        weights = torch.where(mask, ratio.clamp(max=cap), torch.ones_like(ratio)) if cap > 0 else torch.ones_like(ratio)
        stats = {
            "logprob_gap_sum": float((gap.abs() * mask).sum()),
            "truncated_tokens": float(((ratio > cap) & mask).sum()) if cap > 0 else 0.0,
            "sampled_tokens": float(mask.sum()),
        }
    return weights, stats


def token_nll(logprobs: torch.Tensor, mask: torch.Tensor, normalizer: float) -> torch.Tensor:
    """The supervised loss of a micro-batch: minus the log-probabilities of the masked tokens, summed and divided by
    ``normalizer`` (the step's number of target tokens).

    Example:
        >>> float(token_nll(torch.log(torch.tensor([[0.5, 0.25]])), torch.tensor([[True, False]]), normalizer=1.0))
        0.6931471824645996
    """
    return -(logprobs * mask).sum() / normalizer


def mean_kl(logprobs: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> float:
    """Mean k3 estimate of KL(π‖π_ref) over the masked tokens."""
    delta = reference - logprobs
    kl = torch.exp(delta) - delta - 1
    return float((kl * mask).sum() / mask.sum().clamp(min=1))
