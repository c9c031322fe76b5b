from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

import rezero_env  # noqa: F401
from rezero_agents.episode_log import (
    SCHEMA_VERSION,
    EpisodeLogError,
    EpisodeLogWriter,
    episode_record,
    read_episode_log,
)
from rezero_agents.rollout import collect_episodes
from rezero_agents.scripted import ScriptedSearcher

REQUIRED = {
    "schema_version",
    "run_id",
    "step",
    "split",
    "phase",
    "group",
    "task",
    "messages",
    "searches",
    "reward",
    "reward_terms",
    "correct",
    "terminated",
    "truncated",
    "cut",
    "num_turns",
    "num_tokens",
    "num_generated_tokens",
    "policy",
    "model",
    "checkpoint",
    "started_at",
    "finished_at",
}


def write_log(path: Path) -> None:
    episodes = collect_episodes(
        [gym.make("SearchQA-v0", split="test")], ScriptedSearcher(), [{"task_index": 0}, {"task_index": 1}]
    )
    with EpisodeLogWriter(path) as log:
        log.write(
            episode_record(e, run_id="r", step=3, split="test", phase="eval", policy="scripted", model="none")
            for e in episodes
        )


def test_round_trip_carries_the_documented_fields(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    write_log(path)
    records = list(read_episode_log(path))
    assert len(records) == 2 and set(records[0]) == REQUIRED
    record = records[0]
    assert record["schema_version"] == SCHEMA_VERSION and record["correct"] is True
    assert record["task"]["answers"] and record["searches"][0]["doc_ids"]
    assert record["messages"][0]["role"] == "system" and record["reward"] > 0


def test_corrupt_and_partial_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    write_log(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0], "{not json", "[1, 2]", lines[1][: len(lines[1]) // 2]]) + "\n")
    skipped: list[int] = []
    records = list(read_episode_log(path, skipped))
    assert len(records) == 1 and skipped == [2, 3, 4]


def test_other_schema_versions_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps({"schema_version": 99}) + "\n")
    with pytest.raises(EpisodeLogError, match=r"episodes.jsonl:1: episode log schema_version 99"):
        list(read_episode_log(path))


def test_lines_that_are_not_utf8_are_skipped_like_other_corrupt_lines(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    good = json.dumps({"schema_version": SCHEMA_VERSION, "task": {"id": "t"}})
    path.write_bytes(good.encode() + b"\n\xff\xfe not utf-8\n" + good.encode() + b"\n")
    skipped: list[int] = []
    assert len(list(read_episode_log(path, skipped))) == 2 and skipped == [2]
