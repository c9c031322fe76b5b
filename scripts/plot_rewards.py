"""Plot a training run's reward curve from its TensorBoard logs (a PNG for the README).

    python scripts/plot_rewards.py --logdir runs/cpu-demo/tb --output docs/reward-curve.png

One timeline of optimizer steps: the supervised warm-up (``sft/loss``) first, then GRPO (``train/*``). The top panel
shows the mean reward of every GRPO batch with its running mean, and the held-out evaluations (``eval/*``: the base
model, after the warm-up, at the end) as labelled points; the bottom panel shows accuracy the same way, with the
warm-up's loss on its own axis. Missing parts (no warm-up, no evaluations) are left out.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend
import numpy as np

REWARD, ACCURACY, SFT_LOSS = "mean_reward", "accuracy", "sft/loss"
ACCURACY_FALLBACK = "reward_terms/correctness"


@dataclass(frozen=True)
class Point:
    """One logged scalar."""

    step: int
    wall_time: float
    value: float


def load_scalars(logdir: Path) -> dict[str, list[Point]]:
    """Every scalar series in the TensorBoard event files under ``logdir`` (one run), in logging order."""
    from tensorboard.backend.event_processing.event_accumulator import (  # type: ignore[import-untyped]
        EventAccumulator,
    )

    if not logdir.exists():
        raise FileNotFoundError(f"--logdir {logdir}: no such file or folder")
    if logdir.is_dir() and not any(logdir.glob("events.out.tfevents.*")):
        raise FileNotFoundError(f"--logdir {logdir}: holds no TensorBoard event files (events.out.tfevents.*)")
    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0})  # 0: keep every point
    accumulator.Reload()
    return {
        tag: [Point(e.step, e.wall_time, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


TEST_EVALUATIONS = ("test_base", "test_warm-up", "test_start", "test_last")
"""The learner's test-split evaluations, one series each (``test_best`` repeats a step already trained, so it is
left out of the timeline)."""


def series(scalars: dict[str, list[Point]], prefix: str, name: str) -> list[Point]:
    """``prefix/name``, falling back to the correctness term for accuracy; ``eval`` also gathers the test-split
    evaluations the learner logs as ``test_<label>/name``, in the order they were logged."""
    found = scalars.get(f"{prefix}/{name}", [])
    if not found and name == ACCURACY:
        found = scalars.get(f"{prefix}/{ACCURACY_FALLBACK}", [])
    if not found and prefix == "eval":
        found = sorted(
            (point for label in TEST_EVALUATIONS for point in series(scalars, label, name)),
            key=lambda point: point.wall_time,
        )
    return found


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` points (shorter at the start).

    Example:
        >>> running_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist()
        [1.0, 2.0, 4.0, 6.0]
    """
    sums = np.cumsum(np.insert(values, 0, 0.0))
    counts = np.minimum(np.arange(1, len(values) + 1), window)
    ends = np.arange(1, len(values) + 1)
    means: np.ndarray = (sums[ends] - sums[ends - counts]) / counts
    return means


def eval_positions(evals: list[Point], sft: list[Point], sft_steps: int) -> list[tuple[float, str]]:
    """Timeline position and label of each evaluation: before the warm-up (base), after it, or at a GRPO step."""
    positions = []
    sft_start = min((p.wall_time for p in sft), default=float("inf"))
    for point in evals:
        if point.wall_time < sft_start and point.step == 0:
            positions.append((0.0, "base"))
        elif point.step == 0 and sft:
            positions.append((float(sft_steps), "after SFT"))
        else:
            positions.append((float(sft_steps + point.step), f"step {point.step}"))
    if positions and positions[-1][0] > sft_steps and positions[-1][1].startswith("step"):
        positions[-1] = (positions[-1][0], "final")
    return positions


def plot(scalars: dict[str, list[Point]], output: Path, title: str | None = None, window: int = 4) -> Path:
    """Draw the reward (and accuracy) timeline of ``scalars`` into ``output`` (the title defaults to the stages)."""
    train_reward = series(scalars, "train", REWARD)
    eval_reward = series(scalars, "eval", REWARD)
    if not train_reward and not eval_reward:
        raise ValueError(
            f"No train/{REWARD} or eval/{REWARD} scalars in the logs (found: {', '.join(sorted(scalars)) or 'none'})"
        )
    sft = scalars.get(SFT_LOSS, [])
    sft_steps = len(sft)
    grpo_steps = max((p.step for p in train_reward), default=0)
    has_accuracy = bool(series(scalars, "train", ACCURACY) or series(scalars, "eval", ACCURACY))

    rows = 2 if has_accuracy or sft else 1
    figure, axes = plt.subplots(rows, 1, figsize=(9, 3.4 * rows + 0.6), sharex=True, squeeze=False)
    panels = [(axes[0][0], REWARD, "mean reward", "{:.2f}")]
    if rows == 2:
        panels.append((axes[1][0], ACCURACY, "accuracy", "{:.0%}"))

    episodes = scalars.get("eval/episodes") or scalars.get("test_last/episodes", [])
    eval_label = f"held-out eval ({episodes[0].value:.0f} questions)" if episodes else "held-out eval"
    last_x = sft_steps + max(grpo_steps, 1)
    for axis, name, label, fmt in panels:
        train = series(scalars, "train", name)
        if train:
            x = np.array([sft_steps + p.step for p in train], dtype=float)
            y = np.array([p.value for p in train])
            axis.plot(x, y, "o-", color="tab:blue", alpha=0.35, markersize=3, linewidth=1, label="GRPO training batch")
            axis.plot(
                x, running_mean(y, window), color="tab:blue", linewidth=2.2, label=f"running mean ({window} steps)"
            )
        evals = series(scalars, "eval", name)
        for (x_eval, tag), point in zip(eval_positions(evals, sft, sft_steps), evals, strict=True):
            axis.plot(x_eval, point.value, "D", color="tab:red", markersize=7, zorder=5)
            at_end = x_eval >= last_x
            axis.annotate(
                f"{tag}\n{fmt.format(point.value)}",
                (x_eval, point.value),
                textcoords="offset points",
                xytext=(9, 0) if at_end else (0, 9),
                ha="left" if at_end else "center",
                va="center" if at_end else "bottom",
                fontsize=8,
                color="tab:red",
            )
        if evals:
            axis.plot([], [], "D", color="tab:red", label=eval_label)
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
        low, high = axis.get_ylim()
        axis.set_ylim(low, high + 0.15 * (high - low))  # room for the labels above the points
        if name == ACCURACY:
            axis.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))

    # stages
    for axis, *_ in panels:
        if sft_steps:
            axis.axvspan(0, sft_steps, color="tab:green", alpha=0.08)
        if grpo_steps:
            axis.axvspan(sft_steps, sft_steps + grpo_steps, color="tab:blue", alpha=0.05)
    top = panels[0][0]
    if sft_steps:
        top.text(sft_steps / 2, 1.02, "SFT warm-up", transform=top.get_xaxis_transform(), ha="center", fontsize=9)
    if grpo_steps:
        top.text(sft_steps + grpo_steps / 2, 1.02, "GRPO", transform=top.get_xaxis_transform(), ha="center", fontsize=9)
    handles, labels = top.get_legend_handles_labels()
    if sft and rows == 2:
        loss_axis = panels[-1][0].twinx()
        loss_axis.plot(
            [p.step + 1 for p in sft], [p.value for p in sft], "s--", color="tab:green", markersize=3, label="SFT loss"
        )
        loss_axis.set_ylabel("SFT loss (warm-up)", color="tab:green")
        loss_axis.tick_params(axis="y", colors="tab:green")
        more_handles, more_labels = loss_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    top.legend(handles, labels, loc="upper left", fontsize=8, framealpha=0.9)  # one legend, in the emptiest corner
    panels[-1][0].set_xlabel("optimizer step" + (" (SFT warm-up, then GRPO)" if sft_steps and grpo_steps else ""))
    panels[-1][0].set_xlim(-1, last_x + 0.12 * last_x + 1)  # room for the final evaluation's label
    if title is None:
        stages = [f"{n} {name} steps" for n, name in ((sft_steps, "SFT warm-up"), (grpo_steps, "GRPO")) if n]
        title = "Reward during training: " + ", then ".join(stages)
    figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logdir", type=Path, default=Path("runs/cpu-demo/tb"), help="TensorBoard log folder")
    parser.add_argument("--output", type=Path, default=Path("docs/reward-curve.png"), help="PNG to write")
    parser.add_argument("--title", default=None, help="figure title (default: the stages and their step counts)")
    parser.add_argument("--window", type=int, default=4, help="running-mean window in GRPO steps")
    args = parser.parse_args(argv)
    if args.window < 1:
        parser.error(f"--window must be >= 1, got {args.window}")
    try:
        scalars = load_scalars(args.logdir)
        path = plot(scalars, args.output, args.title, window=args.window)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
