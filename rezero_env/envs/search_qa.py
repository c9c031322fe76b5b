"""``SearchQA-v0``: answer a question by searching a corpus, one assistant message per step."""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Mapping
from typing import Any, SupportsFloat

import gymnasium as gym
from gymnasium.error import ResetNeeded

from rezero_env.data import QADataset, load_dataset
from rezero_env.prompts import (
    DEFAULT_PROMPT_TEMPLATE,
    DEFAULT_SYSTEM_PROMPT,
    render_information,
    render_question,
    render_results,
    validate_prompt_template,
)
from rezero_env.protocol import first_search, has_tag
from rezero_env.search import RandomizedSearchEngine, SearchEngine, SearchError, freeze, make_search_engine
from rezero_env.spaces import UnicodeText, sanitize_text
from rezero_env.types import Message, SearchResult, Task

logger = logging.getLogger(__name__)

RESET_OPTIONS = ("task_index", "task_id", "task")


class UnscoredEpisodeWarning(UserWarning):
    """An episode was reset before the environment ended it (e.g. by Gymnasium's ``TimeLimit``), so the reward
    wrappers never scored it."""


_engine_cache: weakref.WeakKeyDictionary[QADataset, dict[tuple[Any, ...], SearchEngine]] = weakref.WeakKeyDictionary()


class SearchQAEnv(gym.Env[str, str]):
    """An agent answers a question by thinking, searching a corpus and reading the results, over several turns.

    ## Description
    Each episode is one question from a dataset (by default the embedded synthetic fact world). The agent writes
    assistant messages in the tag protocol of Search-R1 and ReZero: ``<think>…</think>`` to reason,
    ``<search>query</search>`` to query the search engine, ``<answer>…</answer>`` to answer. A pretrained model cannot
    answer the synthetic questions from memory, so it must search — and, when a search fails, try again.

    ## Action space
    ``UnicodeText(max_length=max_action_chars)`` (default 1,048,576): the assistant's whole message. Any ``str`` is
    accepted (longer ones too); only the first ``<search>`` of a message is executed. A non-string raises TypeError.

    ## Observation space
    ``UnicodeText(max_length=max_observation_chars)`` (default 32,768) over the Unicode BMP without control
    characters (other characters become U+FFFD; overlong text is cut with a ``[…truncated]`` marker):

    - after ``reset``: the system prompt and the question prompt, joined by a blank line;
    - after a search: ``<information>`` + the top ``top_k`` results (``Doc i (Title: t)`` then the text) +
      ``</information>``; ``No results found.`` or ``Search failed: …`` inside the block when there is nothing to show;
    - after the final step: the empty string.

    The gold answer is never part of an observation.

    ## Rewards
    The bare environment always returns 0. Rewards are wrappers (:mod:`rezero_env.rewards`) applied by
    ``gym.make(..., reward=preset)``: ``"rezero"`` (default: correctness 4, format 2, retry 1, em_chunk 1,
    search_strategy 1, search_diversity 1), ``"rezero-no-retry"`` (without retry, for ablations),
    ``"rezero-evidence"`` (``"rezero"`` plus evidence 1: the share of the supporting documents the searches
    returned), ``"em"`` (exact match) or ``"none"``. Each term is added when the episode ends and reported in
    ``info["reward_terms"]`` (its weight in ``info["reward_weights"]``, a one-line reason in
    ``info["reward_notes"]``), so the final reward is ``sum(weight × value)`` over the terms.

    ## Starting state
    A task drawn uniformly from the split with ``self.np_random``, or pinned with
    ``reset(options={"task_index": i})``, ``{"task_id": "..."}`` or ``{"task": Task(...)}`` (an option given as
    None is an error, not a random draw).

    ## Episode end
    - terminated: the message holds an ``<answer>…</answer>``, or holds no ``<search>…</search>``;
    - truncated: the ``max_turns``-th message was a search (terminated=False).

    Limit episodes with ``max_turns``, not with Gymnasium's ``TimeLimit`` (``gym.make(..., max_episode_steps=n)``):
    that wrapper sits outside the reward wrappers, so an episode it cuts off gets reward 0 and empty
    ``reward_terms``. The environment cannot see it, but the next ``reset`` of an episode that was never ended warns
    (:class:`UnscoredEpisodeWarning`, once per environment); passing ``max_episode_steps`` to the environment itself
    (e.g. through ``gym.make_vec``) raises a ValueError pointing to ``max_turns``.

    ## Info
    Every ``reset``/``step`` returns ``messages`` (the chat transcript as role/content dicts: system, user question,
    then assistant messages and user ``<information>`` messages), ``turn`` (assistant messages so far), ``searches``
    (one dict per executed search: ``turn``, ``query``, ``doc_ids``, ``error``), ``task_id``, and ``reward_terms``,
    ``reward_weights`` and ``reward_notes`` (empty until a reward wrapper fills them on the final step).

    ## Arguments
    - ``dataset``: ``"synthetic"``, a dataset name or folder (see :func:`rezero_env.data.load_dataset`) or a
      ``QADataset``; ``dataset_options`` go to its loader.
    - ``split``: ``"train"`` (default), ``"test"`` or ``"all"``.
    - ``search_engine``: ``"bm25"``, ``"dense"``, ``"hybrid"``, ``"noisy"``, ``"cached"``, ``"web"``, ``"remote"``
      (see :mod:`rezero_env.search`) or any object implementing :class:`~rezero_env.search.SearchEngine` (its
      methods return lists of :class:`rezero_env.types.SearchResult`; anything else raises a TypeError naming it);
      ``search_options`` go to the named engine (e.g. ``{"backend": "rank_bm25"}`` for bm25,
      ``{"base": "dense", "drop_prob": 0.2}`` for noisy). Engines built by name are shared by all environments over
      the same dataset in a process (indexes are built once); randomized engines (noisy) get their own copy, seeded
      from the environment's ``np_random`` on every reset.
    - ``top_k`` (5), ``max_turns`` (10), ``max_query_chars`` (1,024; longer queries are cut before searching).
    - ``system_prompt`` (None omits the system message) and ``prompt_template`` (must contain ``{question}`` and no
      other ``{name}`` placeholder).
    - ``render_mode``: ``"ansi"`` returns the transcript as text.

    ## Version history
    - v0: initial release.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012 - Gymnasium's convention

    def __init__(
        self,
        dataset: str | QADataset = "synthetic",
        split: str = "train",
        search_engine: str | SearchEngine = "bm25",
        top_k: int = 5,
        max_turns: int = 10,
        system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
        prompt_template: str = DEFAULT_PROMPT_TEMPLATE,
        dataset_options: Mapping[str, Any] | None = None,
        search_options: Mapping[str, Any] | None = None,
        max_query_chars: int = 1024,
        max_observation_chars: int = 32_768,
        max_action_chars: int = 1 << 20,
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
    ) -> None:
        if max_episode_steps is not None:
            raise ValueError(
                f"max_episode_steps={max_episode_steps!r}: limit SearchQA episodes with max_turns (e.g. "
                f"max_turns={max_episode_steps!r}), whose truncation the reward wrappers score; a TimeLimit cut-off "
                "would end episodes with reward 0 and no reward terms"
            )
        for name, value, low in (
            ("top_k", top_k, 1),
            ("max_turns", max_turns, 1),
            ("max_query_chars", max_query_chars, 1),
            ("max_observation_chars", max_observation_chars, 256),
            ("max_action_chars", max_action_chars, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise ValueError(f"system_prompt must be a string or None, got {type(system_prompt).__name__}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.prompt_template = validate_prompt_template(prompt_template)
        self.system_prompt = system_prompt
        self.dataset = load_dataset(dataset, dataset_options)
        self.split = split
        self.tasks = self.dataset.split(split)
        if not self.tasks:
            raise ValueError(f"Split {split!r} of dataset {self.dataset.name!r} has no tasks")
        self.engine = _shared_engine(self.dataset, search_engine, search_options)
        self.top_k = top_k
        self.max_turns = max_turns
        self.max_query_chars = max_query_chars
        self.render_mode = render_mode
        self.max_observation_chars = max_observation_chars
        self.observation_space = UnicodeText(max_length=max_observation_chars)
        self.action_space = UnicodeText(max_length=max_action_chars)

        self.task: Task | None = None
        self.messages: list[Message] = []
        self.searches: list[dict[str, Any]] = []
        self.turn = 0
        self._episode_over = True
        self._prefetched: dict[str, list[SearchResult]] = {}
        self._warned_unscored = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode on a drawn or pinned task (see the class docstring for ``options``)."""
        super().reset(seed=seed)
        if not self._episode_over and self.turn > 0 and not self._warned_unscored:
            self._warned_unscored = True
            warnings.warn(
                f"SearchQA: an episode was reset after {self.turn} step(s) before the environment ended it (no answer, "
                f"fewer than max_turns={self.max_turns} turns), so its reward terms were never scored. If a TimeLimit "
                "ended it (gym.make(..., max_episode_steps=n)), use max_turns=n instead: the environment's own "
                "truncation is scored. (Warned once per environment.)",
                UnscoredEpisodeWarning,
                stacklevel=2,
            )
        if isinstance(self.engine, RandomizedSearchEngine):
            self.engine.reseed(self.np_random)
        self.task = self._choose_task(options or {})
        self.turn = 0
        self.searches = []
        self._episode_over = False
        limit = self.max_observation_chars
        question = sanitize_text(render_question(self.prompt_template, self.task.question), limit)
        self.messages = [Message(role="user", content=question)]
        if self.system_prompt:
            system = sanitize_text(self.system_prompt, limit)
            self.messages.insert(0, Message(role="system", content=system))
        observation = sanitize_text("\n\n".join(m["content"] for m in self.messages), limit)
        return observation, self._info()

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Read one assistant message; search if it asks to, end the episode if it answers or does not search."""
        if self.task is None or self._episode_over:
            raise ResetNeeded(
                "Call reset() before step(): "
                + ("no episode started" if self.task is None else "the episode has ended")
            )
        if not isinstance(action, str):
            raise TypeError(f"The action must be the assistant's message as a str, got {type(action).__name__}")
        self.turn += 1
        self.messages.append(Message(role="assistant", content=action))
        terminated = truncated = False
        observation = ""
        query = self.pending_query(action)
        if query is None:
            terminated = True
        else:
            observation = self._search(query)
            self.messages.append(Message(role="user", content=observation))
            truncated = self.turn >= self.max_turns
        self._episode_over = terminated or truncated
        return observation, 0.0, terminated, truncated, self._info()

    def pending_query(self, action: str) -> str | None:
        """The query ``step(action)`` would search (stripped and cut to ``max_query_chars``), or None if it would not
        search. Vector environments use it to batch the searches of many environments."""
        query = None if has_tag(action, "answer") else first_search(action)
        return None if query is None else query.strip()[: self.max_query_chars]

    def prefetch(self, results: Mapping[str, list[SearchResult]]) -> None:
        """Hand over results the next ``step`` uses instead of searching (for queries in ``results``)."""
        self._prefetched = dict(results)

    def render(self) -> str | None:
        """The transcript so far as text (``render_mode="ansi"``); None otherwise."""
        if self.render_mode != "ansi":
            return None
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in self.messages)

    def _choose_task(self, options: Mapping[str, Any]) -> Task:
        unknown = sorted(set(options) - set(RESET_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown reset option(s) {unknown}; valid: {list(RESET_OPTIONS)}")
        for key in RESET_OPTIONS:
            if key in options and options[key] is None:
                raise ValueError(f"Reset option {key!r} is None: give a value or leave the option out (a random task)")
        given = [key for key in RESET_OPTIONS if options.get(key) is not None]
        if len(given) > 1:
            raise ValueError(f"Pass at most one of {list(RESET_OPTIONS)} to reset(), got {given}")
        if not given:
            return self.tasks[int(self.np_random.integers(len(self.tasks)))]
        value = options[given[0]]
        if given[0] == "task_index":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(self.tasks):
                raise ValueError(
                    f"task_index must be an int in [0, {len(self.tasks)}) for split {self.split!r}, got {value!r}"
                )
            return self.tasks[value]
        if given[0] == "task_id":
            return self.dataset.task(str(value))
        if not isinstance(value, Task):
            raise TypeError(f"The 'task' reset option must be a rezero_env.types.Task, got {type(value).__name__}")
        for doc_id in value.supporting_ids:
            self.dataset.document(doc_id)  # raises a KeyError naming the unknown id
        return value

    def _search(self, query: str) -> str:
        prefetched, self._prefetched = self._prefetched, {}
        record: dict[str, Any] = {"turn": self.turn, "query": query, "doc_ids": [], "error": None}
        if not query:
            record["error"] = "empty query"
            observation = render_information(
                "Search failed: the query is empty. Write a query inside <search> and </search>."
            )
        else:
            try:
                found = prefetched[query] if query in prefetched else self.engine.search(query, self.top_k)
                results = check_results(found, self.engine, "search")[: self.top_k]
            except SearchError as error:
                record["error"] = str(error)
                observation = render_information(f"Search failed: {error}")
            else:
                record["doc_ids"] = [result.doc_id for result in results]
                observation = render_results(results)
        self.searches.append(record)
        return sanitize_text(observation, self.max_observation_chars)

    def _info(self) -> dict[str, Any]:
        assert self.task is not None
        return {
            "messages": [Message(role=m["role"], content=m["content"]) for m in self.messages],
            "turn": self.turn,
            "searches": [dict(record, doc_ids=list(record["doc_ids"])) for record in self.searches],
            "task_id": self.task.id,
            "reward_terms": {},
            "reward_weights": {},
            "reward_notes": {},
        }


def check_results(found: object, engine: object, method: str) -> list[SearchResult]:
    """``found`` if it is a list (or tuple) of :class:`SearchResult`; else a TypeError naming the engine, the method
    and what it returned — so a custom engine's mistake surfaces here, not deep inside the rewards or a tokenizer.

    Example:
        >>> check_results([{"doc_id": "a"}], object(), "search")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: Search engine object.search() returned a list holding a dict (item 0); it must return a list of ...
    """
    name = f"{type(engine).__name__}.{method}()"
    expected = (
        "it must return a list of rezero_env.types.SearchResult (from rezero_env.types import SearchResult; "
        "SearchResult(doc_id, text, score, title=None))"
    )
    if not isinstance(found, list | tuple):
        raise TypeError(f"Search engine {name} returned a {type(found).__name__}; {expected}")
    for index, result in enumerate(found):
        if not isinstance(result, SearchResult):
            raise TypeError(
                f"Search engine {name} returned a {type(found).__name__} holding a {type(result).__name__} "
                f"(item {index}); {expected}"
            )
    return list(found)


def _shared_engine(dataset: QADataset, engine: str | SearchEngine, options: Mapping[str, Any] | None) -> SearchEngine:
    """Build the engine, reusing engines (and sub-engines) built earlier in this process for the same dataset, name
    and options; randomized engines are always built fresh (each environment seeds its own)."""
    engines = _engine_cache.setdefault(dataset, {})

    def resolve(name: Any, name_options: Mapping[str, Any] | None) -> SearchEngine:
        if not isinstance(name, str):
            return make_search_engine(name, dataset.documents, name_options, resolve)
        key: tuple[Any, ...] = (name, freeze(name_options or {}))
        try:
            cached = engines.get(key)
        except TypeError:  # unhashable options: build without sharing
            return make_search_engine(name, dataset.documents, name_options, resolve)
        if cached is not None:
            return cached
        built = make_search_engine(name, dataset.documents, name_options, resolve)
        if not isinstance(built, RandomizedSearchEngine):
            engines[key] = built
            logger.info("Built %s search engine over %d documents of %s", name, len(dataset.documents), dataset.name)
        return built

    return resolve(engine, options)
