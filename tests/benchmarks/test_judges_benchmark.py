"""The ``judges`` suite on the labelled set (LLM grading patched out: it loads SmolLM2), its loader's checks and
its agreement statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import judges


def test_agreement_statistics() -> None:
    perfect = judges.agreement([1, 0, 1, 0], [1, 0, 1, 0])
    assert perfect["kappa"] == 1.0 and perfect["accuracy"] == 1.0
    chance = judges.agreement([1, 0, 1, 0], [1, 1, 1, 1])
    assert chance["kappa"] == 0.0 and chance["precision"] == 0.5 and chance["recall"] == 1.0
    assert judges.agreement([1, 1, 0, 0], [0, 0, 1, 1])["kappa"] == -1.0


def test_suite_on_the_labelled_set(monkeypatch: pytest.MonkeyPatch, apollo_dir: Path) -> None:
    monkeypatch.setattr(judges, "llm_rows", lambda rows, quick: ([], ["llm patched out"]))
    monkeypatch.setattr(judges, "embedding_rows", lambda rows: ([], {}))
    monkeypatch.setenv(judges.APOLLO_VARIABLE, str(apollo_dir))
    result = judges.run(quick=True)
    metrics = result.metrics
    assert metrics["rows"] >= 150 and metrics["apollo_rows"] >= 100
    by = {r["judge"]: r for r in metrics["results"]}
    contains, em_f1 = by["contains"], by["em_f1"]
    # the acceptance of issue 15: contains agrees with the labels on Apollo and accepts no hedge
    assert contains["by_source"]["rezero-apollo"]["kappa"] >= judges.KAPPA_GOAL
    assert contains["hedges_accepted"] == 0 and contains["by_kind"]["hedge"]["n"] >= 10
    assert contains["kappa"] > em_f1["kappa"]
    assert {t.name: t.met for t in result.targets} == {
        "contains: Cohen's kappa, Apollo rows": True,
        "contains: hedges accepted": True,
    }
    assert "| contains |" in result.table and "llm patched out" in result.table
    json.dumps(metrics)


def test_rows_outside_the_apollo_training_split_are_refused(tmp_path: Path, apollo_dir: Path) -> None:
    from rezero_env.data import load_dataset

    test_task = load_dataset(str(apollo_dir)).split("test")[0].id
    rows = tmp_path / "rows.jsonl"
    row = {"id": "x", "source": "rezero-apollo", "task_id": test_task, "prediction": "p", "label": 0, "kind": "wrong",
           "reason": "r"}  # fmt: skip
    rows.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=rf"rows.jsonl:1: task {test_task} is not in the Apollo training split"):
        judges.load_rows(rows, apollo_dir)
    loaded, notes = judges.load_rows(rows, tmp_path / "nowhere")
    assert loaded == [] and "rezero-apollo rows skipped" in notes[0]
