"""``env_step``: SearchQA-v0 step throughput with BM25 over 10k and 100k paragraphs, and the env's own share of it;
and the slowest step over crafted adversarial 1 MiB messages.

Each episode is nine searches and an answer (``max_turns=10``), through ``gym.make`` with the default ``rezero``
reward wrappers, i.e. what a user gets. The same queries sent straight to the engine give the search-only cost; the
rest is the environment's overhead (parsing, rendering, transcript, rewards).

The adversarial row steps the default environment (synthetic world, BM25, ``rezero`` preset) with ``max_turns=1``, so
every message ends its episode and pays for every reward term, over :func:`adversarial_message` of each kind in
:data:`ADVERSARIAL_KINDS` (unclosed and nested tags, huge queries and answers, thousands of tags, queries on which
difflib is cubic, …), and reports the slowest step: one action must never stall training.

The judge row times the answering step (it ends the episode, so every reward term and the judge run) under ``em_f1``,
``contains`` and a judge that returns a constant; the differences are each judge's cost. Every repeat starts from an
empty token cache (:func:`rezero_env.rewards.judges.normalize.clear_token_cache`).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable

import gymnasium as gym

import rezero_env  # noqa: F401  (registers the ids)
from benchmarks.common import SuiteResult, Target, timed, zipf_dataset, zipf_queries
from rezero_env.envs.search_qa import SearchQAEnv
from rezero_env.rewards.judges.normalize import clear_token_cache
from rezero_env.types import current_task

SIZES = (10_000, 100_000)
GOALS = {10_000: 1_000.0, 100_000: 250.0}
ADVERSARIAL_SIZE = 1 << 20  # characters: the action space's nominal maximum
ADVERSARIAL_VARIANTS = 10  # messages per kind
ADVERSARIAL_GOAL_MS = 50.0

_WORDS = ("found", "based", "results", "the", "a", "an", "information", "shows", "apollo", "x", "Velmora", "1821")
_TAGS = ("<think>", "</think>", "<search>", "</search>", "<answer>", "</answer>", "<information>", "</information>")
# Any code point: control characters, lone surrogates, characters outside the BMP, those that case-fold specially.
_UNICODE = tuple(
    chr(code)
    for code in (*range(0, 0x250), *range(0xD7F0, 0xE010), *range(0x1F600, 0x1F650), 0x130, 0x131, 0x17F, 0x212A)
)


def _fill(rng: random.Random, size: int, pieces: tuple[str, ...] = _WORDS, separator: str = " ") -> str:
    """Random ``pieces`` joined by ``separator``, ``size`` characters long (a random 16 KiB stretch, repeated)."""
    parts: list[str] = []
    length = 0
    while length < min(size, 1 << 14):
        piece = rng.choice(pieces)
        parts.append(piece)
        length += len(piece) + len(separator)
    stretch = separator.join(parts) + separator
    return (stretch * (size // len(stretch) + 1))[:size]


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


def _queries(rng: random.Random, size: int, make: Callable[[int], str]) -> str:
    """64 search blocks whose queries ``make(i)`` builds, then filler up to ``size``."""
    head = "<think>t</think>" + "".join(f"<search>{make(i)}</search>" for i in range(64))
    return head + _fill(rng, max(0, size - len(head)))


_KINDS: dict[str, Callable[[random.Random, int], str]] = {
    "unclosed think": lambda rng, n: "<think>" + _fill(rng, n - 30) + "<answer>x</answer>",
    "unclosed think, glued words": lambda rng, n: "<think>" + _fill(rng, n - 30, separator="") + "<answer>x</answer>",
    "long closed think": lambda rng, n: "<think>" + _fill(rng, n - 40) + "</think><answer>Velmora</answer>",
    "many think blocks": lambda rng, n: (
        _repeat(f"<think>{rng.choice(_WORDS)} x</think>", n - 20) + "<answer>y</answer>"
    ),
    "unclosed tags": lambda rng, n: _repeat(rng.choice(_TAGS), n),
    "nested tags": lambda rng, n: _repeat("<search>", n // 2) + "q" + _repeat("</search>", n // 2),
    "tag soup": lambda rng, n: _fill(rng, n, (*_TAGS, "<", ">", "/", "*", "_", "**", "info", "x"), separator=""),
    "huge query": lambda rng, n: "<think>t</think><search>" + _fill(rng, n - 40) + "</search>",
    "huge answer": lambda rng, n: "<think>based on it</think><answer>" + _fill(rng, n - 50) + "</answer>",
    "answer of articles and punctuation": lambda rng, n: "<answer>" + _fill(rng, n - 20, ("the", "a", "an", "!", "—")),
    "answer of articles": lambda rng, n: "<answer>" + _fill(rng, n - 20, ("a", "an", "the")) + "</answer>",
    "answer of dash-glued articles": lambda rng, n: (
        "<answer>" + _fill(rng, n - 20, ("a", "an", "the"), "—") + "</answer>"
    ),
    "many searches": lambda rng, n: (
        "<think>t</think>" + "".join(f"<search>q{i} {rng.choice(_WORDS)}</search>" for i in range(n // 24))
    ),
    "searches and answers": lambda rng, n: _repeat("<think>t</think><search>q</search><answer>a</answer>", n),
    "queries difflib is cubic on": lambda rng, n: _queries(
        rng, n, lambda i: "a" * (199 - i) if i % 2 else ("ab" * 100)[: 199 - i - rng.randrange(3)]
    ),
    "long repetitive queries": lambda rng, n: _queries(rng, n, lambda i: _fill(rng, 1024, ("a", "b", "ab"), "")),
    "queries full of operators": lambda rng, n: _queries(
        rng, n, lambda i: _fill(rng, 1024, ('"', "site:", "-x", " OR ", " AND ", "filetype:", "a"), "")
    ),
    "markdown markers": lambda rng, n: _fill(rng, n, ("*", "**", "_", "*<", "_<", "<think>", "x"), separator=""),
    "information blocks": lambda rng, n: _fill(rng, n, ("<info", "<Info_1>", "</info>", "<information>", "x"), ""),
    "whitespace": lambda rng, n: _fill(rng, n - 20, (" ", "\n", "\t", "\r\n"), "") + "<answer> </answer>",
    "unicode": lambda rng, n: "<think>" + _fill(rng, n - 40, _UNICODE, "") + "</think><answer>ſhows İ</answer>",
    "angle brackets": lambda rng, n: _fill(rng, n, ("<", ">", "<>", "</", "x"), separator=""),
}
#: The kinds of crafted messages the adversarial row steps.
ADVERSARIAL_KINDS = tuple(_KINDS)


def adversarial_message(kind: str, seed: int = 0, size: int = ADVERSARIAL_SIZE) -> str:
    """A crafted assistant message of about ``size`` characters, of one of :data:`ADVERSARIAL_KINDS`."""
    return _KINDS[kind](random.Random(f"{kind}-{seed}"), size)[: size + 64]


def measure_adversarial(variants: int = ADVERSARIAL_VARIANTS, size: int = ADVERSARIAL_SIZE) -> dict[str, object]:
    """Step time over ``variants`` messages of every adversarial kind, each ending its own episode (``max_turns=1``)
    under the ``rezero`` preset: max, median and the slowest kind."""
    env = gym.make("SearchQA-v0", max_turns=1, reward="rezero")
    env.reset(seed=0)
    env.step("<think>warm up</think><search>warm up</search>")
    gc.collect()  # start from a clean heap (not what earlier suites left); collections the steps cause are counted
    times: list[tuple[float, str]] = []
    for kind in ADVERSARIAL_KINDS:
        for variant in range(variants):
            message = adversarial_message(kind, variant, size)
            env.reset(seed=variant)
            start = time.perf_counter()
            env.step(message)
            times.append((time.perf_counter() - start, kind))
    env.close()
    slowest, slowest_kind = max(times)
    by_kind: dict[str, float] = {}
    for seconds, kind in times:
        by_kind[kind] = max(by_kind.get(kind, 0.0), round(seconds * 1000, 1))
    return {
        "messages": len(times),
        "message_chars": size,
        "max_step_ms": round(slowest * 1000, 1),
        "median_step_ms": round(statistics.median(t for t, _ in times) * 1000, 1),
        "slowest_kind": slowest_kind,
        "max_step_ms_by_kind": by_kind,
    }


def measure(n_docs: int, steps: int) -> dict[str, float]:
    dataset = zipf_dataset(n_docs)
    env, build_seconds = timed(lambda: gym.make("SearchQA-v0", dataset=dataset, split="all", max_turns=10))
    engine = env.unwrapped.engine
    queries = zipf_queries(steps, seed=3)
    actions = [f"<think>search</think><search>{q}</search>" for q in queries]

    start = time.perf_counter()
    for query in queries:
        engine.search(query, 5)
    engine_seconds = time.perf_counter() - start

    done, seed = True, 0
    start = time.perf_counter()
    for action in actions:
        if done:
            env.reset(seed=seed)
            seed += 1
        _, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    env_seconds = time.perf_counter() - start
    return {
        "docs": n_docs,
        "steps": steps,
        "index_build_s": round(build_seconds, 2),
        "env_steps_per_s": round(steps / env_seconds, 1),
        "engine_queries_per_s": round(steps / engine_seconds, 1),
        "env_overhead_share": round(max(0.0, 1 - engine_seconds / env_seconds), 3),
    }


JUDGE_COST_JUDGES = ("em_f1", "contains")


def measure_judge_cost(episodes: int = 2_000, repeats: int = 3) -> dict[str, object]:
    """Mean time of an answering step (reset excluded; the step ends the episode, so every reward term and the
    judge run) under each of :data:`JUDGE_COST_JUDGES` and under a judge that does nothing, best of ``repeats``."""
    answers = ("The answer is {}.", "{}", "<answer>{}", "It was either {} or something else", "I don't know")
    judges: dict[str, object] = {"none (a constant)": lambda prediction, answers: 0.0}
    judges.update({name: name for name in JUDGE_COST_JUDGES})
    step_us: dict[str, float] = {}
    for label, judge in judges.items():
        env = gym.make("SearchQA-v0", max_turns=1, reward="rezero", judge=judge)
        best = float("inf")
        for _ in range(repeats):
            clear_token_cache()  # every repeat tokenises each gold answer and prediction afresh at first sight
            total = 0.0
            for i in range(episodes):
                env.reset(seed=i)
                gold = current_task(env).answers[0]
                action = f"<think>t</think><answer>{answers[i % len(answers)].format(gold)}</answer>"
                start = time.perf_counter()
                env.step(action)
                total += time.perf_counter() - start
            best = min(best, total / episodes)
        env.close()
        step_us[label] = round(best * 1e6, 1)
    base = step_us["none (a constant)"]
    return {"episodes": episodes, "step_us": step_us, "judge_us": {k: round(v - base, 1) for k, v in step_us.items()}}


def run(quick: bool = False) -> SuiteResult:
    rows = [measure(n, steps=(1_000 if quick else 3_000) if n <= 10_000 else (300 if quick else 1_000)) for n in SIZES]
    adversarial = measure_adversarial()
    judge_cost = measure_judge_cost(500 if quick else 2_000)
    table = [
        "| docs | env steps/s | engine queries/s | env overhead share | index build (s) |",
        "|---|---|---|---|---|",
        *[
            f"| {r['docs']:,} | {r['env_steps_per_s']:,.0f} | {r['engine_queries_per_s']:,.0f} | "
            f"{r['env_overhead_share']:.1%} | {r['index_build_s']:.1f} |"
            for r in rows
        ],
        "",
        "| adversarial messages | chars each | max step (ms) | median step (ms) | slowest kind |",
        "|---|---|---|---|---|",
        f"| {adversarial['messages']} | {adversarial['message_chars']:,} | {adversarial['max_step_ms']} | "
        f"{adversarial['median_step_ms']} | {adversarial['slowest_kind']} |",
        "",
        "| judge (answering step, rezero preset) | step (µs) | judge's share (µs) |",
        "|---|---|---|",
        *[
            f"| {name} | {us:,.1f} | {judge_cost['judge_us'][name]:+,.1f} |"  # type: ignore[index]
            for name, us in judge_cost["step_us"].items()  # type: ignore[attr-defined]
        ],
    ]
    targets = [Target(f"env steps/s at {r['docs']:,} docs", r["env_steps_per_s"], GOALS[int(r["docs"])]) for r in rows]
    targets.append(
        Target(
            f"max step (ms) over {adversarial['messages']} adversarial 1 MiB messages, rezero preset",
            float(adversarial["max_step_ms"]),  # type: ignore[arg-type]
            ADVERSARIAL_GOAL_MS,
            lower_is_better=True,
        )
    )
    return SuiteResult(
        "env_step", {"runs": rows, "adversarial": adversarial, "judge_cost": judge_cost}, targets, "\n".join(table)
    )


__all__ = ["ADVERSARIAL_KINDS", "SearchQAEnv", "adversarial_message", "measure_adversarial", "run"]
