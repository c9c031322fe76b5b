"""A copy of the trained model for sampling in another dtype (bfloat16 rollouts from float32 master weights).

The learner's optimizer updates the float32 master weights; rollouts run on a :class:`SamplingCopy`: a plain
``transformers`` model in the sampling dtype whose weights are the master's with the LoRA adapters merged in
(``W + scale·B·A``, computed in float32 and cast once), so sampling pays neither the adapters' extra products nor
peft's wrappers. :meth:`SamplingCopy.refresh` re-copies the weights whenever a master parameter changed (an
optimizer step, a checkpoint load), so the copy never samples from stale weights; the in-place copy bumps the copy's
parameter versions, which makes the incremental decoder drop caches computed with the old weights.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from rezero_agents.incremental import weights_version
from rezero_agents.models import torch_dtype
from rezero_agents.scoring import causal_lm

logger = logging.getLogger(__name__)


def merged_state_dict(model: Any) -> dict[str, torch.Tensor]:
    """The weights of ``model`` (a causal LM, or a peft model around one) with active LoRA adapters merged in, under
    the plain model's parameter names, in float32 for the merged ones.

    Example:
        >>> import torch, transformers
        >>> from peft import LoraConfig, get_peft_model
        >>> config = transformers.LlamaConfig(vocab_size=16, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
        ...                                   num_attention_heads=2, num_key_value_heads=1)
        >>> base = transformers.LlamaForCausalLM(config)
        >>> peft = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"], init_lora_weights=False))
        >>> merged = merged_state_dict(peft)
        >>> layer = peft.get_base_model().model.layers[0].self_attn.q_proj
        >>> bool(torch.allclose(merged["model.layers.0.self_attn.q_proj.weight"],
        ...                     layer.base_layer.weight + layer.get_delta_weight("default")))
        True
    """
    from peft.tuners.lora import LoraLayer

    lm = causal_lm(model)
    delta_of: Any
    state = {
        name.replace(".base_layer", ""): parameter.detach()
        for name, parameter in lm.named_parameters()
        if ".lora_" not in name
    }
    for name, module in lm.named_modules():
        if isinstance(module, LoraLayer) and not module.merged:
            key = f"{name}.weight"
            delta_of = module.get_delta_weight  # type: ignore[attr-defined]  # on every LoRA layer type
            delta = sum(delta_of(adapter) for adapter in module.active_adapters)
            state[key] = state[key].float() + delta
    return state


class SamplingCopy:
    """``model``'s weights, LoRA merged, in ``dtype``, refreshed from ``model`` when its parameters change.

    Args:
        model: The trained model (a causal LM or a peft model around one).
        dtype: ``"float32"``, ``"bfloat16"`` or ``"float16"``.
    """

    def __init__(self, model: Any, dtype: str) -> None:
        from transformers import AutoModelForCausalLM

        self.source = model
        self.dtype = torch_dtype(dtype, "cpu")
        config = causal_lm(model).config
        self.model: Any = AutoModelForCausalLM.from_config(config, dtype=self.dtype)  # type: ignore[no-untyped-call]
        self.model.to(next(model.parameters()).device).eval().requires_grad_(False)
        self._synced: int | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Copy the source's weights if they changed since the last copy; returns whether it copied."""
        version = weights_version(self.source)
        if version == self._synced:
            return False
        state = merged_state_dict(self.source)
        with torch.no_grad():
            missing, unexpected = self.model.load_state_dict(state, strict=False)
        tied = {"lm_head.weight"} if getattr(self.model.config, "tie_word_embeddings", False) else set()
        if set(missing) - tied or unexpected:
            raise RuntimeError(f"SamplingCopy: weights do not match (missing {missing}, unexpected {unexpected})")
        self._synced = version
        logger.debug("SamplingCopy: weights refreshed (%s)", self.dtype)
        return True
