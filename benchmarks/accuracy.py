"""``accuracy``: the base model, the scripted searcher and a trained checkpoint on the synthetic world's test split
and on rezero-apollo's test split, judged alike: accuracy, searches, retry rate, mean reward and reward per term.

Every policy plays the same environments (``SearchQA-v0``, BM25 top-``top_k``, ReZero's reward preset, the default
judge: normalised exact match or token F1 ≥ 0.8) with greedy decoding, so two runs give the same numbers. The
settings are the ``cpu-demo`` preset's evaluation settings: ``max_turns``, ``max_new_tokens``, the base model shown
the worked examples (``eval_base_few_shot``), the checkpoint prompted as it was trained (its ``few_shot``).

- **Synthetic**: the first ``questions`` of the embedded world's test split (all 160 in full mode, as the demo).
- **rezero-apollo**: ReZero's own test split, ``train_test_split(test_size=0.1, seed=42)`` over its 318 questions
  (32); the folder comes from ``$REZERO_APOLLO_DIR`` or ``<repo>/../shared/datasets/rezero-apollo`` and is skipped,
  with a note, when absent. Its chunks are long, so episodes may use up to ``apollo_sequence_tokens`` tokens.
- **Trained checkpoint**: ``$REZERO_CHECKPOINT`` (a ``checkpoints/step-N`` folder, a ``checkpoints/`` folder or a
  run folder; the latest checkpoint is taken) or ``runs/cpu-demo/checkpoints/<latest>``; when there is none the
  table says so (run ``make demo``) — this suite never trains.
- **Retry-reward ablation**: the checkpoint against ``$REZERO_CHECKPOINT_NO_RETRY`` (one trained with the retry term
  off), both evaluated with the full reward, when both exist; otherwise the table says which is missing.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import rezero_env  # noqa: F401  (registers the ids)
from benchmarks.common import SuiteResult, Target
from rezero_agents.chat import ChatFormatter
from rezero_agents.checkpoints import load_checkpoint_model as load_trained_model
from rezero_agents.checkpoints import resolve, verify
from rezero_agents.evaluation import evaluate_policy
from rezero_agents.grpo_config import PRESETS
from rezero_agents.models import DEFAULT_MODEL, load_model, load_tokenizer
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.prompting import FEW_SHOT_MESSAGES
from rezero_agents.rollout import TextPolicy
from rezero_agents.scripted import ScriptedSearcher
from rezero_agents.stats import accuracy_summary
from rezero_env.data import load_dataset
from rezero_env.rewards import make_judge
from rezero_env.rewards.correctness import correctness_reward
from rezero_env.rewards.judge import default_judge
from rezero_env.rewards.presets import REWARD_PRESETS

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_VARIABLE = "REZERO_CHECKPOINT"
NO_RETRY_VARIABLE = "REZERO_CHECKPOINT_NO_RETRY"
APOLLO_VARIABLE = "REZERO_APOLLO_DIR"
DEFAULT_CHECKPOINTS = REPO_ROOT / "runs" / "cpu-demo" / "checkpoints"
DEFAULT_APOLLO = REPO_ROOT.parent / "shared" / "datasets" / "rezero-apollo"
NO_CHECKPOINT = "no checkpoint (run make demo)"
SCRIPTED, BASE, TRAINED, NO_RETRY = (
    "scripted searcher (no LLM)",
    "base model",
    "trained checkpoint",
    "trained, no retry",
)
SYNTHETIC, APOLLO = "synthetic", "rezero-apollo"
SCRIPTED_GOAL = 95.0
"""The scripted searcher must answer this share (%) of synthetic questions: the world is answerable as judged."""
GAIN_GOAL = 10.0
"""The trained checkpoint should beat the base model on synthetic questions by this many accuracy points."""
_DEMO = PRESETS["cpu-demo"]


@dataclass(frozen=True)
class AccuracySetup:
    """What is evaluated and how. ``None`` paths are looked up in the environment variables (see the module doc)."""

    model: str = DEFAULT_MODEL
    """The base model (also the base of an adapter checkpoint whose state names none)."""
    questions: int | None = _DEMO.eval_questions or None
    """First N questions of each test split (None: all; the demo evaluates the whole synthetic test split)."""
    max_turns: int = _DEMO.max_turns
    top_k: int = _DEMO.top_k
    max_new_tokens: int = _DEMO.max_new_tokens
    synthetic_sequence_tokens: int = _DEMO.max_sequence_tokens
    apollo_sequence_tokens: int = 4096
    batch_size: int = _DEMO.rollout_batch_size
    base_few_shot: bool = _DEMO.eval_base_few_shot
    reward: str = _DEMO.reward
    checkpoint: Path | None = None
    no_retry_checkpoint: Path | None = None
    apollo_dir: Path | None = None
    include_base: bool = True
    """Evaluate the base model (False: scripted searcher and checkpoints only)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.questions is not None and self.questions < 1:
            raise ValueError(f"questions must be >= 1 or None, got {self.questions}")
        for name in ("max_turns", "top_k", "max_new_tokens", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.reward not in REWARD_PRESETS:
            raise ValueError(f"reward must be one of {sorted(REWARD_PRESETS)}, got {self.reward!r}")


def _path_from(variable: str, default: Path) -> tuple[Path, bool]:
    """The path in ``$variable`` (and True), else ``default`` (and False)."""
    value = os.environ.get(variable, "").strip()
    return (Path(value).expanduser(), True) if value else (default, False)


def resolve_checkpoint(path: Path) -> Path | None:
    """The checkpoint folder that ``path`` names: the folder itself, or the latest checkpoint of a ``checkpoints/``
    folder or of a run folder that verifies (:func:`rezero_agents.checkpoints.resolve`); None if none.

    Example:
        >>> resolve_checkpoint(Path("/nonexistent")) is None
        True

    Raises:
        CheckpointError: the checkpoint is damaged (the message names the file).
    """
    info = resolve(path)
    return None if info is None else info.folder


@dataclass(frozen=True)
class Split:
    """One test split every policy plays."""

    name: str
    dataset: str
    max_sequence_tokens: int
    judge: str = "em_f1"
    """The dataset's recommended judge (``QADataset.recommended_judge``)."""


@dataclass(frozen=True)
class Checkpoint:
    """A trained checkpoint and what its saved state says about how it was trained."""

    folder: Path
    base_model: str
    few_shot: bool
    reward: str


def read_checkpoint(folder: Path, default_model: str) -> Checkpoint:
    """The base model, prompting and reward preset recorded in ``folder/state.json`` (defaults when absent), read
    and verified by :mod:`rezero_agents.checkpoints` like every other reader.

    Raises:
        CheckpointError: the checkpoint is damaged (the message names the file).
    """
    info = verify(folder, training=False)
    return Checkpoint(
        folder=folder, base_model=info.base_model(default_model), few_shot=info.few_shot, reward=info.reward
    )


def load_checkpoint_model(checkpoint: Checkpoint) -> Any:
    """The checkpoint's model: its LoRA adapter merged into the base model, or its full weights."""
    info = verify(checkpoint.folder, training=False)
    return load_trained_model(info, checkpoint.base_model, merge=True)


def model_policy(model: Any, tokenizer_source: str, few_shot: bool, batch_size: int) -> TransformersPolicy:
    """A policy around ``model``, prompted with the worked examples when ``few_shot``."""
    formatter = ChatFormatter(load_tokenizer(tokenizer_source), FEW_SHOT_MESSAGES if few_shot else ())
    return TransformersPolicy(model, formatter, batch_size=batch_size)


@dataclass
class Row:
    """One policy on one split: its evaluation summary, or why there is none."""

    policy: str
    split: str
    summary: dict[str, Any] | None = None
    note: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """Process CPU time (all threads): on a shared machine, a steadier measure of the work than wall time."""
    judged: dict[str, dict[str, Any]] | None = None
    """Judge name → :func:`rezero_agents.stats.accuracy_summary` of the same episodes re-judged by it (``em_f1``
    and the split's recommended judge)."""


def rejudge(episodes: Sequence[Any], judges: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each judge's accuracy (with a 95 % Wilson interval) over the final answers of ``episodes``."""
    out = {}
    for name in dict.fromkeys(judges):
        judge = make_judge(name)
        outcomes = [
            correctness_reward(e.messages, e.task.answers, judge, question=e.task.question) >= 0.5 for e in episodes
        ]
        out[name] = accuracy_summary(outcomes)
    return out


def evaluate_on(policy: TransformersPolicy | TextPolicy, split: Split, setup: AccuracySetup) -> Row:
    """Greedy episodes of ``policy`` on the first ``setup.questions`` of ``split``, with wall and CPU seconds."""

    def make_env() -> gym.Env[str, str]:
        return gym.make(
            "SearchQA-v0",
            dataset=split.dataset,
            split="test",
            top_k=setup.top_k,
            max_turns=setup.max_turns,
            reward=setup.reward,
        )

    start, cpu_start = time.perf_counter(), time.process_time()
    summary, episodes = evaluate_policy(
        policy,
        make_env,
        setup.questions,
        num_envs=min(setup.batch_size, setup.questions or setup.batch_size),
        sampling=SamplingConfig(temperature=0.0, max_new_tokens=setup.max_new_tokens),
        seed=setup.seed,
        max_sequence_tokens=split.max_sequence_tokens,
    )
    return Row(
        "",
        split.name,
        summary,
        seconds=round(time.perf_counter() - start, 1),
        cpu_seconds=round(time.process_time() - cpu_start, 1),
        judged=rejudge(episodes, ("em_f1", split.judge)),
    )


def measure(setup: AccuracySetup | None = None) -> dict[str, Any]:
    """Evaluate every available policy on every available split; returns settings, rows and notes (JSON-ready)."""
    setup = setup or AccuracySetup()
    notes: list[str] = []
    splits = [
        Split(SYNTHETIC, "synthetic", setup.synthetic_sequence_tokens, load_dataset("synthetic").recommended_judge)
    ]
    apollo_dir, apollo_given = (
        (setup.apollo_dir, True) if setup.apollo_dir is not None else _path_from(APOLLO_VARIABLE, DEFAULT_APOLLO)
    )
    if (apollo_dir / "chunks.csv").is_file() and (apollo_dir / "questions.jsonl").is_file():
        apollo_path = str(apollo_dir.resolve())
        splits.append(
            Split(APOLLO, apollo_path, setup.apollo_sequence_tokens, load_dataset(apollo_path).recommended_judge)
        )
    else:
        where = f"${APOLLO_VARIABLE}" if apollo_given else "the default place"
        notes.append(f"{APOLLO} skipped: no chunks.csv + questions.jsonl at {apollo_dir} ({where}).")

    checkpoint_path = setup.checkpoint or _path_from(CHECKPOINT_VARIABLE, DEFAULT_CHECKPOINTS)[0]
    no_retry_path, no_retry_given = (
        (setup.no_retry_checkpoint, True)
        if setup.no_retry_checkpoint is not None
        else _path_from(NO_RETRY_VARIABLE, Path())
    )
    trained_folder = resolve_checkpoint(checkpoint_path)
    no_retry_folder = resolve_checkpoint(no_retry_path) if no_retry_given else None

    rows: list[Row] = []

    def play(label: str, policy: TransformersPolicy | TextPolicy) -> None:
        for split in splits:
            logger.info("accuracy: %s on %s", label, split.name)
            row = evaluate_on(policy, split, setup)
            row.policy = label
            rows.append(row)

    play(SCRIPTED, ScriptedSearcher())
    if setup.include_base:
        play(BASE, model_policy(load_model(setup.model), setup.model, setup.base_few_shot, setup.batch_size))
        gc.collect()  # release the model before loading the next

    checkpoints: dict[str, dict[str, Any]] = {}
    for label, folder in ((TRAINED, trained_folder), (NO_RETRY, no_retry_folder)):
        if folder is None:
            continue
        checkpoint = read_checkpoint(folder, setup.model)
        checkpoints[label] = {**asdict(checkpoint), "folder": _display(folder)}
        model = load_checkpoint_model(checkpoint)
        play(label, model_policy(model, checkpoint.base_model, checkpoint.few_shot, setup.batch_size))
        del model
        gc.collect()
    if trained_folder is None:
        rows.append(Row(TRAINED, "–", note=NO_CHECKPOINT))
        notes.append(f"No trained checkpoint at {checkpoint_path} (set ${CHECKPOINT_VARIABLE} or run make demo).")

    if trained_folder is None or no_retry_folder is None:
        missing = []
        if trained_folder is None:
            missing.append("a trained checkpoint")
        if no_retry_folder is None:
            where = (
                f"${NO_RETRY_VARIABLE}={no_retry_path} holds none" if no_retry_given else f"${NO_RETRY_VARIABLE} unset"
            )
            missing.append(f"a checkpoint trained with the retry term off ({where})")
        ablation = "Not run: needs " + " and ".join(missing) + "; this suite does not train."
    else:
        ablation = "run"
        if checkpoints[TRAINED]["reward"] == checkpoints[NO_RETRY]["reward"]:
            notes.append(
                f"Both checkpoints record the reward preset {checkpoints[TRAINED]['reward']!r}: check that "
                f"${NO_RETRY_VARIABLE} was really trained with the retry term off."
            )

    return {
        "settings": {
            **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(setup).items()},
            "splits": [asdict(s) for s in splits],
            "sampling": "greedy",
            "judge": repr(default_judge),
        },
        "checkpoints": checkpoints,
        "rows": [asdict(r) for r in rows],
        "retry_ablation": ablation,
        "notes": notes,
    }


def _display(path: Path) -> str:
    """``path`` relative to the repository when inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# --- tables ---------------------------------------------------------------------------------------------------

Cell = Callable[[dict[str, Any]], str]


def _with_interval(summary: dict[str, Any]) -> str:
    """``accuracy [low, high]``: the 95 % Wilson interval of the summary's accuracy over its episodes."""
    n = int(summary["episodes"])
    stats = accuracy_summary([True] * round(summary["accuracy"] * n) + [False] * (n - round(summary["accuracy"] * n)))
    return f"{stats['accuracy']:.1%} [{stats['low']:.0%}, {stats['high']:.0%}]"


def judged_cell(stats: dict[str, Any]) -> str:
    """``accuracy (correct/n) [low, high]`` from :func:`rezero_agents.stats.accuracy_summary`."""
    return f"{stats['accuracy']:.1%} ({stats['correct']}/{stats['n']}) [{stats['low']:.0%}, {stats['high']:.0%}]"


MAIN_COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("questions", lambda s: str(s["episodes"])),
    ("accuracy (em_f1) [95 % CI]", lambda s: _with_interval(s)),
    ("searches/episode", lambda s: f"{s['mean_searches']:.2f}"),
    ("retry rate", lambda s: f"{s['retry_rate']:.1%}"),
    ("format compliance", lambda s: f"{s['format_compliance']:.1%}" if "format_compliance" in s else "–"),
    ("answer rate", lambda s: f"{s['answer_rate']:.1%}"),
    ("mean reward", lambda s: f"{s['mean_reward']:.2f}"),
)


def _term_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for row in rows:
        for name in (row["summary"] or {}).get("reward_terms", {}):
            if name not in names:
                names.append(name)
    return names


def tables(result: dict[str, Any]) -> str:
    """The suite's markdown: settings line, main table, reward per term, retry ablation and notes."""
    settings, rows = result["settings"], result["rows"]
    split_names = ", ".join(s["name"] for s in settings["splits"])
    questions = "all" if settings["questions"] is None else f"the first {settings['questions']}"
    lines = [
        f"Test splits ({split_names}): {questions} questions each; greedy decoding, ≤ {settings['max_turns']} turns "
        f"of ≤ {settings['max_new_tokens']} new tokens, BM25 top-{settings['top_k']}, reward preset "
        f"`{settings['reward']}`; the main table's accuracy, reward and terms use one judge for every row (`em_f1`: "
        "normalised exact match or token F1 ≥ 0.8), with a 95 % Wilson interval; the judges table below re-judges the "
        "same answers under each split's recommended judge. "
        f"Base model `{settings['model']}`{' shown the worked examples' if settings['base_few_shot'] else ''}"
        + (f"; checkpoint `{result['checkpoints'][TRAINED]['folder']}`." if TRAINED in result["checkpoints"] else "."),
        "",
        "| policy | split | " + " | ".join(name for name, _ in MAIN_COLUMNS) + " | seconds |",
        "|---|---|" + "---|" * (len(MAIN_COLUMNS) + 1),
    ]
    for row in rows:
        summary = row["summary"]
        if summary is None:
            cells = [row["note"]] + ["–"] * len(MAIN_COLUMNS)
        else:
            cells = [cell(summary) for _, cell in MAIN_COLUMNS] + [f"{row['seconds']:.0f}"]
        lines.append(f"| {row['policy']} | {row['split']} | " + " | ".join(cells) + " |")

    judged_rows = [r for r in rows if r.get("judged")]
    if judged_rows:
        recommended = {s["name"]: s.get("judge", "em_f1") for s in settings["splits"]}
        lines += [
            "",
            "Accuracy by judge (the same final answers; `em_f1` for Search-R1-style comparison, the split's "
            "recommended judge — declared by its dataset, measured by the `judges` suite — for what a careful grader "
            "would accept; 95 % Wilson intervals):",
            "",
            "| policy | split | em_f1 | recommended judge | accuracy under it |",
            "|---|---|---|---|---|",
        ]
        for row in judged_rows:
            name = recommended.get(row["split"], "em_f1")
            judged = row["judged"]
            lines.append(
                f"| {row['policy']} | {row['split']} | {judged_cell(judged['em_f1'])} | `{name}` | "
                f"{judged_cell(judged[name])} |"
            )

    terms = _term_names(rows)
    weights = {w.name: weight for w, weight in REWARD_PRESETS.get(settings["reward"], ())}
    if terms:
        lines += [
            "",
            "Reward per term (mean raw value; the reward adds weight × value):",
            "",
            "| policy | split | " + " | ".join(f"{t} (×{weights.get(t, 1):g})" for t in terms) + " |",
            "|---|---|" + "---|" * len(terms),
        ]
        for row in rows:
            if row["summary"] is not None:
                values = row["summary"]["reward_terms"]
                cells = [f"{values[t]:.2f}" if t in values else "–" for t in terms]
                lines.append(f"| {row['policy']} | {row['split']} | " + " | ".join(cells) + " |")

    lines += ["", "Retry-reward ablation (checkpoints trained with and without the retry term):", ""]
    if result["retry_ablation"] != "run":
        lines.append(result["retry_ablation"])
    else:
        by = {(r["policy"], r["split"]): r["summary"] for r in rows if r["summary"] is not None}
        lines += [
            "| checkpoint (training reward) | split | accuracy | searches/episode | retry rate | mean reward |",
            "|---|---|---|---|---|---|",
        ]
        for label, name in ((TRAINED, "with retry"), (NO_RETRY, "retry off")):
            checkpoint = result["checkpoints"][label]
            for split in settings["splits"]:
                s = by[(label, split["name"])]
                lines.append(
                    f"| {name} (`{checkpoint['folder']}`, preset `{checkpoint['reward']}`) | {split['name']} | "
                    f"{s['accuracy']:.1%} | "
                    f"{s['mean_searches']:.2f} | {s['retry_rate']:.1%} | {s['mean_reward']:.2f} |"
                )
    if result["notes"]:
        lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines)


def targets(result: dict[str, Any]) -> list[Target]:
    """Scripted-searcher accuracy on the synthetic split (the world is answerable as judged) and, when a checkpoint
    and the base model were evaluated, the checkpoint's accuracy gain over the base model there."""
    by = {(r["policy"], r["split"]): r["summary"] for r in result["rows"] if r["summary"] is not None}
    found = [
        Target(
            "scripted searcher accuracy, synthetic (%)",
            round(100 * by[SCRIPTED, SYNTHETIC]["accuracy"], 1),
            SCRIPTED_GOAL,
        )
    ]
    if (TRAINED, SYNTHETIC) in by and (BASE, SYNTHETIC) in by:
        gain = 100 * (by[TRAINED, SYNTHETIC]["accuracy"] - by[BASE, SYNTHETIC]["accuracy"])
        found.append(Target("trained − base accuracy, synthetic (points)", round(gain, 1), GAIN_GOAL))
    return found


QUICK = AccuracySetup(questions=4, batch_size=4)
"""``--quick``: 4 questions per split. On quiet cores the base model's synthetic row took 39 s and the checkpoint's
Apollo row 46 s (about 3 minutes for the suite, estimated); sharing the 2 cores with other jobs, the suite took 9 min.
"""


def run(quick: bool = False, setup: AccuracySetup | None = None) -> SuiteResult:
    """The suite: ``setup`` (default: the full setup, or :data:`QUICK` when ``quick``)."""
    setup = setup or (QUICK if quick else AccuracySetup())
    result = measure(setup)
    return SuiteResult("accuracy", result, targets(result), tables(result))
