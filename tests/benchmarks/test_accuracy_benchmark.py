"""The ``accuracy`` suite in tiny configurations (scripted searcher, the tiny random model, 2 questions), and the
reward-curve plot script on a generated TensorBoard log."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import accuracy
from benchmarks.accuracy import AccuracySetup
from tests.conftest import REPO_ROOT

TINY = {"questions": 2, "max_turns": 2, "max_new_tokens": 8, "batch_size": 2}


def tiny_checkpoint(root: Path, reward: str = "rezero") -> Path:
    """A checkpoints/ folder holding step-000001 (a LoRA adapter in model/ and its state), written by the same
    writer as GRPOLearner.save (rezero_agents.checkpoints); returns the checkpoints/ folder."""
    from peft import LoraConfig, get_peft_model

    from rezero_agents.checkpoints import write_checkpoint
    from rezero_agents.models import load_model

    model = get_peft_model(load_model("tiny-random"), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    state = {"config": {"model": "tiny-random", "few_shot": False, "reward": reward}}
    write_checkpoint(root / "checkpoints", 1, state=state, files={}, write_model=model.save_pretrained)
    return root / "checkpoints"


def test_missing_checkpoint_and_apollo_are_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accuracy.CHECKPOINT_VARIABLE, str(tmp_path / "no-run"))
    monkeypatch.setenv(accuracy.APOLLO_VARIABLE, str(tmp_path / "no-apollo"))
    monkeypatch.delenv(accuracy.NO_RETRY_VARIABLE, raising=False)
    result = accuracy.run(setup=AccuracySetup(include_base=False, **TINY))

    assert result.name == "accuracy"
    rows = result.metrics["rows"]
    assert [(r["policy"], r["split"]) for r in rows] == [(accuracy.SCRIPTED, "synthetic"), (accuracy.TRAINED, "–")]
    scripted = rows[0]["summary"]
    assert scripted["episodes"] == 2 and scripted["accuracy"] == 1.0 and scripted["mean_searches"] >= 1
    assert {"correctness", "retry", "format"} <= set(scripted["reward_terms"])
    assert rows[1]["summary"] is None and rows[1]["note"] == accuracy.NO_CHECKPOINT
    assert f"| {accuracy.TRAINED} | – | no checkpoint (run make demo) |" in result.table
    assert "rezero-apollo skipped" in result.table and str(tmp_path / "no-apollo") in result.table
    assert "Retry-reward ablation" in result.table and "REZERO_CHECKPOINT_NO_RETRY unset" in result.table
    # only the scripted searcher's target: there is no checkpoint/base pair to compare
    assert [(t.name, t.value, t.met) for t in result.targets] == [
        ("scripted searcher accuracy, synthetic (%)", 100.0, True)
    ]
    json.dumps(result.metrics)  # what write_results stores


def test_checkpoints_are_evaluated_and_compared(tmp_path: Path) -> None:
    checkpoints = tiny_checkpoint(tmp_path / "run")
    setup = AccuracySetup(
        model="tiny-random",
        include_base=False,
        checkpoint=checkpoints,
        no_retry_checkpoint=checkpoints.parent,  # a run folder resolves to its latest checkpoint too
        apollo_dir=tmp_path / "no-apollo",
        **TINY,
    )
    result = accuracy.run(setup=setup)

    rows = {(r["policy"], r["split"]): r for r in result.metrics["rows"]}
    assert set(rows) == {(p, "synthetic") for p in (accuracy.SCRIPTED, accuracy.TRAINED, accuracy.NO_RETRY)}
    for row in rows.values():
        assert row["summary"]["episodes"] == 2 and row["summary"]["reward_terms"], row
    assert result.metrics["checkpoints"][accuracy.TRAINED]["folder"].endswith("step-000001")
    assert result.metrics["checkpoints"][accuracy.TRAINED]["few_shot"] is False  # read from state.json
    assert result.metrics["retry_ablation"] == "run"
    assert "| with retry (" in result.table and "| retry off (" in result.table
    assert "Both checkpoints record the reward preset 'rezero'" in result.table  # the same run given twice
    assert "no checkpoint" not in result.table


@pytest.mark.slow
def test_all_policies_on_both_splits(tmp_path: Path, apollo_dir: Path) -> None:
    checkpoints = tiny_checkpoint(tmp_path / "run")
    setup = AccuracySetup(model="tiny-random", checkpoint=checkpoints, apollo_dir=apollo_dir, **TINY)
    result = accuracy.run(setup=setup)

    rows = {(r["policy"], r["split"]): r for r in result.metrics["rows"]}
    policies = (accuracy.SCRIPTED, accuracy.BASE, accuracy.TRAINED)
    assert set(rows) == {(p, s) for p in policies for s in ("synthetic", "rezero-apollo")}
    for row in rows.values():
        assert row["summary"]["episodes"] == 2 and 0.0 <= row["summary"]["accuracy"] <= 1.0
        assert row["summary"]["reward_terms"], row
    assert "Reward per term" in result.table and "correctness (×4)" in result.table
    assert {t.name for t in result.targets} == {
        "scripted searcher accuracy, synthetic (%)",
        "trained − base accuracy, synthetic (points)",
    }


def test_resolve_checkpoint_accepts_step_checkpoints_and_run_folders(tmp_path: Path) -> None:
    from rezero_agents.checkpoints import write_checkpoint

    def write_model(folder: Path) -> None:
        (folder / "config.json").write_text("{}")

    step = write_checkpoint(tmp_path / "run" / "checkpoints", 3, state={}, files={}, write_model=write_model)
    for path in (step, step.parent, step.parent.parent):
        assert accuracy.resolve_checkpoint(path) == step
    assert accuracy.resolve_checkpoint(tmp_path / "elsewhere") is None


def test_a_damaged_checkpoint_is_named_and_the_latest_good_one_is_used(tmp_path: Path) -> None:
    from rezero_agents.checkpoints import CheckpointError

    checkpoints = tiny_checkpoint(tmp_path / "run")
    first = checkpoints / "step-000001"
    second = checkpoints / "step-000002"
    second.mkdir()
    for item in first.rglob("*"):  # a second checkpoint, then damage its adapter
        target = second / item.relative_to(first)
        target.mkdir() if item.is_dir() else target.write_bytes(item.read_bytes())
    (checkpoints / "latest").write_text("step-000002\n")
    weights = second / "model" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"garbage!")
    assert accuracy.resolve_checkpoint(checkpoints) == first  # falls back, logged
    with pytest.raises(CheckpointError, match=r"step-000002/model/adapter_model\.safetensors.*sha256"):
        accuracy.read_checkpoint(second, "tiny-random")


def test_setup_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="questions must be >= 1"):
        AccuracySetup(questions=0)
    with pytest.raises(ValueError, match="reward must be one of"):
        AccuracySetup(reward="no-such-preset")


def write_events(logdir: Path, sft_steps: int = 3, grpo_steps: int = 4) -> None:
    """A small run's scalars, as GRPOLearner logs them: base eval, SFT loss, eval after SFT, GRPO steps, final eval."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(logdir))
    writer.add_scalar("eval/mean_reward", 1.0, 0)
    writer.add_scalar("eval/accuracy", 0.0, 0)
    for step in range(sft_steps):
        writer.add_scalar("sft/loss", 2.0 - step / 2, step)
    writer.add_scalar("eval/mean_reward", 3.0, 0)
    writer.add_scalar("eval/accuracy", 0.2, 0)
    for step in range(1, grpo_steps + 1):
        writer.add_scalar("train/mean_reward", 2.0 + step / 4, step)
        writer.add_scalar("train/accuracy", step / 10, step)
    writer.add_scalar("eval/mean_reward", 4.0, grpo_steps)
    writer.add_scalar("eval/accuracy", 0.3, grpo_steps)
    writer.close()


def plot_rewards(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "scripts/plot_rewards.py", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_plot_rewards_writes_a_png(tmp_path: Path) -> None:
    write_events(tmp_path / "tb")
    output = tmp_path / "out" / "curve.png"
    result = plot_rewards("--logdir", str(tmp_path / "tb"), "--output", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and output.stat().st_size > 10_000


def test_plot_rewards_explains_missing_logs(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = plot_rewards("--logdir", str(tmp_path / "empty"), "--output", str(tmp_path / "x.png"))
    assert result.returncode == 1 and "holds no TensorBoard event files" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_plot_rewards_places_the_learners_test_evaluations_on_the_timeline(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("plot_rewards", REPO_ROOT / "scripts" / "plot_rewards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    point = module.Point
    scalars = {
        "sft/loss": [point(0, 10.0, 2.0), point(1, 11.0, 1.0)],
        "test_base/mean_reward": [point(0, 5.0, 1.9)],
        "test_warm-up/mean_reward": [point(0, 12.0, 4.2)],
        "test_last/mean_reward": [point(6, 30.0, 4.6)],
        "test_best/mean_reward": [point(3, 31.0, 4.7)],
    }
    evaluations = module.series(scalars, "eval", "mean_reward")
    assert [p.value for p in evaluations] == [1.9, 4.2, 4.6]  # test_best repeats a trained step: not on the timeline
    labels = [label for _, label in module.eval_positions(evaluations, scalars["sft/loss"], 2)]
    assert labels == ["base", "after SFT", "final"]
