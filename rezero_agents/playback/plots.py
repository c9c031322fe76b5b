"""Tables behind the summary plots: mean reward and accuracy by training step, and how many searches episodes make,
one series per run and phase (e.g. ``cpu-demo · train`` and ``cpu-demo · eval``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]


def _frame(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    frame = pd.DataFrame({name: values[ids] for name, values in columns.items()})
    frame["series"] = frame["run"].astype(str) + " · " + frame["phase"].astype(str)
    return frame


def by_step(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """One row per series and step: ``series``, ``step``, ``mean reward``, ``accuracy``, ``episodes``.

    Example:
        >>> import numpy as np
        >>> cols = {"run": np.array(["r", "r", "r"], dtype=object), "phase": np.array(["train"] * 3, dtype=object),
        ...         "step": np.array([1, 1, 2]), "reward": np.array([1.0, 3.0, 5.0]),
        ...         "correct": np.array([True, False, True]), "searches": np.array([1, 2, 2])}
        >>> by_step(cols, np.arange(3)).to_dict("records")[0]
        {'series': 'r · train', 'step': 1, 'mean reward': 2.0, 'accuracy': 0.5, 'episodes': 2}
    """
    if not len(ids):
        return pd.DataFrame({"series": [], "step": [], "mean reward": [], "accuracy": [], "episodes": []})
    grouped = _frame(columns, ids).groupby(["series", "step"], sort=True)
    table = grouped.agg(reward=("reward", "mean"), accuracy=("correct", "mean"), episodes=("reward", "size"))
    table = table.reset_index().rename(columns={"reward": "mean reward"})
    table["step"] = table["step"].astype(int)
    table["accuracy"] = table["accuracy"].astype(float)
    table["episodes"] = table["episodes"].astype(int)
    return table[["series", "step", "mean reward", "accuracy", "episodes"]]


def searches_histogram(columns: dict[str, npt.NDArray[Any]], ids: npt.NDArray[np.int64]) -> pd.DataFrame:
    """One row per series and number of searches: ``series``, ``searches`` (a label), ``episodes``."""
    if not len(ids):
        return pd.DataFrame({"series": [], "searches": [], "episodes": []})
    frame = _frame(columns, ids)
    table = frame.groupby(["series", "searches"], sort=True).size().reset_index(name="episodes")
    table["searches"] = table["searches"].astype(int).astype(str)
    return table[["series", "searches", "episodes"]]
