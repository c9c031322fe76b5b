"""``env_step``: SearchQA-v0 step throughput with BM25 over 10k and 100k paragraphs, and the env's own share of it.

Each episode is nine searches and an answer (``max_turns=10``), through ``gym.make`` with the default ``rezero``
reward wrappers, i.e. what a user gets. The same queries sent straight to the engine give the search-only cost; the
rest is the environment's overhead (parsing, rendering, transcript, rewards).
"""

from __future__ import annotations

import time

import gymnasium as gym

import rezero_env  # noqa: F401  (registers the ids)
from benchmarks.common import SuiteResult, Target, timed, zipf_dataset, zipf_queries
from rezero_env.envs.search_qa import SearchQAEnv

SIZES = (10_000, 100_000)
GOALS = {10_000: 1_000.0, 100_000: 250.0}


def measure(n_docs: int, steps: int) -> dict[str, float]:
    dataset = zipf_dataset(n_docs)
    env, build_seconds = timed(lambda: gym.make("SearchQA-v0", dataset=dataset, split="all", max_turns=10))
    engine = env.unwrapped.engine  # type: ignore[attr-defined]
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


def run(quick: bool = False) -> SuiteResult:
    rows = [measure(n, steps=(1_000 if quick else 3_000) if n <= 10_000 else (300 if quick else 1_000)) for n in SIZES]
    table = [
        "| docs | env steps/s | engine queries/s | env overhead share | index build (s) |",
        "|---|---|---|---|---|",
        *[
            f"| {r['docs']:,} | {r['env_steps_per_s']:,.0f} | {r['engine_queries_per_s']:,.0f} | "
            f"{r['env_overhead_share']:.1%} | {r['index_build_s']:.1f} |"
            for r in rows
        ],
    ]
    targets = [Target(f"env steps/s at {r['docs']:,} docs", r["env_steps_per_s"], GOALS[int(r["docs"])]) for r in rows]
    return SuiteResult("env_step", {"runs": rows}, targets, "\n".join(table))


__all__ = ["SearchQAEnv", "run"]
