"""The command-line scripts, run as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_train_grpo_smoke_preset(tmp_path: Path) -> None:
    result = run("scripts/train_grpo.py", "--preset", "smoke", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    checkpoint = tmp_path / "checkpoints" / "step-000001"
    assert (checkpoint / "trainable.pt").is_file() and (checkpoint / "model").is_dir()
    assert (tmp_path / "episodes.jsonl").stat().st_size > 0
    assert "TensorBoard:" in result.stdout


def test_train_grpo_rejects_bad_settings(tmp_path: Path) -> None:
    result = run("scripts/train_grpo.py", "--preset", "smoke", "--num-generations", "1", "--output-dir", str(tmp_path))
    assert result.returncode != 0 and "num_generations must be >= 2" in result.stderr


ENV_OPTIONS = ("--env-id", "--dataset", "--search-engine", "--top-k", "--max-turns", "--reward", "--judge")


def test_help_lists_the_preset_and_the_shared_environment_options() -> None:
    """Issue 27, item 1: ``--preset`` was missing from ``--help``, option helps were section banners
    (``--- environment ---``) and ``train_trl_grpo.py`` had no ``--dataset`` (nor the other environment options)."""
    grpo = run("scripts/train_grpo.py", "--help")
    trl = run("scripts/train_trl_grpo.py", "--help")
    assert grpo.returncode == 0 and trl.returncode == 0, grpo.stderr[-2000:] + trl.stderr[-2000:]
    assert "--preset {cpu-demo,cpu-learning,rezero-paper,smoke}" in grpo.stdout
    for script, result in (("train_grpo.py", grpo), ("train_trl_grpo.py", trl)):
        assert "---" not in result.stdout, f"{script}: a section banner as an option's help"
        assert [flag for flag in ENV_OPTIONS if f"│ {flag} " not in result.stdout] == [], script  # an option line
        assert "module:Id" in result.stdout, f"{script}: --env-id module:Id is not documented"


def test_evaluate_scripted_policy(tmp_path: Path) -> None:
    result = run("scripts/evaluate.py", "--policy", "scripted", "--num-questions", "10", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == 10 and summary["accuracy"] >= 0.9
    assert len((tmp_path / "episodes.jsonl").read_text().splitlines()) == 10


def test_evaluate_reports_intervals_samples_and_a_paired_comparison(tmp_path: Path) -> None:
    first = run("scripts/evaluate.py", "--num-questions", "6", "--output-dir", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "[95 % CI" in first.stdout and "n=6" in first.stdout
    second = run(
        "scripts/evaluate.py",
        "--num-questions",
        "6",
        "--samples",
        "2",
        "--compare-with",
        str(tmp_path / "a" / "summary.json"),
        "--output-dir",
        str(tmp_path / "b"),
    )
    assert second.returncode == 0, second.stderr[-3000:]
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert len(summary["verdicts"]) == 6 and summary["sampled"]["k"] == 2
    assert summary["comparison"]["difference"] == 0 and summary["comparison"]["p_value"] == 1
    assert "McNemar" in second.stdout and "pass@2" in second.stdout
    # issue 27, item 5: the sampled episodes are logged too, each with its sample index
    records = [json.loads(line) for line in (tmp_path / "b" / "episodes.jsonl").read_text().splitlines()]
    sampled = [r for r in records if r.get("sample") is not None]
    assert len(records) == 6 + 12 and len(sampled) == 12
    assert sorted((r["task"]["id"], r["sample"]) for r in sampled) == sorted(
        (task, k) for task in summary["verdicts"] for k in (0, 1)
    )
    assert {r["stage"] for r in sampled} == {"sampled T=0.9"}
    other = run(
        "scripts/evaluate.py",
        "--num-questions",
        "4",
        "--compare-with",
        str(tmp_path / "a" / "summary.json"),
        "--output-dir",
        str(tmp_path / "c"),
    )
    assert other.returncode == 2 and "different questions" in other.stderr


def test_evaluate_a_checkpoint(tmp_path: Path) -> None:
    train = run(
        "scripts/train_grpo.py",
        "--preset",
        "smoke",
        "--output-dir",
        str(tmp_path / "run"),
        "--no-eval-before",
        "--sft-warmup-steps",
        "0",
    )
    assert train.returncode == 0, train.stderr[-3000:]
    result = run(
        "scripts/evaluate.py",
        "--policy",
        "model",
        "--model",
        "tiny-random",
        "--checkpoint",
        str(tmp_path / "run" / "checkpoints" / "step-000001"),
        "--num-questions",
        "2",
        "--max-new-tokens",
        "8",
        "--no-few-shot",
        "--output-dir",
        str(tmp_path / "eval"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["episodes"] == 2


def test_demo_prints_intervals_paired_differences_and_the_playback_command(tmp_path: Path) -> None:
    result = run(
        "scripts/demo.py",
        "--model",
        "tiny-random",
        "--output-dir",
        str(tmp_path),
        "--total-steps",
        "1",
        "--eval-questions",
        "3",
        "--validation-questions",
        "0",
        "--questions-per-step",
        "2",
        "--num-generations",
        "2",
        "--rollout-batch-size",
        "4",
        "--max-new-tokens",
        "8",
        "--sft-warmup-steps",
        "1",
        "--sft-batch-size",
        "2",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = (tmp_path / "results.md").read_text()
    assert "accuracy [95 % CI]" in report and "/3)" in report
    assert "| + GRPO, trajectory guidance (1 steps) |" in report  # the demo trains the campaign's chosen recipe
    assert "GRPO minus warm-up" in report and "McNemar" in report
    assert f"python scripts/playback.py {tmp_path}" in result.stdout
    assert "FutureWarning" not in result.stderr and "Loading weights" not in result.stderr
    assert "eval warm-up" in result.stderr and "GRPO" in result.stderr  # one progress bar per phase
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["comparisons"]) == {"grpo_minus_warm_up", "warm_up_minus_base"}
