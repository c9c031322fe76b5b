"""``playback``: time to first render of the playback UI over generated 10k- and 100k-episode logs, and peak memory.

"First render" is what the app does before a user sees anything: discover and index the log (one pass that keeps a
few summary fields per episode and the byte offset of its line), build the first page of the episode list, then
read and render the first episode. Each size runs in a fresh subprocess so peak memory is that size's alone; a
filtered page (text search + outcome + reward bound, sorted by reward) shows how the app responds afterwards.
``quick`` changes nothing: both sizes take well under a minute.
The episodes are synthetic but shaped like ``runs/cpu-demo``'s (about 3 KB per line: 1–4 searches with three
results each, six reward terms), written with :class:`~rezero_agents.episode_log.EpisodeLogWriter`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SuiteResult, Target, peak_rss_mib, timed
from rezero_agents.episode_log import EpisodeLogWriter
from rezero_agents.records import Episode, episode_record
from rezero_env.types import Task

SIZES = (10_000, 100_000)
GOAL_SECONDS = {10_000: 2.0, 100_000: 15.0}
_TERMS = ("correctness", "format", "retry", "em_chunk", "search_strategy", "search_diversity")
_WORDS = (
    "river",
    "town",
    "founded",
    "printing",
    "house",
    "maker",
    "astrolabe",
    "foundry",
    "botanist",
    "architect",
    "pupil",
    "teacher",
    "chronicle",
    "museum",
    "harbour",
    "copper",
    "tin",
    "silver",
    "market",
    "bridge",
    "archive",
    "library",
    "guild",
    "weaver",
    "mill",
    "scholar",
)


_SYLLABLES = ("hour", "kmil", "wam", "thour", "bys", "hath", "bror", "lall", "pur", "gyx", "brex", "wae", "te")


def _pick(rng: np.random.Generator, words: tuple[str, ...] | list[str], size: int) -> list[str]:
    return [words[i] for i in rng.integers(0, len(words), size=size)]


def _name(rng: np.random.Generator) -> str:
    a, b, c, d = _pick(rng, _SYLLABLES, 4)
    return f"{(a + b).title()} {(c + d).title()}"


def synthetic_record(index: int, rng: np.random.Generator, run_id: str = "bench", steps: int = 200) -> dict[str, Any]:
    """One episode record (built by :func:`rezero_agents.records.episode_record`) with a realistic shape
    (think/search/information turns, then an answer)."""
    entity, answer = _name(rng), _name(rng)
    question = f"Who founded the {entity} {_pick(rng, _WORDS, 1)[0].title()}?"
    messages: list[dict[str, str]] = [
        {"role": "system", "content": "You are a research assistant. You answer questions by searching."},
        {"role": "user", "content": f"Answer the question by searching.\n\nQuestion: {question}"},
    ]
    searches = []
    for turn in range(1, int(rng.integers(1, 5)) + 1):
        query = f"{entity} {' '.join(_pick(rng, _WORDS, 2))}"
        messages.append(
            {"role": "assistant", "content": f"<think>I need more about {entity}.</think>\n<search>{query}</search>"}
        )
        docs = []
        for rank in range(1, 4):
            body = " ".join(_pick(rng, _WORDS, 20))
            docs.append(f"Doc {rank} (Title: {_name(rng)})\n{entity} {body}.")
        messages.append({"role": "user", "content": "<information>\n" + "\n\n".join(docs) + "\n</information>"})
        searches.append(
            {"turn": turn, "query": query, "doc_ids": [f"doc-{rng.integers(10_000)}" for _ in range(3)], "error": None}
        )
    correct = bool(rng.random() < 0.4)
    predicted = answer if correct else _name(rng)
    messages.append(
        {"role": "assistant", "content": f"<think>The answer is {predicted}.</think>\n<answer>{predicted}</answer>"}
    )
    terms = {name: float(np.round(rng.random(), 3)) for name in _TERMS}
    terms["correctness"] = float(correct)
    episode = Episode(
        task=Task(id=f"synth-{index % 5000:05d}", question=question, answers=(answer,)),
        group=index // 4,
        messages=messages,  # type: ignore[arg-type]
        searches=searches,
        reward=float(np.round(sum(terms.values()), 3)),
        reward_terms=terms,
        reward_weights=dict.fromkeys(terms, 1.0),
        terminated=True,
        num_turns=len(searches) + 1,
        started_at="2026-11-26T01:39:06.898+00:00",
        finished_at="2026-11-26T01:39:09.120+00:00",
    )
    episode.extend([0] * 780, trainable=False)
    episode.extend([0] * 120, trainable=True)
    return episode_record(
        episode,
        run_id=run_id,
        step=index % steps,
        split="train",
        phase="train",
        policy="transformers",
        model="smollm2-135m",
        episode_id=f"train-{index % steps}-{index}",
    )


def synthetic_records(count: int, seed: int = 0, run_id: str = "bench", pool: int = 1000) -> Iterator[dict[str, Any]]:
    """``count`` records: ``pool`` distinct episodes, repeated with their own step, group and task id."""
    rng = np.random.default_rng(seed)
    base = [synthetic_record(i, rng, run_id) for i in range(min(count, pool))]
    for index in range(count):
        record = dict(base[index % len(base)])
        record["step"] = index * 200 // max(count, 1)
        record["group"] = index // 4
        record["task"] = dict(record["task"], id=f"synth-{index % 5000:05d}")
        yield record


def write_synthetic_log(path: Path, count: int, seed: int = 0) -> Path:
    """Write ``count`` synthetic episodes to ``path`` (a JSON Lines episode log) and return it."""
    with EpisodeLogWriter(path) as log:
        batch: list[dict[str, Any]] = []
        for record in synthetic_records(count, seed):
            batch.append(record)
            if len(batch) == 1000:
                log.write(batch)
                batch = []
        log.write(batch)
    return path


def first_render(path: Path) -> dict[str, float]:
    """What the app does before a user sees the first episode: index ``path``, build the first list page (filter,
    page, rows) and read and render the first episode; seconds per phase, the app's build time and peak RSS."""
    from rezero_agents.playback.app import PlaybackApp, build_app
    from rezero_agents.playback.loading import EpisodeIndex

    no_filter: tuple[Any, ...] = ([], [], "all", "", "", "", "", "", "", "", "log")
    start = time.perf_counter()
    index = EpisodeIndex.load([path])
    indexed = time.perf_counter()
    app = PlaybackApp(index)
    table, _, _ = app.list_page(*no_filter, 1)
    listed = time.perf_counter()
    html, _ = app.episode(int(table.iloc[0, 0]))
    rendered = time.perf_counter()
    if 'class="rz-episode"' not in html:
        raise RuntimeError(f"the first episode did not render: {html[:500]}")
    _, filtered_s = timed(lambda: app.list_page([], [], "incorrect", "", "", "1", "", "", "", "hour", "-reward", 1))
    _, build_s = timed(lambda: build_app(index))
    return {
        "episodes": len(index),
        "index_s": round(indexed - start, 3),
        "list_page_s": round(listed - indexed, 4),
        "episode_render_s": round(rendered - listed, 4),
        "first_render_s": round(rendered - start, 3),
        "filtered_page_s": round(filtered_s, 4),
        "build_app_s": round(build_s, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


def measure(count: int, directory: Path) -> dict[str, float]:
    path = directory / f"episodes-{count}.jsonl"
    start = time.perf_counter()
    write_synthetic_log(path, count)
    generate_s = time.perf_counter() - start
    size_mib = path.stat().st_size / 2**20
    code = (
        "import json, sys; from pathlib import Path; from benchmarks.playback import first_render; "
        "print(json.dumps(first_render(Path(sys.argv[1]))))"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(  # a fresh process per size, so peak memory is this size's alone
        [sys.executable, "-c", code, str(path)], cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"first render of {path} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result.update({"log_mib": round(size_mib, 1), "generate_s": round(generate_s, 1)})
    path.unlink()
    return result


def run(quick: bool = False) -> SuiteResult:
    with tempfile.TemporaryDirectory(prefix="rezero-playback-bench-") as tmp:
        rows = [measure(count, Path(tmp)) for count in SIZES]
    table = [
        "| episodes | log size (MiB) | index (s) | first list page (ms) | first episode (ms) | first render (s) | "
        "filtered page (ms) | peak RSS (MiB) |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['episodes']:,} | {r['log_mib']:,.0f} | {r['index_s']:.2f} | {r['list_page_s'] * 1000:.1f} | "
            f"{r['episode_render_s'] * 1000:.1f} | {r['first_render_s']:.2f} | {r['filtered_page_s'] * 1000:.0f} | "
            f"{r['peak_rss_mib']:,.0f} |"
            for r in rows
        ],
    ]
    targets = [
        Target(
            f"first render at {int(r['episodes']):,} episodes (s)",
            r["first_render_s"],
            GOAL_SECONDS[int(r["episodes"])],
            True,
        )
        for r in rows
    ]
    return SuiteResult("playback", {"runs": rows}, targets, "\n".join(table))
