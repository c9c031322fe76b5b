"""The ``anchor`` suite (the campaign's KL-anchor follow-up) end to end on the tiny random model: the anchored run,
its comparisons with the recorded campaign only when it started from the same warm start, and the table."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import anchor, campaign, learning
from benchmarks.common import SuiteResult, read_suite, write_results
from tests.benchmarks.test_learning_benchmark import TINY


def _recorded_campaign(tmp_path: Path, warm_verdicts: dict[str, bool]) -> Path:
    """A results file holding a campaign (the parts the follow-up reads) whose run answered the first question only."""
    first = sorted(warm_verdicts)[0]
    cells = {"accuracy": 0.5, "low": 0.1, "high": 0.9, "n": len(warm_verdicts)}
    test = {**cells, "verdicts": {task: task == first for task in warm_verdicts}}
    run = {
        "steps": 2,
        "episodes": 16.0,
        "generated_tokens": 10.0,
        "trained_sequence_tokens": 20.0,
        "training_seconds": 60.0,
        "validation_curve": [[0, 0.5], [1, 0.6]],
        "test_best": test,
    }
    metrics: dict[str, Any] = {
        "chosen": "trajectory",
        "warm_start": {"0": {"test": {**cells, "verdicts": warm_verdicts}}},
        "final": {"0": run},
    }
    json_path, _ = write_results([SuiteResult("campaign", metrics)], quick=False, output_dir=tmp_path / "results")
    return json_path


def test_anchored_run_is_compared_with_controls_from_its_own_warm_start(tmp_path: Path) -> None:
    quick = anchor.QUICK_SETUP_ANCHOR
    setup = dataclasses.replace(
        quick,
        campaign=dataclasses.replace(
            quick.campaign,
            learning=dataclasses.replace(
                learning.QUICK, overrides={**learning.QUICK.overrides, **TINY}, output_root=tmp_path / "learning"
            ),
            overrides={**quick.campaign.overrides, **TINY},
            output_root=tmp_path / "anchor",
        ),
    )
    alone = anchor.run(setup=setup)
    root = tmp_path / "anchor"
    anchored = json.loads((root / "seed0-beta0.04" / "config.json").read_text())
    unanchored = json.loads((root / "seed0-beta0" / "config.json").read_text())
    assert anchored["beta"] == anchor.BETA and unanchored["beta"] == 0.0
    assert {k: v for k, v in anchored.items() if k not in ("beta", "output_dir")} == {
        k: v for k, v in unanchored.items() if k not in ("beta", "output_dir")
    }  # the control differs only by the anchor
    assert anchored["guidance"] == "trajectory" and anchored["total_steps"] == 2
    metrics = alone.metrics
    assert [step for step, _ in metrics["anchored"]["validation_curve"]] == [0, 1, 2]
    assert metrics["sft"]["episodes"] >= metrics["anchored"]["episodes"]  # as many transcripts as episodes played
    assert {"anchored_minus_unanchored", "anchored_minus_sft", "anchored_best_minus_warm"} <= set(
        metrics["comparisons"]
    )
    assert "warm_start_vs_recorded" not in metrics
    assert "| GRPO without the anchor, last |" in alone.table and "| warm-up continued (SFT) |" in alone.table
    assert {t.name for t in alone.targets} >= {"anchored minus continued SFT, test points (CI low)"}

    warm = metrics["warm_start"]["test"]["verdicts"]
    flipped = {task: not correct for task, correct in warm.items()}
    recorded = anchor.run(setup=dataclasses.replace(setup, recorded=_recorded_campaign(tmp_path, flipped)))
    assert recorded.metrics["warm_start_vs_recorded"]["questions_answered_differently"] == len(warm)
    assert f"answers {len(warm)} of the {len(warm)} test questions differently" in recorded.table
    assert "the campaign's run without the anchor validated 0: 50.0%, 1: 60.0%" in recorded.table


def test_read_suite_names_the_file_and_the_suites_it_holds(tmp_path: Path) -> None:
    json_path = _recorded_campaign(tmp_path, {"q0": True})
    assert read_suite(json_path, "campaign")["chosen"] == "trajectory"
    with pytest.raises(ValueError, match=r"no suite 'anchor' recorded there \(it holds campaign\)"):
        read_suite(json_path, "anchor")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match=r"broken\.json: not a readable benchmark results file"):
        read_suite(broken, "campaign")


def test_the_recorded_follow_up_reads_the_recorded_campaign() -> None:
    setup = anchor.AnchorSetup()
    assert setup.recorded is not None and read_suite(setup.recorded, "campaign")["chosen"] == setup.chosen
    assert campaign.CANDIDATES[setup.chosen] == {"guidance": "trajectory"}


def test_a_row_shows_a_retry_rate_of_zero() -> None:
    cells = {"accuracy": 0.5, "low": 0.4, "high": 0.6, "n": 160, "mean_searches": 0.93, "retry_rate": 0.0}
    assert "| 0.93 / 0% |" in anchor._row("warm start", cells, "–", None)
