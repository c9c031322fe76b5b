"""``vector_search``: does a vector environment batch its searches? One step of 32 environments with the dense
engine against the same 32 searches as single ``env.step`` calls.

``gym.make_vec("SearchQA-v0", num_envs=32, search_engine="dense")`` over the embedded synthetic world; every
environment searches a different question, so the vector step sends one ``batch_search`` of 32 queries (one encoder
forward pass) where 32 ``env.step`` calls on one environment encode one query each. The bare engine is timed the same
two ways. Runs in its own process with :data:`benchmarks.retrieval.THREADS` threads, like the retrieval suite.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.common import SuiteResult, Target, timed
from benchmarks.retrieval import in_subprocess

NUM_ENVS = 32
TIMEOUT_S = 1200  # the first run on a machine encodes the embedded corpus (2,270 paragraphs)


def measure(num_envs: int = NUM_ENVS, repeats: int = 5, dataset: str = "synthetic") -> dict[str, Any]:
    """Median seconds of one ``num_envs``-env vector step and of ``num_envs`` single steps (same queries), and of the
    engine's ``batch_search`` against as many ``search`` calls, over ``dataset``'s questions and corpus."""
    import gymnasium as gym

    import rezero_env
    from rezero_env.envs.vector import SearchQAVectorEnv

    gym.register_envs(rezero_env)
    options: dict[str, Any] = {"dataset": dataset, "split": "all", "search_engine": "dense", "max_turns": 64}
    envs, setup = timed(lambda: gym.make_vec("SearchQA-v0", num_envs=num_envs, **options))
    if not isinstance(envs, SearchQAVectorEnv):
        raise TypeError(f"gym.make_vec built a {type(envs).__name__}, not a SearchQAVectorEnv")
    env = gym.make("SearchQA-v0", **options)
    engine = envs.search_envs[0].engine
    queries = list(dict.fromkeys(task.question for task in envs.search_envs[0].tasks))[:num_envs]
    if len(queries) < num_envs:
        raise ValueError(f"the dataset has {len(queries)} distinct questions, fewer than {num_envs} environments")
    actions = tuple(f"<search>{query}</search>" for query in queries)

    def vector_step() -> list[str]:
        observations, *_ = envs.step(actions)
        return list(observations)

    def single_steps() -> list[str]:
        return [env.step(action)[0] for action in actions]

    envs.reset(seed=0)
    env.reset(seed=0)
    same = vector_step() == single_steps()  # also warms both paths up
    times: dict[str, list[float]] = {"vector": [], "single": [], "batch_search": [], "search": []}
    for repeat in range(repeats):
        envs.reset(seed=repeat)
        times["vector"].append(timed(vector_step)[1])
        env.reset(seed=repeat)
        times["single"].append(timed(single_steps)[1])
        times["batch_search"].append(timed(lambda: engine.batch_search(queries, 5))[1])
        times["search"].append(timed(lambda: [engine.search(q, 5) for q in queries])[1])
    envs.close()
    env.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "num_envs": num_envs,
        "documents": len(envs.search_envs[0].dataset.documents),
        "repeats": repeats,
        "setup_s": round(setup, 2),
        "engine_shared": env.unwrapped.engine is engine,  # type: ignore[attr-defined]
        "same_observations": same,
        **{f"{name}_ms": round(1000 * value, 2) for name, value in medians.items()},
        "speedup": round(medians["single"] / medians["vector"], 2),
        "engine_speedup": round(medians["search"] / medians["batch_search"], 2),
    }


def run(quick: bool = False) -> SuiteResult:
    from benchmarks.retrieval import THREADS

    row = in_subprocess(measure, NUM_ENVS, 5 if quick else 20, timeout=TIMEOUT_S) or {
        "error": f"ran past {TIMEOUT_S} s"
    }
    if "error" in row:
        return SuiteResult("vector_search", row, [], f"vector_search failed: {row['error']}")
    n = row["num_envs"]
    lines = [
        f"{n} dense searches (all-MiniLM-L6-v2, exact) over the embedded world ({row['documents']:,} paragraphs), "
        f"median of {row['repeats']}, {THREADS} thread:",
        "",
        "| how | total (ms) | per search (ms) |",
        "|---|---|---|",
        *[
            f"| {label} | {row[key]:,.1f} | {row[key] / n:,.2f} |"
            for label, key in (
                (f"one vector step, `gym.make_vec(..., num_envs={n})`", "vector_ms"),
                (f"{n} single `env.step` calls", "single_ms"),
                (f"engine only: one `batch_search` of {n}", "batch_search_ms"),
                (f"engine only: {n} `search` calls", "search_ms"),
            )
        ],
        "",
        f"Vector step speed-up: {row['speedup']:.1f}× (engine alone: {row['engine_speedup']:.1f}×); "
        f"observations identical to the single steps: {'yes' if row['same_observations'] else 'NO'}.",
    ]
    targets = [Target(f"{n}-env vector step speed-up over {n} single steps (×)", row["speedup"], 1.0)]
    return SuiteResult("vector_search", row, targets, "\n".join(lines))
