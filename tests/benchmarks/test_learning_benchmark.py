"""The ``learning`` suite end to end on the tiny random model: warm start, retry and no-retry runs, the
compute-matched SFT reference, paired comparisons, verdicts, the table and the plot (no accuracy asserts: the
tiny model learns nothing in two steps)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from benchmarks import learning
from rezero_agents.grpo import GRPOLearner

TINY = {
    "model": "tiny-random",
    "max_new_tokens": 8,
    "max_sequence_tokens": 1024,
    "micro_batch_size": 2,
    "sft_batch_size": 2,
    "learning_rate": 1e-3,
}
"""The quick setups on the tiny random model."""


def test_learning_suite_records_runs_comparisons_and_a_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = learning.LearningSetup(
        overrides={**learning.QUICK.overrides, **TINY},
        output_root=tmp_path / "runs",
        plot=tmp_path / "learning.png",
        additive_pair=True,
    )
    result = learning.run(setup=setup)
    seed = result.metrics["seeds"]["0"]
    assert set(seed["runs"]) == {"retry", "no-retry", "retry-additive", "no-retry-additive"}
    assert seed["runs"]["retry"]["reward"] == "rezero" and seed["runs"]["no-retry"]["reward"] == "rezero-no-retry"
    assert seed["runs"]["retry-additive"]["reward"] == "rezero"
    shapings = {
        name: json.loads((tmp_path / "runs" / "seed0" / name / "config.json").read_text())["reward_shaping"]
        for name in seed["runs"]
    }
    assert shapings == {
        "retry": "gated",
        "no-retry": "gated",
        "retry-additive": "additive",
        "no-retry-additive": "additive",
    }
    for name, run in seed["runs"].items():
        additive = name.endswith("-additive")  # not validated: compared at their last step
        assert [step for step, _ in run["validation_curve"]] == ([] if additive else [0, 1, 2])
        assert (run["best"] is None) == additive
        assert run["test_best"]["n"] == run["test_last"]["n"] == 6 and run["training_seconds"] > 0
    assert seed["sft_reference"]["sft"]["sft_steps"] >= 1
    comparisons = seed["comparisons"]
    assert {
        "retry_best_minus_warm",
        "retry_minus_no_retry_best",
        "retry_minus_no_retry_additive_best",
        "retry-additive_best_minus_warm",
        "retry_best_minus_sft_reference",
    } <= set(comparisons)
    assert all(0 <= c["p_value"] <= 1 and c["low"] <= c["difference"] <= c["high"] for c in comparisons.values())
    assert set(seed["verdicts"]) == {
        "grpo_vs_warm_start",
        "retry_vs_no_retry",
        "retry_vs_no_retry_additive",
        "grpo_vs_more_sft",
    }
    assert "McNemar" in result.table and "warm start" in result.table
    assert len(result.targets) == 1 and (tmp_path / "learning.png").stat().st_size > 1000

    # a second run with the same settings reuses every recorded part instead of training again
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("retrained")

    monkeypatch.setattr(GRPOLearner, "train", no_training)
    monkeypatch.setattr(GRPOLearner, "warm_up", no_training)
    again = learning.run(setup=setup)
    assert again.metrics["seeds"]["0"]["comparisons"] == comparisons


def test_retry_suite_trains_both_rewards_from_a_short_warm_up_with_reward_shaping_additive(tmp_path: Path) -> None:
    from benchmarks import learning_retry

    setup = dataclasses.replace(
        learning_retry.QUICK_SETUP,
        overrides={**learning_retry.QUICK_SETUP.overrides, **TINY},
        output_root=tmp_path / "runs",
    )
    result = learning_retry.run(setup=setup)
    assert result.name == "learning_retry" and result.targets == []
    seed = result.metrics["seeds"]["0"]
    assert set(seed["runs"]) == {"retry", "no-retry"} and "sft_reference" not in seed
    for name in seed["runs"]:
        config = json.loads((tmp_path / "runs" / "seed0" / name / "config.json").read_text())
        assert (config["reward_shaping"], config["temperature"], config["dynamic_sampling"]) == ("additive", 0.9, False)
    assert set(seed["verdicts"]) == {"grpo_vs_warm_start", "retry_vs_no_retry"}
    assert "retry minus no-retry" in result.table


def test_a_recorded_part_survives_settings_added_later_at_their_default(tmp_path: Path) -> None:
    config = learning.LearningSetup(output_root=tmp_path).config("part", tis_cap=3.0)
    learning.record_part(config, {"answer": 42})
    path = config.output_dir / learning.RESULT_FILE
    recorded = json.loads(path.read_text())
    del recorded["config"]["tis_cap"]  # as if the part was recorded before the setting existed
    path.write_text(json.dumps(recorded))
    assert learning.reuse_part(config) == {"answer": 42}  # the default keeps the old behaviour
    assert learning.reuse_part(dataclasses.replace(config, tis_cap=2.0)) is None
    assert learning.reuse_part(dataclasses.replace(config, learning_rate=1.0)) is None


def test_a_quick_run_says_it_is_a_smoke_check_and_sets_no_goal() -> None:
    """Issue 27, item 5: ``--quick --only learning`` printed "the whole synthetic test split" and a MISS line."""
    config = learning.QUICK.config("x").to_dict()
    result = {"setup": {"preset": "cpu-learning", "config": config, "smoke": learning.QUICK.smoke}, "seeds": {}}
    table = learning.tables(result)
    assert "smoke check" in table.lower() and "n = 6" in table and "whole synthetic test split" not in table
    seeds = {"0": {"comparisons": {"retry_best_minus_warm": {"difference": 0.0}}}}
    assert learning.targets({**result, "seeds": seeds}) == []
    full = learning.LearningSetup().config("x").to_dict()
    assert "whole synthetic test split" in learning.tables({"setup": {"preset": "p", "config": full}, "seeds": {}})
