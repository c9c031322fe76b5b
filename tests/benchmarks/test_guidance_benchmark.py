"""The ``guidance`` suite end to end on the tiny random model: the warm start, one short run per mode, the per-step
group statistics, step times, the table and the step-cost targets (no learning asserts: two steps teach nothing)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from benchmarks import guidance, learning
from tests.benchmarks.test_learning_benchmark import TINY


def test_guidance_suite_records_each_mode_step_by_step(tmp_path: Path) -> None:
    setup = guidance.GuidanceSetup(
        learning=dataclasses.replace(
            learning.QUICK, overrides={**learning.QUICK.overrides, **TINY}, output_root=tmp_path / "learning"
        ),
        steps=2,
        output_root=tmp_path / "guidance",
    )
    result = guidance.run(setup=setup)
    runs = result.metrics["runs"]
    assert set(runs) == set(guidance.MODES) and all(len(run["steps"]) == 2 for run in runs.values())
    configs = {mode: json.loads((tmp_path / "guidance" / mode / "config.json").read_text()) for mode in runs}
    assert configs["prefix"]["guidance"] == "prefix" and configs["none"]["guidance"] == "none"
    assert configs["trajectory-shaped"]["guide_objective"] == "shaped"
    assert configs["evidence"]["reward"] == "rezero-evidence" and configs["evidence"]["ungated_terms"] == ["evidence"]
    assert all(config["init_from"] == result.metrics["warm_start"]["checkpoint"] for config in configs.values())
    for mode, run in runs.items():
        assert all(step["perf/step_seconds"] > 0 for step in run["steps"])
        # the tiny model answers nothing: every group fails, and guidance helps each one the guide solved
        if mode in ("trajectory", "trajectory-shaped", "prefix"):
            assert all(step["train/guided_groups"] >= 1 for step in run["steps"])
        else:
            assert all(step["train/guided_groups"] == 0 for step in run["steps"])
    assert {t.name.split(":")[0] for t in result.targets} == {"trajectory", "trajectory-shaped", "prefix"}
    assert "| prefix |" in result.table and "vs none" in result.table
    again = guidance.run(setup=setup)  # recorded parts are reused, not retrained
    assert json.dumps(again.metrics["runs"]) == json.dumps(runs)  # (nan != nan: compare the text)
