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


def test_evaluate_scripted_policy(tmp_path: Path) -> None:
    result = run("scripts/evaluate.py", "--policy", "scripted", "--num-questions", "10", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["episodes"] == 10 and summary["accuracy"] >= 0.9
    assert len((tmp_path / "episodes.jsonl").read_text().splitlines()) == 10


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
