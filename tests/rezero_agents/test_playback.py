"""The playback app's pieces without a browser: log discovery, indexing, damaged lines, filters, pages, HTML
rendering and escaping, guided training (guide episodes, branched samples), plots, live mode and the command line."""

from __future__ import annotations

import copy
import html as html_text
import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rezero_agents.chat import ChatFormatter
from rezero_agents.episode_log import EpisodeLogWriter
from rezero_agents.guidance import Guidance
from rezero_agents.models import TINY_MODEL, load_model
from rezero_agents.objectives import group_advantages
from rezero_agents.playback.app import PlaybackApp, main, make_filter, parse_args
from rezero_agents.playback.live import LiveSettings, play_live, resolve_checkpoint, scripted_policy
from rezero_agents.playback.loading import ROW_HEADERS, EpisodeFilter, EpisodeIndex, discover_logs, paginate
from rezero_agents.playback.plots import by_step, searches_histogram
from rezero_agents.playback.render import Mate, parse_information, render_episode, render_learner, segments
from rezero_agents.policy import SamplingConfig, TransformersPolicy
from rezero_agents.records import episode_records
from rezero_agents.rollout import collect_episodes
from rezero_agents.scripted import ScriptedSearcher
from rezero_env.types import Message
from tests.rezero_agents.fixtures.playback_log import (
    HOSTILE,
    HOSTILE_QUESTION,
    hostile_record,
    scripted_records,
    write_fixture_log,
)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return scripted_records(4)


@pytest.fixture
def log(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "run" / "episodes.jsonl"
    path.parent.mkdir()
    return path, write_fixture_log(path)


# --- discovery ------------------------------------------------------------------------------------------------


def test_discovery_takes_files_and_finds_logs_in_run_directories(tmp_path: Path) -> None:
    (tmp_path / "a" / "eval").mkdir(parents=True)
    for name in ("a/episodes.jsonl", "a/eval/episodes.jsonl", "a/corpus.jsonl", "b.jsonl"):
        (tmp_path / name).write_text("")
    found = discover_logs([tmp_path / "a", tmp_path / "b.jsonl", tmp_path / "a" / "episodes.jsonl"])
    assert found == [tmp_path / "a/episodes.jsonl", tmp_path / "a/eval/episodes.jsonl", tmp_path / "b.jsonl"]


def test_discovery_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope: no such file or directory"):
        discover_logs([tmp_path / "nope"])
    with pytest.raises(FileNotFoundError, match=r"no episode log \(episodes\*\.jsonl\)"):
        discover_logs([tmp_path])


# --- indexing and damaged lines -----------------------------------------------------------------------------


def test_index_reads_good_lines_and_counts_corrupt_ones(log: tuple[Path, dict[str, Any]]) -> None:
    path, expected = log
    index = EpisodeIndex.load([path.parent])
    assert len(index) == expected["episodes"]
    source = index.sources[0]
    assert source.skipped == expected["skipped_lines"]
    assert list(source.malformed) == [expected["malformed_line"]]
    assert "'task' is missing" in source.malformed[expected["malformed_line"]]
    (warning,) = index.warnings()
    assert "3 corrupt or partial lines skipped (line 3, 4, 6)" in warning and str(path) in warning
    assert index.skipped_lines == 3


def test_records_read_back_from_their_offsets_match_what_was_written(
    log: tuple[Path, dict[str, Any]], records: list[dict[str, Any]]
) -> None:
    path, _ = log
    index = EpisodeIndex.load([path])
    assert index.record(0)["messages"] == records[0]["messages"]
    assert index.record(2)["task"]["question"] == records[2]["task"]["question"]  # the id after the damaged lines
    assert index.location(2) == f"{path}:7"
    with pytest.raises(IndexError, match="No episode #99"):
        index.record(99)


def test_a_line_still_being_written_is_reported_then_picked_up(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeLogWriter(path) as writer:
        writer.write(records[:1])
    line = json.dumps(records[1]) + "\n"
    with path.open("a") as handle:
        handle.write(line[:100])
    index = EpisodeIndex.load([path])
    assert len(index) == 1 and "the last line (2) is incomplete" in index.warnings()[0]
    with path.open("a") as handle:
        handle.write(line[100:])
    assert index.refresh() == 1 and len(index) == 2 and index.warnings() == []
    assert index.record(1)["task"]["id"] == records[1]["task"]["id"]


def test_refresh_picks_up_training_steps_appended_later(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeLogWriter(path) as writer:
        writer.write([dict(r, step=1) for r in records[:2]])
    index = EpisodeIndex.load([tmp_path])
    assert index.refresh() == 0
    with EpisodeLogWriter(path) as writer:
        writer.write([dict(r, step=2) for r in records])
    assert index.refresh() == 4
    assert index.step_range() == (1, 2)
    assert len(index.filter(EpisodeFilter(step_min=2))) == 4


def test_a_rewritten_log_is_indexed_again(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "episodes.jsonl"
    with EpisodeLogWriter(path) as writer:
        writer.write(records)
    index = EpisodeIndex.load([path])
    path.write_text(json.dumps(records[3]) + "\n")
    index.refresh()
    assert len(index) == 1 and index.record(0)["task"]["id"] == records[3]["task"]["id"]


def test_a_line_of_another_schema_version_is_skipped_and_counted(
    tmp_path: Path, records: list[dict[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 27, item 4: one ``schema_version: 99`` line among good ones made the app exit (status 2)."""
    path = tmp_path / "episodes.jsonl"
    lines = [records[0], dict(records[0], schema_version=99), records[1], dict(records[1], schema_version=3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    index = EpisodeIndex.load([path])
    assert len(index) == 2 and index.record(1)["task"]["id"] == records[1]["task"]["id"]
    assert index.skipped_lines == 2
    (warning,) = index.warnings()
    expected = "2 lines of another schema version skipped (line 2, 4: schema_version 99, 3; this version reads 1 and 2)"
    assert expected in warning
    assert "schema_version 99" in PlaybackApp(index).warning_html()


# --- filters and pages ----------------------------------------------------------------------------------------


def test_filters_select_by_every_field(log: tuple[Path, dict[str, Any]]) -> None:
    path, expected = log
    index = EpisodeIndex.load([path])
    everything = index.filter(EpisodeFilter())
    assert everything.tolist() == list(range(9))
    assert set(index.runs) == {"demo", "hostile-run"}
    assert len(index.filter(EpisodeFilter(runs=("hostile-run",)))) == 1
    assert len(index.filter(EpisodeFilter(phases=("train",)))) == 4
    assert len(index.filter(EpisodeFilter(step_min=5, step_max=5))) == 4
    incorrect = index.filter(EpisodeFilter(outcome="incorrect"))
    assert [index.record(int(i))["reward"] for i in incorrect] == [-1.0]
    assert len(index.filter(EpisodeFilter(outcome="correct"))) == 8
    assert len(index.filter(EpisodeFilter(reward_max=0))) == 1
    assert len(index.filter(EpisodeFilter(reward_min=100))) == 0
    searches = [index.record(int(i))["searches"] for i in everything]
    two_or_more = index.filter(EpisodeFilter(searches_min=2))
    assert len(two_or_more) == sum(len(s) >= 2 for s in searches) and len(two_or_more) > 0
    question = expected["questions"][1]
    assert len(index.filter(EpisodeFilter(text=question.upper()[5:20]))) == 2  # case-insensitive, steps 0 and 5
    assert len(index.filter(EpisodeFilter(text="hostile-task"))) == 1  # task ids match too
    by_reward = index.filter(EpisodeFilter(sort="-reward"))
    rewards = [index.record(int(i))["reward"] for i in by_reward]
    assert rewards == sorted(rewards, reverse=True)


def test_bad_filter_values_are_named() -> None:
    with pytest.raises(ValueError, match="reward range is empty"):
        EpisodeFilter(reward_min=2, reward_max=1)
    with pytest.raises(ValueError, match="outcome must be"):
        EpisodeFilter(outcome="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"“step ≥” must be a whole number, got .1\.5."):
        make_filter([], [], "all", "1.5", "", "", "", "", "", "", "log")
    with pytest.raises(ValueError, match=r"“reward ≤” must be a number, got .lots."):
        make_filter([], [], "all", "", "", "", "lots", "", "", "", "log")


def test_pages_are_clamped_and_counted() -> None:
    ids = np.arange(53)
    page = paginate(ids, 3, 25)
    assert page.ids.tolist() == [50, 51, 52] and (page.number, page.pages, page.total) == (3, 3, 53)
    assert paginate(ids, 0, 25).number == 1
    assert paginate(np.zeros(0, np.int64), 4, 25).pages == 1
    with pytest.raises(ValueError, match="page_size"):
        paginate(ids, 1, 0)


def test_list_rows_come_from_memory(log: tuple[Path, dict[str, Any]]) -> None:
    path, _ = log
    index = EpisodeIndex.load([path])
    (row,) = index.rows([8])
    assert row[0] == 8 and row[1] == "hostile-run" and row[4] == HOSTILE_QUESTION and row[5] == HOSTILE
    path.unlink()  # rows need no file
    assert index.rows([0])[0][7] == "✓"


# --- rendering --------------------------------------------------------------------------------------------------


def test_segments_and_information_parsing() -> None:
    assert segments("a<think>b</think><search>c</search>d<answer>e</answer>") == [
        (None, "a"),
        ("think", "b"),
        ("search", "c"),
        (None, "d"),
        ("answer", "e"),
    ]
    assert segments("<think>x <search>y</search></think>") == [("think", "x <search>y</search>")]
    assert segments("<search>unclosed") == [(None, "<search>unclosed")]
    docs = parse_information("\nDoc 1 (Title: A)\nfirst\n\nDoc 2 (Title: B)\nsecond\nDoc 3 inside text\n")
    assert [(d.rank, d.title, d.text) for d in docs] == [(1, "A", "first"), (2, "B", "second\nDoc 3 inside text")]
    assert parse_information("\nNo results found.\n") == []


def test_episode_html_shows_transcript_searches_answers_and_rewards(records: list[dict[str, Any]]) -> None:
    record = next(r for r in records if len(r["searches"]) >= 1)
    html = render_episode(record, "log.jsonl:1")
    for tag in ("think", "search", "answer"):
        assert f'class="rz-block rz-{tag}"' in html
    assert html.count('<details class="rz-info">') == len(record["searches"])
    assert record["searches"][0]["doc_ids"][0] in html
    assert 'class="rz-support"' in html  # the supporting document is marked
    assert record["task"]["answers"][0] in html and "✓ correct" in html
    for term in record["reward_terms"]:
        assert f"<td>{term}</td>" in html
    assert "total reward" in html and "log.jsonl:1" in html


@pytest.mark.parametrize("guidance", [{}, {"guide": True}, {"guide_turns": 1}], ids=["policy", "guide", "prefix"])
def test_all_log_text_is_escaped(records: list[dict[str, Any]], guidance: dict[str, Any]) -> None:
    html = render_episode(hostile_record(records[0]) | guidance)
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") >= 8  # question, answers, think, search, doc title+text, query, term
    assert 'class="rz-block rz-answer"' in html  # the protocol tags still render as blocks
    if guidance:  # the guide's turn (or every turn) is marked, its text still escaped inside the mark
        assert re.search(r'class="rz-msg rz-assistant rz-guide-(turn|episode)">.*?&lt;script&gt;', html)
    learner = render_learner(
        {"learner": {"advantage": 0.5}, "episode_id": "x"}, [Mate(HOSTILE, None, HOSTILE), Mate("y", 3, HOSTILE)]
    )
    assert "<script" not in learner and "<img" not in learner and learner.count("&lt;script&gt;") == 3


def test_summary_plot_tables(log: tuple[Path, dict[str, Any]]) -> None:
    path, _ = log
    index = EpisodeIndex.load([path])
    ids = index.filter(EpisodeFilter())
    steps = by_step(index.columns(), ids)
    train = steps[steps["series"] == "demo · train"].iloc[0]
    assert (train["step"], train["episodes"], train["accuracy"]) == (5, 4, 0.75)
    histogram = searches_histogram(index.columns(), ids)
    assert histogram["episodes"].sum() == 9
    assert by_step(index.columns(), ids[:0]).empty


# --- guided training: guide episodes, branched samples, samples kept out of the update --------------------------


class _Guesser:
    """A text policy that answers at once, and wrongly: its group fails, so guidance helps it."""

    def act(self, transcripts: Sequence[Sequence[Message]]) -> list[str]:
        return ["<think>no idea</think>\n<answer>Nobody at all</answer>" for _ in transcripts]


#: Where :func:`guided_log` puts each kind of episode (index ids: log order).
SAMPLES, GUIDE, BRANCHED, KEPT_OUT, OLD = (0, 1), 2, 3, 4, 5


@pytest.fixture(scope="module")
def guided_log(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> tuple[Path, list[dict[str, Any]]]:
    """One step of guided training as the learner logs it, from the real code: a failing group of three samples;
    :class:`Guidance` plays the scripted searcher, tokenises its episode and lets it replace the last sample; the
    tiny model samples after the guide's first turn (a branched sample, as ``guidance="prefix"`` does); the replaced
    sample is logged apart (``unaided-…``, advantage 0). Then a record older than guidance (no ``guide`` and
    ``guide_turns`` fields). Returns the log and its records, in log order (see :data:`SAMPLES` …)."""
    env = gym.make("SearchQA-v0", split="test", top_k=3, max_turns=3)
    formatter = ChatFormatter(tokenizer)
    policy = TransformersPolicy(load_model(TINY_MODEL), formatter, batch_size=1)
    samples = collect_episodes([env], _Guesser(), [{"task_index": 0}] * 3, groups=[0, 0, 0])
    guided = Guidance("trajectory", ScriptedSearcher(), [env], formatter, num_generations=3).apply(
        samples, [0], policy, SamplingConfig(), seed=0
    )
    (guide,) = [e for e in guided.episodes if e.guide]
    first_turn = next(m["content"] for m in guide.messages if m["role"] == "assistant")
    branched = collect_episodes(
        [env],
        policy,
        [{"task_index": 0}],
        groups=[0],
        seed=5,
        sampling=SamplingConfig(temperature=1.0, max_new_tokens=12),
        prefixes=[[first_turn]],
    )
    env.close()
    episodes = [*guided.episodes, *branched]
    advantages, _ = group_advantages([e.reward for e in episodes], [e.group for e in episodes])
    common: dict[str, Any] = {"run_id": "guided", "step": 1, "split": "test", "phase": "train", "model": TINY_MODEL}
    trained = episode_records(episodes, policy="transformers", advantages=advantages.tolist(), **common)
    kept_out = episode_records(
        guided.displaced, policy="transformers", advantages=[0.0], id_prefix="unaided-", **common
    )
    old = copy.deepcopy(scripted_records(1, run_id="before-guidance")[0])
    del old["guide"], old["guide_turns"]
    written = [*trained, *kept_out, old]
    path = tmp_path_factory.mktemp("guided") / "episodes.jsonl"
    with EpisodeLogWriter(path) as log:
        log.write(written)
    assert [r.get("guide") for r in written] == [False, False, True, False, False, None]
    assert [r.get("guide_turns") for r in written] == [0, 0, 0, 1, 0, None]
    assert written[KEPT_OUT]["episode_id"] == "unaided-train-1-0" and written[BRANCHED]["learner"]["tokens"]
    return path, written


def test_the_list_marks_guide_episodes_and_branched_samples_and_filters_by_who_played(
    guided_log: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = guided_log
    index = EpisodeIndex.load([path])
    column = ROW_HEADERS.index("guidance")
    assert [row[column] for row in index.rows(range(len(index)))] == ["", "", "guide", "prefix 1", "not trained", ""]
    assert " · guide · " in index.label(GUIDE) and " · prefix 1 · " in index.label(BRANCHED)
    assert " · guide · " not in index.label(SAMPLES[0]) and "prefix" not in index.label(OLD)

    def shown(*origins: str) -> list[int]:
        return index.filter(EpisodeFilter(origins=origins)).tolist()

    assert shown() == list(range(6))
    assert shown("guide") == [GUIDE] and shown("prefix") == [BRANCHED]
    assert shown("policy") == [*SAMPLES, KEPT_OUT, OLD]  # the record older than guidance is the policy's
    assert shown("policy", "prefix") == [*SAMPLES, BRANCHED, KEPT_OUT, OLD]  # guide episodes hidden
    with pytest.raises(ValueError, match="origins must be among policy, guide, prefix, got 'teacher'"):
        EpisodeFilter(origins=("teacher",))
    no_filter = [[], [], "all", "", "", "", "", "", "", "", "log"]
    assert make_filter(*no_filter, ["guide"]) == EpisodeFilter(origins=("guide",))
    app = PlaybackApp(index)
    table, status, _ = app.list_page(*no_filter, ["guide", "prefix"], 1)
    assert table["guidance"].tolist() == ["guide", "prefix 1"] and "**2** of 6 episodes match" in status
    # the summary plots keep the guide's episodes and the branched samples apart from the policy's own samples
    steps = {row["series"]: row for row in by_step(index.columns(), shown()).to_dict("records")}
    assert (steps["guided · train"]["episodes"], steps["guided · train"]["accuracy"]) == (3, 0.0)
    assert (steps["guided · train · guide"]["episodes"], steps["guided · train · guide"]["accuracy"]) == (1, 1.0)
    assert steps["guided · train · guide prefix"]["episodes"] == 1


def test_a_guide_episode_says_so_and_its_group_mates_show_which_is_the_guide(
    guided_log: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, written = guided_log
    app = PlaybackApp(EpisodeIndex.load([path]))
    html, _ = app.episode(GUIDE)
    assert (
        '<div class="rz-guidance rz-guidance-guide"><span class="rz-guide-tag">guide</span> Played by the guide (the '
        "scripted searcher by default), trained off-policy — not sampled by the policy.</div>"
    ) in html
    turns = sum(m["role"] == "assistant" for m in written[GUIDE]["messages"])
    assert turns >= 2 and html.count('class="rz-msg rz-assistant rz-guide-episode"') == turns
    assert html.count("played by the guide (trained off-policy)") == turns and "rz-guide-turn" not in html
    # the token overlay: the guide's tokens are trained, and have no sampling log-prob to show
    trained = html.count('class="rz-tok rz-tok-trained"')
    assert trained == written[GUIDE]["num_generated_tokens"] > 0
    assert html.count('title="written by the guide · no sampling log-prob"') == trained
    assert 'title="log-prob' not in html and "the guide's text, trained off-policy" in html
    assert '(this)<span class="rz-guide-tag rz-mate-mark">guide</span>' in html
    # from a sample of the group: which mate is the guide, which a branched sample; plain samples carry no mark
    mates = re.search(r'<span class="rz-mates">.*?</span></div>', app.episode(SAMPLES[0])[0])
    assert mates is not None
    assert f'data-episode="{GUIDE}">#{GUIDE}</a><span class="rz-guide-tag rz-mate-mark">guide</span>' in mates[0]
    assert (
        f'data-episode="{BRANCHED}">#{BRANCHED}</a><span class="rz-guide-tag rz-mate-mark">prefix 1</span>'
        in (mates[0])
    )
    assert f'data-episode="{SAMPLES[1]}">#{SAMPLES[1]}</a><span class="rz-guide-tag' not in mates[0]
    assert mates[0].count("rz-mate-mark") == 2 and "rz-guidance" not in app.episode(SAMPLES[0])[0]


def test_a_branched_sample_marks_the_turns_the_guide_wrote_and_masks_their_tokens(
    guided_log: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, written = guided_log
    html, _ = PlaybackApp(EpisodeIndex.load([path])).episode(BRANCHED)
    assert (
        '<div class="rz-guidance rz-guidance-prefix"><span class="rz-guide-tag">prefix 1</span> Branched sample: the '
        "first assistant turn was written by the guide and shown to the policy as context (loss mask 0, not "
        "trained); the policy sampled the rest.</div>"
    ) in html
    marked = re.findall(r'<div class="rz-msg rz-assistant rz-guide-turn"><div class="rz-role">(.*?)</div>', html)
    assert marked == [
        'assistant · turn 1 · <span class="rz-guide-tag">guide</span> written by the guide (context, not trained)'
    ]
    assert '<div class="rz-msg rz-assistant"><div class="rz-role">assistant · turn 2' in html  # the policy's
    assert "<td class='rz-num'>1 <span class=\"rz-guide-tag\">guide</span></td>" in html  # the guide's search
    # the overlay agrees: the guide's turn is among the masked (grey) tokens, none of it is trained
    masked = html_text.unescape("".join(re.findall(r'<span class="rz-tok rz-tok-masked">(.*?)</span>', html)))
    trained = html_text.unescape("".join(re.findall(r'<span class="rz-tok rz-tok-trained"[^>]*>(.*?)</span>', html)))
    query = written[GUIDE]["searches"][0]["query"]
    assert f"<search>{query}</search>" in masked and query not in trained
    assert "the guide's turn included" in html


def test_a_sample_kept_out_of_the_update_says_so(guided_log: tuple[Path, list[dict[str, Any]]]) -> None:
    path, _ = guided_log
    html, _ = PlaybackApp(EpisodeIndex.load([path])).episode(KEPT_OUT)
    assert '<div class="rz-guidance rz-guidance-kept"><span class="rz-guide-tag">not trained</span> Kept out' in html
    assert "rz-guide-turn" not in html and "rz-guide-episode" not in html


def test_records_without_the_guidance_fields_render_as_before(
    guided_log: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    path, written = guided_log
    old = written[OLD]
    assert "guide" not in old and "guide_turns" not in old
    html = render_episode(old, "log.jsonl:1")
    assert "rz-guid" not in html and "by the guide" not in html and "rz-mate-mark" not in html
    assert '<div class="rz-msg rz-assistant"><div class="rz-role">assistant · turn 1</div>' in html
    assert html == render_episode(dict(old, guide=False, guide_turns=0), "log.jsonl:1")  # missing = false / 0
    for junk in ({"guide": "yes"}, {"guide": 1}, {"guide_turns": True}, {"guide_turns": -2}, {"guide_turns": "1"}):
        assert render_episode(dict(old, **junk), "log.jsonl:1") == html, junk
    (row,) = EpisodeIndex.load([path]).rows([OLD])
    with EpisodeLogWriter(tmp_path / "episodes.jsonl") as log:
        log.write([dict(old, guide=False, guide_turns=0)])
    (same,) = EpisodeIndex.load([tmp_path]).rows([0])
    assert row[ROW_HEADERS.index("guidance")] == "" and row[1:] == same[1:]


# --- app handlers, live mode, command line ---------------------------------------------------------------------


def test_app_handlers_page_open_and_compare(log: tuple[Path, dict[str, Any]]) -> None:
    path, _ = log
    app = PlaybackApp(EpisodeIndex.load([path]), page_size=4)
    empty = [[], [], "all", "", "", "", "", "", "", "", "log"]
    table, status, page = app.list_page(*empty, 3)
    assert len(table) == 1 and page == 3 and "**9** of 9 episodes match · page 3 of 3" in status
    table, status, _ = app.list_page(*empty[:3], "x", *empty[4:], 1)
    assert table.empty and "“step ≥” must be a whole number" in status
    html, task_id = app.episode(8)
    assert "&lt;script&gt;" in html and task_id == "hostile-task"
    assert "No episode #42" in app.episode(42)[0]
    left, right, compared = app.compare_choices(app.index.task_of(0))
    assert left["value"] == 0 and right["value"] == 4 and compared.count('class="rz-episode"') == 2
    assert "corrupt or partial" in app.warning_html()


def test_live_mode_plays_turn_by_turn_with_the_scripted_searcher() -> None:
    env = LiveSettings().make_env()
    states = list(play_live(env, scripted_policy(), task_index=0))
    assert len(states) == states[-1]["num_turns"] + 1  # after the reset and after every turn
    assert [len([m for m in s["messages"] if m["role"] == "assistant"]) for s in states] == list(range(len(states)))
    assert states[-1]["correct"] is True and states[-1]["reward_terms"]["correctness"] == 1.0
    typed = list(play_live(env, scripted_policy(), question="Who made the Twin Loom?", gold="Nobody"))
    assert typed[-1]["task"]["question"] == "Who made the Twin Loom?" and typed[-1]["task"]["answers"] == ["Nobody"]
    with pytest.raises(ValueError, match="Pick a task or type a question"):
        next(play_live(env, scripted_policy()))


def test_live_handler_reports_bad_checkpoints_instead_of_failing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    app = PlaybackApp(EpisodeIndex([]), allowed_models=[run])
    finished = list(app.run_live("", "", 0, "scripted searcher", None, 4, 0))
    assert "finished" in finished[-1] and "✓ correct" in finished[-1]
    assert "Type a checkpoint path" in next(app.run_live("", "", 0, "checkpoint", "  ", 4, 0))
    *_, last = app.run_live("", "", 0, "checkpoint", str(run), 4, 0)
    assert "Could not load" in last and "checkpoints/latest" in last


@pytest.mark.slow  # ~12 s on 2 cores: loads and samples a (tiny) model; the scripted path above is the fast version
def test_live_mode_with_a_model_checkpoint(tiny_model_path: str) -> None:
    app = PlaybackApp(EpisodeIndex([]), allowed_models=[tiny_model_path])
    *_, last = app.run_live("Who founded the Hourkmil Printing House?", "", None, "checkpoint", tiny_model_path, 2, 0)
    assert "finished" in last and "assistant · turn 1" in last


def test_live_mode_loads_only_the_models_it_was_started_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rezero_agents.playback.app as app_module

    loaded: list[str] = []

    def fake_loader(name: str, max_new_tokens: int = 96) -> Any:
        loaded.append(name)
        return scripted_policy()

    monkeypatch.setattr(app_module, "load_checkpoint_policy", fake_loader)
    app = PlaybackApp(EpisodeIndex([]))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "model").mkdir(parents=True)
    for name in (str(elsewhere), "some-org/some-model", str(tmp_path / "run" / ".." / "elsewhere")):
        *_, last = app.run_live("", "", 0, "checkpoint", name, 2, 0)
        assert "not one of the models" in last and "--allow-model" in last, name
    assert loaded == []

    run = tmp_path / "run"
    step = run / "checkpoints" / "step-000002"
    (step / "model").mkdir(parents=True)
    (tmp_path / "model").mkdir()
    allowed = PlaybackApp(EpisodeIndex([]), allowed_models=[run, tmp_path / "model", "some-org/allowed"]).models
    for name in (str(run), str(run / "checkpoints"), str(step), str(step / "model"), str(tmp_path / "model")):
        assert allowed.allows(name), name
    assert allowed.allows("some-org/allowed") and allowed.allows("smollm2-135m")  # given, and the default model
    for name in (str(run / "episodes"), str(run / "checkpoints" / ".." / ".."), str(tmp_path / "x"), "gpt2"):
        assert not allowed.allows(name), name
    (run / "link").symlink_to(elsewhere)
    assert not allowed.allows(str(run / "link"))

    app = PlaybackApp(EpisodeIndex([]), allowed_models=[elsewhere])
    *_, last = app.run_live("", "", 0, "checkpoint", str(elsewhere), 2, 0)
    assert loaded == [str(elsewhere)] and "finished" in last
    args = parse_args(["runs/x", "--allow-model", "a", "--allow-model", "b/c"])
    assert args.allow_model == ["a", "b/c"] and args.analytics is False and parse_args(["x", "--analytics"]).analytics


def test_gradio_analytics_are_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from rezero_agents.playback.app import build_app

    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    assert build_app(EpisodeIndex([])).analytics_enabled is False
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "True")  # the environment does not turn them on either
    assert build_app(EpisodeIndex([])).analytics_enabled is False


def test_checkpoint_folders_are_resolved(tmp_path: Path) -> None:
    from rezero_agents.checkpoints import write_checkpoint

    def write_model(folder: Path) -> None:
        (folder / "adapter_config.json").write_text("{}")

    state = {"base_model": "/models/base", "config": {"few_shot": False}}
    step = write_checkpoint(tmp_path / "run" / "checkpoints", 3, state=state, files={}, write_model=write_model)
    spec = resolve_checkpoint(str(tmp_path / "run"))
    assert (spec.source, spec.base_model, spec.few_shot) == (str(step / "model"), "/models/base", False)
    assert resolve_checkpoint("tiny-random").source == "tiny-random"


def test_benchmark_measures_first_render_of_a_small_log(tmp_path: Path) -> None:
    from benchmarks.playback import first_render, write_synthetic_log

    row = first_render(write_synthetic_log(tmp_path / "episodes.jsonl", 120))
    assert row["episodes"] == 120
    for key in ("index_s", "list_page_s", "episode_render_s", "first_render_s", "filtered_page_s", "peak_rss_mib"):
        assert row[key] > 0, key


def test_command_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    args = parse_args(["runs/x", "--port", "7999"])
    assert args.host == "127.0.0.1" and args.port == 7999 and args.paths == [Path("runs/x")]
    with pytest.raises(SystemExit):
        parse_args(["runs/x", "--port", "0"])
    assert main([str(tmp_path / "missing")]) == 2
    assert re.search(r"missing: no such file or directory", caplog.text)


_ALLOWED_TAGS = {"div", "span", "details", "summary", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "b", "i"}
_ALLOWED_TAGS |= {"code", "q", "br", "h4"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, tuple(name for name, _ in attrs)))


_PIECES = [*"<>&\"'/= abc\n", "<think>", "</think>", "<search>", "</search>", "<answer>", "</information>", "Doc 1"]
_LOG_TEXT = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_LOG_TEXT, min_size=5, max_size=5))
def test_no_log_text_becomes_markup(texts: list[str]) -> None:
    record = {
        "task": {"id": texts[0], "question": texts[1], "answers": [texts[2]]},
        "messages": [
            {"role": "user", "content": f"Question: {texts[1]}"},
            {"role": "assistant", "content": texts[3]},
            {"role": "user", "content": f"<information>\nDoc 1 (Title: {texts[4]})\n{texts[3]}\n</information>"},
            {"role": "assistant", "content": f"<answer>{texts[4]}</answer>"},
        ],
        "searches": [{"turn": 1, "query": texts[4], "doc_ids": [texts[0]], "error": texts[2] or None}],
        "reward_terms": {texts[2]: 0.5},
        "reward": 0.5,
        "run_id": texts[0],
    }
    parser = _Elements()
    parser.feed(render_episode(record, location=texts[1]))
    for tag, attributes in parser.found:
        assert tag in _ALLOWED_TAGS, tag
        assert set(attributes) <= {"class", "style", "colspan"}, attributes


# --- issue 27, item 4: cut turns, compare from an episode, layout, bounded list cells --------------------------


def test_a_turn_cut_by_the_token_limit_says_so(records: list[dict[str, Any]]) -> None:
    record = copy.deepcopy(records[0])
    turns = sum(m["role"] == "assistant" for m in record["messages"])
    record["turns"] = [{"turn": t, "tokens": 20, "cut": False} for t in range(1, turns)]
    record["turns"].append({"turn": turns, "tokens": 48, "cut": True})
    html = render_episode(record)
    assert html.count("cut at 48 tokens") == 2  # on the turn, and in the run details beside how it ended
    assert "cut at 20 tokens" not in html
    assert "cut at" not in render_episode(records[0])


def test_compare_this_question_starts_from_the_viewed_episode_and_a_group_mate(
    guided_log: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = guided_log
    app = PlaybackApp(EpisodeIndex.load([path]))
    viewed = SAMPLES[1]
    left, right, html = app.compare_choices(app.index.task_of(viewed), viewed)
    assert left["value"] == viewed and right["value"] == SAMPLES[0]  # its first group-mate
    labels = dict((value, label) for label, value in left["choices"])
    assert "group-mate" in labels[SAMPLES[0]] and "viewed" in labels[viewed]
    assert html.count('class="rz-episode"') == 2
    left, right, _ = app.compare_choices(app.index.task_of(OLD), OLD)  # no mates: the latest other episode
    assert left["value"] == OLD and right["value"] != OLD


def test_layout_the_overlay_grows_the_side_column_fits_and_the_plots_are_readable(
    log: tuple[Path, dict[str, Any]],
) -> None:
    import gradio as gr

    from rezero_agents.playback.app import build_app
    from rezero_agents.playback.render import CSS

    overlay = re.search(r"\.rz-token-text \{([^}]*)\}", CSS)
    assert overlay is not None and "max-height" not in overlay.group(1) and "overflow" not in overlay.group(1)
    side = re.search(r"\.rz-side \{([^}]*)\}", CSS)
    assert side is not None and "min-width: 0" in side.group(1)
    assert re.search(r"\.rz-why \{[^}]*overflow-wrap: anywhere", CSS)
    path, _ = log
    index = EpisodeIndex.load([path])
    demo = build_app(index)
    [plot] = [b for b in demo.blocks.values() if isinstance(b, gr.Plot)]
    assert plot.show_label is False  # Gradio's label covered the first panel's title
    histogram = searches_histogram(index.columns(), index.filter(EpisodeFilter()))
    shares = histogram.groupby("series")["share of episodes"].sum()
    assert np.allclose(shares.to_numpy(), 1.0)  # each series its own distribution: 384 training episodes no longer
    # drown an evaluation stage's 32


def test_list_cells_are_truncated_on_the_server(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    from rezero_agents.playback.loading import CELL_CHARS

    record = copy.deepcopy(records[0])
    huge = "x" * 1_000_000  # a 50 MB answer crashed the browser tab: the list sent it whole
    record["task"]["question"] = huge + "?"
    record["task"]["answers"] = [huge]
    record["messages"][-1]["content"] = f"<answer>{huge}</answer>"
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(record) + "\n")
    [row] = EpisodeIndex.load([path]).rows([0])
    for column in ("question", "predicted", "gold"):
        cell = row[ROW_HEADERS.index(column)]
        assert len(cell) <= CELL_CHARS + 1 and cell.endswith("…"), column
