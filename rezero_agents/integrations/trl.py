"""Train on ``SearchQA-v0`` with TRL's ``GRPOTrainer``: another RL library targeting the same environment.

:class:`TRLAdapter` turns any env id built on ``SearchQA-v0`` into what ``GRPOTrainer`` takes:

- ``train_dataset``: one conversational prompt per task of the env's split (the env's own reset messages) and its
  ``task_id``;
- ``rollout_func`` (TRL 1.16, experimental; ``TRL_EXPERIMENTAL_SILENCE=1`` silences TRL's warning): each prompt is
  played as one episode of the env with rezero's lock-step rollout (:func:`~rezero_agents.rollout.collect_episodes`)
  and the trainer's current model, and comes back as token ids with an ``env_mask`` that is 0 on every token the
  model did not sample (the ``<information>`` messages and the chat template's turn markers), so TRL never trains
  on them. Works with any chat model (SmolLM2 included);
- ``environment_factory`` (TRL 1.16, experimental): for models whose chat template supports tool calling,
  :class:`SearchQAToolEnv` exposes ``search(query)`` as a tool backed by the env, and TRL masks the tool output;
- ``reward_funcs`` / ``reward_weights``: one TRL reward function per reward term of the env (named after the term,
  returning its raw value) with the env preset's weights, so TRL's weighted sum is the env's reward and TRL logs
  ``rewards/<term>/mean``.

Nothing in ``rezero_env`` knows about TRL: the adapter uses the Gymnasium API (``gym.make``, ``reset``, ``step``,
the wrapper chain) plus :func:`rezero_env.types.split_tasks` to list the split.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rezero_agents.chat import ChatFormatter
from rezero_agents.episode_log import EpisodeLogWriter, episode_records
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.rollout import Episode, collect_episodes
from rezero_env.rewards.base import reward_terms
from rezero_env.types import Message, split_tasks

if TYPE_CHECKING:
    from datasets import Dataset

logger = logging.getLogger(__name__)

#: A question prompt for tool-calling models (``env_kwargs={"prompt_template": TOOL_PROMPT_TEMPLATE}``): search
#: with the tool instead of ``<search>`` tags, answer in ``<answer>`` tags as the reward terms expect.
TOOL_PROMPT_TEMPLATE = (
    "Answer the question by searching.\n"
    "- Reason step by step inside <think> and </think>.\n"
    "- Use the search tool to look things up; if the results do not contain the answer, search again with a "
    "different query.\n"
    "- When you know the answer, write it inside <answer> and </answer>, with no other words.\n"
    "\n"
    "Question: {question}"
)


env_reward_terms = reward_terms
"""``(name, weight)`` of each reward term wrapping an env (``rezero_env.rewards.base.reward_terms``)."""


class RewardTermFunction:
    """A TRL reward function: the raw value of one env reward term, per completion.

    TRL names the logged metric after ``__name__`` (``rewards/<name>/mean``) and calls the function with the extra
    keys the rollout returned: ``reward_terms`` (``rollout_func`` path: one ``{term: value}`` dict per completion)
    or ``environments`` (``environment_factory`` path: the :class:`SearchQAToolEnv` of each completion, whose episode
    is ended with the completion's last message). A term an episode did not record gives ``None`` (TRL skips it).

    Example:
        >>> correctness = RewardTermFunction("correctness")
        >>> correctness(completions=["a", "b"], reward_terms=[{"correctness": 1.0}, {"correctness": 0.0}])
        [1.0, 0.0]
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.__name__ = name

    def __call__(
        self,
        completions: Sequence[Any],
        reward_terms: Sequence[Mapping[str, float]] | None = None,
        environments: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if reward_terms is None and environments is not None:
            reward_terms = [
                env._finish(last_assistant_text(completion))
                for env, completion in zip(environments, completions, strict=True)
            ]
        if reward_terms is None:
            raise ValueError(
                f"Reward function {self.name!r} needs the 'reward_terms' of TRLAdapter.rollout_func or the "
                "'environments' of TRLAdapter.environment_factory; pass one of them to GRPOTrainer"
            )
        return [terms.get(self.name) for terms in reward_terms]

    def __repr__(self) -> str:
        return f"RewardTermFunction({self.name!r})"


def last_assistant_text(completion: Any) -> str:
    """The text of a TRL completion's last assistant message (a conversational completion is a message list).

    Example:
        >>> last_assistant_text([{"role": "assistant", "content": "<answer>x</answer>"}])
        '<answer>x</answer>'
        >>> last_assistant_text([{"role": "assistant", "content": "", "tool_calls": []}, {"role": "tool"}])
        ''
    """
    if isinstance(completion, str):
        return completion
    if completion and isinstance(completion[-1], Mapping) and completion[-1].get("role") == "assistant":
        content = completion[-1].get("content")
        return content if isinstance(content, str) else ""
    return ""


class SearchQAToolEnv:
    """One SearchQA episode played through TRL's tool-calling loop (``environment_factory``).

    TRL calls :meth:`reset` with the dataset row (``prompt``, ``task_id``, …) before each rollout and exposes every
    public method but ``reset`` to the model as a tool — here only :meth:`search`. Each tool call is one env step
    whose message is ``<search>query</search>``; the completion's final assistant message is the last step (one that
    neither answers nor ends the episode is followed by an empty message, which does), and the env's reward wrappers
    then score the episode as they would any other.

    Args:
        env: A ``SearchQA-v0`` environment (with its reward wrappers).
    """

    def __init__(self, env: gym.Env[str, str]) -> None:
        self._env = env
        self._reward_terms: dict[str, float] | None = None
        self._over = True
        self.task_id: str | None = None

    def reset(self, task_id: str | None = None, **row: Any) -> None:
        """Start the episode of ``task_id`` (a column of :meth:`TRLAdapter.train_dataset`; a random task if None).

        Returns None: the dataset prompt already holds the question.
        """
        _, info = self._env.reset(options={"task_id": task_id} if task_id is not None else None)
        self.task_id = info["task_id"]
        self._reward_terms = None
        self._over = False

    def search(self, query: str) -> str:
        """Search the document collection.

        Args:
            query: What to look for, in a few words.

        Returns:
            The best matching documents, numbered, each with its title.
        """
        if not isinstance(query, str):
            raise TypeError(f"search() takes the query as a string, got {type(query).__name__}")
        if self._over:
            raise RuntimeError("No searches are left in this episode; write the answer inside <answer> and </answer>")
        query = query.replace("<search>", " ").replace("</search>", " ")
        observation, _, terminated, truncated, info = self._env.step(f"<search>{query}</search>")
        self._record(terminated, truncated, info)
        return observation

    def _finish(self, final_message: str) -> dict[str, float]:
        """End the episode with the completion's last message (once) and return its reward terms."""
        if not self._over:
            self._record(*self._env.step(final_message)[2:])
            if not self._over:  # the message searched: an empty message ends the episode
                self._record(*self._env.step("")[2:])
        return dict(self._reward_terms or {})

    def _record(self, terminated: bool, truncated: bool, info: dict[str, Any]) -> None:
        if terminated or truncated:
            self._over = True
            self._reward_terms = dict(info.get("reward_terms", {}))


class TRLAdapter:
    """What TRL's ``GRPOTrainer`` needs to train on a rezero environment.

    Args:
        env_id: A registered env id built on ``SearchQA-v0``.
        env_kwargs: Keyword arguments for ``gym.make`` (``split``, ``reward``, ``max_turns``, ``prompt_template``, …).
        max_new_tokens: Most tokens the model writes per turn (``rollout_func`` path; TRL's ``temperature``,
            ``top_p`` and ``top_k`` are used for sampling).
        max_sequence_tokens: Token budget of an episode (prompt + all turns); an episode whose next turn could
            overrun it is ended with an empty message (``Episode.cut``). Default: the longest prompt of the batch plus
            TRL's ``max_completion_length`` (the last ``<information>`` block may overrun it).
        prefix_messages: Messages the model sees after the system message of every episode (e.g.
            :data:`rezero_agents.prompting.FEW_SHOT_MESSAGES`); never trained on.
        episode_log: Append every rollout episode to this JSON Lines file (a str or a path; the playback UI reads
            it); processes other than the first write ``<stem>.rank<N>.jsonl`` next to it. Each record carries what
            TRL trained with: the advantage TRL computed (once TRL has scored the batch: the records of a step are
            written when it ends), the group-mates (the ``num_generations`` episodes of a prompt), the env mask as
            the loss mask, the sampled log-probs and the token texts, under TRL's step numbering (the first step
            is 1, as in TRL's logs).

    Example:
        >>> import gymnasium as gym, rezero_env
        >>> adapter = TRLAdapter("SearchQA-v0", {"split": "test"})
        >>> [f.__name__ for f in adapter.reward_funcs][:3], adapter.reward_weights[:3]
        (['correctness', 'format', 'retry'], [4.0, 2.0, 1.0])
    """

    def __init__(
        self,
        env_id: str = "SearchQA-v0",
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        max_new_tokens: int = 128,
        max_sequence_tokens: int | None = None,
        prefix_messages: Sequence[Message] = (),
        episode_log: str | os.PathLike[str] | None = None,
    ) -> None:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if max_sequence_tokens is not None and max_sequence_tokens <= max_new_tokens:
            raise ValueError(f"max_sequence_tokens ({max_sequence_tokens}) must exceed max_new_tokens")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.max_new_tokens = max_new_tokens
        self.max_sequence_tokens = max_sequence_tokens
        self.prefix_messages = list(prefix_messages)
        self.episode_log = Path(episode_log) if episode_log is not None else None
        probe = self.make_env()
        terms = env_reward_terms(probe)
        if not terms:
            raise ValueError(
                f"{env_id} with {self.env_kwargs} has no reward terms (reward='none'?); "
                "TRL needs at least one reward function"
            )
        self.reward_funcs: list[Callable[..., list[float | None]]] = [RewardTermFunction(name) for name, _ in terms]
        self.reward_weights = [weight for _, weight in terms]
        self._envs: list[gym.Env[str, str]] = [probe]
        self._task_ids: dict[str, str] | None = None
        self._calls = 0
        self._writer: EpisodeLogWriter | None = None
        self._pending: list[_PendingBatch] = []
        self._flushers: set[int] = set()  # the trainers a flushing callback was added to

    def make_env(self) -> gym.Env[str, str]:
        env: gym.Env[str, str] = gym.make(self.env_id, **self.env_kwargs)
        return env

    # --- data -------------------------------------------------------------------------------------------------

    def train_dataset(self, max_tasks: int | None = None, seed: int = 0) -> Dataset:
        """A ``datasets.Dataset`` with a conversational ``prompt`` (the env's reset messages) and the ``task_id`` of
        each task of the env's split; ``max_tasks`` draws that many (seeded) in split order. A task whose prompt
        repeats an earlier one's is left out (the rollout finds tasks by prompt)."""
        from datasets import Dataset

        lookup = self._prompt_lookup()
        unique = set(lookup.values())
        keep = [task.id for task in split_tasks(self._envs[0]) if task.id in unique]
        if max_tasks is not None:
            if max_tasks < 1:
                raise ValueError(f"max_tasks must be >= 1, got {max_tasks}")
            chosen = np.random.default_rng(seed).choice(len(keep), size=min(max_tasks, len(keep)), replace=False)
            keep = [keep[i] for i in sorted(chosen)]
        env = self._envs[0]
        rows: dict[str, list[Any]] = {"prompt": [], "task_id": []}
        for task_id in keep:
            _, info = env.reset(options={"task_id": task_id})
            rows["prompt"].append([dict(message) for message in info["messages"]])
            rows["task_id"].append(task_id)
        return Dataset.from_dict(rows)

    def task_id(self, prompt: Any) -> str:
        """The task a prompt of :meth:`train_dataset` asks (found by its question message)."""
        lookup = self._prompt_lookup()
        key = _prompt_key(prompt)
        if key not in lookup:
            raise KeyError(
                f"The prompt {key[:120]!r}... is not a question of {self.env_id} ({self.env_kwargs}); build the "
                "train_dataset with TRLAdapter.train_dataset() of the same adapter"
            )
        return lookup[key]

    def _prompt_lookup(self) -> dict[str, str]:
        if self._task_ids is None:
            env = self._envs[0]
            lookup: dict[str, str] = {}
            duplicates = 0
            for index in range(len(split_tasks(env))):
                _, info = env.reset(options={"task_index": index})
                key = _prompt_key(info["messages"])
                if key in lookup:
                    duplicates += 1
                else:
                    lookup[key] = info["task_id"]
            if duplicates:
                logger.warning(
                    "%d task(s) of %s repeat an earlier task's question; they are left out", duplicates, self.env_id
                )
            self._task_ids = lookup
        return self._task_ids

    # --- rollout_func path ------------------------------------------------------------------------------------

    def rollout_func(self, prompts: Sequence[Any], trainer: Any) -> dict[str, list[Any]]:
        """TRL's ``rollout_func``: play one episode per prompt (TRL passes each prompt ``num_generations`` times)
        with the trainer's current model, and return ``prompt_ids``, ``completion_ids``, ``logprobs`` (of the sampled
        tokens; 0 elsewhere), ``env_mask`` (1 on sampled tokens) and, for the reward functions, ``reward_terms``,
        ``env_reward`` and ``task_id``."""
        from trl.models.utils import unwrap_model_for_generation

        self.flush_log(trainer)  # the previous batch: TRL has scored it since
        task_ids = [self.task_id(prompt) for prompt in prompts]
        args = trainer.args
        generations = max(1, int(getattr(trainer, "num_generations", None) or args.num_generations))
        formatter = ChatFormatter(trainer.processing_class, self.prefix_messages)
        sampling = SamplingConfig(
            temperature=float(args.temperature),
            top_p=float(args.top_p),
            top_k=int(args.top_k or 0),
            max_new_tokens=self.max_new_tokens,
        )
        budget = self.max_sequence_tokens
        if budget is None:
            longest = max(len(formatter.prompt_ids(messages)) for messages in _unique(prompts))
            budget = longest + int(args.max_completion_length or 4096)
        seed = self._next_seed(int(args.seed), int(trainer.accelerator.process_index))
        while len(self._envs) < len(prompts):
            self._envs.append(self.make_env())
        with unwrap_model_for_generation(
            trainer.model_wrapped,
            trainer.accelerator,
            gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
            gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs,
        ) as model:
            policy = TransformersPolicy(model, formatter, batch_size=len(prompts))
            episodes = collect_episodes(
                self._envs[: len(prompts)],
                policy,
                [{"task_id": task_id} for task_id in task_ids],
                groups=[i // generations for i in range(len(prompts))],  # TRL repeats each prompt in a row
                seed=seed,
                sampling=sampling,
                max_sequence_tokens=budget,
            )
        if self.episode_log is not None:
            self._pending.append(_PendingBatch(episodes, int(trainer.state.global_step) + 1, formatter.tokenizer))
            if id(trainer) not in self._flushers:
                self._flushers.add(id(trainer))
                trainer.add_callback(_flush_callback(self, trainer))
        return episodes_to_trl(episodes, formatter)

    def _next_seed(self, seed: int, process: int) -> int:
        self._calls += 1
        return int(np.random.SeedSequence([seed, process, self._calls]).generate_state(1)[0])

    def flush_log(self, trainer: Any) -> None:
        """Write the rollouts TRL has scored since the last call to the episode log, each with the advantage TRL
        computed for it (called at the start of every rollout and at the end of every step and of training)."""
        if not self._pending or self.episode_log is None:
            return
        rank, world = int(trainer.accelerator.process_index), int(trainer.accelerator.num_processes)
        if self._writer is None:
            path = self.episode_log if rank == 0 else self.episode_log.with_suffix(f".rank{rank}.jsonl")
            self._writer = EpisodeLogWriter(path)
        # TRL keeps the advantages of its latest scored batch, every process's in process order
        scored = list(getattr(trainer, "_logs", {}).get("advantages", ()))
        model = str(getattr(trainer.accelerator.unwrap_model(trainer.model).config, "_name_or_path", ""))
        split = str(getattr(self._envs[0].unwrapped, "split", ""))
        for position, batch in enumerate(self._pending):
            size = len(batch.episodes)
            latest = position == len(self._pending) - 1
            advantages = scored[len(scored) - world * size :][rank * size : (rank + 1) * size] if latest else []
            if len(advantages) != size:
                logger.warning("TRL's advantages of step %d are not available: logged without them", batch.step)
            self._writer.write(
                episode_records(
                    batch.episodes,
                    run_id=str(trainer.args.run_name or trainer.args.output_dir),
                    step=batch.step,
                    split=split,
                    phase="train",
                    policy="trl-grpo",
                    model=model,
                    advantages=[float(a) for a in advantages] if len(advantages) == size else None,
                    tokenizer=batch.tokenizer,
                    id_prefix=f"r{rank}-" if rank else "",
                )
            )
        self._pending.clear()

    # --- environment_factory path -----------------------------------------------------------------------------

    def environment_factory(self) -> SearchQAToolEnv:
        """TRL's ``environment_factory``: a fresh :class:`SearchQAToolEnv` over a new env."""
        return SearchQAToolEnv(self.make_env())


@dataclass
class _PendingBatch:
    """A rollout's episodes, waiting for TRL to score them (the advantages) before they are logged."""

    episodes: list[Episode]
    step: int
    """TRL's number of the step that trains on them (its logs count from 1)."""
    tokenizer: Any


def _flush_callback(adapter: TRLAdapter, trainer: Any) -> Any:
    """A ``transformers`` trainer callback that writes the adapter's scored rollouts at the end of each step and of
    training (the first rollout adds it to the trainer)."""
    from transformers import TrainerCallback

    class FlushEpisodeLog(TrainerCallback):
        def on_step_end(self, *args: Any, **kwargs: Any) -> None:
            adapter.flush_log(trainer)

        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            adapter.flush_log(trainer)

    return FlushEpisodeLog()


def episodes_to_trl(episodes: Sequence[Episode], formatter: ChatFormatter) -> dict[str, list[Any]]:
    """The ``rollout_func`` output for finished episodes: the prompt is the episode's tokens up to its first
    assistant turn; the completion is the rest, with ``env_mask`` = the episode's loss mask there. An episode whose
    last message ended on a stop string gets the end-of-turn token appended (masked), so TRL does not count it as
    clipped."""
    output: dict[str, list[Any]] = {
        key: [] for key in ("prompt_ids", "completion_ids", "logprobs", "env_mask", "reward_terms", "env_reward")
    }
    output["task_id"] = []
    eos = formatter.eos_token_id
    for episode in episodes:
        first_assistant = next(
            (i for i, m in enumerate(episode.messages) if m["role"] == "assistant"), len(episode.messages)
        )
        prompt_length = len(formatter.prompt_ids(episode.messages[:first_assistant]))
        if any(episode.loss_mask[:prompt_length]):
            raise RuntimeError("The episode's prompt tokens do not match its first turn (a chat template mismatch)")
        completion = episode.token_ids[prompt_length:]
        mask = episode.loss_mask[prompt_length:]
        logprobs = episode.logprobs[prompt_length:]
        ended_on_stop = bool(episode.finish_reasons) and episode.finish_reasons[-1] == "stop" and not episode.cut
        if ended_on_stop and eos is not None and (not completion or completion[-1] != eos):
            completion, mask, logprobs = [*completion, eos], [*mask, 0], [*logprobs, 0.0]
        output["prompt_ids"].append(episode.token_ids[:prompt_length])
        output["completion_ids"].append(completion)
        output["env_mask"].append(mask)
        output["logprobs"].append(logprobs)
        output["reward_terms"].append(dict(episode.reward_terms))
        output["env_reward"].append(episode.reward)
        output["task_id"].append(episode.task.id)
    return output


def _prompt_key(prompt: Any) -> str:
    """The question message of a conversational prompt: the content of its last user message."""
    if isinstance(prompt, str) or not isinstance(prompt, Sequence):
        raise TypeError(
            "TRLAdapter needs conversational prompts (lists of role/content messages), as "
            f"TRLAdapter.train_dataset() builds them; got {type(prompt).__name__}"
        )
    for message in reversed(prompt):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return str(message.get("content", ""))
    raise ValueError("A prompt has no user message; build it with TRLAdapter.train_dataset()")


def _unique(prompts: Sequence[Any]) -> list[list[Message]]:
    seen: dict[str, list[Message]] = {}
    for prompt in prompts:
        seen.setdefault(_prompt_key(prompt), [Message(role=m["role"], content=m["content"]) for m in prompt])
    return list(seen.values())


__all__ = [
    "TOOL_PROMPT_TEMPLATE",
    "RewardTermFunction",
    "SearchQAToolEnv",
    "TRLAdapter",
    "env_reward_terms",
    "episodes_to_trl",
    "last_assistant_text",
]
