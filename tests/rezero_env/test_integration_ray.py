"""From one CPU to a cluster, checked on one CPU: the env and its adapters run in Ray actors on a local Ray cluster
of 2 workers against one shared retriever server, and give the same rewards as in-process (README "Scaling out")."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("skyrl_gym")

from rezero_env.data import load_dataset  # noqa: E402
from rezero_env.search import BM25Search  # noqa: E402
from rezero_env.search.server import create_app, uvicorn_config  # noqa: E402
from tests.rezero_env.scripted_play import play_gym, play_skyrl_remote  # noqa: E402
from tests.serving import serve_in_thread  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SEEDS = (0, 1, 2, 3, 4, 5, 6, 7)


@pytest.fixture(scope="module")
def retriever() -> Iterator[str]:
    """One retriever server on 127.0.0.1, shared by every worker."""
    config = uvicorn_config(create_app(BM25Search(load_dataset("synthetic").documents)), port=0, log_level="warning")
    with serve_in_thread(config, "the retriever") as url:
        yield f"{url}/retrieve"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO_ROOT), "RAY_DEDUP_LOGS": "0"}},
    )
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_workers_play_against_one_retriever_with_in_process_rewards(retriever: str, cluster: None) -> None:
    @ray.remote(num_cpus=1)
    class Worker:
        def play(self, seed: int, url: str) -> dict[str, Any]:
            return play_skyrl_remote(seed, url)

    workers = [Worker.remote() for _ in range(2)]  # type: ignore[attr-defined]
    futures = [workers[i % 2].play.remote(seed, retriever) for i, seed in enumerate(SEEDS)]
    results = ray.get(futures, timeout=300)
    assert len({r["pid"] for r in results}) == 2 and os.getpid() not in {r["pid"] for r in results}
    for result in results:
        reference = play_gym(result["seed"])  # in-process, the local BM25 engine
        assert result["rewards"] == reference.rewards and result["terms"] == reference.reward_terms
        assert result["observations"] == reference.observations[1:]
    assert any(r["terms"]["correctness"] for r in results)
