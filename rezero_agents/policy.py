"""LLM policies: given a batch of prompts (token ids of chat transcripts), sample the next assistant message of
each, with what a learner needs — the sampled token ids and their log-probabilities.

Backends: :class:`TransformersPolicy` (CPU or GPU, the default) and :class:`VLLMPolicy` (GPU, optional ``vllm``
extra). Both stop a message at ``</search>`` or ``</answer>`` (the stop string is kept) or at the end-of-turn token.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rezero_agents.chat import ChatFormatter
from rezero_env.types import Message

logger = logging.getLogger(__name__)

STOP_STRINGS = ("</search>", "</answer>")
FinishReason = Literal["stop", "eos", "length"]


@dataclass(frozen=True)
class SamplingConfig:
    """How the policy samples. ``temperature=0`` means greedy decoding."""

    temperature: float = 0.9
    top_p: float = 0.95
    top_k: int = 50
    max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.top_k < 0 or self.max_new_tokens < 1:
            raise ValueError(f"Invalid sampling settings: {self}")


@dataclass(frozen=True)
class Completion:
    """One sampled assistant message.

    Attributes:
        text: The message, decoded without special tokens (what the environment receives).
        token_ids: The sampled ids, ending with the ids that completed a stop string, or the end-of-turn token.
        logprobs: Log-probability of each sampled id under the sampling distribution before truncation:
            ``softmax(logits / temperature)`` over the whole vocabulary (temperature 1 when greedy), the distribution
            the learner's ratio is computed on.
        finish_reason: ``"stop"`` (a stop string), ``"eos"`` (end of turn) or ``"length"`` (``max_new_tokens``).
    """

    text: str
    token_ids: list[int]
    logprobs: list[float]
    finish_reason: FinishReason


class Policy(Protocol):
    """What rollouts need from an LLM policy."""

    formatter: ChatFormatter

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        """Sample one completion per prompt (prompts are token ids ending with an assistant generation prompt)."""
        ...


def respond(policy: Policy, transcripts: Sequence[Sequence[Message]], sampling: SamplingConfig) -> list[Completion]:
    """The next assistant message for each chat transcript (role/content messages, e.g. ``info["messages"]``)."""
    return policy.generate([policy.formatter.prompt_ids(t) for t in transcripts], sampling)


def _finish(text: str, ids: list[int], eos_id: int | None, limit: int) -> FinishReason:
    if any(text.endswith(stop) for stop in STOP_STRINGS):
        return "stop"
    if ids and ids[-1] == eos_id:
        return "eos"
    return "length" if len(ids) >= limit else "eos"


def left_pad(prompts: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` tensors of ``prompts`` padded on the left, as decoder-only generation needs."""
    import torch

    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        attention_mask[row, width - len(prompt) :] = 1
    return input_ids, attention_mask


def generate_options(sampling: SamplingConfig) -> dict[str, Any]:
    """``model.generate`` keyword arguments for ``sampling`` (greedy when the temperature is 0)."""
    if sampling.temperature == 0:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": sampling.top_k}


class TransformersPolicy:
    """Batched sampling with ``transformers``' ``generate`` (left padding, stop strings, seeded sampling).

    With ``incremental=True`` (the default) generation runs through
    :class:`~rezero_agents.incremental.IncrementalDecoder`: a prompt that extends a sequence of the previous call
    prefills only its new tokens, identical prompts and the prefix all new prompts share are prefilled once, and
    sampling draws from a generator seeded by ``seed`` (torch's global generator is left alone). ``incremental=False``
    keeps the plain ``model.generate`` path (it re-reads every prompt; kept for comparisons).

    Args:
        model: A causal LM (a peft model works too); its device is used.
        formatter: Renders transcripts with the model's chat template.
        batch_size: Most prompts per decode batch (larger calls are split).
        incremental: Keep KV caches across calls (see above).
        prefill_batch_size: Most rows per prefill forward on the incremental path.
        dtype: ``"auto"`` samples with ``model`` itself; a dtype (``"float32"``, ``"bfloat16"``) samples with a
            :class:`~rezero_agents.sampling_copy.SamplingCopy` in that dtype (LoRA merged into the weights, so no
            adapter products or peft wrappers), refreshed whenever ``model``'s parameters change.
    """

    def __init__(
        self,
        model: Any,
        formatter: ChatFormatter,
        batch_size: int = 64,
        incremental: bool = True,
        prefill_batch_size: int = 16,
        dtype: str = "auto",
    ) -> None:
        self.model = model
        self.formatter = formatter
        self.tokenizer = formatter.tokenizer
        self.batch_size = batch_size
        self.incremental = incremental
        self.copy: Any = None
        if dtype != "auto":
            from rezero_agents.sampling_copy import SamplingCopy

            self.copy = SamplingCopy(model, dtype)
        self.decoder: Any = None
        if incremental:
            from rezero_agents.incremental import IncrementalDecoder

            self.decoder = IncrementalDecoder(self.sampling_model(), self.tokenizer, STOP_STRINGS, prefill_batch_size)

    @property
    def dtype(self) -> str:
        """The dtype the policy samples in (``"float32"``, ``"bfloat16"``, …)."""
        return str(next(self.sampling_model().parameters()).dtype).removeprefix("torch.")

    def sampling_model(self) -> Any:
        """The model that samples: ``model`` itself, or its copy in ``dtype`` refreshed from it."""
        if self.copy is None:
            return self.model
        self.copy.refresh()
        return self.copy.model

    def clear_cache(self) -> None:
        """Free the KV caches kept for the next call (the rollout calls this when its episodes are done)."""
        if self.decoder is not None:
            self.decoder.clear()

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        import torch

        if self.decoder is not None:
            return self._generate_incremental(prompts, sampling, seed)
        if seed is not None:
            torch.manual_seed(seed)  # transformers' sampling draws from torch's global generator
        completions: list[Completion] = []
        for start in range(0, len(prompts), self.batch_size):
            completions += self._generate_batch(prompts[start : start + self.batch_size], sampling)
        return completions

    def _generate_incremental(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None
    ) -> list[Completion]:
        import torch

        from rezero_agents.incremental import Sampler

        device = next(self.sampling_model().parameters()).device
        generator = torch.Generator(device=device)
        generator.manual_seed(seed if seed is not None else int(torch.randint(2**62, (1,))))
        sampler = Sampler(sampling.temperature, sampling.top_k, sampling.top_p, generator)
        eos_id = self.tokenizer.eos_token_id
        was_training = self.model.training
        self.model.eval()
        completions: list[Completion] = []
        try:
            with torch.no_grad():
                decoded = self.decoder.generate(
                    prompts,
                    batch_size=self.batch_size,
                    max_new_tokens=sampling.max_new_tokens,
                    sampler=sampler,
                    eos_id=eos_id,
                    pad_id=self.tokenizer.pad_token_id,
                )
            for row in decoded:
                text = self.tokenizer.decode(row.token_ids, skip_special_tokens=True)
                reason = _finish(text, row.token_ids, eos_id, sampling.max_new_tokens)
                completions.append(Completion(text, row.token_ids, row.logprobs, reason))
        finally:
            if was_training:
                self.model.train()
        return completions

    def _generate_batch(self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig) -> list[Completion]:
        import torch

        pad_id = self.tokenizer.pad_token_id
        eos_id = self.tokenizer.eos_token_id
        from rezero_agents.incremental import Sampler

        input_ids, attention_mask = left_pad(prompts, pad_id)
        width = input_ids.shape[1]
        model = self.sampling_model()
        device = next(model.parameters()).device
        options = generate_options(sampling)
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention_mask.to(device),
                max_new_tokens=sampling.max_new_tokens,
                stop_strings=list(STOP_STRINGS),
                tokenizer=self.tokenizer,
                pad_token_id=pad_id,
                eos_token_id=eos_id,
                return_dict_in_generate=True,
                output_logits=True,
                **options,
            )
        if was_training:
            self.model.train()
        generated = output.sequences[:, width:]
        # log p(sampled token) per step, gathered step by step (the full steps × vocab tensor can be large)
        scorer = Sampler(sampling.temperature)
        logprobs = torch.stack(
            [scorer.logprobs(step.float(), generated[:, t]) for t, step in enumerate(output.logits)], dim=1
        ).cpu()
        generated = generated.cpu()
        completions = []
        for row in range(len(prompts)):
            ids = generated[row].tolist()
            ids = ids[: self._completion_length(ids, eos_id)]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            row_logprobs = logprobs[row, : len(ids)].tolist()
            completions.append(Completion(text, ids, row_logprobs, _finish(text, ids, eos_id, sampling.max_new_tokens)))
        return completions

    def _completion_length(self, ids: list[int], eos_id: int | None) -> int:
        """Sampled tokens before the padding: up to the first end-of-turn token (kept) or the first stop string."""
        text = ""
        for position, token in enumerate(ids):
            if token == eos_id:
                return position + 1
            text += self.tokenizer.decode([token], skip_special_tokens=False)
            if any(stop in text[-20:] for stop in STOP_STRINGS):
                return position + 1
        return len(ids)


class VLLMPolicy:
    """Sampling with vLLM on a GPU, in the training process; :meth:`load_weights` copies the learner's weights in.

    Needs the ``vllm`` extra (``pip install 'rezero[vllm]'``) and a CUDA GPU. Follows TRL's colocate mode: no engine
    subprocess (``VLLM_ENABLE_V1_MULTIPROCESSING=0``), log-probs after temperature/top-p (``processed_logprobs``),
    weights pushed with ``load_weights`` and the prefix cache reset after each push.
    """

    def __init__(
        self,
        model_path: str,
        formatter: ChatFormatter,
        gpu_memory_utilization: float = 0.3,
        max_model_len: int = 4096,
        dtype: str = "auto",
        seed: int = 0,
    ) -> None:
        import os

        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        try:
            from vllm import LLM
        except ImportError as error:
            raise ImportError(
                "VLLMPolicy needs vLLM on a CUDA machine: pip install 'rezero[vllm]' (or use the transformers backend)"
            ) from error
        self.formatter = formatter
        self.llm = LLM(
            model=model_path,
            dtype=dtype,
            seed=seed,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len,
            logprobs_mode="processed_logprobs",
        )

    def generate(
        self, prompts: Sequence[Sequence[int]], sampling: SamplingConfig, seed: int | None = None
    ) -> list[Completion]:
        from vllm import SamplingParams, TokensPrompt

        params = [
            SamplingParams(
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k if sampling.top_k > 0 else -1,
                max_tokens=sampling.max_new_tokens,
                stop=list(STOP_STRINGS),
                include_stop_str_in_output=True,
                logprobs=0,
                seed=None if seed is None else seed + i,
            )
            for i in range(len(prompts))
        ]
        outputs = self.llm.generate([TokensPrompt(prompt_token_ids=list(p)) for p in prompts], params, use_tqdm=False)
        eos_id = self.formatter.eos_token_id
        completions = []
        for output in outputs:
            sample = output.outputs[0]
            ids = list(sample.token_ids)
            logprobs = [float(step[token].logprob) for step, token in zip(sample.logprobs or [], ids, strict=False)]
            text = self.formatter.tokenizer.decode(ids, skip_special_tokens=True)
            completions.append(Completion(text, ids, logprobs, _finish(text, ids, eos_id, sampling.max_new_tokens)))
        return completions

    def load_weights(self, model: Any) -> None:
        """Copy the learner's current weights into the engine (a peft model is merged, copied, then unmerged)."""
        is_peft = hasattr(model, "merge_adapter")
        if is_peft:
            model.merge_adapter()
        try:
            weights = []
            for name, parameter in model.named_parameters():
                if "lora_" in name or "original_module" in name:
                    continue
                clean = name.removeprefix("base_model.model.").replace(".base_layer", "")
                weights.append((clean.replace("modules_to_save.default.", ""), parameter.data))
            runner = self.llm.llm_engine.model_executor.driver_worker.model_runner
            runner.model.load_weights(weights)
            self.llm.reset_prefix_cache()
        finally:
            if is_peft:
                model.unmerge_adapter()
