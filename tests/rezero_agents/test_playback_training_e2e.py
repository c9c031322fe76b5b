"""End to end, in headless Chromium: what RL trained on, in the playback app. A training episode shows its token
overlay (trained tokens = the loss-mask sum), its advantage, links to its group-mates (one opens a mate) and a
weighted reward column that sums to the total; base and warm-up evaluations logged at the same step plot as two
series; the compare view shows reward deltas; the header count follows "Reload logs". Screenshots go to
``test-artifacts/playback-training-*.png``.

The log is a real rollout of the tiny random model (``tests/rezero_agents/fixtures/training_log.py``), or any
training run's log named by ``$REZERO_PLAYBACK_TRAINING_LOG`` (e.g. ``runs/smoke/episodes.jsonl`` of
``scripts/train_grpo.py --preset smoke``) — it needs one training record with a ``learner`` section.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rezero_agents.records import expand_runs
from tests.conftest import REPO_ROOT
from tests.rezero_agents.test_playback_e2e import CHROMIUM, TIMEOUT_MS, free_port

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (see test_playback_e2e.py)")
ARTIFACTS = REPO_ROOT / "test-artifacts"
WAIT_MS = max(TIMEOUT_MS, 120_000)  # a loaded 2-core machine renders slowly


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[dict[str, Any]]]]:
    from rezero_agents.playback.app import build_app, launch
    from rezero_agents.playback.loading import EpisodeIndex

    run = tmp_path_factory.mktemp("training") / "run"
    run.mkdir()
    log = run / "episodes.jsonl"
    given = os.environ.get("REZERO_PLAYBACK_TRAINING_LOG")
    if given:
        shutil.copy(given, log)
    else:
        from tests.rezero_agents.fixtures.training_log import write_training_log

        write_training_log(log)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    demo = build_app(EpisodeIndex.load([run]))
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", log, records
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(served: tuple[str, Path, list[dict[str, Any]]]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1500, "height": 1100})
        tab.goto(served[0])
        tab.locator("#rz-status").filter(has_text="episodes match").wait_for(timeout=WAIT_MS)
        yield tab
        browser.close()


def open_episode(page: Any, number: int) -> Any:
    page.get_by_role("tab", name="Episode", exact=True).click()
    page.get_by_label("episode #").fill(str(number))
    page.get_by_role("button", name="Open", exact=True).click()
    episode = page.locator("#rz-episode .rz-episode")
    page.locator("#rz-episode .rz-meta").filter(has_text=f":{number + 1}").wait_for(timeout=WAIT_MS)
    return episode


def test_a_training_episode_shows_mask_advantage_group_and_weighted_rewards(
    page: Any, served: tuple[str, Path, list[dict[str, Any]]]
) -> None:
    _, _, records = served
    number = next(i for i, r in enumerate(records) if "learner" in r and len(r["learner"]["group_members"]) > 1)
    record = records[number]
    episode = open_episode(page, number)
    # the token overlay: exactly the loss mask's 1s are highlighted
    mask = expand_runs(record["learner"]["loss_mask_runs"])
    trained = episode.locator(".rz-tok-trained")
    assert trained.count() == sum(mask) == record["num_generated_tokens"] > 0
    assert episode.locator(".rz-tok").count() == len(mask) == record["num_tokens"]
    assert episode.locator(".rz-trained-count").inner_text() == f"{sum(mask):,}"
    assert trained.first.get_attribute("title").startswith("log-prob ")
    # the advantage and the group
    advantage = float(episode.locator(".rz-advantage").inner_text())
    assert advantage == pytest.approx(record["learner"]["advantage"], abs=1e-3)
    links = episode.locator("a.rz-mate")
    assert links.count() == len(record["learner"]["group_members"]) - 1
    # the weighted column adds up to the total on screen
    weighted = [float(cell) for cell in episode.locator(".rz-weighted").all_inner_texts()]
    assert len(weighted) == len(record["reward_terms"])
    assert sum(weighted) == pytest.approx(float(episode.locator(".rz-total").inner_text()), abs=2e-3)
    assert "= total" in episode.locator(".rz-sum").inner_text()
    # the prefix messages the policy saw are there, folded
    if record["prefix_messages"]:
        assert "prefix message" in episode.locator(".rz-prefix summary").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playback-training-episode.png"), full_page=True)
    # a group-mate link opens that episode
    mate = int(links.first.get_attribute("data-episode"))
    links.first.click()
    page.locator("#rz-episode .rz-meta").filter(has_text=f":{mate + 1}").wait_for(timeout=WAIT_MS)
    assert records[mate]["episode_id"] in record["learner"]["group_members"]


def test_base_and_warm_up_evaluations_plot_as_separate_series(
    page: Any, served: tuple[str, Path, list[dict[str, Any]]]
) -> None:
    _, _, records = served
    stages = {(r["stage"], r["step"]): r["reward"] for r in records if r["phase"] == "eval" and r.get("stage")}
    page.get_by_role("tab", name="Summary plots").click()
    page.get_by_text("plot data", exact=True).click()  # open the accordion holding the numbers behind the plot
    data = page.locator("#rz-plot-data")
    data.get_by_text("eval · warm-up").first.wait_for(state="attached", timeout=WAIT_MS)
    text = data.text_content() or ""
    run = records[0]["run_id"]
    for stage, _ in stages:
        assert f"{run} · eval · {stage}" in text
    if ("base", 0) in stages and ("warm-up", 0) in stages:  # same step, two points, never averaged
        assert stages[("base", 0)] != stages[("warm-up", 0)]
        assert f"{round(stages[('base', 0)], 4):g}" in text and f"{round(stages[('warm-up', 0)], 4):g}" in text
    page.locator(
        "#rz-summary-plot img:visible, #rz-summary-plot canvas:visible, #rz-summary-plot svg:visible"
    ).first.wait_for(timeout=WAIT_MS)
    page.screenshot(path=str(ARTIFACTS / "playback-training-plots.png"), full_page=True)


def test_compare_shows_reward_deltas_and_the_header_follows_reload(
    page: Any, served: tuple[str, Path, list[dict[str, Any]]]
) -> None:
    _, log, records = served
    evaluations = [i for i, r in enumerate(records) if r["phase"] == "eval"]
    if len(evaluations) >= 2:
        open_episode(page, evaluations[0])
        page.get_by_role("button", name="Compare this question ▶").click()
        summary = page.locator(".rz-compare-summary")
        summary.wait_for(timeout=WAIT_MS)
        assert "Δ right − left" in summary.inner_text()
        left, right = records[evaluations[0]]["reward"], records[evaluations[-1]]["reward"]
        shown = summary.locator(".rz-delta-total").inner_text()
        assert float(shown) == pytest.approx(right - left, abs=2e-3)
        page.screenshot(path=str(ARTIFACTS / "playback-training-compare.png"), full_page=True)
    header = page.locator("#rz-header")
    assert f"{len(records):,} episodes" in header.inner_text()
    with log.open("a") as handle:
        handle.write(json.dumps(records[-1]) + "\n")
    page.get_by_role("tab", name="Episodes", exact=True).click()
    page.get_by_role("button", name="Reload logs").click()
    header.filter(has_text=f"{len(records) + 1:,} episodes").wait_for(timeout=WAIT_MS)
