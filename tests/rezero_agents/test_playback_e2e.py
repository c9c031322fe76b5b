"""End to end: the playback app on 127.0.0.1 over a fixture log, driven in headless Chromium (Debian's ``chromium``
+ Playwright). Opens an episode from the list and checks that the transcript, the searches and the reward table are
shown, that hostile log text stays text, and that the corrupt-line warning is visible; saves a screenshot to
``test-artifacts/playback-episode.png``."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.rezero_agents.fixtures.playback_log import HOSTILE_QUESTION, write_fixture_log

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium (apt-get install -y --no-install-recommends chromium; .ci/run does)",
)
ARTIFACTS = REPO_ROOT / "test-artifacts"
TIMEOUT_MS = 30_000
DIALOGS: list[str] = []  # alert()/confirm() a rendered log managed to open (there must be none)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    from rezero_agents.playback.app import build_app, launch
    from rezero_agents.playback.loading import EpisodeIndex

    run = tmp_path_factory.mktemp("playback") / "run"
    run.mkdir()
    expected = write_fixture_log(run / "episodes.jsonl")
    demo = build_app(EpisodeIndex.load([run]))
    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", expected
    finally:
        demo.close()


@pytest.fixture(scope="module")
def page(app_url: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.on("dialog", lambda dialog: (DIALOGS.append(dialog.message), dialog.dismiss()))
        tab.goto(app_url[0])
        yield tab
        browser.close()


def test_open_an_episode_and_see_transcript_searches_and_rewards(
    page: Any, app_url: tuple[str, dict[str, Any]]
) -> None:
    _, expected = app_url
    table = page.locator("#rz-table")
    question = expected["questions"][1]
    row = table.get_by_text(question).filter(visible=True).first
    row.wait_for(timeout=TIMEOUT_MS)
    assert "9 of 9 episodes match" in page.locator("#rz-status").inner_text()
    warning = page.locator("#rz-warning").inner_text()
    assert "3 corrupt or partial lines skipped (line 3, 4, 6)" in warning

    row.click()
    episode = page.locator("#rz-episode .rz-episode")
    episode.wait_for(timeout=TIMEOUT_MS)
    assert episode.locator(".rz-title").inner_text() == question
    # the transcript, block by block
    assert episode.locator(".rz-assistant").count() >= 2
    assert episode.locator(".rz-think").first.is_visible() and episode.locator(".rz-answer").last.is_visible()
    searches = episode.locator(".rz-searches tbody tr")
    assert searches.count() >= 1 and episode.locator(".rz-search").count() == searches.count()
    # each search's results expand
    results = episode.locator("details.rz-info").first
    assert not results.locator(".rz-doc-text").first.is_visible()
    results.locator("summary").click()
    assert results.locator(".rz-doc-text").first.is_visible()
    # the reward table, with the total and the gold answer beside the predicted one
    rewards = episode.locator(".rz-rewards").inner_text()
    assert "correctness" in rewards and "total reward" in rewards
    assert "✓ correct" in episode.locator(".rz-predicted").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "playback-episode.png"), full_page=True)
    assert (ARTIFACTS / "playback-episode.png").stat().st_size > 10_000


def test_hostile_log_text_stays_text(page: Any) -> None:
    page.get_by_role("tab", name="Episode", exact=True).click()
    page.get_by_label("episode #").fill("8")
    page.get_by_role("button", name="Open", exact=True).click()
    title = page.locator("#rz-episode .rz-title")
    title.filter(has_text="Who wrote").wait_for(timeout=TIMEOUT_MS)
    assert title.inner_text() == HOSTILE_QUESTION  # shown literally, template syntax included
    assert page.locator("#rz-episode script, #rz-episode img").count() == 0
    assert page.evaluate("window.__pwned") is None and DIALOGS == []
    page.screenshot(path=str(ARTIFACTS / "playback-hostile.png"), full_page=True)


def test_filter_and_compare(page: Any) -> None:
    page.get_by_role("tab", name="Episodes", exact=True).click()
    page.get_by_label("step ≥").fill("5")
    page.get_by_role("button", name="Filter").click()
    page.locator("#rz-status").filter(has_text="4 of 9 episodes match").wait_for(timeout=TIMEOUT_MS)
    page.locator("#rz-table").get_by_text("train", exact=True).filter(visible=True).first.click()
    page.locator("#rz-episode .rz-episode").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Compare this question ▶").click()
    compare = page.locator(".rz-compare")
    compare.wait_for(timeout=TIMEOUT_MS)
    assert compare.locator(".rz-episode").count() == 2
    text = compare.inner_text()
    assert "step 0" in text and "step 5" in text


def test_live_mode_plays_the_scripted_searcher(page: Any) -> None:
    page.get_by_role("tab", name="Live").click()
    page.get_by_label("pause between turns (s)").first.fill("0")
    page.get_by_role("button", name="Play").click()
    live = page.locator("#rz-live")
    live.filter(has_text="finished").wait_for(timeout=TIMEOUT_MS)
    assert live.locator(".rz-assistant").count() >= 2 and "✓ correct" in live.inner_text()
