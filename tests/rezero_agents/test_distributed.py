"""Data-parallel training under `accelerate launch`: two CPU processes (gloo) on the tiny model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def test_two_process_ddp_smoke_run(tmp_path: Path) -> None:
    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate is not installed")
    command = [
        str(Path(sys.executable).parent / "accelerate"),
        "launch",
        "--multi_gpu",  # accelerate's flag for several processes; on a CPU-only machine they use gloo
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "scripts/train_grpo.py",
        "--preset",
        "smoke",
        "--output-dir",
        str(tmp_path),
        "--no-eval-before",
        "--sft-warmup-steps",
        "0",
        "--questions-per-step",
        "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    state = json.loads((tmp_path / "checkpoints" / "step-000001" / "state.json").read_text())
    assert state["world_size"] == 2 and state["step"] == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["history"][0]["train/episodes"] == 2  # each process played one question's group of 2
