"""The README's "Scaling out" and adapters sections: what a CPU can check runs as written (Python blocks execute,
configs parse, the commands' flags exist); what needs GPUs stays behind ``if __name__ == "__main__":``."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def section(name: str) -> str:
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    assert start in README and end in README, f"README has no {name} section"
    return README.split(start, 1)[1].split(end, 1)[0]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def run_block(code: str, cwd: Path) -> str:
    output = io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    return output.getvalue()


def test_scaling_out_python_blocks_run_and_write_what_they_say(tmp_path: Path) -> None:
    pytest.importorskip("skyrl_gym")
    pytest.importorskip("pyarrow")
    code = blocks(section("scaling"), "python")
    assert len(code) == 2
    namespace: dict[str, object] = {"__name__": "readme"}
    with contextlib.chdir(tmp_path):
        exec(compile(code[0], "README.md", "exec"), namespace)  # the TRL cluster script, up to the GPU part
    config = namespace["config"]
    assert config.use_vllm and config.vllm_mode == "server" and config.vllm_server_base_url.endswith(":8001")  # type: ignore[attr-defined]
    assert config.reward_weights == namespace["adapter"].reward_weights  # type: ignore[attr-defined]
    run_block(code[1], tmp_path)  # the SkyRL dataset
    import pandas as pd

    train = pd.read_parquet(tmp_path / "skyrl-train.parquet")
    assert len(train) > 100 and set(train["env_class"]) == {"rezero-search-qa"}
    assert len(pd.read_parquet(tmp_path / "skyrl-test.parquet")) > 10


def test_scaling_out_accelerate_config_parses(tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import ClusterConfig

    (yaml_block,) = blocks(section("scaling"), "yaml")
    path = tmp_path / "fsdp.yaml"
    path.write_text(yaml_block)
    config = ClusterConfig.from_yaml_file(str(path))
    assert str(config.distributed_type).endswith("FSDP") and config.num_machines == 2 and config.num_processes == 14
    assert config.fsdp_config["fsdp_version"] == 2


def test_scaling_out_commands_use_flags_that_exist() -> None:
    commands = "\n".join(blocks(section("scaling"), "bash"))
    helps = {
        "scripts/serve_retriever.py": [sys.executable, str(REPO_ROOT / "scripts" / "serve_retriever.py"), "--help"],
    }
    for script, command in helps.items():
        lines = [line for line in commands.splitlines() if script in line]
        assert lines, script
        shown = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
        assert shown.returncode == 0, shown.stderr
        for flag in re.findall(r"(--[a-z][a-z-]+)", " ".join(lines)):
            assert flag in shown.stdout, flag
    for flag in re.findall(r"--[a-z][a-z-]+", section("scaling").split("One retriever server", 1)[1].split("```")[0]):
        assert flag in subprocess.run(helps["scripts/serve_retriever.py"], capture_output=True, text=True).stdout


def test_adapters_example_runs() -> None:
    pytest.importorskip("skyrl_gym")
    pytest.importorskip("gem")
    (code,) = blocks(section("adapters"), "python")
    printed = run_block(code, REPO_ROOT)
    claimed = re.search(r"print\(.*\)\s+# (.+)", code)
    assert claimed is not None and printed.strip() == claimed.group(1).strip()
