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
    # schema 2
    "episode_id",
    "stage",
    "prefix_messages",
    "reward_weights",
    "reward_notes",
    # schema 2, since guidance (optional to readers)
    "guide",
    "guide_turns",
    # schema 2, since cut turns are marked (optional to readers)
    "turns",
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
    # the weighted terms add up to the reward, and each term says why
    assert record["reward"] == pytest.approx(
        sum(v * record["reward_weights"][k] for k, v in record["reward_terms"].items())
    )
    assert record["reward_notes"]["retry"].endswith("→ 0.2 + 0.15·1") or "searches" in record["reward_notes"]["retry"]


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


def test_version_1_logs_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "episodes.jsonl"
    write_log(path)
    old = [json.loads(line) for line in path.read_text().splitlines()]
    for record in old:
        record["schema_version"] = 1
        for key in ("episode_id", "stage", "prefix_messages", "reward_weights", "reward_notes"):
            del record[key]
    path.write_text("".join(json.dumps(r) + "\n" for r in old))
    records = list(read_episode_log(path))
    assert [r["schema_version"] for r in records] == [1, 1]


def test_training_records_carry_what_the_learner_used() -> None:
    from rezero_agents.records import Episode, episode_records, expand_runs
    from rezero_env.types import Task

    class Tokenizer:
        def batch_decode(self, ids: list[list[int]], skip_special_tokens: bool = False) -> list[str]:
            return [f"<{i[0]}>" for i in ids]

    task = Task("t", "Who?", ("Ada",))
    episodes = []
    for reward in (1.0, 3.0, 8.0):
        episode = Episode(task, group=7, reward=reward, prefix_messages=[{"role": "user", "content": "example"}])
        episode.extend([1, 2, 3], trainable=False)
        episode.extend([4, 5], trainable=True, logprobs=[-0.123456, -2.0])
        episode.extend([6], trainable=False)
        episodes.append(episode)
    other = Episode(task, group=8, reward=0.0)
    records = episode_records(
        [*episodes, other],
        run_id="r",
        step=4,
        split="train",
        phase="train",
        policy="transformers",
        model="m",
        advantages=[-0.8, -0.3, 1.1, 0.0],
        ratios=[[1.0, 0.98], None, None, None],
        tokenizer=Tokenizer(),
        id_prefix="r0-",
    )
    learner = records[0]["learner"]
    assert records[0]["episode_id"] == "r0-train-4-0" and records[0]["prefix_messages"][0]["content"] == "example"
    assert learner["group_members"] == ["r0-train-4-0", "r0-train-4-1", "r0-train-4-2"]
    assert records[3]["learner"]["group_members"] == ["r0-train-4-3"] and records[3]["learner"]["group_reward_std"] == 0
    assert learner["group_reward_mean"] == pytest.approx(4.0) and learner["group_reward_std"] == pytest.approx(
        3.6056, 1e-4
    )
    assert learner["advantage"] == -0.8 and learner["ratios"] == [1.0, 0.98] and "ratios" not in records[1]["learner"]
    assert expand_runs(learner["loss_mask_runs"]) == episodes[0].loss_mask == [0, 0, 0, 1, 1, 0]
    assert learner["logprobs"] == [-0.1235, -2.0]  # one per trained token, rounded
    assert learner["tokens"] == ["<1>", "<2>", "<3>", "<4>", "<5>", "<6>"]
    assert records[0]["num_generated_tokens"] == sum(expand_runs(learner["loss_mask_runs"])) == 2
    plain = episode_records(
        episodes, run_id="r", step=4, split="test", phase="eval", policy="p", model="m", stage="base"
    )
    assert "learner" not in plain[0] and plain[0]["stage"] == "base"


def test_bad_learner_inputs_are_refused_clearly() -> None:
    from rezero_agents.records import Episode, episode_records
    from rezero_env.types import Task

    episode = Episode(Task("t", "Who?", ("Ada",)), group=0)
    episode.extend([4], trainable=True, logprobs=[-1.0])
    common = {"run_id": "r", "step": 0, "split": "train", "phase": "train", "policy": "p", "model": "m"}
    with pytest.raises(ValueError, match="advantages: 2 values for 1 episodes"):
        episode_records([episode], advantages=[0.1, 0.2], **common)
    with pytest.raises(ValueError, match="ratios of episode 0: 2 values for 1 trained tokens"):
        episode_records([episode], advantages=[0.1], ratios=[[1.0, 1.0]], **common)
    with pytest.raises(ValueError, match="stage must be a non-empty label"):
        episode_records([episode], stage=" ", **common)
