"""Live mode: play one episode of ``SearchQA-v0`` turn by turn — on a task of the dataset or a question typed in —
with the scripted searcher or a model checkpoint, yielding the episode as a log record after every turn so the UI
can show it step by step.

A checkpoint is any of: a training run directory (its latest checkpoint that verifies), a checkpoint folder
(``checkpoints/step-N``, whose ``model/`` holds a LoRA adapter or full weights), a model folder, a hub id, or one of
the short names of :mod:`rezero_agents.models` (``smollm2-135m``, ``tiny-random``); checkpoints are read and verified
by :mod:`rezero_agents.checkpoints`. Models decode greedily. The app loads only what a :class:`ModelAllowList`
allows: the run directories and models it was started with.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

import rezero_env  # noqa: F401  (registers SearchQA-v0)
from rezero_agents import checkpoints
from rezero_agents.models import DEFAULT_MODEL
from rezero_agents.records import live_record
from rezero_agents.scripted import ScriptedSearcher
from rezero_env.types import Message, Task, current_task, split_tasks

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
    tasks = split_tasks(env)
    env.close()
    return [(f"{i}: {task.question}", i) for i, task in enumerate(tasks[:limit])]


@dataclass(frozen=True)
class CheckpointSpec:
    """How to load a checkpoint: the weights (``source``), the base model under an adapter, few-shot prompting,
    and the verified training checkpoint when ``source`` is one's ``model/`` folder."""

    source: str
    base_model: str | None
    few_shot: bool
    checkpoint: checkpoints.CheckpointInfo | None = field(default=None, compare=False, repr=False)


def resolve_checkpoint(name: str) -> CheckpointSpec:
    """Work out what ``name`` (see the module docstring) points at.

    Raises:
        FileNotFoundError: a run directory without checkpoints.
        rezero_agents.checkpoints.CheckpointError: a damaged checkpoint (the message names the file).
    """
    path = Path(name).expanduser()
    if not path.exists():
        return CheckpointSpec(name, None, few_shot=True)  # a short name or hub id
    info = checkpoints.resolve(path)
    if info is None and (path / checkpoints.CHECKPOINTS_DIR).is_dir():
        raise FileNotFoundError(
            f"{path}: the run has no checkpoints (no checkpoints/latest, no step-* folder): was a checkpoint saved?"
        )
    if info is not None:
        base = info.base_model(DEFAULT_MODEL) if info.is_adapter else None
        return CheckpointSpec(str(info.model_dir), base, info.few_shot, checkpoint=info)
    if (path / "adapter_config.json").is_file():
        adapter_config = json.loads((path / "adapter_config.json").read_text())
        return CheckpointSpec(str(path), str(adapter_config.get("base_model_name_or_path", "")), few_shot=False)
    return CheckpointSpec(str(path), None, few_shot=True)


class ModelAllowList:
    """The models live mode may load: the names and folders given at start-up.

    A name (a short name such as ``smollm2-135m``, or a hub id) is allowed when it was given exactly; a path when
    it resolves (symlinks and ``..`` followed) to a given folder, or to a checkpoint inside a given run or
    ``checkpoints/`` folder (``checkpoints``, ``checkpoints/step-N``, ``step-N``, each optionally with ``/model``).

    Example:
        >>> allowed = ModelAllowList(["smollm2-135m"])
        >>> allowed.allows("smollm2-135m"), allowed.allows("some-org/some-model")
        (True, False)
    """

    def __init__(self, entries: Iterable[str | Path]) -> None:
        self.entries: list[str] = []
        self._names: set[str] = set()
        self._folders: set[Path] = set()
        for entry in entries:
            text = str(entry).strip()
            if not text or text in self.entries:
                continue
            self.entries.append(text)
            path = Path(text).expanduser()
            if path.exists() or _looks_like_a_path(text):
                self._folders.add(path.resolve())
            else:
                self._names.add(text)

    def allows(self, name: str) -> bool:
        """Whether ``name`` (as typed into the checkpoint box) may be loaded."""
        name = name.strip()
        path = Path(name).expanduser()
        if not path.exists():
            return name in self._names and not _looks_like_a_path(name)
        resolved = path.resolve()
        for folder in self._folders:
            if resolved == folder:
                return True
            if resolved.is_relative_to(folder) and _is_checkpoint_part(resolved.relative_to(folder).parts):
                return True
        return False

    def refusal(self, name: str) -> str:
        """Why ``name`` is refused, and how to allow it."""
        listed = ", ".join(self.entries[:6]) + (", …" if len(self.entries) > 6 else "") or "none"
        return (
            f"{name!r} is not one of the models this app was started with ({listed}); restart it with "
            f"--allow-model {name} to load it"
        )


def _looks_like_a_path(name: str) -> bool:
    """A name that means a (missing) local folder rather than a hub id or short name."""
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def _is_checkpoint_part(parts: Sequence[str]) -> bool:
    """``parts`` (below an allowed folder) name a checkpoint: ``[checkpoints/][step-N[/model]]``."""
    rest = list(parts)
    if rest and rest[0] == checkpoints.CHECKPOINTS_DIR:
        rest = rest[1:]
        if not rest:
            return True
    if not rest or not checkpoints.is_step_name(rest[0]):
        return False
    return rest[1:] in ([], [checkpoints.MODEL_DIR])


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
        if spec.checkpoint is not None:  # a training checkpoint: read as every reader reads it
            base = spec.base_model or DEFAULT_MODEL
            model = checkpoints.load_checkpoint_model(spec.checkpoint, base)
            tokenizer = load_tokenizer(checkpoints.tokenizer_source(spec.checkpoint, base))
        elif spec.base_model:  # an adapter folder
            from peft import PeftModel

            model = PeftModel.from_pretrained(load_model(spec.base_model), spec.source)
            tokenizer = load_tokenizer(spec.base_model)
        else:
            model = load_model(spec.source)
            tokenizer = load_tokenizer(spec.source)
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
    task = current_task(env)
    record = live_record(task, info, policy=policy, model=model)
    yield record
    total = 0.0
    while True:
        action = next_message(info["messages"])
        _, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        record = live_record(
            task,
            info,
            policy=policy,
            model=model,
            reward=total,
            terminated=terminated,
            truncated=truncated,
            started_at=record["started_at"],
        )
        yield record
        if terminated or truncated:
            return
