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
    monkeypatch.setattr(judges, "llm_hacks", lambda family, quick: ([], []))  # loads SmolLM2
    monkeypatch.setattr(judges, "embedding_hacks", lambda family: ([], []))  # loads MiniLM
    monkeypatch.setenv(judges.APOLLO_VARIABLE, str(apollo_dir))
    result = judges.run(quick=True, hacks=120, paraphrases=40)
    metrics = result.metrics
    assert metrics["rows"] >= 150 and metrics["apollo_rows"] >= 100
    by = {r["judge"]: r for r in metrics["results"]}
    contains, em_f1 = by["contains"], by["em_f1"]
    # the acceptance of issue 15: contains agrees with the labels on Apollo and accepts no hedge
    assert contains["by_source"]["rezero-apollo"]["kappa"] >= judges.KAPPA_GOAL
    assert contains["hedges_accepted"] == 0 and contains["by_kind"]["hedge"]["n"] >= 10
    assert contains["kappa"] > em_f1["kappa"]
    met = {t.name: t.met for t in result.targets}
    # the tuned-on targets of issue 15 hold; the held-out and hack targets (issue 26) are reported, met or not
    assert met["contains: Cohen's kappa, Apollo rows"] and met["contains: hedges accepted"]
    assert {"contains: Cohen's kappa, held-out rows", "contains: hedges accepted, held-out rows"} <= set(met)
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


# --- issue 26: held-out rows and the reward-hacking family ------------------------------------------------------------


def test_held_out_rows_are_kept_apart_from_the_tuned_on_rows(apollo_dir: Path) -> None:
    tuned, _ = judges.load_rows(judges.ROWS, apollo_dir)
    held, _ = judges.load_rows(judges.HELD_OUT_ROWS, apollo_dir)
    assert len(held) >= 150 and {r.id for r in tuned}.isdisjoint({r.id for r in held})
    assert {r.prediction for r in tuned}.isdisjoint({r.prediction for r in held if r.kind not in ("exact",)})
    assert sum(r.kind == "hedge" for r in held) >= 10


def test_hack_family_is_seeded_and_covers_every_kind() -> None:
    family = judges.hack_family(seed=0, hacks=120, paraphrases=40)
    assert family == judges.hack_family(seed=0, hacks=120, paraphrases=40)
    assert family != judges.hack_family(seed=1, hacks=120, paraphrases=40)
    hacks = [case for case in family if not case.correct]
    assert len(hacks) == 120 and sum(case.correct for case in family) == 40
    assert {case.kind for case in hacks} >= {"list", "negation", "range", "padding", "homoglyph", "injection"}
    sizes = {len(case.prediction.split()) for case in hacks if case.kind == "list"}
    assert max(sizes) >= 10


def test_hack_rates_of_a_judge_that_accepts_everything_and_of_contains() -> None:
    family = judges.hack_family(seed=0, hacks=60, paraphrases=30)
    lenient = judges.hack_rates(lambda prediction, answers: 1.0, family)
    assert lenient["false_accept"] == 1.0 and lenient["false_reject"] == 0.0 and lenient["hacks"] == 60
    strict = judges.hack_rates(judges.make_judge("contains"), family)
    assert strict["false_accept"] <= 0.05 and set(strict["by_kind"]) >= {"list", "negation"}
    assert strict["accepted_hacks"] == [c for c in strict["accepted_hacks"] if c["kind"]]  # listed for reading


def test_suite_reports_held_out_kappa_and_hack_rates(monkeypatch: pytest.MonkeyPatch, apollo_dir: Path) -> None:
    monkeypatch.setattr(judges, "llm_rows", lambda rows, quick: ([], ["llm patched out"]))
    monkeypatch.setattr(judges, "embedding_rows", lambda rows: ([], {}))
    monkeypatch.setattr(judges, "llm_hacks", lambda family, quick: ([], []))
    monkeypatch.setattr(judges, "embedding_hacks", lambda family: ([], []))
    monkeypatch.setenv(judges.APOLLO_VARIABLE, str(apollo_dir))
    result = judges.run(quick=True, hacks=200, paraphrases=60)
    metrics = result.metrics
    held = {r["judge"]: r for r in metrics["held_out"]["results"]}
    assert metrics["held_out"]["rows"] >= 150 and "contains" in held
    assert "tuned on" in result.table and "held out" in result.table and "false-accept" in result.table
    assert metrics["held_out_round1"]["rows"] >= 150 and "kappa, round 1" in result.table
    rates = {r["judge"]: r for r in metrics["hacks"]["results"]}
    assert set(rates) >= {"contains", "em_f1"} and metrics["hacks"]["hacks"] == 200
    names = {t.name for t in result.targets}
    assert {"contains: Cohen's kappa, held-out rows", "contains: hacks accepted (share)",
            "em_f1: hacks accepted (share)", "contains: paraphrases rejected (share)"} <= names  # fmt: skip
    json.dumps(metrics)
