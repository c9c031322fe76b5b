"""The playback app's pieces without a browser: log discovery, indexing, damaged lines, filters, pages, HTML
rendering and escaping, plots, live mode and the command line."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rezero_agents.episode_log import EpisodeLogError, EpisodeLogWriter
from rezero_agents.playback.app import PlaybackApp, main, make_filter, parse_args
from rezero_agents.playback.live import LiveSettings, play_live, resolve_checkpoint, scripted_policy
from rezero_agents.playback.loading import EpisodeFilter, EpisodeIndex, discover_logs, paginate
from rezero_agents.playback.plots import by_step, searches_histogram
from rezero_agents.playback.render import parse_information, render_episode, segments
from tests.rezero_agents.fixtures.playback_log import HOSTILE, HOSTILE_QUESTION, scripted_records, write_fixture_log


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


def test_another_schema_version_is_refused_with_file_and_line(tmp_path: Path, records: list[dict[str, Any]]) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(records[0]) + "\n" + json.dumps(dict(records[0], schema_version=3)) + "\n")
    with pytest.raises(
        EpisodeLogError, match=r"episodes\.jsonl:2: episode log schema_version 3; this version of rezero reads 1 and 2"
    ):
        EpisodeIndex.load([path])


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


def test_all_log_text_is_escaped(records: list[dict[str, Any]]) -> None:
    from tests.rezero_agents.fixtures.playback_log import hostile_record

    html = render_episode(hostile_record(records[0]))
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") >= 8  # question, answers, think, search, doc title+text, query, term
    assert 'class="rz-block rz-answer"' in html  # the protocol tags still render as blocks


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
    step = tmp_path / "run" / "checkpoints" / "step-000003"
    (step / "model").mkdir(parents=True)
    (step / "state.json").write_text(json.dumps({"base_model": "/models/base", "config": {"few_shot": False}}))
    (step / "model" / "adapter_config.json").write_text("{}")
    (tmp_path / "run" / "checkpoints" / "latest").write_text("step-000003\n")
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
