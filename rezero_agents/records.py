"""Episodes and their log records: the one place that builds an episode-log line (the learner, evaluation, the TRL
adapter, scripts and the playback Live tab all call :func:`episode_record` / :func:`episode_records`).

Schema (``schema_version`` 2; version 1 logs are still read — every field added in 2 is optional to readers) —
every line is an object with:

- ``schema_version`` (int), ``run_id`` (str), ``episode_id`` (str, unique within the run and phase, e.g.
  ``"train-3-5"``; absent in version 1), ``step`` (int, training step; -1 outside training), ``split`` (str),
  ``phase`` (``"train"``, ``"eval"``, ``"sft"`` or ``"live"``), ``group`` (int: episodes of one question in one step
  share it), ``stage`` (str or null: what an evaluation measured — ``"base"``, ``"base+few-shot"``, ``"warm-up"``,
  ``"step N"``, ``"best"``, ``"sampled T=0.9"``; null for training episodes), ``sample`` (int, only in sampled
  evaluations: which of the K samples of its question the episode is, 0 … K-1),
- ``task``: ``{"id", "question", "answers", "supporting_ids", "meta"}``,
- ``messages``: the environment's role/content transcript, ``prefix_messages``: the messages the policy was shown
  after the system message and before the question (few-shot worked episodes; ``[]`` when none, absent in version
  1), ``searches``: ``[{"turn", "query", "doc_ids", "error"}]``,
- ``reward`` (float), ``reward_terms`` ({name: raw value}), ``reward_weights`` ({name: weight}; ``reward`` is
  ``sum(weight × value)``), ``reward_notes`` ({name: one-line reason}), ``correct`` (bool: the ``correctness`` or
  ``exact_match`` term is 1), ``terminated``, ``truncated`` (bool), ``cut`` (bool: stopped by the token budget),
  ``turns`` (one entry per assistant turn the policy sampled: ``{"turn", "tokens", "cut"}`` — its number among the
  assistant turns, the tokens it generated, and whether ``max_new_tokens`` stopped it before it ended, which
  leaves its last tag open; ``[]`` for a text policy or a guide's episode; absent in older logs),
  ``num_turns`` (int), ``guide`` (bool: played by a guide such as the scripted searcher and trained off-policy,
  not sampled by the policy; absent before guidance existed), ``guide_turns`` (int: assistant turns a guide wrote
  and the policy was shown as context before it sampled the rest, i.e. an expert prefix; absent likewise),
  ``num_tokens`` (int), ``num_generated_tokens`` (int: the loss-mask sum; a guide episode's trained tokens),
- ``policy`` (str), ``model`` (str), ``checkpoint`` (str or null: the checkpoint folder the policy was loaded
  from), ``started_at``, ``finished_at`` (ISO 8601 UTC),
- ``learner`` (training episodes whose learner passed it; absent otherwise): what the update used —
  ``advantage`` (float), ``group_members`` (the ``episode_id`` of every episode of the group, this one included),
  ``group_reward_mean``, ``group_reward_std`` (sample std, ``ddof=1``, as the advantages use), ``loss_mask_runs``
  (the loss mask over ``num_tokens`` tokens, run-length encoded as ``[[value, length], …]``), ``logprobs`` (the
  sampling policy's log-prob of each trained token under its tempered distribution ``softmax(logits / T)``, in
  order: ``len == num_generated_tokens``; 0 for a guide's tokens), optionally
  ``ratios`` (the policy ratio of each trained token at the update) and ``tokens`` (the text of every token of the
  sequence, decoded one by one, for the token overlay).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rezero_env.types import Message, Task

#: The schema this code writes.
SCHEMA_VERSION = 2
#: The schemas it reads (version 1 records simply lack the fields added in 2).
READABLE_SCHEMA_VERSIONS = (1, 2)
#: Reward terms whose value 1 means the answer was judged right.
CORRECTNESS_TERMS = ("correctness", "exact_match")
#: Decimal places kept for log-probs and ratios in the log (1e-4 nats: far below what the overlay shows).
LOGPROB_DECIMALS = 4


def now() -> str:
    """The current time, ISO 8601 UTC with milliseconds."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def is_correct(reward_terms: Mapping[str, float]) -> bool:
    """The one "correct" rule: a correctness term (:data:`CORRECTNESS_TERMS`) reached 1.

    Example:
        >>> is_correct({"correctness": 1.0, "format": 0.0}), is_correct({"exact_match": 0.0})
        (True, False)
    """
    return any(float(reward_terms.get(name, 0.0)) >= 1.0 for name in CORRECTNESS_TERMS)


@dataclass
class Episode:
    """One finished episode. Token fields are empty for text policies."""

    task: Task
    group: int
    messages: list[Message] = field(default_factory=list)
    prefix_messages: list[Message] = field(default_factory=list)
    searches: list[dict[str, Any]] = field(default_factory=list)
    reward: float = 0.0
    reward_terms: dict[str, float] = field(default_factory=dict)
    reward_weights: dict[str, float] = field(default_factory=dict)
    reward_notes: dict[str, str] = field(default_factory=dict)
    terminated: bool = False
    truncated: bool = False
    cut: bool = False
    num_turns: int = 0
    token_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    """Why each sampled turn ended (``Completion.finish_reason``: ``stop``, ``eos`` or ``length``)."""
    turn_tokens: list[int] = field(default_factory=list)
    """Tokens each sampled turn generated."""
    guide: bool = False
    """Played by a guide (e.g. the scripted searcher) and tokenised for the learner, not sampled by the policy."""
    guide_turns: int = 0
    """Assistant turns written by a guide and replayed as context before the policy acted (expert prefixes)."""
    started_at: str = field(default_factory=now)
    finished_at: str = ""
    #: The tokenizer that made ``token_ids`` (set by the rollout; used to log token texts), not logged itself.
    tokenizer: Any = field(default=None, repr=False, compare=False)

    @property
    def correct(self) -> bool:
        return is_correct(self.reward_terms)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    def extend(self, ids: Sequence[int], trainable: bool, logprobs: Sequence[float] | None = None) -> None:
        self.token_ids += ids
        self.loss_mask += [int(trainable)] * len(ids)
        self.logprobs += list(logprobs) if logprobs is not None else [0.0] * len(ids)

    def finish(self, info: Mapping[str, Any], terminated: bool, truncated: bool) -> None:
        """Take the final transcript, searches and reward terms from the last step's ``info``."""
        self.messages = list(info["messages"])
        self.searches = list(info["searches"])
        self.reward_terms = dict(info.get("reward_terms") or {})
        self.reward_weights = dict(info.get("reward_weights") or {})
        self.reward_notes = dict(info.get("reward_notes") or {})
        self.terminated, self.truncated = terminated, truncated
        self.finished_at = now()


def run_lengths(mask: Sequence[int]) -> list[list[int]]:
    """``mask`` run-length encoded as ``[[value, length], …]``.

    Example:
        >>> run_lengths([0, 0, 1, 1, 1, 0]), expand_runs([[0, 2], [1, 3], [0, 1]])
        ([[0, 2], [1, 3], [0, 1]], [0, 0, 1, 1, 1, 0])
    """
    runs: list[list[int]] = []
    for value in mask:
        value = int(value)
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return runs


def expand_runs(runs: Sequence[Sequence[int]]) -> list[int]:
    """The mask that :func:`run_lengths` encoded.

    Raises:
        ValueError: a run is not a ``[value, length]`` pair with a length >= 1.
    """
    mask: list[int] = []
    for run in runs:
        if len(run) != 2 or isinstance(run[1], bool) or not isinstance(run[1], int) or run[1] < 1:
            raise ValueError(f"loss_mask_runs: {run!r} is not a [value, length] pair with length >= 1")
        mask += [int(run[0])] * run[1]
    return mask


def token_texts(tokenizer: Any, token_ids: Sequence[int]) -> list[str]:
    """The text of each token, decoded one by one (a character split over tokens shows as U+FFFD in each)."""
    if not token_ids:
        return []
    texts: list[str] = tokenizer.batch_decode([[int(i)] for i in token_ids], skip_special_tokens=False)
    return texts


def sampled_turns(episode: Episode) -> list[dict[str, Any]]:
    """The record's ``turns``: each sampled turn's number among the assistant turns (after any a guide wrote), its
    generated tokens and whether ``max_new_tokens`` cut it.

    Example:
        >>> from rezero_env.types import Task
        >>> episode = Episode(Task("t", "Who?", ("Ada",)), 0, finish_reasons=["stop", "length"], turn_tokens=[9, 48])
        >>> sampled_turns(episode)
        [{'turn': 1, 'tokens': 9, 'cut': False}, {'turn': 2, 'tokens': 48, 'cut': True}]
    """
    tokens = episode.turn_tokens if len(episode.turn_tokens) == len(episode.finish_reasons) else []
    return [
        {"turn": episode.guide_turns + k + 1, "tokens": tokens[k] if tokens else None, "cut": reason == "length"}
        for k, reason in enumerate(episode.finish_reasons)
    ]


def _rounded(values: Sequence[float]) -> list[float]:
    return [round(float(v), LOGPROB_DECIMALS) if math.isfinite(float(v)) else 0.0 for v in values]


def _task(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "question": task.question,
        "answers": [answer for answer in task.answers if answer],
        "supporting_ids": list(task.supporting_ids),
        "meta": dict(task.meta),
    }


def episode_record(
    episode: Episode,
    *,
    run_id: str,
    step: int,
    split: str,
    phase: str,
    policy: str,
    model: str,
    checkpoint: str | None = None,
    stage: str | None = None,
    episode_id: str | None = None,
    learner: Mapping[str, Any] | None = None,
    sample: int | None = None,
) -> dict[str, Any]:
    """The log line of one episode (see the module docstring). ``learner`` is the record's ``learner`` section as
    :func:`episode_records` builds it; most callers want that function. ``sample``: the episode's index among the
    samples of its question in a sampled evaluation.

    Raises:
        ValueError: an empty ``stage`` string.
    """
    if stage is not None and (not isinstance(stage, str) or not stage.strip()):
        raise ValueError(f"stage must be a non-empty label such as 'base', 'warm-up', 'step 10' or None, got {stage!r}")
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "episode_id": episode_id,
        "step": step,
        "split": split,
        "phase": phase,
        "group": episode.group,
        "stage": stage,
        "task": _task(episode.task),
        "messages": episode.messages,
        "prefix_messages": episode.prefix_messages,
        "searches": episode.searches,
        "reward": episode.reward,
        "reward_terms": episode.reward_terms,
        "reward_weights": episode.reward_weights,
        "reward_notes": episode.reward_notes,
        "correct": episode.correct,
        "terminated": episode.terminated,
        "truncated": episode.truncated,
        "cut": episode.cut,
        "turns": sampled_turns(episode),
        "num_turns": episode.num_turns,
        "guide": episode.guide,
        "guide_turns": episode.guide_turns,
        "num_tokens": len(episode.token_ids),
        "num_generated_tokens": sum(episode.loss_mask),
        "policy": policy,
        "model": model,
        "checkpoint": checkpoint,
        "started_at": episode.started_at,
        "finished_at": episode.finished_at,
    }
    if learner is not None:
        record["learner"] = dict(learner)
    if sample is not None:
        record["sample"] = int(sample)
    return record


def episode_records(
    episodes: Sequence[Episode],
    *,
    run_id: str,
    step: int,
    split: str,
    phase: str,
    policy: str,
    model: str,
    checkpoint: str | None = None,
    stage: str | None = None,
    advantages: Sequence[float] | None = None,
    ratios: Sequence[Sequence[float] | None] | None = None,
    tokenizer: Any = None,
    id_prefix: str = "",
) -> list[dict[str, Any]]:
    """The log lines of one batch of episodes (one training step, one evaluation, …), in order.

    Every record gets ``episode_id = f"{id_prefix}{phase}-{step}-{i}"`` (``i``: its position in ``episodes``; give
    DDP ranks distinct ``id_prefix`` values, e.g. ``"r1-"``). With ``advantages`` (one per episode, as the learner
    used them) each record gets the ``learner`` section: the advantage, the ``episode_id`` of every episode with the
    same ``group``, the group's reward mean and sample std, the run-length loss mask, the sampled tokens' log-probs,
    ``ratios`` when given (per episode: one ratio per trained token, or None) and the token texts when a tokenizer
    is known (``tokenizer``, else the one the rollout stored on the episode).

    Raises:
        ValueError: ``advantages`` or ``ratios`` of another length than ``episodes``, a ratio list of another length
            than the episode's trained tokens, or a bad ``stage``.

    Example:
        >>> from rezero_env.types import Task
        >>> task = Task("t", "Who?", ("Ada",))
        >>> a, b = Episode(task, group=0, reward=1.0), Episode(task, group=0, reward=3.0)
        >>> a.extend([5, 6], trainable=False); a.extend([7], trainable=True, logprobs=[-0.25])
        >>> records = episode_records([a, b], run_id="r", step=3, split="train", phase="train", policy="p",
        ...                           model="m", advantages=[-0.707, 0.707])
        >>> learner = records[0]["learner"]
        >>> records[0]["episode_id"], learner["group_members"], learner["group_reward_mean"]
        ('train-3-0', ['train-3-0', 'train-3-1'], 2.0)
        >>> learner["loss_mask_runs"], learner["logprobs"], round(learner["group_reward_std"], 3)
        ([[0, 2], [1, 1]], [-0.25], 1.414)
    """
    count = len(episodes)
    for name, values in (("advantages", advantages), ("ratios", ratios)):
        if values is not None and len(values) != count:
            raise ValueError(f"{name}: {len(values)} values for {count} episodes")
    ids = [f"{id_prefix}{phase}-{step}-{i}" for i in range(count)]
    members: dict[int, list[int]] = {}
    for i, episode in enumerate(episodes):
        members.setdefault(episode.group, []).append(i)
    records = []
    for i, episode in enumerate(episodes):
        learner: dict[str, Any] | None = None
        if advantages is not None:
            mates = members[episode.group]
            rewards = [episodes[j].reward for j in mates]
            mean = sum(rewards) / len(rewards)
            std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1)) if len(rewards) > 1 else 0.0
            trained = [lp for lp, m in zip(episode.logprobs, episode.loss_mask, strict=True) if m]
            learner = {
                "advantage": float(advantages[i]),
                "group_members": [ids[j] for j in mates],
                "group_reward_mean": mean,
                "group_reward_std": std,
                "loss_mask_runs": run_lengths(episode.loss_mask),
                "logprobs": _rounded(trained),
            }
            episode_ratios = ratios[i] if ratios is not None else None
            if episode_ratios is not None:
                if len(episode_ratios) != len(trained):
                    raise ValueError(
                        f"ratios of episode {i}: {len(episode_ratios)} values for {len(trained)} trained tokens"
                    )
                learner["ratios"] = _rounded(episode_ratios)
            decoder = tokenizer if tokenizer is not None else episode.tokenizer
            if decoder is not None and episode.token_ids:
                learner["tokens"] = token_texts(decoder, episode.token_ids)
        records.append(
            episode_record(
                episode,
                run_id=run_id,
                step=step,
                split=split,
                phase=phase,
                policy=policy,
                model=model,
                checkpoint=checkpoint,
                stage=stage,
                episode_id=ids[i],
                learner=learner,
            )
        )
    return records


def live_record(
    task: Task,
    info: Mapping[str, Any],
    *,
    policy: str,
    model: str,
    reward: float = 0.0,
    terminated: bool = False,
    truncated: bool = False,
    started_at: str | None = None,
) -> dict[str, Any]:
    """The record of an episode played in the playback Live tab, after the reset or any step (``info`` is that
    step's); ``finished_at`` and ``correct`` are set once it ended."""
    episode = Episode(task=task, group=0, reward=reward, num_turns=int(info.get("turn", 0)))
    episode.finish(info, terminated, truncated)
    episode.started_at = started_at or episode.started_at
    record = episode_record(episode, run_id="live", step=-1, split="", phase="live", policy=policy, model=model)
    if not (terminated or truncated):
        record["finished_at"] = None
    return record


__all__ = [
    "CORRECTNESS_TERMS",
    "READABLE_SCHEMA_VERSIONS",
    "SCHEMA_VERSION",
    "Episode",
    "episode_record",
    "episode_records",
    "expand_runs",
    "is_correct",
    "live_record",
    "now",
    "run_lengths",
    "sampled_turns",
    "token_texts",
]
