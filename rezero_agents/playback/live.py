"""Live mode: play one episode of ``SearchQA-v0`` turn by turn — on a task of the dataset or a question typed in —
with the scripted searcher or a model checkpoint, yielding the episode as a log record after every turn so the UI
can show it step by step.

A checkpoint is any of: a training run directory (its ``checkpoints/latest``), a checkpoint folder
(``checkpoints/step-N``, whose ``model/`` holds a LoRA adapter or full weights), a model folder, a hub id, or one of
the short names of :mod:`rezero_agents.models` (``smollm2-135m``, ``tiny-random``). Models decode greedily.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import rezero_env  # noqa: F401  (registers SearchQA-v0)
from rezero_agents.episode_log import SCHEMA_VERSION, now
from rezero_agents.rollout import CORRECTNESS_TERMS
from rezero_agents.scripted import ScriptedSearcher
from rezero_env.types import Message, Task

logger = logging.getLogger(__name__)

#: Writes the next assistant message of a transcript.
NextMessage = Callable[[Sequence[Message]], str]
SCRIPTED = "scripted searcher"


@dataclass(frozen=True)
class LiveSettings:
    """The environment live episodes run in (``gym.make("SearchQA-v0", ...)`` arguments)."""

    dataset: str = "synthetic"
    split: str = "test"
    top_k: int = 3
    max_turns: int = 4
    reward: str = "rezero"

    def make_env(self, max_turns: int | None = None) -> gym.Env[str, str]:
        return gym.make(
            "SearchQA-v0",
            dataset=self.dataset,
            split=self.split,
            top_k=self.top_k,
            max_turns=max_turns or self.max_turns,
            reward=self.reward,
        )


def task_choices(settings: LiveSettings, limit: int = 500) -> list[tuple[str, int]]:
    """``(label, task index)`` of the first ``limit`` tasks of the live split, for a picker."""
    env = settings.make_env()
    tasks: Sequence[Task] = env.unwrapped.tasks  # type: ignore[attr-defined]
    env.close()
    return [(f"{i}: {task.question}", i) for i, task in enumerate(tasks[:limit])]


@dataclass(frozen=True)
class CheckpointSpec:
    """How to load a checkpoint: the weights (``source``), the base model under an adapter, few-shot prompting."""

    source: str
    base_model: str | None
    few_shot: bool


def resolve_checkpoint(name: str) -> CheckpointSpec:
    """Work out what ``name`` (see the module docstring) points at.

    Raises:
        FileNotFoundError: a run directory without checkpoints, or a checkpoint folder without ``model/``.
    """
    path = Path(name).expanduser()
    if not path.exists():
        return CheckpointSpec(name, None, few_shot=True)  # a short name or hub id
    latest = path / "checkpoints" / "latest"
    if latest.is_file():
        path = path / "checkpoints" / latest.read_text().strip()
    elif (path / "checkpoints").is_dir() and not (path / "state.json").is_file():
        raise FileNotFoundError(f"{path}: the run has no checkpoints/latest (was a checkpoint saved?)")
    if (path / "state.json").is_file():
        state = json.loads((path / "state.json").read_text())
        config = state.get("config") or {}
        model_dir = path / "model"
        if not model_dir.is_dir():
            raise FileNotFoundError(f"{path}: a checkpoint folder needs a model/ subfolder")
        base = str(state.get("base_model") or config.get("model") or "")
        adapter = (model_dir / "adapter_config.json").is_file()
        return CheckpointSpec(str(model_dir), base if adapter else None, bool(config.get("few_shot", False)))
    if (path / "adapter_config.json").is_file():
        adapter_config = json.loads((path / "adapter_config.json").read_text())
        return CheckpointSpec(str(path), str(adapter_config.get("base_model_name_or_path", "")), few_shot=False)
    return CheckpointSpec(str(path), None, few_shot=True)


_load_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def load_checkpoint_policy(name: str, max_new_tokens: int = 96) -> NextMessage:
    """A greedy next-message function for the checkpoint ``name`` (loaded once and kept for later calls)."""
    from rezero_agents.chat import ChatFormatter
    from rezero_agents.models import load_model, load_tokenizer
    from rezero_agents.policy import SamplingConfig, TransformersPolicy, respond
    from rezero_agents.prompting import FEW_SHOT_MESSAGES

    spec = resolve_checkpoint(name)
    logger.info("Loading %s for live mode", spec)
    model: Any
    with _load_lock:
        tokenizer = load_tokenizer(spec.base_model or spec.source)
        if spec.base_model:
            from peft import PeftModel

            model = PeftModel.from_pretrained(load_model(spec.base_model), spec.source)
        else:
            model = load_model(spec.source)
    formatter = ChatFormatter(tokenizer, FEW_SHOT_MESSAGES if spec.few_shot else ())
    policy = TransformersPolicy(model, formatter, batch_size=1)
    sampling = SamplingConfig(temperature=0.0, max_new_tokens=max_new_tokens)
    lock = threading.Lock()  # one generation at a time per model

    def next_message(messages: Sequence[Message]) -> str:
        with lock:
            return respond(policy, [messages], sampling)[0].text

    return next_message


def scripted_policy() -> NextMessage:
    """The scripted searcher (no model; instant)."""
    return ScriptedSearcher().next_message  # type: ignore[return-value]


def play_live(
    env: gym.Env[str, str],
    next_message: NextMessage,
    *,
    task_index: int | None = None,
    question: str | None = None,
    gold: str = "",
    policy: str = SCRIPTED,
    model: str = "",
) -> Iterator[dict[str, Any]]:
    """Play one episode and yield it as an episode-log-shaped record after the reset and after every turn (the
    last one is finished, with its rewards). Give ``task_index`` or a typed ``question`` (with an optional
    ``gold`` answer to score against)."""
    if question is not None and question.strip():
        answers = tuple(a.strip() for a in gold.split("|") if a.strip()) or ("",)
        options: dict[str, Any] = {"task": Task(id="live", question=question.strip(), answers=answers)}
    elif task_index is not None:
        options = {"task_index": int(task_index)}
    else:
        raise ValueError("Pick a task or type a question")
    _, info = env.reset(options=options)
    task: Task = env.unwrapped.task  # type: ignore[attr-defined]
    record = _record(task, info, policy, model)
    yield record
    total = 0.0
    while True:
        action = next_message(info["messages"])
        _, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        record = _record(task, info, policy, model, started_at=record["started_at"])
        record.update(reward=total, terminated=terminated, truncated=truncated)
        record["num_turns"] = info["turn"]
        if terminated or truncated:
            record["finished_at"] = now()
            record["correct"] = any(record["reward_terms"].get(n, 0.0) >= 1.0 for n in CORRECTNESS_TERMS)
            yield record
            return
        yield record


def _record(task: Task, info: dict[str, Any], policy: str, model: str, started_at: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": "live",
        "step": -1,
        "phase": "live",
        "task": {
            "id": task.id,
            "question": task.question,
            "answers": [a for a in task.answers if a],
            "supporting_ids": list(task.supporting_ids),
            "meta": dict(task.meta),
        },
        "messages": info["messages"],
        "searches": info["searches"],
        "reward": 0.0,
        "reward_terms": dict(info.get("reward_terms") or {}),
        "correct": False,
        "terminated": False,
        "truncated": False,
        "num_turns": info["turn"],
        "policy": policy,
        "model": model,
        "started_at": started_at or now(),
    }
