"""Scoring token sequences for training: the log-probabilities of an episode's trained tokens under the policy,
with right padding and micro-batches whose rows share a prompt (the GRPO learner, expert iteration and the
supervised warm-up all train through :class:`TokenScorer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from rezero_agents.incremental import common_prefix
from rezero_agents.records import Episode


def causal_lm(model: Any) -> Any:
    """The transformers model inside a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


class TokenScorer(nn.Module):
    """Log-probabilities of the target tokens of a batch, computing the LM head only where the mask is set.

    ``forward(input_ids, attention_mask, target_mask)`` returns a ``(batch, length - 1)`` tensor: entry ``t`` is
    ``log p(input_ids[t + 1] | input_ids[: t + 1]) `` where ``target_mask[t]`` is true, 0 elsewhere. Logits are
    divided by ``temperature`` (the sampling temperature, as TRL does) before the softmax. With ``autocast`` (e.g.
    ``torch.bfloat16``) the model runs under autocast in that dtype; the log-softmax is taken in float32.
    """

    def __init__(self, model: Any, temperature: float = 1.0, autocast: torch.dtype | None = None) -> None:
        super().__init__()
        self.model = model
        self.temperature = temperature
        self.autocast = autocast

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        target_mask: torch.Tensor,
        shared_prefix: int = 0,
        with_entropy: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``shared_prefix=P`` (> 0): every row starts with the same ``P`` tokens and no target lies before
        position ``P - 1``; the prefix is then computed once and its keys and values broadcast to the rows (the
        gradient through them is summed over the rows, so it is the same gradient as without sharing).

        ``with_entropy``: also return the entropy of the (tempered) next-token distribution at each target
        position, without gradient, in a tensor shaped like the log-probabilities."""
        lm = causal_lm(self.model)
        autocast = self.autocast is not None
        with torch.autocast(input_ids.device.type, dtype=self.autocast or torch.bfloat16, enabled=autocast):
            if shared_prefix > 0:
                hidden = self._shared_prefix_hidden(lm, input_ids, attention_mask, shared_prefix)
                offset = shared_prefix - 1
            else:
                hidden = lm.get_decoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, :-1]
                offset = 0
            positions = target_mask[:, offset:]
            selected = hidden[positions]
            logits = lm.get_output_embeddings()(selected).float() / self.temperature
        targets = input_ids[:, 1 + offset :][positions]
        log_distribution = logits.log_softmax(-1)
        token_logprobs = log_distribution.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        out = torch.zeros(target_mask.shape, dtype=token_logprobs.dtype, device=token_logprobs.device)
        out[:, offset:][positions] = token_logprobs
        if not with_entropy:
            return out
        with torch.no_grad():
            entropy = torch.zeros_like(out)
            entropy[:, offset:][positions] = -(log_distribution.exp() * log_distribution).sum(-1)
        return out, entropy

    @staticmethod
    def _shared_prefix_hidden(lm: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, prefix: int) -> Any:
        """Hidden states at positions ``prefix - 1 … length - 2`` (those that predict tokens ``prefix …``), with
        the common prefix run once."""
        from transformers import DynamicCache

        if not bool((input_ids[:, :prefix] == input_ids[:1, :prefix]).all()) or not bool(
            attention_mask[:, :prefix].all()
        ):
            raise ValueError("shared_prefix: the rows do not all start with the same unpadded tokens")
        rows, length = input_ids.shape
        decoder = lm.get_decoder()
        cache = DynamicCache(config=lm.config)
        head = decoder(input_ids=input_ids[:1, :prefix], cache=cache, use_cache=True).last_hidden_state[:, -1:]
        cache.batch_repeat_interleave(rows)
        positions = torch.arange(prefix, length, device=input_ids.device)[None].expand(rows, -1)
        tail = decoder(
            input_ids=input_ids[:, prefix:],
            attention_mask=attention_mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
        ).last_hidden_state
        return torch.cat([head.expand(rows, -1, -1), tail[:, :-1]], dim=1)


def pad_sequences(
    sequences: Sequence[tuple[Sequence[int], Sequence[int]]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad ``(token_ids, loss_mask)`` pairs into ``input_ids``, ``attention_mask`` and the target mask
    (``loss_mask`` shifted by one: position ``t`` predicts token ``t + 1``)."""
    width = max(len(ids) for ids, _ in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    targets = torch.zeros((len(sequences), width - 1), dtype=torch.bool)
    for row, (ids, mask) in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, : len(ids)] = 1
        targets[row, : len(ids) - 1] = torch.tensor(mask[1:], dtype=torch.bool)
    return input_ids.to(device), attention.to(device), targets.to(device)


def target_values(values: Sequence[Sequence[float]], width: int, device: torch.device) -> torch.Tensor:
    """Per-token values of each sequence (e.g. the sampler's log-probs) aligned with :func:`pad_sequences`' target
    mask: entry ``t`` of a row is the value of token ``t + 1``; 0 in the padding.

    Example:
        >>> target_values([[0.0, -1.0, -2.0], [0.0, -3.0]], width=3, device=torch.device("cpu")).tolist()
        [[-1.0, -2.0], [-3.0, 0.0]]
    """
    out = torch.zeros((len(values), width - 1), dtype=torch.float32)
    for row, row_values in enumerate(values):
        out[row, : len(row_values) - 1] = torch.tensor(row_values[1:], dtype=torch.float32)
    return out.to(device)


MIN_SHARED_PREFIX = 16
"""Shortest common prompt worth computing once per micro-batch in the training forward."""


def micro_batches(
    episodes: Sequence[Episode], usable: Sequence[int], size: int, share_prompt: bool = True
) -> list[tuple[list[int], int]]:
    """Micro-batches of episode indices, each with the length of the prompt its rows share (0: none).

    With ``share_prompt`` a micro-batch holds episodes of one group (a question's samples, which start with the same
    prompt), so the scorer can run that prompt once; otherwise consecutive episodes, ``size`` at a time.
    """
    if not share_prompt:
        return [(list(usable[i : i + size]), 0) for i in range(0, len(usable), size)]
    by_group: dict[int, list[int]] = {}
    for index in usable:
        by_group.setdefault(episodes[index].group, []).append(index)
    chunks = []
    for members in by_group.values():
        for start in range(0, len(members), size):
            chunk = members[start : start + size]
            prefix = 0
            if len(chunk) > 1:
                first_trained = min(episodes[i].loss_mask.index(1) for i in chunk)
                prefix = min(common_prefix([episodes[i].token_ids for i in chunk]), first_trained)
            chunks.append((chunk, prefix if prefix >= MIN_SHARED_PREFIX else 0))
    return chunks
