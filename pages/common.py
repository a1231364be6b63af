"""What several pages show the same way: run labels, loss figures, stop/resume buttons.

A helper module, not a page: app.py lists the pages, so st.navigation never runs this file.
"""

from __future__ import annotations

import sqlite3
import time

import streamlit as st

from engine.errors import UserError
from engine.store.curves import EVAL_TITLES, Curves, eval_groups, eval_label, loss_title
from engine.store.runs import Run, RunStore, default_home
from engine.style.sweep import TASK as SWEEP_TASK
from engine.tasks import get_task, task_names
from engine.training.estimate import duration_words
from engine.training.launch import LaunchedRun, last_error, resume_training
from pages.plots import loss_figure  # also imported from here by the pages

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
    except (OSError, sqlite3.Error, UserError) as err:  # the store names its faults as UserErrors
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
    return f"{pace} · {time_left_text((run.max_steps - run.step) * seconds)}"


def time_left_text(seconds: float) -> str:
    """'about 12 min left', 'about 1 h 05 min left', 'under a minute left'."""
    words = duration_words(seconds)
    return f"{words} left" if words == "under a minute" else f"about {words} left"


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
    """Training processes started from this browser session (Train page, resume buttons). A
    new run's launch is matched to its run here once the run is in the store; when a launch
    this session has already seen starting settles (its run appeared, or it ended without
    one), the page is redrawn once, so notes like 'still loading' or 'starting' go."""
    found = st.session_state.setdefault("launches", [])
    settled = st.session_state.setdefault("launches.settled", set())  # pids ended without a run
    pending = [launch for launch in found if launch.run_id is None and launch.pid not in settled]
    if pending:
        runs = get_store().list()
        if any([settle(launch, runs, found) for launch in pending]):  # a list: settle every one
            st.rerun()
    return found


def settle(launch: LaunchedRun, runs: list[Run], found: list[LaunchedRun]) -> bool:
    """Give a starting launch its run, or mark it ended without one (leaving a notice that says
    why); True when a launch seen starting on an earlier look has settled."""
    starting = st.session_state.setdefault("launches.starting", set())  # pids seen starting
    ended = launch.exited()  # before looking: a run written just before it ended is found
    run = run_of_launch(launch, runs, taken={x.run_id for x in found})
    if run is None and not ended:
        starting.add(launch.pid)
        return False
    if run is not None:
        launch.run_id = run.id
    else:
        st.session_state["launches.settled"].add(launch.pid)
        if launch.pid in starting:
            why = f"Process {launch.pid} ended before its run began: {last_error(launch.log_path)}"
            st.session_state["notice"] = ("error", why)
    return launch.pid in starting


def run_of_launch(launch: LaunchedRun, runs: list[Run], taken: set) -> Run | None:
    """The first run of the launched task created since the launch that no other launch has."""
    command = list(getattr(launch, "command", []))  # stand-ins for a launch may leave these out
    args = command[command.index("train") + 1 :] if "train" in command else []
    task = args[0] if args and not args[0].startswith("-") else None
    since = getattr(launch, "started", float("inf"))
    mine = [r for r in runs if r.created >= since and r.id not in taken and task in (None, r.task)]
    return min(mine, key=lambda r: r.created) if mine else None


def is_live(run: Run) -> bool:
    """Running, or a process of ours is about to resume it: worth polling."""
    return run.status == "running" or pending_resume(run) is not None


def pending_resume(run: Run) -> LaunchedRun | None:
    """A process of ours started to resume this run that has not taken it over yet (once it has,
    the run is running or was updated since: a finished run's ending process is not one)."""
    if run.status == "running":
        return None
    ours = [x for x in launches() if x.run_id == run.id and x.started > run.updated]
    return next((x for x in ours if not x.exited()), None)


def runs_state(runs: list[Run]) -> tuple:
    """What select boxes and controls show of the runs: which there are and their status."""
    return tuple((run.id, run.status) for run in runs)


def redraw_on_change(seen: tuple, every: str = "5s") -> None:
    """A fragment that shows nothing and redraws the whole page once the store's runs differ
    from `seen` (`runs_state`): a run started or resumed from the CLI or another tab, or one
    that ended, so labels, timers and controls follow the store also on a page not polling."""
    st.fragment(run_every=every)(_redraw_if_changed)(seen)


def _redraw_if_changed(seen: tuple) -> None:
    if runs_state(get_store().list()) != seen:
        st.rerun()


def curves_for(store: RunStore, run_id: str) -> Curves:
    """The run's loss series kept in the session; only the rows written since the last poll are read."""
    curves = st.session_state.setdefault("curves", {}).setdefault(run_id, Curves())
    curves.poll(store, run_id)
    return curves


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
    """What can be done to the run as the store has it now: stop a running run (then wait for
    it), wait for a resume of ours to take over, or resume a run that has a checkpoint."""
    if run.status == "running":
        stopping = store.stop_requested(run.id)
        label = "Stopping…" if stopping else "Stop"
        if st.button(
            label, key=f"{key}.stop", disabled=stopping, help="checkpoint and stop at the next poll"
        ):
            store.request_stop(run.id)
            st.rerun()  # redrawn as stopping
        return
    resuming = pending_resume(run)
    if resuming is not None:
        st.caption(f"resuming in process {resuming.pid}…")
        return
    failed = failed_resume(run)
    if failed:
        st.caption(failed)
    if not store.checkpoints(run.id):
        st.caption("no checkpoint to resume from")
        return
    resume_popover(store, run, key)


def failed_resume(run: Run) -> str:
    """Why our last resume of this run ended before taking it over ('' if it did not)."""
    ours = [x for x in launches() if x.run_id == run.id and x.exited() and x.started > run.updated]
    if not ours or ours[-1].process.returncode == 0:
        return ""
    return f"the resume in process {ours[-1].pid} ended before it began: {last_error(ours[-1].log_path)}"


def resume_popover(store: RunStore, run: Run, key: str) -> None:
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
    st.rerun()  # the page switches to the live view; Stop appears once the process has the run


def show_notice() -> None:
    """A message left by the action before a rerun (resume, export, a launch that ended
    without a run: launches are looked at first), shown once."""
    launches()
    notice = st.session_state.pop("notice", None)
    if isinstance(notice, tuple):  # ("error", text)
        st.error(notice[1])
    elif notice:
        st.success(notice)
