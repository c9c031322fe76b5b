"""Checkpoints (issue 14, items 5-7): one writer and reader (rezero_agents.checkpoints), atomic publication,
verification, resume fallback, and the readers (evaluate, live playback, the accuracy benchmark) going through it.
One tiny learner is shared by the tests; each points it at its own folder."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import io
import json
import logging
import os
import random
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks import accuracy
from rezero_agents import checkpoints
from rezero_agents.checkpoints import CheckpointError
from rezero_agents.grpo import GRPOLearner
from rezero_agents.playback.live import resolve_checkpoint
from tests.conftest import REPO_ROOT
from tests.rezero_agents.conftest import tiny_config


@pytest.fixture(scope="module")
def learner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GRPOLearner]:
    """One tiny learner that has taken a step (so its optimizer has state); tests point it at their own folder."""
    trained = GRPOLearner(tiny_config(tmp_path_factory.mktemp("run")))
    trained.train_step()
    yield trained
    trained.close()


def save_at(learner: GRPOLearner, output_dir: Path, step: int) -> Path:
    """Save ``learner`` as step ``step`` of a run in ``output_dir``."""
    learner.output_dir = output_dir
    learner.step = step
    return learner.save()


def trainable_of(learner: GRPOLearner) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in learner.unwrapped_model.named_parameters() if p.requires_grad}


def shift_weights(learner: GRPOLearner) -> None:
    with torch.no_grad():
        for parameter in learner.trainable:
            parameter.add_(0.5)


def reseal(folder: Path) -> None:
    """Rewrite state.json's sizes and checksums after a test changed a file on purpose (a writer bug, or a file
    replaced by hand), so that the check after the checksums is the one exercised."""
    state_file = folder / "state.json"
    state = json.loads(state_file.read_text())
    for name, record in state.get("files", {}).items():
        data = (folder / name).read_bytes()
        record.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    state_file.write_text(json.dumps(state))


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- the format: one round trip ---------------------------------------------------------------------------------


def test_round_trip_save_resolve_load_gives_the_same_weights_and_settings(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 3)
    weights = trainable_of(learner)
    optimizer = copy.deepcopy(learner.optimizer.state_dict())
    scheduler = learner.scheduler.state_dict()
    sampler, torch_rng, python_rng = learner.rng.bit_generator.state, torch.get_rng_state(), random.getstate()

    state = json.loads((folder / "state.json").read_text())
    assert state["format"] == checkpoints.FORMAT_VERSION and state["step"] == 3
    assert {"trainable.pt", "optimizer.pt", "scheduler.pt", "rng.pt", "model/adapter_config.json"} <= set(
        state["files"]
    )
    for name, record in state["files"].items():
        data = (folder / name).read_bytes()
        assert record == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}, name
    assert state["parameters"] == {n: list(w.shape) for n, w in weights.items()}
    assert not list(tmp_path.glob("checkpoints/.*"))  # no staging debris

    info = checkpoints.resolve(tmp_path, training=True)  # a run folder resolves to its latest checkpoint
    assert info is not None and info.folder == folder and info.verified and info.step == 3
    assert (info.few_shot, info.reward, info.base_model("other"), info.is_adapter) == (
        False,
        "none",
        "tiny-random",
        True,
    )

    with torch.no_grad():  # move everything the checkpoint restores
        for parameter in learner.trainable:
            parameter.add_(1.0)
    learner.step, learner.sft_done = 0, False
    learner.rng.random(), torch.rand(3), random.random()
    learner.load(info.folder)
    assert learner.step == 3 and learner.sft_done is True
    assert all(torch.equal(weights[n], w) for n, w in trainable_of(learner).items())
    restored = learner.optimizer.state_dict()
    assert restored["param_groups"] == optimizer["param_groups"]
    for index, moments in optimizer["state"].items():
        assert all(torch.equal(value, restored["state"][index][key]) for key, value in moments.items())
    assert learner.scheduler.state_dict() == scheduler
    assert learner.rng.bit_generator.state == sampler
    assert torch.equal(torch.get_rng_state(), torch_rng) and random.getstate() == python_rng

    # the readers see the same checkpoint, with the same settings and weights
    spec = resolve_checkpoint(str(tmp_path))
    assert (spec.source, spec.base_model, spec.few_shot) == (str(folder / "model"), "tiny-random", False)
    assert accuracy.resolve_checkpoint(tmp_path) == folder
    assert accuracy.read_checkpoint(folder, "other") == accuracy.Checkpoint(folder, "tiny-random", False, "none")
    model = checkpoints.load_checkpoint_model(info, info.base_model("other"))
    loaded = {n: p for n, p in model.named_parameters() if "lora_" in n}
    assert loaded.keys() == weights.keys() and all(torch.equal(weights[n], p) for n, p in loaded.items())


def test_a_folder_written_before_checksums_is_still_read(
    learner: GRPOLearner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = save_at(learner, tmp_path, 1)
    state = json.loads((folder / "state.json").read_text())
    for key in ("format", "files", "parameters"):
        del state[key]
    (folder / "state.json").write_text(json.dumps(state))
    rng = torch.load(folder / "rng.pt", weights_only=True)
    (folder / "rng.pt").unlink()
    torch.save({"torch": rng["torch"], "python": random.getstate()}, folder / "rng.pt")  # the old format
    with caplog.at_level(logging.WARNING):
        info = checkpoints.resolve(tmp_path, training=True)
        assert info is not None and info.folder == folder and not info.verified
        learner.load(folder)
    assert "not verified" in caplog.text and learner.step == 1


# --- item 5: checkpoints are never rewritten; resume falls back ---------------------------------------------


def test_saving_a_step_again_leaves_the_published_checkpoint_untouched(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    before = snapshot(folder)
    assert learner.save() == folder  # train() saves the last step in its loop and again after the final evaluation
    assert snapshot(folder) == before


def test_a_half_written_checkpoint_falls_back_to_the_previous_one(
    learner: GRPOLearner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = save_at(learner, tmp_path, 1)
    second = save_at(learner, tmp_path, 2)
    data = (second / "trainable.pt").read_bytes()
    (second / "trainable.pt").write_bytes(data[: len(data) // 2])  # what a crash during an in-place rewrite leaves
    with caplog.at_level(logging.WARNING):
        assert learner.latest_checkpoint() == first
    assert "trainable.pt" in caplog.text and "step-000001" in caplog.text
    learner.load(first)
    assert learner.step == 1


@pytest.mark.parametrize("pointer", ["", "\n", "step-000009\n", "../../elsewhere\n"])
def test_an_empty_or_dangling_latest_falls_back(learner: GRPOLearner, tmp_path: Path, pointer: str) -> None:
    save_at(learner, tmp_path, 1)
    second = save_at(learner, tmp_path, 2)
    (tmp_path / "checkpoints" / "latest").write_text(pointer)
    assert learner.latest_checkpoint() == second
    learner.load(second)
    assert learner.step == 2


def test_train_publishes_its_last_step_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    learner = GRPOLearner(tiny_config(tmp_path, total_steps=1, save_every=1, eval_questions=1))
    snapshots: list[dict[str, tuple[int, int, int]]] = []
    save = GRPOLearner.save

    def spy(self: GRPOLearner) -> Path:
        folder = save(self)
        snapshots.append(snapshot(folder))
        return folder

    monkeypatch.setattr(GRPOLearner, "save", spy)
    summary = learner.train()
    assert Path(summary["checkpoint"]).name == "step-000001"
    assert len(snapshots) == 2 and snapshots[0] == snapshots[1]  # saved in the loop; the final save wrote nothing


def test_resume_refuses_to_start_over_when_no_checkpoint_verifies(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    (folder / "optimizer.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"no checkpoint verifies.*step-000001/optimizer\.pt"):
        learner.latest_checkpoint()
    empty = tmp_path / "empty"
    learner.output_dir = empty
    assert learner.latest_checkpoint() is None  # nothing to resume: training starts from scratch


class Killed(BaseException):
    """The writer's process dying: no ``except Exception`` clause of the writer runs."""


@pytest.mark.parametrize("earlier_run", [False, True], ids=["new-step", "replacing-an-earlier-run"])
def test_a_crash_at_any_write_leaves_a_checkpoint_to_resume_from(
    learner: GRPOLearner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier_run: bool
) -> None:
    """Kill the writer at every one of its writes in turn (a torn file, a torn model folder, a rename that never
    happened): resume must find a complete checkpoint, and the next save must succeed."""
    writes = {name: getattr(checkpoints, name) for name in ("_write_file", "_write_folder", "_rename")}
    calls: list[str] = []
    kill_at: list[int] = [-1]

    def torn_file(path: Path, write: Any) -> None:
        buffer = io.BytesIO()
        write(buffer)
        path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])

    def torn_folder(path: Path, write: Any) -> None:
        writes["_write_folder"](path, write)
        largest = max((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        largest.write_bytes(largest.read_bytes()[:7])

    torn = {"_write_file": torn_file, "_write_folder": torn_folder, "_rename": lambda *args: None}

    def wrapper(name: str) -> Any:
        def write(*args: Any) -> None:
            calls.append(name)
            if len(calls) - 1 == kill_at[0]:
                torn[name](*args)
                raise Killed(f"killed at write {kill_at[0]} ({name})")
            writes[name](*args)

        return write

    for name in writes:
        monkeypatch.setattr(checkpoints, name, wrapper(name))

    def run_with(k: int) -> tuple[Path, dict[Path, list[dict[str, torch.Tensor]]]]:
        """A run at step 1 (and, for ``earlier_run``, an older step 2) about to save step 2; the weights each
        checkpoint it may resume from can hold."""
        run = tmp_path / f"kill-{k}"
        first = save_at(learner, run, 1)
        good = {first: [trainable_of(learner)]}
        shift_weights(learner)
        if earlier_run:  # step 2 exists, published by an earlier run (resume off); this run writes step 2 again
            earlier = save_at(learner, tmp_path / f"earlier-{k}", 2)
            shutil.copytree(earlier, run / "checkpoints" / earlier.name)
            (run / "checkpoints" / "latest").write_text(earlier.name + "\n")
            good[run / "checkpoints" / earlier.name] = [trainable_of(learner)]
            shift_weights(learner)
            good[run / "checkpoints" / earlier.name].append(trainable_of(learner))  # once renamed into place
        calls.clear()
        kill_at[0] = k
        return run, good

    run, _ = run_with(-1)
    save_at(learner, run, 2)
    boundaries = len(calls)
    assert boundaries >= 9 + earlier_run, calls  # 4 torch files, model/, state.json, rename(s), latest + rename

    for k in range(boundaries):
        run, good = run_with(k)
        with pytest.raises(Killed):
            save_at(learner, run, 2)
        kill_at[0] = -1
        resumed = learner.latest_checkpoint()
        assert resumed in good, (k, calls[k], resumed)
        learner.load(resumed)
        weights = trainable_of(learner)
        assert any(all(torch.equal(w[n], weights[n]) for n in weights) for w in good[resumed]), (k, calls[k])
        published = save_at(learner, run, 3)  # the next save cleans up and succeeds
        assert learner.latest_checkpoint() == published
        assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]


# --- item 6: weights that do not match the model are refused -------------------------------------------------


def test_a_trainable_file_holding_nothing_is_refused(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    torch.save({}, folder / "trainable.pt")
    reseal(folder)
    before = trainable_of(learner)
    with pytest.raises(CheckpointError, match=r"trainable\.pt.*missing.*lora_A"):
        learner.load(folder)
    assert all(torch.equal(before[n], w) for n, w in trainable_of(learner).items())  # nothing was loaded


def test_a_trainable_file_missing_one_parameter_names_it(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    weights = torch.load(folder / "trainable.pt", weights_only=True)
    dropped = sorted(weights)[3]
    del weights[dropped]
    torch.save(weights, folder / "trainable.pt")
    reseal(folder)
    with pytest.raises(CheckpointError, match=rf"trainable\.pt.*{re.escape(dropped)}"):
        learner.load(folder)


# --- item 7: corrupt files name the file ------------------------------------------------------------------------


def test_a_corrupt_state_file_is_named(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    (folder / "state.json").write_text('{"step": 1, "sft_done": tr')
    with pytest.raises(CheckpointError, match=r"step-000001/state\.json"):
        learner.load(folder)


@pytest.mark.parametrize("name", ["trainable.pt", "optimizer.pt", "scheduler.pt", "rng.pt"])
def test_a_corrupt_torch_file_is_named(learner: GRPOLearner, tmp_path: Path, name: str) -> None:
    folder = save_at(learner, tmp_path, 1)
    (folder / name).write_bytes(b"\x00not a torch file" * 10)
    reseal(folder)  # the reader, not only the checksum, names the file
    with pytest.raises(CheckpointError, match=rf"step-000001/{re.escape(name)}"):
        learner.load(folder)


CALLS: list[str] = []


def _payload() -> None:
    CALLS.append("executed")


class _Payload:
    def __reduce__(self) -> tuple[Any, ...]:
        return (_payload, ())


def test_rng_states_load_as_weights_only_and_a_pickle_is_refused(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)
    torch.load(folder / "rng.pt", weights_only=True)  # what the checkpoint saves loads without unpickling code
    torch.save({"torch": torch.get_rng_state(), "python": _Payload()}, folder / "rng.pt")
    reseal(folder)
    CALLS.clear()
    with pytest.raises(CheckpointError, match=r"rng\.pt"):
        learner.load(folder)
    assert CALLS == []  # the pickle was not run


@pytest.fixture(scope="module")
def other_lora(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GRPOLearner]:
    """A learner whose LoRA adapts other modules than :func:`learner`'s."""
    other = GRPOLearner(tiny_config(tmp_path_factory.mktemp("other"), lora_target_modules=("q_proj", "v_proj")))
    yield other
    other.close()


def test_resuming_with_other_lora_settings_says_the_settings_differ(
    learner: GRPOLearner, other_lora: GRPOLearner, tmp_path: Path
) -> None:
    folder = save_at(learner, tmp_path, 1)
    with pytest.raises(CheckpointError, match=r"(?s)settings differ.*lora_target_modules"):
        other_lora.load(folder)


def test_an_optimizer_state_of_other_lora_settings_is_refused(
    learner: GRPOLearner, other_lora: GRPOLearner, tmp_path: Path
) -> None:
    folder = save_at(learner, tmp_path / "a", 1)
    other = save_at(other_lora, tmp_path / "b", 1)
    (folder / "optimizer.pt").write_bytes((other / "optimizer.pt").read_bytes())
    reseal(folder)
    with pytest.raises(CheckpointError, match=r"(?s)optimizer\.pt.*settings differ"):
        learner.load(folder)


# --- readers ----------------------------------------------------------------------------------------------------


def _evaluate_script() -> Any:
    spec = importlib.util.spec_from_file_location("evaluate_script", REPO_ROOT / "scripts" / "evaluate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_evaluate_prompts_a_checkpoint_as_it_was_trained(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path, 1)  # trained without the worked examples (few_shot=False)
    evaluate = _evaluate_script()
    policy, _ = evaluate.build_policy(evaluate.Args(policy="model", model="tiny-random", checkpoint=folder))
    assert policy.formatter.prefix_messages == []
    policy, _ = evaluate.build_policy(evaluate.Args(policy="model", model="tiny-random", checkpoint=folder.parent))
    assert policy.formatter.prefix_messages == []  # a checkpoints/ folder resolves to its latest checkpoint


# --- issue 27, item 7: readers read only regular files inside the checkpoint folder ------------------------------


def record_as(folder: Path, name: str, size: int) -> None:
    """Make state.json record ``name`` with ``size`` bytes (what a hostile or damaged state.json can say)."""
    state = json.loads((folder / "state.json").read_text())
    state["files"][name] = {"size": size, "sha256": "0" * 64}
    (folder / "state.json").write_text(json.dumps(state))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "symlink-out"])
def test_a_recorded_file_that_is_no_regular_file_inside_the_folder_is_refused(
    learner: GRPOLearner, tmp_path: Path, kind: str
) -> None:
    folder = save_at(learner, tmp_path / "run", 1)
    target = folder / "model" / "adapter_model.safetensors"
    target.unlink()
    if kind == "dev-zero":
        target.symlink_to("/dev/zero")  # read, it never ends: the checksum used to spin forever
    elif kind == "fifo":
        os.mkfifo(target)  # opened, it blocks until a writer comes
    else:
        outside = tmp_path / "elsewhere.safetensors"
        outside.write_bytes(b"x")
        target.symlink_to(outside)
    record_as(folder, "model/adapter_model.safetensors", 0 if kind != "symlink-out" else 1)
    with pytest.raises(CheckpointError, match=r"adapter_model\.safetensors.*not a regular file"):
        checkpoints.verify(folder, training=False)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "other-file"])
def test_a_latest_that_is_no_small_regular_file_is_refused_without_showing_its_contents(
    learner: GRPOLearner, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    step = save_at(learner, tmp_path / "run", 1)
    latest = step.parent / "latest"
    latest.unlink()
    if kind == "dev-zero":
        latest.symlink_to("/dev/zero")  # used to end in MemoryError
    elif kind == "fifo":
        os.mkfifo(latest)  # used to hang
    else:
        secret = tmp_path / "secret.txt"
        secret.write_text("API_KEY=hunter2\n")  # used to be printed in the fallback warning
        latest.symlink_to(secret)
    with caplog.at_level(logging.WARNING):
        assert checkpoints.latest_checkpoint(step.parent, training=False).folder == step  # type: ignore[union-attr]
    assert "latest" in caplog.text and "not a regular file" in caplog.text
    assert "hunter2" not in caplog.text


def test_a_large_latest_is_refused_unread(
    learner: GRPOLearner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    step = save_at(learner, tmp_path / "run", 1)
    (step.parent / "latest").write_text("step-000001" + " " * 10_000 + "secret\n")
    with caplog.at_level(logging.WARNING):
        assert checkpoints.latest_checkpoint(step.parent, training=False).folder == step  # type: ignore[union-attr]
    assert "bytes" in caplog.text and "secret" not in caplog.text


def test_a_step_folder_symlinked_to_another_run_is_refused(
    learner: GRPOLearner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = save_at(learner, tmp_path / "other", 5)
    own = save_at(learner, tmp_path / "run", 1)
    (own.parent / "step-000005").symlink_to(other)
    (own.parent / "latest").write_text("step-000005\n")
    with caplog.at_level(logging.WARNING):
        assert checkpoints.latest_checkpoint(own.parent, training=False).folder == own  # type: ignore[union-attr]
    assert "step-000005" in caplog.text and "symlink" in caplog.text
    shutil.rmtree(own)  # the symlinked folder is all there is: resume refuses it rather than loading another run
    with pytest.raises(CheckpointError, match=r"no checkpoint verifies.*symlink"):
        checkpoints.latest_checkpoint(own.parent, training=True)


def test_a_checkpoint_without_state_json_is_refused_unless_allowed(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path / "run", 1)
    (folder / "state.json").unlink()  # flipped weights would then load with only a warning
    with pytest.raises(CheckpointError, match=r"state\.json.*allow-unverified"):
        checkpoints.resolve(folder)
    info = checkpoints.resolve(folder, allow_unverified=True)
    assert info is not None and not info.verified
    evaluate = _evaluate_script()
    with pytest.raises(CheckpointError, match="allow-unverified"):
        evaluate.build_policy(evaluate.Args(policy="model", model="tiny-random", checkpoint=folder))
    policy, _ = evaluate.build_policy(
        evaluate.Args(policy="model", model="tiny-random", checkpoint=folder, allow_unverified=True)
    )
    assert policy is not None


def test_aliased_and_too_many_file_names_are_refused_before_hashing(learner: GRPOLearner, tmp_path: Path) -> None:
    folder = save_at(learner, tmp_path / "run", 1)
    state = json.loads((folder / "state.json").read_text())
    record = state["files"]["model/adapter_model.safetensors"]
    for alias in ("model/./adapter_model.safetensors", "model//adapter_model.safetensors"):
        aliased = {**state, "files": {**state["files"], alias: record}}
        (folder / "state.json").write_text(json.dumps(aliased))
        with pytest.raises(CheckpointError, match="not in canonical form"):
            checkpoints.verify(folder, training=False)
    many = {**state, "files": {f"model/f{i}": record for i in range(checkpoints.MAX_FILES + 1)}}
    (folder / "state.json").write_text(json.dumps(many))
    with pytest.raises(CheckpointError, match=rf"{checkpoints.MAX_FILES + 1:,} files"):
        checkpoints.verify(folder, training=False)
