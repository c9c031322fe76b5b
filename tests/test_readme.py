"""The README's quickstart runs as written and prints what it claims."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import runpy
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import pytest

from rezero_agents.playback import app as playback_app
from rezero_agents.playback import loading as playback_loading
from tests.conftest import REPO_ROOT


def test_readme_quickstart_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1]
    code = re.search(r"```python\n(.*?)```", quickstart, re.DOTALL)
    assert code is not None
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code.group(1), "README.md", "exec"), {})
    printed = output.getvalue()
    assert "<information>" in printed
    last_line = printed.strip().splitlines()[-1]
    claimed = re.search(r"print\(round\(reward, 2\), info\[\"reward_terms\"\]\)\s+# (\S+) (\{.*)", code.group(1))
    assert claimed is not None
    assert last_line.startswith(claimed.group(1) + " " + claimed.group(2).rstrip(".}").rstrip(", "))


# --- "Train on your own corpus": the section's file and commands, run as written on a corpus the test writes ---

OWN_CORPUS_FACTS = [
    ("Aurora", "ship", "built", "1821"),
    ("Belmont", "bridge", "opened", "1907"),
    ("Corvale", "lighthouse", "lit", "1863"),
    ("Dunmore", "canal", "dug", "1794"),
    ("Elsworth", "mill", "founded", "1836"),
    ("Fenwick", "observatory", "opened", "1911"),
]


def own_corpus_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    return readme.split("<!-- own-corpus -->", 1)[1].split("<!-- /own-corpus -->", 1)[0]


def own_corpus_commands() -> list[list[str]]:
    """The section's shell lines (``export`` and ``python scripts/...``), split into words."""
    block = re.search(r"```bash\n(.*?)```", own_corpus_section(), re.DOTALL)
    assert block is not None
    return [shlex.split(line, comments=True) for line in block.group(1).splitlines() if line.strip()]


def write_own_corpus(folder: Path) -> None:
    """12 documents and 12 questions (3 of them test questions) in the rezero JSONL format, and the section's
    ``my_terms.py``, into ``folder`` (where the commands run)."""
    documents, questions = [], []
    for i, (name, kind, verb, year) in enumerate(OWN_CORPUS_FACTS):
        keeper = f"{name[:3]}ric"
        documents += [
            {"id": f"d{i}", "title": name, "text": f"The {name} {kind} was {verb} in {year}."},
            {"id": f"k{i}", "title": f"{name} keeper", "text": f"The keeper of the {name} {kind} was {keeper}."},
        ]
        questions += [
            {"id": f"q{i}", "question": f"When was the {name} {kind} {verb}?", "answers": [year],
             "supporting_ids": [f"d{i}"], "split": "test" if i < 2 else "train"},
            {"id": f"r{i}", "question": f"Who was the keeper of the {name} {kind}?", "answers": [keeper],
             "supporting_ids": [f"k{i}"], "split": "test" if i < 1 else "train"},
        ]  # fmt: skip
    (folder / "mine").mkdir()
    (folder / "mine" / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in documents))
    (folder / "mine" / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    module = re.search(r"```python\n(.*?)```", own_corpus_section(), re.DOTALL)
    assert module is not None
    (folder / "my_terms.py").write_text(module.group(1))
    (folder / "scripts").symlink_to(REPO_ROOT / "scripts")  # the commands name scripts/ as from the repository root


@pytest.fixture
def own_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working folder holding ``mine/``, ``my_terms.py`` and ``scripts/``, made the current directory; the
    ``MyQA-v0`` registration and the ``my_terms`` module are dropped afterwards."""
    write_own_corpus(tmp_path)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    gym.registry.pop("MyQA-v0", None)
    sys.modules.pop("my_terms", None)


def run_in_process(words: list[str], monkeypatch: pytest.MonkeyPatch, served: list[object]) -> None:
    """One of the section's lines, as the shell would run it but in this process: ``export`` sets the variable
    (``PYTHONPATH=.`` also goes on ``sys.path``); ``python SCRIPT ARGS`` runs the script as ``__main__`` with
    those arguments and must exit 0; the playback app is built but not served (``launch`` records it)."""
    if words[0] == "export":
        name, _, value = words[1].partition("=")
        monkeypatch.setenv(name, value)
        if name == "PYTHONPATH":
            monkeypatch.syspath_prepend(str(Path(value).resolve()))
        return
    assert words[0] == "python" and words[1].startswith("scripts/"), words
    monkeypatch.setattr(sys, "argv", words[1:])
    monkeypatch.setattr(playback_app, "launch", lambda demo, host, port: served.append(demo))
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(words[1], run_name="__main__")
    assert exit_info.value.code in (0, None), f"{' '.join(words)} exited with {exit_info.value.code}"


def check_own_corpus_runs(folder: Path, trainers: set[str]) -> None:
    """What the section promises: a checkpoint, every episode scored with the new term, TRL's training episodes
    carrying their advantage and loss mask, an evaluation of the 3 test questions, and logs playback reads whole."""
    runs = folder / "runs"
    if "grpo" in trainers:
        assert (runs / "mine" / "checkpoints" / "latest").is_file()
    for name in ({"grpo": "mine", "trl": "mine-trl"}[t] for t in trainers):
        records = [json.loads(line) for line in (runs / name / "episodes.jsonl").read_text().splitlines()]
        assert records and all("short_answer" in r["reward_terms"] for r in records), name
        assert {r["task"]["id"] for r in records} <= {f"{p}{i}" for p in "qr" for i in range(6)}, name
        training = [r for r in records if r["phase"] == "train"]
        assert training and all("advantage" in r["learner"] and r["learner"]["loss_mask_runs"] for r in training), name
    summary = json.loads((runs / "mine-eval" / "summary.json").read_text())
    assert summary["episodes"] == 3  # the test questions
    names = ["mine", *(["mine-trl"] if "trl" in trainers else []), "mine-eval"]
    index = playback_loading.EpisodeIndex.load([runs / name for name in names])
    assert len(index) > 0 and index.skipped_lines == 0 and not index.warnings()


def test_readme_own_corpus_runs(own_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The section's commands in this process (13–25 s on 2 cores), but for the TRL line (the slow test runs it)."""
    served: list[object] = []
    for words in own_corpus_commands():
        if "scripts/train_trl_grpo.py" not in words:  # the playback line then opens the other two runs
            run_in_process([word for word in words if word != "runs/mine-trl"], monkeypatch, served)
    assert len(served) == 1  # playback built its app over the runs
    check_own_corpus_runs(own_corpus, {"grpo"})


@pytest.mark.slow
def test_readme_own_corpus_runs_as_subprocesses(own_corpus: Path) -> None:
    """Every line of the section, each ``python`` line in its own process as a shell would run it (the playback
    line with its app built but not served)."""
    environment = dict(os.environ)
    served: list[object] = []
    for words in own_corpus_commands():
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            environment[name] = value
        elif words[1] == "scripts/playback.py":
            with pytest.MonkeyPatch.context() as patch:
                run_in_process(words, patch, served)
        else:
            result = subprocess.run(
                [sys.executable, *words[1:]], cwd=own_corpus, env=environment, capture_output=True, text=True
            )
            assert result.returncode == 0, f"{' '.join(words)}:\n{result.stderr[-3000:]}"
    assert len(served) == 1
    check_own_corpus_runs(own_corpus, {"grpo", "trl"})


def test_a_warm_up_on_a_corpus_the_scripted_searcher_cannot_play_stops_with_a_reason(
    own_corpus: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The section's training line without ``--sft-warmup-steps 0``: exit 2 naming the option, no traceback."""
    words = next(w for w in own_corpus_commands() if "scripts/train_grpo.py" in w)
    at = words.index("--sft-warmup-steps")
    words = [*words[:at], "--sft-warmup-steps", "1", *words[at + 2 :]]
    monkeypatch.syspath_prepend(str(own_corpus))
    monkeypatch.setattr(sys, "argv", words[1:])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(words[1], run_name="__main__")
    assert exit_info.value.code == 2
    assert "--sft-warmup-steps 0" in caplog.text and "scripted searcher" in caplog.text
