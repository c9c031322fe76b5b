"""Small versions of the benchmarks, so that `python -m benchmarks run` keeps working (no timing asserts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import bm25, env_step
from benchmarks.common import SuiteResult, Target, write_results


def test_env_step_measures_small_corpus() -> None:
    row = env_step.measure(2_000, steps=30)
    assert row["docs"] == 2_000 and row["env_steps_per_s"] > 0 and 0 <= row["env_overhead_share"] <= 1


def test_bm25_measures_small_corpus() -> None:
    row = bm25.measure(2_000, n_fast=5, n_slow=3)
    assert row["speedup"] > 0 and 0 <= row["top5_agreement"] <= 1


def test_results_files_carry_machine_info(tmp_path: Path) -> None:
    result = SuiteResult("demo", {"x": 1}, [Target("speed", 5.0, 10.0)], "| a |\n|---|\n| 1 |")
    json_path, md_path = write_results([result], quick=True, output_dir=tmp_path)
    payload = json.loads(json_path.read_text())
    assert payload["machine"]["cores"] and payload["machine"]["versions"]["gymnasium"]
    assert payload["suites"]["demo"]["targets"][0]["met"] is False
    assert "| speed | 5.0 | ≥ 10 | NO |" in md_path.read_text()
    assert json_path.name.endswith("-quick.json")
    other = SuiteResult("other", {"y": 2}, [], "| b |")
    write_results([other], quick=True, output_dir=tmp_path)  # a later run of another suite keeps this one
    payload = json.loads(json_path.read_text())
    assert set(payload["suites"]) == {"demo", "other"} and payload["suites"]["demo"]["quick"] is True
    full_json, _ = write_results([other], quick=False, output_dir=tmp_path)  # full runs go to their own file
    assert full_json != json_path and set(json.loads(full_json.read_text())["suites"]) == {"other"}


def test_peak_memory_of_a_child_process_is_its_own() -> None:
    import subprocess
    import sys

    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touch every page: the parent's peak passes 300 MiB
    code = "from benchmarks.common import peak_rss_mib; print(peak_rss_mib())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert float(out.stdout) < 200  # Linux's ru_maxrss would report the parent's 300+ MiB here
    del ballast


def test_quick_runs_are_smoke_checks_written_under_runs_unless_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 27, item 5: a quick run printed MISS lines and wrote into benchmarks/results/."""
    import types

    from benchmarks import __main__ as cli
    from benchmarks import common

    suite = types.SimpleNamespace(run=lambda quick: SuiteResult("env_step", {}, [Target("speed", 1.0, 10.0)], "| a |"))
    monkeypatch.setattr(cli.importlib, "import_module", lambda name: suite)
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(common, "QUICK_RESULTS_DIR", tmp_path / "runs")
    assert cli.main(["run", "--quick", "--only", "env_step"]) == 0
    printed = capsys.readouterr().out
    assert "MISS" not in printed and "smoke check" in printed
    assert list((tmp_path / "runs").glob("*-quick.json")) and not (tmp_path / "results").exists()
    assert cli.main(["run", "--quick", "--record", "--only", "env_step"]) == 0
    assert list((tmp_path / "results").glob("*-quick.json"))
    assert cli.main(["run", "--only", "env_step"]) == 0
    assert "MISS speed" in capsys.readouterr().out  # a full run still reports its goals
