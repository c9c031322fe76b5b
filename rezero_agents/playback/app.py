"""The playback app: a Gradio Blocks UI over episode logs.

    rezero-playback runs/cpu-demo [more logs or run directories …] [--port 7860] [--host 127.0.0.1]
                    [--allow-model PATH_OR_NAME …] [--analytics]

Tabs: **Episodes** (filters, a paged list with reward-hack hints and what guidance did with each episode — the
guide's own episodes, branched samples after ``prefix k`` guide turns, samples kept out of the update; click a row
to open it), **Episode** (the transcript with the prefix messages the policy saw, gold vs predicted answer,
searches, the reward table with weights, weighted values and each term's reason, and for training episodes the
advantage, the group-mates and the token overlay of the loss mask; a guide episode or a branched sample says so in
a banner and marks the turns the guide wrote), **Compare** (two episodes of the same question side by side, with
the reward deltas and the answers and queries diffed), **Summary plots** (reward, accuracy and each weighted reward
term by step, one series per evaluation stage, and apart the guide's episodes and branched samples; searches per
episode) and **Live** (play a question with the scripted searcher or a checkpoint, turn by turn).
Corrupt lines are skipped and reported in a warning at the top; **Reload logs** picks up episodes appended since
(a training run writes one step at a time). The server binds to 127.0.0.1 unless ``--host`` says otherwise.

The Live tab loads only the models the app was started with: the run directories given (or holding the logs) and
their checkpoints, the default model, and each ``--allow-model`` (a model folder, checkpoint, run directory, short
name or hub id); anything else typed into its box is refused. Gradio's usage analytics are off unless
``--analytics`` is given.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from rezero_agents.checkpoints import holds_checkpoints
from rezero_agents.episode_log import EpisodeLogError
from rezero_agents.models import DEFAULT_MODEL
from rezero_agents.playback.live import (
    SCRIPTED,
    LiveSettings,
    ModelAllowList,
    load_checkpoint_policy,
    play_live,
    scripted_policy,
    task_choices,
)
from rezero_agents.playback.loading import (
    ORIGINS,
    ROW_HEADERS,
    SORT_ORDERS,
    EpisodeFilter,
    EpisodeIndex,
    paginate,
)
from rezero_agents.playback.plots import by_step, searches_histogram, summary_figure, terms_by_step
from rezero_agents.playback.render import (
    CSS,
    Mate,
    render_compare,
    render_compare_summary,
    render_episode,
    render_notice,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
MAX_COMPARE_CHOICES = 500
_DATATYPES = ["number", "str", "str", "number", "str", "str", "str", "str", "number", "number", "str", "str"]
#: The "played by" filter's choices (:data:`~rezero_agents.playback.loading.ORIGINS`).
_ORIGIN_LABELS = {"policy": "policy alone", "guide": "guide", "prefix": "policy after guide prefix"}
_SORT_LABELS = {
    "log": "log order",
    "reward": "reward ↑",
    "-reward": "reward ↓",
    "step": "step ↑",
    "-step": "step ↓",
    "searches": "searches ↑",
    "-searches": "searches ↓",
}
CHECKPOINT = "checkpoint"
#: Page script: a click on a group-mate link in the episode view opens that episode (it types the number into the
#: "episode #" box and presses Enter there, as a user would).
JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.rz-mate");
    if (!link) return;
    event.preventDefault();
    const box = document.querySelector("#rz-episode-number input");
    if (!box) return;
    box.value = link.dataset.episode;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    for (const type of ["keydown", "keypress", "keyup"]) {
      box.dispatchEvent(new KeyboardEvent(type, { key: "Enter", code: "Enter", keyCode: 13, bubbles: true }));
    }
  });
}
"""


def parse_bound(value: str | float | None, name: str, whole: bool = False) -> float | None:
    """A filter bound typed into a text box: empty means None.

    Example:
        >>> parse_bound(" 3 ", "step ≥", whole=True), parse_bound("", "reward ≤")
        (3, None)

    Raises:
        ValueError: ``value`` is not a (whole) number; the message names the box.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"“{name}” must be a {'whole ' if whole else ''}number, got {value!r}") from None
    if whole:
        if not number.is_integer():
            raise ValueError(f"“{name}” must be a whole number, got {value!r}")
        return int(number)
    return number


def make_filter(
    runs: Sequence[str] | None,
    phases: Sequence[str] | None,
    outcome: str | None,
    step_min: str | None,
    step_max: str | None,
    reward_min: str | None,
    reward_max: str | None,
    searches_min: str | None,
    searches_max: str | None,
    text: str | None,
    sort: str | None,
    origins: Sequence[str] | None = None,
) -> EpisodeFilter:
    """An :class:`EpisodeFilter` from the values of the filter widgets (empty boxes mean "any"; ``origins``: who
    played the episodes, :data:`~rezero_agents.playback.loading.ORIGINS`).

    Raises:
        ValueError: a bound or option is invalid (the message names it).
    """

    def whole(value: str | None, name: str) -> int | None:
        bound = parse_bound(value, name, whole=True)
        return None if bound is None else int(bound)

    return EpisodeFilter(
        runs=tuple(runs or ()),
        phases=tuple(phases or ()),
        outcome=(outcome or "all"),  # type: ignore[arg-type]
        step_min=whole(step_min, "step ≥"),
        step_max=whole(step_max, "step ≤"),
        reward_min=parse_bound(reward_min, "reward ≥"),
        reward_max=parse_bound(reward_max, "reward ≤"),
        searches_min=whole(searches_min, "searches ≥"),
        searches_max=whole(searches_max, "searches ≤"),
        text=text or "",
        sort=(sort or "log"),  # type: ignore[arg-type]
        origins=tuple(origins or ()),
    )


def _table(rows: list[list[Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ROW_HEADERS))


class PlaybackApp:
    """The handlers of the UI over one :class:`EpisodeIndex` (thread-safe: Gradio calls them from worker threads).

    Live mode loads only :attr:`models`: the run directories next to the logs (:func:`checkpoint_suggestions`),
    the default model, and ``allowed_models``.
    """

    def __init__(
        self,
        index: EpisodeIndex,
        live: LiveSettings | None = None,
        page_size: int = PAGE_SIZE,
        allowed_models: Sequence[str | Path] = (),
    ) -> None:
        self.index = index
        self.live = live or LiveSettings()
        self.page_size = page_size
        self.lock = threading.Lock()
        self.models = ModelAllowList([*allowed_models, *checkpoint_suggestions(index)])

    # --- list -----------------------------------------------------------------------------------------------

    def list_page(self, *values: Any) -> tuple[pd.DataFrame, str, int]:
        """Filter widgets' values then the page number → the page's rows, a status line and the clamped page."""
        *filters, page = values
        try:
            query = make_filter(*filters)
        except ValueError as error:
            return _table([]), f"⚠️ {error}", 1
        with self.lock:
            ids = self.index.filter(query)
            shown = paginate(ids, int(page or 1), self.page_size)
            rows = self.index.rows(shown.ids)
        status = (
            f"**{shown.total:,}** of {len(self.index):,} episodes match · page {shown.number} of {shown.pages}"
            " · click a row to open the episode"
        )
        return _table(rows), status, shown.number

    def plots(self, *filters: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Filter widgets' values → the by-step table, the per-term table and the searches histogram of the
        matching episodes."""
        with self.lock:
            columns = self.index.columns()
            try:
                ids = self.index.filter(make_filter(*filters))
            except ValueError:  # the list's status line names the bad box; the plots show nothing
                ids = np.zeros(0, np.int64)
        return by_step(columns, ids), terms_by_step(columns, ids), searches_histogram(columns, ids)

    def header(self) -> str:
        """The page title line with the current episode and log counts."""
        logs = len(self.index.sources)
        return f"## rezero playback · {len(self.index):,} episodes from {logs} log{'s' * (logs != 1)}"

    def warning_html(self) -> str:
        warnings = self.index.warnings()
        if not warnings:
            return ""
        return render_notice("⚠️ " + " · ".join(warnings), "warning")

    def reload(self) -> tuple[str, str, Any, Any, str]:
        """Index what the logs gained since; → a notice, the warnings, fresh run/phase choices and the header."""
        with self.lock:
            try:
                added = self.index.refresh()
            except (OSError, EpisodeLogError) as error:
                failed = render_notice(f"Reload failed: {error}", "error")
                return failed, self.warning_html(), gr.update(), gr.update(), self.header()
            runs, phases = self.index.runs, self.index.phases
        notice = render_notice(f"Reloaded: {added:,} new episodes ({len(self.index):,} in all).")
        return notice, self.warning_html(), gr.update(choices=runs), gr.update(choices=phases), self.header()

    # --- one episode ----------------------------------------------------------------------------------------

    def episode(self, episode_id: float | None) -> tuple[str, str]:
        """Episode id → its HTML and its task id (for the compare view)."""
        if episode_id is None:
            return render_notice("Type an episode number or click a row of the list."), ""
        try:
            with self.lock:
                record = self.index.record(int(episode_id))
                location = self.index.location(int(episode_id))
                task_id = self.index.task_of(int(episode_id))
                mates = self._mates(record)
                flags = self.index.flags(int(episode_id))
        except (IndexError, OSError, EpisodeLogError) as error:
            return render_notice(str(error), "error"), ""
        return render_episode(record, location, mates=mates, flags=flags), task_id

    def _mates(self, record: dict[str, Any]) -> list[Mate]:
        """The group-mates a training record names: episode id, index id (None when not loaded) and what guidance
        did with each (the guide's episode, a branched sample)."""
        learner = record.get("learner")
        members = learner.get("group_members") if isinstance(learner, dict) else None
        if not isinstance(members, list):
            return []
        run, phase = str(record.get("run_id", "")), str(record.get("phase", ""))
        mates = []
        for member in members:
            found = self.index.find_episode(run, phase, str(member))
            mates.append(Mate(str(member), found, self.index.guidance(found) if found is not None else ""))
        return mates

    def open_selected(self, event: gr.SelectData) -> tuple[str, int | None, str, Any]:
        """A click on a list row → the episode view (its HTML, id, task id) and a switch to the Episode tab."""
        row = event.row_value or []
        try:
            episode_id = int(row[0])
        except (IndexError, TypeError, ValueError):
            return render_notice("That row holds no episode."), None, "", gr.update()
        html, task_id = self.episode(episode_id)
        return html, episode_id, task_id, gr.update(selected="episode")

    # --- compare --------------------------------------------------------------------------------------------

    def compare_choices(self, task_id: str | None, episode_id: float | None = None) -> tuple[Any, Any, str]:
        """Task id → choices for both sides (every episode of that question) and their side-by-side HTML. From an
        open episode (``episode_id``, "Compare this question"): that episode on the left and, on the right, its
        first group-mate (a training episode) or else the question's latest other episode (another stage or
        step) — the right side's list picks any other. Without one: the first and the last episode (e.g. before
        and after training)."""
        task_id = (task_id or "").strip()
        with self.lock:
            ids = [int(i) for i in self.index.episodes_of_task(task_id)]
            viewed = int(episode_id) if episode_id is not None and int(episode_id) in ids else None
            mates: list[int] = []
            if viewed is not None:
                try:
                    found = [m.number for m in self._mates(self.index.record(viewed))]
                except (IndexError, OSError, EpisodeLogError):
                    found = []
                mates = [number for number in found if number is not None and number != viewed]
            shown = ids[:MAX_COMPARE_CHOICES]
            for kept in [] if viewed is None else [viewed, *mates]:  # the viewed episode and its mates are offered
                if kept not in shown:
                    shown.append(kept)
            choices = [(self._choice_label(i, viewed, mates), i) for i in shown]
        if not choices:
            message = f"No episodes of task {task_id!r}." if task_id else "Type a task id or open an episode first."
            return gr.update(choices=[], value=None), gr.update(choices=[], value=None), render_notice(message)
        if viewed is None:
            left, right = choices[0][1], choices[-1][1]
        else:
            others = [i for i in ids if i != viewed]
            left, right = viewed, (mates[0] if mates else others[-1] if others else viewed)
        return (
            gr.update(choices=choices, value=left),
            gr.update(choices=choices, value=right),
            self.compare(left, right),
        )

    def _choice_label(self, episode_id: int, viewed: int | None, mates: Sequence[int]) -> str:
        mark = " · (viewed)" if episode_id == viewed else " · (group-mate)" if episode_id in mates else ""
        return self.index.label(episode_id) + mark

    def compare(self, left: float | None, right: float | None) -> str:
        """Two episode ids → their compact renderings side by side."""
        if left is None or right is None:
            return render_notice("Choose an episode for each side.")
        sides = []
        records = []
        for episode_id in (int(left), int(right)):
            try:
                with self.lock:
                    record = self.index.record(episode_id)
                    label = self.index.label(episode_id)
                    flags = self.index.flags(episode_id)
            except (IndexError, OSError, EpisodeLogError) as error:
                sides.append(render_notice(str(error), "error"))
                continue
            records.append(record)
            sides.append(render_notice(label) + render_episode(record, compact=True, flags=flags))
        summary = render_compare_summary(*records) if len(records) == 2 else ""
        return render_compare(sides[0], sides[1], summary)

    # --- live -----------------------------------------------------------------------------------------------

    def run_live(
        self,
        question: str | None,
        gold: str | None,
        task_index: float | None,
        policy_kind: str,
        checkpoint: str | None,
        max_turns: float,
        delay: float,
    ) -> Iterator[str]:
        """Play one episode and yield its HTML after the reset and after every turn."""
        if policy_kind == CHECKPOINT:
            name = (checkpoint or "").strip()
            if not name:
                yield render_notice("Type a checkpoint path (or a model name) first.", "error")
                return
            if not self.models.allows(name):
                logger.warning("Live mode refused to load %r (not allowed)", name)
                yield render_notice(self.models.refusal(name), "error")
                return
            yield render_notice(f"Loading {name} … (the first load of a model takes a while on a CPU)")
            try:
                next_message = load_checkpoint_policy(name)
            except Exception as error:  # a UI boundary: any failure to load is shown, not raised
                logger.exception("Could not load %s", name)
                yield render_notice(f"Could not load {name!r}: {error}", "error")
                return
            label = name
        else:
            next_message, label = scripted_policy(), SCRIPTED
        try:
            env = self.live.make_env(int(max_turns))
        except (ValueError, OSError) as error:
            yield render_notice(f"Could not make the environment: {error}", "error")
            return
        try:
            typed = (question or "").strip()
            if not typed and task_index is None:
                yield render_notice("Type a question or pick a task.", "error")
                return
            episode = play_live(
                env,
                next_message,
                task_index=None if typed else int(task_index),  # type: ignore[arg-type]
                question=typed or None,
                gold=gold or "",
                policy=label,
                model=label,
            )
            for turn, record in enumerate(episode):
                if turn:
                    time.sleep(max(0.0, float(delay)))
                done = record["terminated"] or record["truncated"]
                state = "finished" if done else f"turn {turn} of at most {int(max_turns)} — running…"
                yield render_notice(f"Live · {label} · {state}") + render_episode(record)
        except Exception as error:  # a UI boundary: the model or env failing mid-episode is shown
            logger.exception("Live episode failed")
            yield render_notice(f"The live episode failed: {error}", "error")
        finally:
            env.close()


def checkpoint_suggestions(index: EpisodeIndex) -> list[str]:
    """Run directories next to the logs that hold checkpoints, then the default model."""
    found: dict[str, None] = {}
    for source in index.sources:
        for folder in (source.path.parent, *source.path.parent.parents[:2]):
            if holds_checkpoints(folder):
                found[str(folder)] = None
    return [*found, DEFAULT_MODEL]


def build_app(
    index: EpisodeIndex,
    live: LiveSettings | None = None,
    page_size: int = PAGE_SIZE,
    allowed_models: Sequence[str | Path] = (),
    analytics: bool = False,
) -> gr.Blocks:
    """The Blocks app over ``index`` (launch it with ``css=CSS``; see :func:`launch`). Live mode loads only the
    suggested run directories, the default model and ``allowed_models``; Gradio's usage analytics are sent only
    when ``analytics``."""
    app = PlaybackApp(index, live, page_size, allowed_models)
    step_range = index.step_range()
    demo = gr.Blocks(title="rezero playback", analytics_enabled=analytics)
    with demo:
        header = gr.Markdown(app.header(), elem_id="rz-header")
        warning = gr.HTML(app.warning_html(), elem_id="rz-warning")
        with gr.Tabs(selected="episodes") as tabs:
            with gr.Tab("Episodes", id="episodes"):
                with gr.Row():
                    runs = gr.Dropdown(index.runs, value=[], multiselect=True, label="run", scale=2)
                    phases = gr.Dropdown(index.phases, value=[], multiselect=True, label="phase", scale=1)
                    origins = gr.Dropdown(
                        [(_ORIGIN_LABELS[o], o) for o in ORIGINS],
                        value=[],
                        multiselect=True,
                        label="played by",
                        scale=1,
                    )
                    outcome = gr.Radio(["all", "correct", "incorrect"], value="all", label="outcome", scale=2)
                    text = gr.Textbox(label="question contains", placeholder="text or task id", scale=2)
                    sort = gr.Dropdown([(_SORT_LABELS[s], s) for s in SORT_ORDERS], value="log", label="sort", scale=1)
                with gr.Row():
                    low, high = step_range or ("any", "any")
                    step_min = gr.Textbox(label="step ≥", placeholder=str(low), min_width=90)
                    step_max = gr.Textbox(label="step ≤", placeholder=str(high), min_width=90)
                    reward_min = gr.Textbox(label="reward ≥", placeholder="any", min_width=90)
                    reward_max = gr.Textbox(label="reward ≤", placeholder="any", min_width=90)
                    searches_min = gr.Textbox(label="searches ≥", placeholder="any", min_width=90)
                    searches_max = gr.Textbox(label="searches ≤", placeholder="any", min_width=90)
                    apply = gr.Button("Filter", variant="primary", scale=0, min_width=90)
                status = gr.Markdown(elem_id="rz-status")
                table = gr.Dataframe(
                    _table([]),
                    datatype=_DATATYPES,  # type: ignore[arg-type]
                    interactive=False,
                    wrap=True,
                    max_height=720,
                    column_widths=["4%", "8%", "5%", "5%", "24%", "11%", "11%", "5%", "6%", "6%", "8%", "7%"],
                    elem_id="rz-table",
                )
                with gr.Row():
                    previous = gr.Button("◀ previous", scale=0, min_width=110)
                    page = gr.Number(value=1, precision=0, label="page", minimum=1, scale=0, min_width=90)
                    following = gr.Button("next ▶", scale=0, min_width=110)
                    reload = gr.Button("Reload logs", scale=0, min_width=120)
                    notice = gr.HTML()
            with gr.Tab("Episode", id="episode"):
                with gr.Row():
                    episode_id = gr.Number(
                        label="episode #", precision=0, minimum=0, scale=0, min_width=120, elem_id="rz-episode-number"
                    )
                    open_button = gr.Button("Open", scale=0, min_width=90)
                    compare_button = gr.Button("Compare this question ▶", scale=0, min_width=260)
                    task_id = gr.Textbox(label="task id", interactive=False, scale=1)
                episode_html = gr.HTML(
                    render_notice("Click a row of the episode list, or type an episode number."),
                    elem_id="rz-episode",
                )
            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    compare_task = gr.Textbox(label="task id", placeholder="open an episode, or type a task id")
                    left = gr.Dropdown([], label="left", scale=2)
                    right = gr.Dropdown([], label="right", scale=2)
                compare_html = gr.HTML(render_notice("Open an episode and press “Compare this question”."))
            with gr.Tab("Summary plots", id="plots"):
                gr.Markdown(
                    "For the episodes the list's filters select; one series per run and phase, and one per "
                    "evaluation stage (base, warm-up, step N, best: never averaged together). In guided training the "
                    "guide's episodes and the samples after a guide prefix are series of their own, so `· train` "
                    "holds the policy's unaided samples."
                )
                summary_plot = gr.Plot(  # no label: Gradio's would cover the first panel's title
                    label="reward, accuracy and reward terms by step", show_label=False, elem_id="rz-summary-plot"
                )
                with gr.Accordion("plot data", open=False):
                    steps_table = gr.Dataframe(interactive=False, elem_id="rz-plot-data")
                searches_plot = gr.BarPlot(
                    x="searches",
                    y="share of episodes",
                    color="series",
                    title="Searches per episode (each series' share of its episodes)",
                    height=320,
                )
            with gr.Tab("Live", id="live"):
                gr.Markdown(
                    f"Play one episode on `{app.live.dataset}` ({app.live.split} split, top-{app.live.top_k} "
                    "results): type a question, or leave it empty and pick a task."
                )
                with gr.Row():
                    question = gr.Textbox(label="question", placeholder="e.g. Who founded the …?", scale=3)
                    gold = gr.Textbox(label="gold answer (optional; | between alternatives)", scale=2)
                with gr.Row():
                    tasks = _live_tasks(app.live)
                    task = gr.Dropdown(tasks, value=tasks[0][1] if tasks else None, label="task", scale=3)
                    policy_kind = gr.Radio([SCRIPTED, CHECKPOINT], value=SCRIPTED, label="policy", scale=2)
                    checkpoint = gr.Dropdown(
                        app.models.entries,
                        value=None,
                        allow_custom_value=True,
                        label="checkpoint (a run dir or model the app was started with, or its checkpoints/step-N)",
                        scale=3,
                    )
                with gr.Row():
                    max_turns = gr.Slider(1, 10, value=app.live.max_turns, step=1, label="max turns")
                    delay = gr.Slider(0, 3, value=0.6, step=0.1, label="pause between turns (s)")
                    play = gr.Button("Play", variant="primary", scale=0, min_width=100)
                live_html = gr.HTML(elem_id="rz-live")

        filters = [
            runs,
            phases,
            outcome,
            step_min,
            step_max,
            reward_min,
            reward_max,
            searches_min,
            searches_max,
            text,
            sort,
            origins,
        ]
        page_outputs = [table, status, page]
        plot_outputs = [summary_plot, steps_table, searches_plot]

        def first_page(*values: Any) -> tuple[pd.DataFrame, str, int]:
            return app.list_page(*values, 1)

        def plot_tables(*values: Any) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
            steps, terms, searches = app.plots(*values)
            return summary_figure(steps, terms), steps, searches

        def step_page(delta: int) -> Any:
            def handler(*values: Any) -> tuple[pd.DataFrame, str, int]:
                *rest, number = values
                return app.list_page(*rest, int(number or 1) + delta)

            return handler

        apply.click(first_page, filters, page_outputs, api_name="filter_episodes").then(
            plot_tables, filters, plot_outputs, api_visibility="private"
        )
        submits = [box.submit for box in (text, step_min, step_max, reward_min, reward_max, searches_min, searches_max)]
        for trigger in (*submits, outcome.change, runs.change, phases.change, origins.change, sort.change):
            trigger(first_page, filters, page_outputs, api_visibility="private").then(
                plot_tables, filters, plot_outputs, api_visibility="private"
            )
        previous.click(step_page(-1), [*filters, page], page_outputs, api_name="previous_page")
        following.click(step_page(+1), [*filters, page], page_outputs, api_name="next_page")
        page.submit(step_page(0), [*filters, page], page_outputs, api_name="go_to_page")
        reload.click(app.reload, None, [notice, warning, runs, phases, header], api_name="reload_logs").then(
            step_page(0), [*filters, page], page_outputs, api_visibility="private"
        ).then(plot_tables, filters, plot_outputs, api_visibility="private")
        table.select(app.open_selected, None, [episode_html, episode_id, task_id, tabs], api_visibility="private")
        open_button.click(app.episode, episode_id, [episode_html, task_id], api_name="open_episode")
        episode_id.submit(app.episode, episode_id, [episode_html, task_id], api_visibility="private")
        compare_button.click(
            lambda task_id: (task_id, gr.update(selected="compare")),
            task_id,
            [compare_task, tabs],
            api_visibility="private",
        ).then(app.compare_choices, [compare_task, episode_id], [left, right, compare_html], api_visibility="private")
        compare_task.submit(app.compare_choices, compare_task, [left, right, compare_html], api_name="compare_task")
        left.input(app.compare, [left, right], compare_html, api_name="compare")
        right.input(app.compare, [left, right], compare_html, api_visibility="private")
        play.click(
            app.run_live,
            [question, gold, task, policy_kind, checkpoint, max_turns, delay],
            live_html,
            api_name="play_live",
        )
        demo.load(first_page, filters, page_outputs, api_visibility="private").then(
            plot_tables, filters, plot_outputs, api_visibility="private"
        )
    return demo


def _live_tasks(settings: LiveSettings) -> list[tuple[str, int]]:
    try:
        return task_choices(settings)
    except (ValueError, OSError, KeyError) as error:
        logger.warning("Live mode has no task list: %s", error)
        return []


def launch(demo: gr.Blocks, host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT, **options: Any) -> Any:
    """Start the server (on 127.0.0.1 by default) with the app's styles; ``options`` go to ``Blocks.launch``."""
    return demo.launch(server_name=host, server_port=port, css=CSS, js=JS, show_error=True, **options)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rezero-playback",
        description="Browse, filter, compare and replay episode logs (episodes.jsonl) in a Gradio app.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="episode log files or run directories")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 7860)")
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE, help="episodes per list page")
    parser.add_argument("--dataset", default="synthetic", help="dataset of live mode (default synthetic)")
    parser.add_argument("--split", default="test", help="split of live mode's task list (default test)")
    parser.add_argument("--max-turns", type=int, default=4, help="live mode's default turn limit")
    parser.add_argument(
        "--allow-model",
        action="append",
        default=[],
        metavar="PATH",
        help="a model folder, checkpoint, run directory, short name or hub id live mode may load (repeatable; "
        "the run directories given and the default model are always allowed)",
    )
    parser.add_argument("--analytics", action="store_true", help="send Gradio's usage analytics (off by default)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be in 1..65535, got {args.port}")
    if args.page_size < 1:
        parser.error(f"--page-size must be >= 1, got {args.page_size}")
    if not 1 <= args.max_turns <= 10:
        parser.error(f"--max-turns must be in 1..10, got {args.max_turns}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """The ``rezero-playback`` command (see the module docstring)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's start-up requests
    start = time.perf_counter()
    try:
        index = EpisodeIndex.load(args.paths)
    except (FileNotFoundError, EpisodeLogError) as error:
        logger.error("rezero-playback: %s", error)
        return 2
    logger.info(
        "Indexed %d episodes from %d log(s) in %.1f s", len(index), len(index.sources), time.perf_counter() - start
    )
    for line in index.warnings():
        logger.warning("%s", line)
    settings = LiveSettings(dataset=args.dataset, split=args.split, max_turns=args.max_turns)
    allowed = [*args.allow_model, *(str(path) for path in args.paths if path.is_dir())]
    demo = build_app(index, settings, args.page_size, allowed_models=allowed, analytics=args.analytics)
    launch(demo, args.host, args.port)
    return 0


__all__ = ["PAGE_SIZE", "PlaybackApp", "build_app", "launch", "main"]
