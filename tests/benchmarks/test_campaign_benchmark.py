"""The ``campaign`` suite end to end on the tiny random model: warm start, candidates selected on validation only,
the chosen recipe, the equal-episode references, the retry pair on noisy search, the comparisons, verdicts and the
table (no learning asserts: two steps on a random model teach nothing)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from benchmarks import campaign, learning
from tests.benchmarks.test_learning_benchmark import TINY


def test_campaign_selects_on_validation_and_compares_at_equal_episodes(tmp_path: Path) -> None:
    quick = campaign.QUICK_SETUP
    setup = dataclasses.replace(
        quick,
        learning=dataclasses.replace(
            learning.QUICK, overrides={**learning.QUICK.overrides, **TINY}, output_root=tmp_path / "learning"
        ),
        overrides={**quick.overrides, **TINY},
        output_root=tmp_path / "campaign",
    )
    result = campaign.run(setup=setup)
    metrics = result.metrics
    assert set(metrics["candidates"]) == {"recipe", "trajectory"} and metrics["chosen"] in metrics["candidates"]
    for name, run in metrics["candidates"].items():
        assert "test_best" not in run and "test_last" not in run  # candidates never see the test split
        assert [step for step, _ in run["validation_curve"]] == [0, 1, 2], name
    root = tmp_path / "campaign"
    chosen = json.loads((root / "final" / "seed0" / "config.json").read_text())
    assert chosen["guidance"] == campaign.CANDIDATES[metrics["chosen"]].get("guidance", "none")
    final = metrics["final"]["0"]
    assert final["test_best"]["n"] == final["test_last"]["n"] == 6 and final["episodes"] > 0
    sft = metrics["references"]["sft"]
    assert sft["episodes"] >= final["episodes"]  # as many scripted transcripts as GRPO played episodes
    rft_config = json.loads((root / "references" / "rft" / "config.json").read_text())
    assert rft_config["learner"] == "rft" and rft_config["guidance"] == chosen["guidance"]
    rft = metrics["references"]["rft"]
    assert final["episodes"] > final["steps"] * 4  # GRPO oversamples: more episodes a step than RFT's 2 × 2 ...
    assert rft["episodes"] == final["episodes"] and rft["steps"] > final["steps"]  # ... so RFT plays more steps
    noisy = json.loads((root / "retry" / "rezero" / "config.json").read_text())
    assert noisy["env_id"] == "SearchQA-Noisy-v0" and noisy["reward"] == "rezero"
    assert {"grpo_minus_sft", "grpo_minus_rft", "retry_minus_no_retry", "seed0_best_minus_warm"} <= set(
        metrics["comparisons"]
    )
    assert "skipped" in metrics["apollo"]["note"]
    assert "Chosen on validation" in result.table and "| warm-up continued (SFT) |" in result.table
    assert {t.name for t in result.targets} >= {"seed 0: two-hop test accuracy of the best GRPO checkpoint"}


def test_warm_starts_of_two_seeds_are_compared_on_the_same_questions() -> None:
    def warm(correct: set[str]) -> dict[str, object]:
        return {"test": {"verdicts": {f"q{i}": f"q{i}" in correct for i in range(40)}}}

    compared = campaign.warm_starts_compared({"0": warm(set()), "1": warm({f"q{i}" for i in range(20)})})
    assert list(compared) == ["warm_seed1_minus_seed0"]
    difference = compared["warm_seed1_minus_seed0"]
    assert difference["difference"] == 0.5 and difference["low"] > 0 and difference["p_value"] < 1e-5
    sentence = campaign.verdicts(
        {**compared, **{k: difference for k in ("grpo_minus_sft", "grpo_minus_rft", "retry_minus_no_retry")}}
    )["warm_seed1_minus_seed0"]
    assert sentence.startswith("The warm start of seed 1 beats that of seed 0") and "+50.0 points" in sentence

    by_seed = campaign.verdicts(
        {k: difference for k in ("seed3_best_minus_warm", "seed4_best_minus_warm", "grpo_minus_sft", "grpo_minus_rft")}
        | {"retry_minus_no_retry": difference}
    )
    assert by_seed["seed4_best_minus_warm"].startswith("GRPO (chosen recipe, seed 4, best checkpoint) beats")
    assert by_seed["grpo_vs_sft"].startswith("GRPO (seed 3, best) beats the warm-up continued")


def test_a_warm_start_recorded_without_level_intervals_gets_them_from_its_verdicts() -> None:
    levels = campaign.test_levels(learning.LearningSetup().config("levels"))
    assert len(levels) == 160 and set(levels.values()) == {"single-hop", "two-hop", "distractor"}
    two_hop = [task for task, level in levels.items() if level == "two-hop"]
    verdicts = {task: task in two_hop[:3] for task in levels}
    cells = {"accuracy": 3 / 160, "verdicts": verdicts, "intervals_by_level": {}}

    filled = campaign.with_level_intervals(cells, levels)["intervals_by_level"]

    assert filled["two-hop"][2] == len(two_hop) and filled["two-hop"][0] < 3 / len(two_hop) < filled["two-hop"][1]
    assert filled["single-hop"][0] < 1e-9 < filled["single-hop"][1] and sum(n for _, _, n in filled.values()) == 160
    recorded = {**cells, "intervals_by_level": {"two-hop": [0.1, 0.2, 57]}}
    assert campaign.with_level_intervals(recorded, levels) is recorded


def test_a_retry_rate_of_zero_is_shown_as_zero_and_a_missing_one_as_a_dash() -> None:
    assert campaign._searching({"mean_searches": 0.96, "retry_rate": 0.0}) == "0.96 searches/episode, retry rate 0%"
    assert campaign._searching({}) == "– searches/episode, retry rate –"
