"""What several pages show the same way: run labels, loss figures, stop/resume buttons.

A helper module, not a page: app.py lists the pages, so st.navigation never runs this file.
"""

from __future__ import annotations

import sqlite3
import time

import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative

from engine.errors import UserError
from engine.store.curves import EVAL_TITLES, Curves, Series, ema, eval_groups, eval_label, loss_title, thin
from engine.store.runs import Run, RunStore, default_home
from engine.style.sweep import TASK as SWEEP_TASK
from engine.tasks import get_task, task_names
from engine.training.launch import LaunchedRun, resume_training

# Material icons render without an emoji font; labels of select boxes take plain text
STATUS_ICONS = {
    "running": ":material/play_circle:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "stopped": ":material/stop_circle:",
}


def get_store() -> RunStore:
    """The run store at $STUDIO_HOME, opened per script run (cheap; follows the env)."""
    try:
        return RunStore()
    except (OSError, sqlite3.Error) as err:
        st.error(
            f"Cannot open the run store at {default_home()}: {err}. Set STUDIO_HOME to a writable folder."
        )
        st.stop()


def run_loss_titles(run: Run) -> dict[str, str]:
    """The loss titles the run's task declared (stored with the run; older runs: the task's)."""
    titles = run.config.get("loss_titles")
    if titles is None and run.task in task_names():
        titles = get_task(run.task).loss_titles
    return titles or {}


def status_text(run: Run) -> str:
    return run.status


def progress_text(run: Run) -> str:
    return f"step {run.step}/{run.max_steps or '?'}"


def run_label(run: Run) -> str:
    """One line that tells runs apart in a select box: what does not change while it trains
    (a select box outside the live fragment would show a stale step)."""
    name = run.name if run.name and run.name != run.id else run.id
    return f"{name} · {run.task} · {run.status} · started {when(run.created)}"


def pace_text(store: RunStore, run: Run) -> str:
    """'0.85 s/step · about 12 min left' from the recent steps' wall time ('' before two steps)."""
    seconds = store.seconds_per_step(run.id)
    if seconds is None:
        return ""
    pace = f"{seconds:.2f} s/step" if seconds < 10 else f"{seconds:.0f} s/step"
    if run.status != "running" or not run.max_steps or run.step >= run.max_steps:
        return pace
    return f"{pace} · about {duration_text((run.max_steps - run.step) * seconds)} left"


def duration_text(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def run_page(run: Run) -> str:
    """Where a run opens: style sweeps in the Style lab, training runs on Runs."""
    return f"style_lab?sweep={run.id}" if run.task == SWEEP_TASK else f"runs?run={run.id}"


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def runs_table(runs: list[Run]) -> list[dict]:
    """Rows for st.dataframe; 'open' links to the Runs page for that run."""
    return [
        {
            "run": run.name or run.id,
            "task": run.task,
            "status": status_text(run),
            "progress": progress_text(run),
            "mode": run.config.get("task_config", {}).get("mode", ""),
            "updated": when(run.updated),
            "open": run_page(run),
        }
        for run in runs
    ]


def launches() -> list[LaunchedRun]:
    """Training processes started from this browser session (Train page, resume buttons)."""
    return st.session_state.setdefault("launches", [])


def is_live(run: Run) -> bool:
    """Running, or a process of ours is about to resume it: worth polling."""
    return run.status == "running" or any(
        launch.run_id == run.id and not launch.exited() for launch in launches()
    )


def curves_for(store: RunStore, run_id: str) -> Curves:
    """The run's loss series kept in the session; only rows after the last step are read."""
    curves = st.session_state.setdefault("curves", {}).setdefault(run_id, Curves())
    curves.poll(store, run_id)
    return curves


def loss_figure(
    title: str,
    lines: list[tuple[str, Series]],
    smoothing: float = 0.0,
    log_y: bool = False,
    markers: bool = False,
    colour_slots: list[int] | None = None,
) -> go.Figure:
    """One loss plot: each line smoothed (TensorBoard EMA) over its faint raw values. `markers`:
    sparse series (held-out metrics), drawn as points joined by lines and never smoothed.
    `colour_slots`: each line's palette index (default: its position)."""
    fig = go.Figure()
    palette = qualitative.Plotly
    for i, (label, series) in enumerate(lines):
        colour = palette[(colour_slots[i] if colour_slots else i) % len(palette)]
        steps, raw = thin(series.steps, series.values)
        if markers or len(steps) == 1:  # a single point drawn as a line would be invisible
            fig.add_scatter(x=steps, y=raw, mode="lines+markers", line={"color": colour}, name=label)
        elif smoothing > 0:
            fig.add_scatter(
                x=steps, y=raw, mode="lines", line={"color": colour, "width": 1}, opacity=0.25,
                name=f"{label} (raw)", showlegend=False, hoverinfo="skip",
            )  # fmt: skip
            _, smooth = thin(series.steps, ema(series.values, smoothing))
            fig.add_scatter(x=steps, y=smooth, mode="lines", line={"color": colour}, name=label)
        else:
            fig.add_scatter(x=steps, y=raw, mode="lines", line={"color": colour}, name=label)
    fig.update_layout(
        title=title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="step",
        yaxis_type="log" if log_y else "linear",
        legend={"orientation": "h", "y": -0.25},
        showlegend=len(lines) > 1,
    )
    return fig


def overlaid_losses(
    store: RunStore, runs: list[Run], smoothing: float = 0.0, log_y: bool = False, key: str = "compare"
) -> None:
    """One plot per loss name, one line per run that logged it; a run keeps its colour (and its
    legend entry) in every plot, also where it is the only one."""
    names: list[str] = []
    for run in runs:
        names += [n for n in run.config.get("loss_names", []) if n not in names]
    curves = {run.id: curves_for(store, run.id) for run in runs}
    columns = st.columns(2)
    for i, name in enumerate(names):
        logged = [j for j, run in enumerate(runs) if name in curves[run.id].series]
        lines = [(runs[j].name or runs[j].id, curves[runs[j].id].series[name]) for j in logged]
        if lines:
            titles = {k: v for run in runs for k, v in run_loss_titles(run).items()}
            fig = loss_figure(loss_title(name, titles), lines, smoothing, log_y, colour_slots=logged)
            fig.update_layout(showlegend=len(runs) > 1)
            columns[i % 2].plotly_chart(fig, width="stretch", key=f"{key}.loss.{name}")


def eval_charts(curves: dict[str, Curves], key: str) -> bool:
    """One plot per held-out metric (L1, FID, KID): a line per run and input set. False when
    no run has any (it was trained without --eval-every)."""
    names = {name for c in curves.values() for name in c.series}
    groups = eval_groups(sorted(names))
    if not groups:
        return False
    columns = st.columns(min(3, len(groups)))
    for i, (metric, metric_names) in enumerate(groups):
        lines = [
            (eval_label(name) if len(curves) == 1 else f"{label} · {eval_label(name)}", c.series[name])
            for label, c in curves.items()
            for name in metric_names
            if name in c.series
        ]
        fig = loss_figure(EVAL_TITLES.get(metric, metric), lines, markers=True)
        columns[i % len(columns)].plotly_chart(fig, width="stretch", key=f"{key}.eval.{metric}")
    return True


def run_controls(store: RunStore, run: Run, key: str) -> None:
    """Stop for a running run; resume (to a chosen step) for one that has a checkpoint."""
    if run.status == "running":
        if st.button("Stop", key=f"{key}.stop", help="checkpoint and stop at the next poll"):
            store.request_stop(run.id)
            st.toast(f"asked {run.id} to stop")
        return
    if not store.checkpoints(run.id):
        st.caption("no checkpoint to resume from")
        return
    default = max(run.max_steps or 0, run.step) + (1000 if run.status == "finished" else 0)
    with st.popover(f"Resume from step {run.step}…"):  # a new step: a new, closed popover
        until = st.number_input(
            "train until step", min_value=run.step + 1, value=max(default, run.step + 1), step=100,
            key=f"{key}.until",
        )  # fmt: skip
        if not st.button("Resume", key=f"{key}.resume"):
            return
    try:
        launch = resume_training(run.id, store.home, int(until))
    except (UserError, OSError) as err:
        st.error(f"could not resume {run.id}: {err}")
        return
    launches().append(launch)
    st.session_state["notice"] = f"Resuming {run.id} in process {launch.pid}; log: {launch.log_path}"
    st.rerun()  # the page switches to the live view with a Stop button


def show_notice() -> None:
    """A message left by the action before a rerun (resume, export), shown once."""
    notice = st.session_state.pop("notice", None)
    if notice:
        st.success(notice)
