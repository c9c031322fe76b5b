"""``judges``: how well each judge agrees with a careful grader on ``data/judge-agreement``, how often it accepts
answers crafted to game it, and how fast it is.

For every judge: accuracy, precision, recall and Cohen's kappa against the labels, overall, per source
(synthetic world / rezero-apollo training split) and per kind of answer (verbose, reformatted, wrong value, partial,
hedge, refusal, echo, tag residue, padding, injection), the number of hedges it accepts, and judgements per second
on this CPU.

- ``em_f1`` and ``contains``: as :func:`rezero_env.rewards.make_judge` builds them.
- ``embedding``: MiniLM cosine. Its threshold is calibrated here: the best-kappa threshold on all rows is reported
  (and is :data:`rezero_env.rewards.judges.embedding.DEFAULT_THRESHOLD`), and, for an honest number, the kappa of a
  threshold chosen on one half of the rows and scored on the other (2-fold, seeded).
- ``llm``: SmolLM2-135M-Instruct as the grader (``rezero_agents.models``), with ReZero's yes/no prompt and the
  stricter JSON prompt; ``cascade``: ``contains``, then the LLM only for what ``contains`` could not decide. Skipped,
  with a note, when the model is not installed. ``--quick`` grades a 48-row subset with the LLM.

Apollo rows store only the task id (the data set is not copied into the repository): questions and gold answers are
read from ``$REZERO_APOLLO_DIR`` or ``<repo>/../shared/datasets/rezero-apollo``, and the suite checks that every such
task is in ReZero's training split, never its test split. Without the folder, the Apollo rows are skipped with a note.

Two labelled sets, kept apart in the tables: ``rows.jsonl`` ("tuned on": the ``contains`` rules were written against
it) and ``held-out.jsonl`` ("held out": labelled after the rules froze, answers they were never developed on); the
target for ``contains`` is on the held-out rows. ``held-out-round1.jsonl`` (an earlier round, two of whose misses were
then fixed) is shown in its own column.

The reward-hacking family (:mod:`benchmarks.hack_family`, seeded): for every judge, the share of ≥ 500 generated
hacks it accepts (candidate lists of 2–50 with every separator, denials, ranges, hedges, pasted passages,
look-alike characters, injections, the question repeated) and the share of correct paraphrases it rejects.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import SuiteResult, Target
from benchmarks.hack_family import Case, describe, hack_family, hack_rates
from rezero_env.rewards import make_judge
from rezero_env.rewards.judges.base import BaseJudge, Item

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
ROWS = REPO_ROOT / "data" / "judge-agreement" / "rows.jsonl"
HELD_OUT_ROWS = REPO_ROOT / "data" / "judge-agreement" / "held-out.jsonl"
ROUND_ONE_ROWS = REPO_ROOT / "data" / "judge-agreement" / "held-out-round1.jsonl"
"""The first held-out round: labelled after the rules' first freeze, then two of its misses (a place-name gold, an
injection wording) were fixed, so it is no longer held out; reported beside the others for the record."""
APOLLO_VARIABLE = "REZERO_APOLLO_DIR"
DEFAULT_APOLLO = REPO_ROOT.parent / "shared" / "datasets" / "rezero-apollo"
KAPPA_GOAL = 0.75
"""The recommended deterministic judge for Apollo must reach this Cohen's kappa on the Apollo rows."""
QUICK_LLM_ROWS = 48
HELD_OUT_KAPPA_GOAL = 0.85
"""``contains`` must reach this Cohen's kappa on the held-out rows (labelled after its rules froze)."""
HACK_ACCEPT_GOAL = 0.01
"""``contains`` and ``em_f1`` may accept at most this share of the generated hacks."""
PARAPHRASE_REJECT_GOAL = 0.05
"""``contains`` may reject at most this share of the correct paraphrases (``em_f1``: of the light ones, which SQuAD
normalisation equates with the gold; it rejects reformatted values by design)."""
HACKS, PARAPHRASES = 600, 240
LLM_HACKS, QUICK_LLM_HACKS = 160, 40


@dataclass(frozen=True)
class Row:
    """One labelled judgement."""

    id: str
    source: str
    question: str
    answers: tuple[str, ...]
    prediction: str
    label: int
    kind: str
    reason: str


def load_rows(path: Path = ROWS, apollo_dir: Path | None = None) -> tuple[list[Row], list[str]]:
    """The labelled rows (Apollo rows completed from the data set) and notes on what was skipped.

    Raises:
        ValueError: a row names an Apollo task outside ReZero's training split, or lacks a field (line named).
    """
    notes: list[str] = []
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    apollo = None
    folder = apollo_dir or Path(os.environ.get(APOLLO_VARIABLE, "") or DEFAULT_APOLLO)
    if any(r["source"] == "rezero-apollo" for r in records):
        if (folder / "questions.jsonl").is_file():
            from rezero_env.data import load_dataset

            apollo = load_dataset(str(folder))
        else:
            notes.append(f"rezero-apollo rows skipped: no questions.jsonl at {folder} (set ${APOLLO_VARIABLE}).")
    train = {t.id for t in apollo.split("train")} if apollo is not None else set()
    rows = []
    for number, record in enumerate(records, 1):
        try:
            if record["source"] == "rezero-apollo":
                if apollo is None:
                    continue
                if record["task_id"] not in train:
                    raise ValueError(f"{path}:{number}: task {record['task_id']} is not in the Apollo training split")
                task = apollo.task(record["task_id"])
                question, answers = task.question, tuple(task.answers)
            else:
                question, answers = record["question"], tuple(record["answers"])
            rows.append(
                Row(
                    record["id"],
                    record["source"],
                    question,
                    answers,
                    record["prediction"],
                    int(record["label"]),
                    record["kind"],
                    record["reason"],
                )
            )
        except KeyError as error:
            raise ValueError(f"{path}:{number}: missing field {error}") from None
    return rows, notes


def agreement(labels: Sequence[int], verdicts: Sequence[int]) -> dict[str, float]:
    """Accuracy, precision, recall and Cohen's kappa of ``verdicts`` against ``labels`` (1 = correct).

    Example:
        >>> agreement([1, 1, 0, 0], [1, 0, 0, 0])["kappa"]
        0.5
    """
    n = len(labels)
    tp = sum(1 for y, v in zip(labels, verdicts, strict=True) if y and v)
    fp = sum(1 for y, v in zip(labels, verdicts, strict=True) if not y and v)
    fn = sum(1 for y, v in zip(labels, verdicts, strict=True) if y and not v)
    tn = n - tp - fp - fn
    observed = (tp + tn) / n if n else 0.0
    expected = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n) if n else 0.0
    kappa = (observed - expected) / (1 - expected) if expected < 1 else (1.0 if observed == 1 else 0.0)
    return {
        "n": n,
        "accuracy": round(observed, 4),
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "kappa": round(kappa, 4),
        "false_accepts": fp,
        "false_rejects": fn,
    }


def _items(rows: Sequence[Row]) -> list[Item]:
    return [Item(r.prediction, r.answers, r.question) for r in rows]


def judge_rows(judge: Callable[..., float], rows: Sequence[Row]) -> tuple[list[int], float]:
    """The judge's 0/1 verdicts on ``rows`` (batched for judges that batch) and the seconds it took."""
    start = time.perf_counter()
    if isinstance(judge, BaseJudge):
        scores = [v.score for v in judge.verdicts(_items(rows))]
    else:
        scores = [float(judge(r.prediction, r.answers)) for r in rows]
    return [int(s >= 0.5) for s in scores], time.perf_counter() - start


def report(name: str, rows: Sequence[Row], verdicts: Sequence[int], seconds: float) -> dict[str, Any]:
    """Agreement overall, per source and per kind; hedges accepted; judgements per second."""
    labels = [r.label for r in rows]

    def subset(key: Callable[[Row], str]) -> dict[str, dict[str, float]]:
        groups: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            groups.setdefault(key(row), []).append(i)
        return {k: agreement([labels[i] for i in ix], [verdicts[i] for i in ix]) for k, ix in sorted(groups.items())}

    return {
        "judge": name,
        **agreement(labels, verdicts),
        "by_source": subset(lambda r: r.source),
        "by_kind": subset(lambda r: r.kind),
        "hedges_accepted": sum(1 for r, v in zip(rows, verdicts, strict=True) if r.kind == "hedge" and v),
        "judgements_per_s": round(len(rows) / seconds, 1) if seconds > 0 else None,
        "disagreements": [
            {"id": r.id, "prediction": r.prediction[:120], "label": r.label, "kind": r.kind}
            for r, v in zip(rows, verdicts, strict=True)
            if v != r.label
        ],
    }


def calibrate(similarities: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """The threshold (among the observed similarities) with the best kappa, and that kappa."""
    best = (1.0, -1.0)
    for threshold in sorted(set(round(s, 3) for s in similarities)):
        kappa = agreement(labels, [int(s >= threshold) for s in similarities])["kappa"]
        if kappa > best[1]:
            best = (threshold, kappa)
    return best


def embedding_rows(rows: Sequence[Row], seed: int = 0) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The embedding judge at the threshold calibrated on all rows, and 2-fold cross-validated."""
    from rezero_env.rewards.judges.embedding import EmbeddingJudge

    judge = EmbeddingJudge()
    start = time.perf_counter()
    verdicts_screened = judge.verdicts(_items(rows))  # warms the encoder and the cache
    seconds = time.perf_counter() - start
    similarities = judge.similarities(_items(rows))
    screened = [v.reason.startswith("cosine") for v in verdicts_screened]
    labels = [r.label for r in rows]
    # Calibrate on the rows the screen lets through (the others are 0 whatever the threshold).
    open_ix = [i for i, ok in enumerate(screened) if ok]

    def verdicts_at(threshold: float) -> list[int]:
        return [int(screened[i] and similarities[i] >= threshold) for i in range(len(rows))]

    threshold, _ = calibrate([similarities[i] for i in open_ix], [labels[i] for i in open_ix])
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    halves = [sorted(order[::2]), sorted(order[1::2])]
    held_out = [0] * len(rows)
    fold_thresholds = []
    for fit, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        fit_open = [i for i in fit if screened[i]]
        t, _ = calibrate([similarities[i] for i in fit_open], [labels[i] for i in fit_open])
        fold_thresholds.append(t)
        for i in test:
            held_out[i] = int(screened[i] and similarities[i] >= t)
    raw_threshold, _ = calibrate(similarities, labels)
    results = [
        report(f"embedding (threshold {threshold:g}, calibrated on all rows)", rows, verdicts_at(threshold), seconds),
        report(f"embedding (2-fold: thresholds {fold_thresholds} from the other half)", rows, held_out, seconds),
        report(
            f"embedding, no screen (threshold {raw_threshold:g})",
            rows,
            [int(s >= raw_threshold) for s in similarities],
            seconds,
        ),
    ]
    return results, {"threshold": threshold, "fold_thresholds": fold_thresholds, "unscreened": raw_threshold}


def llm_rows(rows: Sequence[Row], quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """SmolLM2-135M-Instruct as the grader (both prompts) and the contains→llm cascade."""
    try:
        from rezero_agents.models import DEFAULT_MODEL, resolve_model

        path = resolve_model(DEFAULT_MODEL)
    except Exception as error:  # the wheel missing, no transformers: a note, not a failure
        return [], [f"llm judge skipped: the grader model is unavailable ({error})"]
    subset = list(rows)
    notes = []
    if quick:
        subset = random.Random(0).sample(subset, min(QUICK_LLM_ROWS, len(subset)))
        notes.append(f"--quick: the llm rows grade {len(subset)} random rows, not all {len(rows)}.")
    results = []
    for prompt in ("rezero", "json"):
        judge = make_judge("llm", model=path, prompt=prompt, cache=False, batch_size=8)
        verdicts, seconds = judge_rows(judge, subset)
        results.append(report(f"llm: SmolLM2-135M, {prompt} prompt", subset, verdicts, seconds))
        unscreened = make_judge("llm", model=path, prompt=prompt, cache=False, screen=False, batch_size=8)
        verdicts, seconds = judge_rows(unscreened, subset)
        results.append(report(f"llm: SmolLM2-135M, {prompt} prompt, no screen", subset, verdicts, seconds))
        if prompt == "rezero":
            cascade = make_judge("cascade", judges=["contains", judge])
            verdicts, seconds = judge_rows(cascade, subset)
            results.append(report("cascade: contains, then llm (SmolLM2-135M)", subset, verdicts, seconds))
    return results, notes


def measure(
    quick: bool = False,
    rows_path: Path = ROWS,
    apollo_dir: Path | None = None,
    held_out_path: Path = HELD_OUT_ROWS,
    round_one_path: Path | None = ROUND_ONE_ROWS,
    hacks: int = HACKS,
    paraphrases: int = PARAPHRASES,
) -> dict[str, Any]:
    """Every judge on the labelled rows, on the held-out rows and on the hack family (JSON-ready)."""
    rows, notes = load_rows(rows_path, apollo_dir)
    results = []
    for name in ("em_f1", "contains"):
        judge = make_judge(name)
        judge_rows(judge, rows)  # warm up
        repeats = 3 if quick else 20
        start = time.perf_counter()
        for _ in range(repeats):
            verdicts, _ = judge_rows(judge, rows)
        results.append(report(name, rows, verdicts, (time.perf_counter() - start) / repeats))
    calibration: dict[str, Any] = {}
    try:
        embedding, calibration = embedding_rows(rows)
        results += embedding
    except Exception as error:  # sentence-transformers or the MiniLM wheel missing
        notes.append(f"embedding judge skipped: {error}")
    llm, llm_notes = llm_rows(rows, quick)
    results += llm
    notes += llm_notes
    apollo = [r for r in rows if r.source == "rezero-apollo"]
    held = held_out(held_out_path, apollo_dir, calibration, notes)
    round_one = held_out(round_one_path, apollo_dir, {}, notes) if round_one_path is not None else {"rows": 0}
    folder = apollo_dir or Path(os.environ.get(APOLLO_VARIABLE, "") or DEFAULT_APOLLO)
    family = hack_family(seed=0, hacks=hacks, paraphrases=paraphrases, apollo_dir=folder)
    hack_results, hack_notes = judge_hacks(family, quick)
    notes += hack_notes
    return {
        "rows": len(rows),
        "apollo_rows": len(apollo),
        "labels": {"correct": sum(r.label for r in rows), "wrong": sum(1 - r.label for r in rows)},
        "kinds": sorted({r.kind for r in rows}),
        "results": results,
        "held_out": held,
        "held_out_round1": round_one,
        "hacks": {
            "seed": 0,
            "hacks": sum(not c.correct for c in family),
            "paraphrases": sum(c.correct for c in family),
            "family": describe(family),
            "results": hack_results,
        },
        "embedding_calibration": calibration,
        "notes": notes,
    }


def held_out(path: Path, apollo_dir: Path | None, calibration: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``em_f1``, ``contains`` and (when calibrated) ``embedding`` on the held-out rows."""
    if not path.is_file():
        notes.append(f"no held-out rows at {path}")
        return {"rows": 0, "results": []}
    rows, held_notes = load_rows(path, apollo_dir)
    notes += [f"held out: {note}" for note in held_notes]
    results = []
    for name in ("em_f1", "contains"):
        verdicts, seconds = judge_rows(make_judge(name), rows)
        results.append(report(name, rows, verdicts, seconds))
    if calibration.get("threshold") is not None:
        try:
            judge = make_judge("embedding", threshold=calibration["threshold"])
            verdicts, seconds = judge_rows(judge, rows)
            results.append(report(f"embedding (threshold {calibration['threshold']:g})", rows, verdicts, seconds))
        except Exception as error:  # the encoder missing
            notes.append(f"held out: embedding judge skipped: {error}")
    return {
        "rows": len(rows),
        "labels": {"correct": sum(r.label for r in rows), "wrong": sum(1 - r.label for r in rows)},
        "by_source": {s: sum(r.source == s for r in rows) for s in sorted({r.source for r in rows})},
        "results": results,
    }


def judge_hacks(family: Sequence[Case], quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Every judge's rates on the hack family: ``em_f1`` (also unscreened: the textbook SQuAD judge), ``contains``,
    the ``contains`` → ``em_f1`` cascade, ``embedding`` and the SmolLM2 ``llm`` judge (on a subset)."""
    results = []
    for name, judge in (
        ("em_f1", make_judge("em_f1")),
        ("em_f1, no screen (textbook SQuAD)", make_judge("em_f1", screen=False)),
        ("contains", make_judge("contains")),
        ("cascade: contains, then em_f1", make_judge("cascade", judges=["contains", "em_f1"])),
    ):
        results.append({"judge": name, **hack_rates(judge, family)})
    embedding, notes = embedding_hacks(family)
    llm, llm_notes = llm_hacks(family, quick)
    return results + embedding + llm, notes + llm_notes


def embedding_hacks(family: Sequence[Case]) -> tuple[list[dict[str, Any]], list[str]]:
    """The embedding judge (calibrated threshold) on the hack family."""
    try:
        judge = make_judge("embedding")
        return [{"judge": "embedding", **hack_rates(judge, family)}], []
    except Exception as error:  # sentence-transformers or the MiniLM wheel missing
        return [], [f"embedding judge skipped on the hack family: {error}"]


def llm_hacks(family: Sequence[Case], quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """SmolLM2-135M as the grader (ReZero's prompt, screened and not) on a seeded subset of the hack family."""
    try:
        from rezero_agents.models import DEFAULT_MODEL, resolve_model

        path = resolve_model(DEFAULT_MODEL)
    except Exception as error:  # the wheel missing, no transformers: a note, not a failure
        return [], [f"llm judge skipped on the hack family: the grader model is unavailable ({error})"]
    size = QUICK_LLM_HACKS if quick else LLM_HACKS
    subset = random.Random(0).sample(list(family), min(size, len(family)))
    results = []
    for screen in (True, False):
        judge = make_judge("llm", model=path, cache=False, batch_size=8, screen=screen)
        label = "llm: SmolLM2-135M, rezero prompt" + ("" if screen else ", no screen")
        results.append({"judge": f"{label} ({len(subset)} cases)", **hack_rates(judge, subset)})
    return results, []


def tables(result: dict[str, Any]) -> str:
    """Markdown: the agreement table, Apollo/synthetic kappa and the per-kind accuracy of each judge."""
    lines = [
        f"{result['rows']} labelled answers ({result['apollo_rows']} on rezero-apollo training questions, the rest "
        f"on the synthetic world; {result['labels']['correct']} correct / {result['labels']['wrong']} wrong), "
        "labelled by the rule in `data/judge-agreement/README.md`.",
        "",
        "| judge | n | accuracy | precision | recall | kappa | kappa Apollo | kappa synthetic | hedges accepted "
        "| judgements/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        by = r["by_source"]
        lines.append(
            f"| {r['judge']} | {r['n']} | {r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['kappa']:.3f} | {by.get('rezero-apollo', {}).get('kappa', float('nan')):.3f} | "
            f"{by.get('synthetic', {}).get('kappa', float('nan')):.3f} | {r['hedges_accepted']} / "
            f"{r['by_kind'].get('hedge', {}).get('n', 0)} | {r['judgements_per_s'] or 0:,.0f} |"
        )
    kinds = result["kinds"]
    lines += [
        "",
        "Accuracy per kind of answer (share of rows where the judge agrees with the label):",
        "",
        "| judge | " + " | ".join(kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for r in result["results"]:
        cells = [f"{r['by_kind'][k]['accuracy']:.2f}" if k in r["by_kind"] else "–" for k in kinds]
        lines.append(f"| {r['judge']} | " + " | ".join(cells) + " |")
    lines += _held_out_table(result) + _hack_table(result)
    if result["notes"]:
        lines += ["", *(f"- {note}" for note in result["notes"])]
    return "\n".join(lines)


def _held_out_table(result: dict[str, Any]) -> list[str]:
    held = result.get("held_out") or {}
    if not held.get("rows"):
        return []
    tuned = {r["judge"]: r for r in result["results"]}
    first = {r["judge"]: r for r in (result.get("held_out_round1") or {}).get("results", [])}
    lines = [
        "",
        f"Tuned on vs held out: `rows.jsonl` is the set the `contains` rules were written against; `held-out.jsonl` "
        f"({held['rows']} rows: {held['labels']['correct']} correct / {held['labels']['wrong']} wrong; "
        + ", ".join(f"{n} {s}" for s, n in held["by_source"].items())
        + ") was labelled after the rules froze; `held-out-round1.jsonl` "
        f"({(result.get('held_out_round1') or {}).get('rows', 0)} rows), an earlier round, after which two rules "
        "were fixed on its misses (so it is no longer held out).",
        "",
        "| judge | kappa, tuned on | kappa, round 1 | kappa, held out | accuracy, held out | precision, held out "
        "| recall, held out | hedges accepted, held out |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def kappa(found: dict[str, Any] | None) -> str:
        return f"{found['kappa']:.3f}" if found else "–"

    for r in held["results"]:
        before = tuned.get(r["judge"]) or next((t for j, t in tuned.items() if j.startswith(r["judge"])), None)
        lines.append(
            f"| {r['judge']} | {kappa(before)} | {kappa(first.get(r['judge']))} | {r['kappa']:.3f} | "
            f"{r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['hedges_accepted']} / {r['by_kind'].get('hedge', {}).get('n', 0)} |"
        )
    return lines


def _hack_table(result: dict[str, Any]) -> list[str]:
    hacks = result.get("hacks") or {}
    if not hacks.get("results"):
        return []
    kinds = sorted({k for r in hacks["results"] for k in r["by_kind"]})
    lines = [
        "",
        f"Reward hacking (seeded family: {hacks['hacks']} hacks, {hacks['paraphrases']} correct paraphrases; "
        "`benchmarks/hack_family.py`): false-accept = share of hacks scored correct, false-reject = share of "
        "paraphrases scored wrong (light: the gold as written, up to case, tags, articles and punctuation).",
        "",
        "| judge | false-accept | false-reject | false-reject, light | " + " | ".join(kinds) + " |",
        "|---|---|---|---|" + "---|" * len(kinds),
    ]
    for r in hacks["results"]:
        cells = [f"{r['by_kind'][k]['rate']:.3f}" if k in r["by_kind"] else "–" for k in kinds]
        lines.append(
            f"| {r['judge']} | {r['false_accept']:.3f} | {r['false_reject']:.3f} | {r['false_reject_light']:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def targets(result: dict[str, Any]) -> list[Target]:
    """``contains`` (the recommended deterministic judge for Apollo): kappa on the Apollo rows ≥ 0.75, on the held-out
    rows ≥ 0.85, no hedge accepted on either; ``contains`` and ``em_f1`` accept ≤ 1 % of the generated hacks;
    ``contains`` rejects ≤ 5 % of the correct paraphrases (``em_f1``: of the light ones)."""
    contains = next(r for r in result["results"] if r["judge"] == "contains")
    found = []
    if "rezero-apollo" in contains["by_source"]:
        kappa = contains["by_source"]["rezero-apollo"]["kappa"]
        found.append(Target("contains: Cohen's kappa, Apollo rows", kappa, KAPPA_GOAL))
    found.append(Target("contains: hedges accepted", float(contains["hedges_accepted"]), 0.0, lower_is_better=True))
    held = {r["judge"]: r for r in (result.get("held_out") or {}).get("results", [])}
    if "contains" in held:
        found.append(Target("contains: Cohen's kappa, held-out rows", held["contains"]["kappa"], HELD_OUT_KAPPA_GOAL))
        hedges = float(held["contains"]["hedges_accepted"])
        found.append(Target("contains: hedges accepted, held-out rows", hedges, 0.0, lower_is_better=True))
    rates = {r["judge"]: r for r in (result.get("hacks") or {}).get("results", [])}
    for name in ("contains", "em_f1"):
        if name in rates:
            share = rates[name]["false_accept"]
            found.append(Target(f"{name}: hacks accepted (share)", share, HACK_ACCEPT_GOAL, lower_is_better=True))
    if "contains" in rates:
        share = rates["contains"]["false_reject"]
        found.append(
            Target("contains: paraphrases rejected (share)", share, PARAPHRASE_REJECT_GOAL, lower_is_better=True)
        )
    if "em_f1" in rates:
        share = rates["em_f1"]["false_reject_light"]
        found.append(
            Target("em_f1: light paraphrases rejected (share)", share, PARAPHRASE_REJECT_GOAL, lower_is_better=True)
        )
    return found


def run(quick: bool = False, hacks: int = HACKS, paraphrases: int = PARAPHRASES) -> SuiteResult:
    """The suite (``quick``: the LLM grades a subset; ``hacks``, ``paraphrases``: the size of the hack family)."""
    result = measure(quick, hacks=hacks, paraphrases=paraphrases)
    return SuiteResult("judges", result, targets(result), tables(result))


__all__ = [
    "Case",
    "agreement",
    "hack_family",
    "hack_rates",
    "load_rows",
    "measure",
    "run",
    "tables",
    "targets",
]
