"""Tables and figures behind the summary plots: mean reward, accuracy and each weighted reward term by training
step, and how many searches episodes make.

One series per run and phase — and, for evaluations, per stage (``cpu-demo · eval · base``, ``cpu-demo · eval ·
warm-up``, ``cpu-demo · eval · step 10``): two evaluations logged at the same step (the base model and the model
after the warm-up are both "step 0") are never averaged into one point. Likewise the episodes guidance added to
training are series of their own (``cpu-demo · train · guide``: the guide's episodes; ``cpu-demo · train · guide
prefix``: the policy's samples after the guide's first turns), so ``cpu-demo · train`` holds the policy's unaided
samples, the ones the learner's ``train/accuracy`` counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

STEP_COLUMNS = ["series", "step", "mean reward", "accuracy", "episodes"]
TERM_COLUMNS = ["series", "step", "term", "mean weighted value"]


#: The series suffix of each episode origin (:data:`~rezero_agents.playback.loading.ORIGINS`).
ORIGIN_SUFFIXES = {"policy": "", "guide": "guide", "prefix": "guide prefix"}


def series_names(
    run: npt.NDArray[Any], phase: npt.NDArray[Any], stage: npt.NDArray[Any], origin: npt.NDArray[Any] | None = None
) -> npt.NDArray[Any]:
    """``run · phase``, with `` · stage`` appended when the episode has a stage (evaluations) and `` · guide`` or
    `` · guide prefix`` when guidance played it (``origin``: ``guide`` or ``prefix``).

    Example:
        >>> import numpy as np
        >>> series_names(np.array(["r", "r"]), np.array(["train", "eval"]), np.array(["", "warm-up"])).tolist()
        ['r · train', 'r · eval · warm-up']
        >>> origins = np.array(["policy", "guide", "prefix"])
        >>> series_names(np.array(["r"] * 3), np.array(["train"] * 3), np.array([""] * 3), origins).tolist()
        ['r · train', 'r · train · guide', 'r · train · guide prefix']
    """
    origins = origin.tolist() if origin is not None else ["policy"] * len(run)
    names = []
    for r, p, s, o in zip(run.tolist(), phase.tolist(), stage.tolist(), origins, strict=True):
        suffix = ORIGIN_SUFFIXES.get(str(o), "")
        names.append(f"{r} · {p}" + (f" · {s}" if s else "") + (f" · {suffix}" if suffix else ""))
    return np.asarray(names, dtype=object)


def _frame(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    frame = pd.DataFrame({name: values[ids] for name, values in columns.items() if not name.startswith("term:")})
    stage = columns["stage"][ids] if "stage" in columns else np.full(len(ids), "", dtype=object)
    origin = columns["origin"][ids] if "origin" in columns else None
    frame["series"] = series_names(frame["run"].to_numpy(), frame["phase"].to_numpy(), stage, origin)
    return frame


def by_step(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """One row per series and step: ``series``, ``step``, ``mean reward``, ``accuracy``, ``episodes``.

    Example:
        >>> import numpy as np
        >>> cols = {"run": np.array(["r"] * 4, dtype=object), "phase": np.array(["eval"] * 4, dtype=object),
        ...         "stage": np.array(["base", "base", "warm-up", "warm-up"], dtype=object),
        ...         "step": np.array([0, 0, 0, 0]), "reward": np.array([1.0, 3.0, 5.0, 4.0]),
        ...         "correct": np.array([False, False, True, False]), "searches": np.array([1, 2, 2, 1])}
        >>> [(r["series"], r["mean reward"]) for r in by_step(cols, np.arange(4)).to_dict("records")]
        [('r · eval · base', 2.0), ('r · eval · warm-up', 4.5)]
    """
    if not len(ids):
        return pd.DataFrame({name: [] for name in STEP_COLUMNS})
    grouped = _frame(columns, ids).groupby(["series", "step"], sort=True)
    table = grouped.agg(reward=("reward", "mean"), accuracy=("correct", "mean"), episodes=("reward", "size"))
    table = table.reset_index().rename(columns={"reward": "mean reward"})
    table["step"] = table["step"].astype(int)
    table["mean reward"] = table["mean reward"].astype(float).round(4)
    table["accuracy"] = table["accuracy"].astype(float).round(4)
    table["episodes"] = table["episodes"].astype(int)
    return table[STEP_COLUMNS]


def terms_by_step(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """One row per series, step and reward term: the mean weighted value of the term (episodes without it left
    out), from the ``term:<name>`` columns."""
    names = [name for name in columns if name.startswith("term:")]
    if not len(ids) or not names:
        return pd.DataFrame({name: [] for name in TERM_COLUMNS})
    frame = _frame(columns, ids)
    rows = []
    for name in names:
        part = frame[["series", "step"]].copy()
        part["value"] = columns[name][ids]
        part = part.dropna(subset=["value"])
        if part.empty:
            continue
        means = part.groupby(["series", "step"], sort=True)["value"].mean().reset_index()
        means["term"] = name.removeprefix("term:")
        rows.append(means)
    if not rows:
        return pd.DataFrame({name: [] for name in TERM_COLUMNS})
    table = pd.concat(rows, ignore_index=True).rename(columns={"value": "mean weighted value"})
    table["step"] = table["step"].astype(int)
    return table[TERM_COLUMNS]


def searches_histogram(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """One row per series and number of searches: ``series``, ``searches`` (a label), ``episodes`` and ``share of
    episodes`` (of the series' episodes: each series sums to 1, so hundreds of training episodes do not drown an
    evaluation stage's few dozen)."""
    if not len(ids):
        return pd.DataFrame({"series": [], "searches": [], "episodes": [], "share of episodes": []})
    frame = _frame(columns, ids)
    table = frame.groupby(["series", "searches"], sort=True).size().reset_index(name="episodes")
    table["share of episodes"] = (table["episodes"] / table.groupby("series")["episodes"].transform("sum")).round(4)
    table["searches"] = table["searches"].astype(int).astype(str)
    return table[["series", "searches", "episodes", "share of episodes"]]


def summary_figure(steps: pd.DataFrame, terms: pd.DataFrame) -> Any:
    """A matplotlib figure: mean reward, accuracy and the weighted reward terms by step. Every point has a marker
    (an evaluation stage is often a single point), step ticks are whole numbers, and each series (each evaluation
    stage apart) is its own line; the terms panel shows the training series (all series when there is none)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(15, 4.2), layout="constrained")
    reward_axes, accuracy_axes, terms_axes = figure.subplots(1, 3)
    markers = "osD^v<>ph*"
    for index, (series, part) in enumerate(steps.groupby("series", sort=True)):
        marker = markers[index % len(markers)]
        reward_axes.plot(part["step"], part["mean reward"], marker=marker, label=series)
        accuracy_axes.plot(part["step"], part["accuracy"], marker=marker, label=series)
    shown_terms = terms
    if not terms.empty and terms["series"].str.contains(" · train").any():
        shown_terms = terms[terms["series"].str.contains(" · train")]
    for index, ((series, term), part) in enumerate(shown_terms.groupby(["series", "term"], sort=True)):
        label = term if shown_terms["series"].nunique() == 1 else f"{term} ({series})"
        terms_axes.plot(part["step"], part["mean weighted value"], marker=markers[index % len(markers)], label=label)
    for axes, title, ylabel in (
        (reward_axes, "Mean reward by step", "mean reward"),
        (accuracy_axes, "Accuracy by step", "accuracy"),
        (terms_axes, "Reward terms by step (weighted)", "mean weight × value"),
    ):
        axes.set_title(title, fontsize=11)
        axes.set_xlabel("step")
        axes.set_ylabel(ylabel)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(fontsize=7, loc="best")
        else:
            axes.text(0.5, 0.5, "no episodes", ha="center", va="center", transform=axes.transAxes, color="#6b7280")
    accuracy_axes.set_ylim(-0.02, 1.02)
    return figure
