"""Incremental decoding for multi-turn rollouts with ``transformers`` models.

A multi-turn episode asks the policy for its next message with the whole transcript so far. Re-reading that
transcript every turn makes most of a CPU rollout prefill. :class:`IncrementalDecoder` instead keeps each sequence's
KV cache from the end of one :meth:`~IncrementalDecoder.generate` call to the start of the next: a prompt that
extends a sequence of the previous call prefills only the tokens appended since (the end of the assistant turn, the
``<information>`` block, the next generation prompt). Within a call, identical prompts (a question's G samples) are
prefilled once and their cache copied, and the longest prefix all new prompts share (the system prompt, few-shot
turns) is prefilled once.

Layout: a :class:`KVBatch` holds the keys and values of a batch of rows in preallocated buffers
``[rows, kv_heads, capacity, head_dim]`` per layer, and a ``valid`` mask ``[rows, capacity]``. Columns that hold no
token of a row (left padding, the padding of a shorter new chunk, the steps after a row finished) are masked out of
attention, and position ids count only a row's valid columns, so such holes change nothing for rotary (Llama-style)
models. Between calls a row is re-packed without holes.

The stored caches are used only while the model's parameters are unchanged (their in-place version counters are
compared), so an optimizer step between two calls can never leak stale states into a rollout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

MIN_SHARED_PREFIX = 8
"""Shortest common prefix of a call's new prompts that is worth prefilling once and copying."""


def weights_version(model: Any) -> int:
    """A number that changes whenever a parameter of ``model`` is modified in place (an optimizer step, a
    ``load_state_dict``)."""
    return sum(parameter._version for parameter in model.parameters())


def model_shape(model: Any) -> tuple[int, int, int]:
    """``(layers, kv_heads, head_dim)`` of a decoder-only ``transformers`` model (a peft wrapper works too)."""
    config = model.config
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    return config.num_hidden_layers, getattr(config, "num_key_value_heads", None) or heads, head_dim


@dataclass
class KVBatch:
    """Keys and values of ``rows`` sequences in preallocated buffers (see the module docstring).

    Attributes:
        keys: Per layer, ``[rows, kv_heads, capacity, head_dim]``.
        values: Per layer, like ``keys``.
        valid: ``[rows, capacity]``, True where a column holds a token of the row.
        length: Columns written so far (the next forward writes from here).
        positions: ``[rows]``, the position id of each row's next token (its number of valid columns).
    """

    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    valid: torch.Tensor
    length: int
    positions: torch.Tensor

    @classmethod
    def allocate(cls, model: Any, rows: int, capacity: int) -> KVBatch:
        layers, heads, head_dim = model_shape(model)
        parameter = next(model.parameters())
        shape = (rows, heads, capacity, head_dim)
        options = {"dtype": parameter.dtype, "device": parameter.device}
        return cls(
            keys=[torch.zeros(shape, **options) for _ in range(layers)],
            values=[torch.zeros(shape, **options) for _ in range(layers)],
            valid=torch.zeros((rows, capacity), dtype=torch.bool, device=parameter.device),
            length=0,
            positions=torch.zeros(rows, dtype=torch.long, device=parameter.device),
        )

    @property
    def rows(self) -> int:
        return int(self.valid.shape[0])

    @property
    def capacity(self) -> int:
        return int(self.valid.shape[1])

    def hf_cache(self) -> Any:
        """A ``transformers`` cache object that writes the next forward's states into these buffers."""
        from transformers.cache_utils import Cache

        return Cache(layers=[_buffer_layer(k, v, self.length) for k, v in zip(self.keys, self.values, strict=True)])

    def forward(self, model: Any, input_ids: torch.Tensor, new_valid: torch.Tensor) -> torch.Tensor:
        """Run ``model`` on ``input_ids`` (``[rows, n]``, written at columns ``length … length + n``); ``new_valid``
        (``[rows, n]``) says which of them are tokens (the others are holes). Returns the last column's logits."""
        width = input_ids.shape[1]
        start = self.length
        if start + width > self.capacity:
            raise ValueError(f"KV buffer overflow: {start} + {width} columns > capacity {self.capacity}")
        self.valid[:, start : start + width] = new_valid
        offsets = new_valid.long().cumsum(1) - new_valid.long()
        position_ids = self.positions[:, None] + offsets
        # query i (column start + i) sees valid columns up to its own; a hole sees only itself, so no attention
        # row is empty (fully masked rows give NaN in some kernels)
        columns = torch.arange(self.capacity, device=input_ids.device)
        query_columns = torch.arange(start, start + width, device=input_ids.device)
        causal = columns[None, :] <= query_columns[:, None]
        mask = self.valid[:, None, :] & causal[None]
        itself = columns[None, :] == query_columns[:, None]
        mask |= (~new_valid)[:, :, None] & itself[None]
        output = model(
            input_ids=input_ids,
            attention_mask=mask[:, None],
            position_ids=position_ids,
            cache=self.hf_cache(),
            use_cache=True,
            logits_to_keep=1,
        )
        self.length += width
        self.positions += new_valid.long().sum(1)
        logits: torch.Tensor = output.logits[:, -1]
        return logits

    def select(self, rows: torch.Tensor) -> KVBatch:
        """A copy holding only ``rows`` (same columns)."""
        return KVBatch(
            keys=[k.index_select(0, rows) for k in self.keys],
            values=[v.index_select(0, rows) for v in self.values],
            valid=self.valid.index_select(0, rows),
            length=self.length,
            positions=self.positions.index_select(0, rows),
        )

    def row_columns(self, row: int) -> torch.Tensor:
        """Indices of the valid columns of ``row``, in order."""
        return self.valid[row, : self.length].nonzero().squeeze(1)


def _buffer_layer(keys: torch.Tensor, values: torch.Tensor, length: int) -> Any:
    """One layer's view of a :class:`KVBatch` for ``transformers``: a ``StaticLayer`` over our buffers, which writes
    new states at the running column and returns the whole buffer (the 4-D mask says which columns count)."""
    from transformers.cache_utils import StaticLayer

    layer = StaticLayer(max_cache_len=keys.shape[2])
    layer.keys, layer.values = keys, values
    layer.device = keys.device
    layer.batch_size, layer.num_heads = keys.shape[0], keys.shape[1]
    layer.k_head_dim, layer.v_head_dim = keys.shape[3], values.shape[3]
    layer.cumulative_length = torch.tensor(length, dtype=torch.long, device=keys.device)
    layer.is_initialized = True
    return layer


@dataclass(frozen=True)
class CachedRow:
    """A sequence whose states live in row ``row`` of ``batch``: ``tokens`` are the tokens those states cover."""

    batch: KVBatch
    row: int
    tokens: tuple[int, ...]


def pack(model: Any, sources: Sequence[CachedRow | None], extra: int) -> KVBatch:
    """A new batch, one row per source, each row's states right-aligned without holes (``None``: an empty row),
    with ``extra`` free columns after them."""
    lengths = [len(s.tokens) if s is not None else 0 for s in sources]
    width = max(lengths, default=0)
    packed = KVBatch.allocate(model, len(sources), width + extra)
    packed.length = width
    by_batch: dict[int, list[int]] = {}
    for index, source in enumerate(sources):
        if source is not None and lengths[index]:
            by_batch.setdefault(id(source.batch), []).append(index)
    for indices in by_batch.values():
        batch = sources[indices[0]].batch  # type: ignore[union-attr]
        # one gather per layer: new[i, :, width - n_i + j] = old[row_i, :, column_ij]
        columns = torch.zeros((len(indices), width), dtype=torch.long, device=batch.valid.device)
        target = torch.zeros((len(indices), width), dtype=torch.bool, device=batch.valid.device)
        for slot, index in enumerate(indices):
            source = sources[index]
            assert source is not None
            found = batch.row_columns(source.row)
            if len(found) != lengths[index]:
                raise RuntimeError("KV cache bookkeeping error: a row's valid columns do not match its tokens")
            columns[slot, width - len(found) :] = found
            target[slot, width - len(found) :] = True
        rows = torch.tensor([sources[i].row for i in indices], device=batch.valid.device)  # type: ignore[union-attr]
        destination = torch.tensor(indices, device=batch.valid.device)
        for layer in range(len(batch.keys)):
            for old, new in ((batch.keys[layer], packed.keys[layer]), (batch.values[layer], packed.values[layer])):
                gathered = old[rows[:, None], :, columns]  # [rows, width, heads, dim]
                new[destination, :, :width] = gathered.permute(0, 2, 1, 3)
        packed.valid[destination, :width] = target
    packed.positions = torch.tensor(lengths, dtype=torch.long, device=packed.valid.device)
    return packed


def common_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Length of the longest prefix all ``prompts`` share.

    Example:
        >>> common_prefix([[1, 2, 3], [1, 2, 4, 5], [1, 2]])
        2
    """
    if not prompts:
        return 0
    shortest = min(len(p) for p in prompts)
    for position in range(shortest):
        token = prompts[0][position]
        if any(p[position] != token for p in prompts):
            return position
    return shortest


class PrefixStore:
    """The sequences cached by the previous call, found by prefix: ``lookup(prompt)`` returns the cached row whose
    tokens are the longest prefix of ``prompt``."""

    def __init__(self, rows: Sequence[CachedRow] = (), version: int = 0) -> None:
        self.version = version
        self._by_key: dict[tuple[int, int], CachedRow] = {}
        for row in rows:
            self._by_key[(len(row.tokens), hash(row.tokens))] = row
        self._lengths = sorted({length for length, _ in self._by_key}, reverse=True)

    def __len__(self) -> int:
        return len(self._by_key)

    def lookup(self, prompt: Sequence[int]) -> CachedRow | None:
        prompt = tuple(prompt)
        for length in self._lengths:
            if length <= len(prompt):
                row = self._by_key.get((length, hash(prompt[:length])))
                if row is not None and row.tokens == prompt[:length]:
                    return row
        return None


class Sampler:
    """Draws the next token of each row from logits: greedy (``temperature=0``), or temperature, then top-k, then
    top-p (nucleus), as ``transformers``' logits warpers do, but on the top-k candidates only (a full-vocabulary
    sort and draw per step would cost more than the model's step on a CPU).

    Example:
        >>> logits = torch.tensor([[0.0, 3.0, 1.0], [5.0, 0.0, 0.0]])
        >>> Sampler(temperature=0.0)(logits).tolist()
        [1, 0]
        >>> Sampler(temperature=1.0, top_k=1, generator=torch.Generator().manual_seed(0))(logits).tolist()
        [1, 0]
    """

    def __init__(
        self, temperature: float, top_k: int = 0, top_p: float = 1.0, generator: torch.Generator | None = None
    ) -> None:
        self.temperature, self.top_k, self.top_p, self.generator = temperature, top_k, top_p, generator

    def logprobs(self, logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """The log-probability of each row's ``tokens`` under the tempered full-vocabulary distribution
        ``softmax(logits / temperature)`` (``temperature`` 1 when greedy): the distribution the learner scores, so
        that learner and sampler log-probs differ only by numerics (dtype, kernels), not by definition.

        Example:
            >>> Sampler(temperature=0.5).logprobs(torch.tensor([[0.0, 1.0]]), torch.tensor([1])).exp().round(decimals=3)
            tensor([0.8810])
        """
        scale = self.temperature if self.temperature > 0 else 1.0
        return (logits / scale).log_softmax(-1).gather(-1, tokens[:, None]).squeeze(-1)

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        if self.temperature == 0:
            return logits.argmax(-1)
        scores = logits / self.temperature
        count = min(self.top_k, scores.shape[-1]) if self.top_k > 0 else scores.shape[-1]
        values, indices = scores.topk(count, dim=-1)  # sorted, largest first
        probabilities = values.softmax(-1)
        if self.top_p < 1.0:
            # keep the smallest top set whose mass reaches top_p (the first candidate always stays)
            before = probabilities.cumsum(-1) - probabilities
            probabilities = probabilities.masked_fill(before >= self.top_p, 0.0)
        choice = torch.multinomial(probabilities, 1, generator=self.generator)
        return indices.gather(-1, choice).squeeze(-1)


@dataclass
class Decoded:
    """What one row of a call sampled: ids (through the stop string or end-of-turn token) and their log-probs."""

    token_ids: list[int]
    logprobs: list[float]


class IncrementalDecoder:
    """Sampling loop over :class:`KVBatch` buffers, keeping the caches of the last call for the next one.

    Args:
        model: A decoder-only ``transformers`` model with rotary positions (Llama, Qwen, Mistral, …; peft works).
        tokenizer: Its tokenizer (for the stop strings).
        stop_strings: A row stops once its decoded text ends a stop string (kept), or at ``eos_id``.
        prefill_batch_size: Most rows per prefill forward (rows are sorted by new-token count first).
    """

    def __init__(self, model: Any, tokenizer: Any, stop_strings: Sequence[str], prefill_batch_size: int = 16) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.stop_strings = tuple(stop_strings)
        self.prefill_batch_size = prefill_batch_size
        self.store = PrefixStore()
        self.stats: dict[str, float] = dict.fromkeys(
            ("prefill_tokens", "reused_tokens", "decode_steps", "decoded_tokens", "prefill_seconds", "decode_seconds"),
            0,
        )
        """Running totals: tokens prefilled and reused from a cache, decode forward passes, tokens sampled, and the
        wall time of prefilling and of decoding."""

    def clear(self) -> None:
        """Drop the stored caches (frees their memory)."""
        self.store = PrefixStore()

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        batch_size: int,
        max_new_tokens: int,
        sampler: Sampler,
        eos_id: int | None,
        pad_id: int,
    ) -> list[Decoded]:
        """Sample one completion per prompt, ``batch_size`` rows per decode batch; the rows' caches replace the
        stored ones."""
        version = weights_version(self.model)
        if len(self.store) and self.store.version != version:
            logger.debug("Parameters changed since the last call: dropping %d cached rows", len(self.store))
            self.store = PrefixStore()
        decoded: list[Decoded] = []
        cached: list[CachedRow] = []
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            began = time.perf_counter()
            batch, logits = self._prefill(chunk, max_new_tokens, pad_id)
            self.stats["prefill_seconds"] += time.perf_counter() - began
            began = time.perf_counter()
            results, homes = self._decode(batch, logits, max_new_tokens, sampler, eos_id, pad_id)
            self.stats["decode_seconds"] += time.perf_counter() - began
            self.stats["decoded_tokens"] += sum(len(r.token_ids) for r in results)
            for (holder, row), prompt, result in zip(homes, chunk, results, strict=True):
                # the last sampled token was never fed to the model: its states are not in the cache
                cached.append(CachedRow(holder, row, tuple(prompt) + tuple(result.token_ids[:-1])))
            decoded += results
        self.store = PrefixStore(cached, version)
        return decoded

    # --- prefill ------------------------------------------------------------------------------------------------

    def _prefill(
        self, prompts: Sequence[Sequence[int]], max_new_tokens: int, pad_id: int
    ) -> tuple[KVBatch, torch.Tensor]:
        """One packed batch holding every prompt's states except its last token's, ready to decode, and the logits
        that predict each prompt's first new token."""
        if any(len(p) == 0 for p in prompts):
            raise ValueError("Cannot generate from an empty prompt")
        # 1. the cached sequence each prompt extends (keeping at least one token to feed)
        sources = [self.store.lookup(p[:-1]) for p in prompts]
        # 2. identical (source, prompt) pairs are computed once
        unique: dict[tuple[int, tuple[int, ...]], int] = {}
        owner = []
        for prompt, source in zip(prompts, sources, strict=True):
            key = (id(source) if source is not None else 0, tuple(prompt))
            owner.append(unique.setdefault(key, len(unique)))
        firsts = {slot: index for index, slot in reversed(list(enumerate(owner)))}
        unique_prompts = [tuple(prompts[firsts[slot]]) for slot in range(len(unique))]
        unique_sources = [sources[firsts[slot]] for slot in range(len(unique))]
        # 3. a prefix shared by all prompts that extend nothing is prefilled once
        fresh = [slot for slot, source in enumerate(unique_sources) if source is None]
        if len(fresh) > 1:
            shared = min(
                common_prefix([unique_prompts[s] for s in fresh]), min(len(unique_prompts[s]) for s in fresh) - 1
            )
            if shared >= MIN_SHARED_PREFIX:
                prefix = KVBatch.allocate(self.model, 1, shared)
                device = prefix.valid.device
                ids = torch.tensor([unique_prompts[fresh[0]][:shared]], device=device)
                prefix.forward(self.model, ids, torch.ones(1, shared, dtype=torch.bool, device=device))
                self.stats["prefill_tokens"] += shared
                shared_row = CachedRow(prefix, 0, unique_prompts[fresh[0]][:shared])
                for slot in fresh:
                    unique_sources[slot] = shared_row
        # 4. prefill the new tokens, rows of similar length together
        order = sorted(range(len(unique_prompts)), key=lambda s: len(unique_prompts[s]) - _covered(unique_sources[s]))
        done: list[CachedRow | None] = [None] * len(unique_prompts)
        first_logits: list[torch.Tensor | None] = [None] * len(unique_prompts)
        for start in range(0, len(order), self.prefill_batch_size):
            chunk = order[start : start + self.prefill_batch_size]
            new_tokens = [unique_prompts[s][_covered(unique_sources[s]) :] for s in chunk]
            width = max(len(t) for t in new_tokens)
            batch = pack(self.model, [unique_sources[s] for s in chunk], width)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            new_valid = torch.zeros((len(chunk), width), dtype=torch.bool)
            for row, tokens in enumerate(new_tokens):
                input_ids[row, width - len(tokens) :] = torch.tensor(tokens, dtype=torch.long)
                new_valid[row, width - len(tokens) :] = True
            device = batch.valid.device
            logits = batch.forward(self.model, input_ids.to(device), new_valid.to(device))
            self.stats["prefill_tokens"] += sum(len(t) for t in new_tokens)
            self.stats["reused_tokens"] += sum(_covered(unique_sources[s]) for s in chunk)
            for row, slot in enumerate(chunk):
                done[slot] = CachedRow(batch, row, unique_prompts[slot])
                first_logits[slot] = logits[row]
        # 5. one decode batch, a row per prompt (copies of identical prompts share their prefill)
        packed = pack(self.model, [done[slot] for slot in owner], max_new_tokens)
        logits = torch.stack([first_logits[slot] for slot in owner])  # type: ignore[misc]
        return packed, logits

    # --- decode -------------------------------------------------------------------------------------------------

    def _decode(
        self,
        batch: KVBatch,
        logits: torch.Tensor,
        max_new_tokens: int,
        sampler: Sampler,
        eos_id: int | None,
        pad_id: int,
    ) -> tuple[list[Decoded], list[tuple[KVBatch, int]]]:
        """Sample until every row stopped; returns each row's result and where its states ended up (rows that
        stopped leave the batch once at most half of it is still running, so the rest decodes on a smaller one)."""
        rows = batch.rows
        results = [Decoded([], []) for _ in range(rows)]
        texts = [""] * rows
        homes: list[tuple[KVBatch, int]] = [(batch, row) for row in range(rows)]
        original = list(range(rows))  # row of the running batch → row of the call
        active = torch.ones(rows, dtype=torch.bool, device=batch.valid.device)
        for step in range(max_new_tokens):
            scores = logits.float()
            tokens = sampler(scores)
            chosen = sampler.logprobs(scores, tokens).tolist()
            token_list = tokens.tolist()
            for row in active.nonzero().squeeze(1).tolist():
                token, result = token_list[row], results[original[row]]
                result.token_ids.append(token)
                result.logprobs.append(chosen[row])
                texts[original[row]] += self.tokenizer.decode([token], skip_special_tokens=False)
                if token == eos_id or any(stop in texts[original[row]][-20:] for stop in self.stop_strings):
                    active[row] = False
            running = int(active.sum())
            if running == 0 or step == max_new_tokens - 1:
                break
            if running <= batch.rows // 2:
                keep = active.nonzero().squeeze(1)
                batch = batch.select(keep)
                original = [original[row] for row in keep.tolist()]
                for row, call_row in enumerate(original):
                    homes[call_row] = (batch, row)
                tokens, active = tokens[keep], active[keep]
            feed = torch.where(active, tokens, torch.full_like(tokens, pad_id))
            logits = batch.forward(self.model, feed[:, None], active[:, None].clone())
            self.stats["decode_steps"] += 1
        return results, homes


def _covered(source: CachedRow | None) -> int:
    return len(source.tokens) if source is not None else 0
