"""Problems: each course problem as a card (what it asks, the preset runs that answer it,
launched in the background or opened when finished, and the plots and pictures that answer it).

Every card is drawn from `pages.course.PROBLEMS`; this page only knows how to show
each kind of view (in pages/problem_views.py). What "the runs show" is computed from their
stored figures (engine.store.findings), beside what the paper expects.
"""

from __future__ import annotations

import streamlit as st

from engine.data.sources import find_local_dataset, get_command, remember_dataset, remembered_dataset
from engine.errors import UserError
from engine.loss_study import build_tables, reading
from engine.store.findings import budget_warning, metric_findings, run_budget, trend_findings
from engine.store.runs import Run, RunStore
from engine.training.launch import NAMED_DATASETS, dataset_problem, launch_command, start_training
from pages.common import (
    get_store,
    launches,
    overlaid_losses,
    progress_text,
    run_page,
    show_notice,
    status_text,
)
from pages.course import PROBLEMS, PresetRun, Problem, answers, launch_arguments, planned, run_name
from pages.problem_views import (
    VIEW_TITLES,
    evals_view,
    interpolations_view,
    loss_study_view,
    prior_curve_view,
    receptive_field_view,
    samples_view,
)

RUN_VIEWS = ("losses", "evals", "samples", "interpolations")  # drawn from the card's runs


def newest_runs(store: RunStore, item: Problem) -> dict[str, Run | None]:
    """Label -> the newest run launched for it (by its run-store name), else the newest finished
    or stopped run that trained the same preset on the same dataset under another name (one of
    the card's own budget first), else None."""
    runs = sorted(store.list(), key=lambda r: r.created, reverse=True)
    found = {}
    for preset in item.runs:
        named = [r for r in runs if r.name == run_name(item, preset)]
        ended = [r for r in runs if r.status in ("finished", "stopped")]
        gathered = [r for r in ended if answers(preset, r.task, r.config)]
        budget = planned(item, preset)
        same = [r for r in gathered if run_budget(r) == budget]
        found[preset.label] = (named or same or gathered or [None])[0]
    return found


def dataset_folder(item: Problem, name: str) -> str:
    """The folder (or named dataset) the card's runs train on: the one last chosen for it, else
    one found where datasets live; editable, and remembered (beside the run store) once valid."""
    if name in NAMED_DATASETS:
        return name
    key = f"problems.{item.key}.{name}"
    if key not in st.session_state:
        st.session_state[key] = remembered_dataset(name) or str(find_local_dataset(name) or "")
    folder = st.text_input(f"{name} folder", key=key, placeholder=f"the folder holding {name}")
    problem = dataset_problem(folder) if folder.strip() else None
    if not folder.strip() or problem:
        st.caption(f"{name}: {problem or 'not found here'}. Get it:")
        st.code(get_command(name), language="bash")
    else:
        remember_dataset(name, folder.strip())
    return folder.strip()


def pending(item: Problem, preset: PresetRun) -> bool:
    """A launch of this run from this session whose process has not ended yet."""
    launched = st.session_state.get("problems.launched", {}).get(run_name(item, preset))
    return launched is not None and not launched.exited()


def launch(item: Problem, preset: PresetRun, data: str, store: RunStore) -> None:
    try:
        settings, config = launch_arguments(item, preset, data)
        launched = start_training(preset.task, settings, config, store.home)
    except (UserError, ValueError, OSError) as err:
        st.error(f"Could not launch {preset.label}: {err}")
        return
    launches().append(launched)
    st.session_state.setdefault("problems.launched", {})[run_name(item, preset)] = launched
    st.session_state["notice"] = (
        f"Launched {preset.label} (process {launched.pid}); it appears here once its data is loaded."
    )
    st.rerun()


def runs_section(store: RunStore, item: Problem, runs: dict[str, Run | None]) -> dict[str, str]:
    """A row per run (its budget, state and Launch button); returns dataset name -> folder."""
    folders = {name: dataset_folder(item, name) for name in dict.fromkeys(p.dataset for p in item.runs)}
    for preset in item.runs:
        run, waiting = runs[preset.label], pending(item, preset)
        cols = st.columns([3, 4, 2])
        budget = run_budget(run).text() if run else f"planned: {planned(item, preset).text()}"
        cols[0].markdown(f"**{preset.label}** · `{preset.task}` · {budget}")
        if waiting and (run is None or run.status != "running"):
            cols[1].caption("launched: starting up (loading its data)…")
        elif run is None:
            cols[1].caption("not run yet")
        else:
            cols[1].markdown(f"{status_text(run)} · {progress_text(run)} · [open]({run_page(run)})")
        data = folders[preset.dataset]
        problem = dataset_problem(data) if data and data not in NAMED_DATASETS else None
        busy = waiting or (run is not None and run.status == "running")
        label = "Launch" if run is None else "Launch again"
        if cols[2].button(
            label, key=f"problems.{item.key}.{preset.label}", disabled=busy or not data or bool(problem)
        ):
            launch(item, preset, data, store)
    warning = same_task_budgets({label: run for label, run in runs.items() if run is not None})
    if warning:
        st.warning(warning, icon=":material/warning:")
    return folders


def answer_section(store: RunStore, item: Problem, runs: dict[str, Run]) -> None:
    """For a card with runs: what the paper expects, then what these runs show (computed)."""
    if not item.runs:
        st.markdown(item.answer)
        return
    st.markdown(f"**What the paper expects.** {item.answer}")
    if "loss_study" in item.views:  # its figures are FCN-scores, read per direction
        shown = [line for table in build_tables(store) for line in [f"*{table.way}*", *reading(table)]]
    else:
        shown = metric_findings(store, runs) + trend_findings(store, runs, item.trends)
    warning = same_task_budgets(runs)
    if not shown:
        st.markdown("**What these runs show.** Nothing to compare yet: launch the runs above.")
        return
    st.markdown("**What these runs show** (from the figures above):")
    st.markdown("\n".join(f"- {line}" for line in shown))
    if warning:
        st.markdown(f"**Beware:** {warning}")


def same_task_budgets(runs: dict[str, Run]) -> str | None:
    """budget_warning over the runs of each task (a card's FCN is no rival of its generators)."""
    tasks = dict.fromkeys(run.task for run in runs.values())
    groups = [{label: run for label, run in runs.items() if run.task == task} for task in tasks]
    return " ".join(filter(None, (budget_warning(group) for group in groups if len(group) > 1))) or None


def commands(item: Problem, folders: dict[str, str]) -> list[str]:
    """The card's runs as `python -m engine train` lines with the chosen folders, then its others."""
    lines = []
    for preset in item.runs:
        settings, config = launch_arguments(item, preset, folders.get(preset.dataset) or "")
        lines.append(launch_command(preset.task, settings, config))
    return lines + list(item.commands)


def card(store: RunStore, item: Problem) -> None:
    st.subheader(item.title)
    st.markdown(f"**The problem.** {item.asks}")
    runs = newest_runs(store, item) if item.runs else {}
    folders = {}
    if item.runs:
        st.markdown("**Runs that answer it**")
        folders = runs_section(store, item, runs)
    named = {label: run for label, run in runs.items() if run is not None}
    found = list(named.values())
    for view in item.views:
        if view in RUN_VIEWS and not found:
            continue
        st.markdown(f"**{VIEW_TITLES[view]}**")
        if view == "losses":
            overlaid_losses(store, found, smoothing=0.6, key="problems")
        elif view == "evals":
            evals_view(store, found)
        elif view == "samples":
            samples_view(store, found)
        elif view == "interpolations":
            interpolations_view(store, found)
        elif view == "receptive_field":
            receptive_field_view()
        elif view == "prior_curve":
            prior_curve_view()
        elif view == "loss_study":
            loss_study_view(store, folders.get("facades", ""))
    if item.runs and not found:
        st.info("Launch the runs above: their losses, held-out metrics and samples appear here.")
    for link in item.links:
        st.page_link(link.page, label=link.label, icon=":material/arrow_forward:")
    lines = commands(item, folders)
    if lines:
        st.code("\n".join(lines), language="bash")
    with st.expander("What the answer shows"):
        answer_section(store, item, named)


def main() -> None:
    st.title("Problems")
    st.caption("The course's problems, each with the runs and plots that answer it.")
    show_notice()
    store = get_store()
    keys = [item.key for item in PROBLEMS]
    wanted = st.query_params.get("problem")
    index = keys.index(wanted) if wanted in keys else 0
    titles = {item.key: item.title for item in PROBLEMS}
    key = st.selectbox("problem", keys, index=index, format_func=titles.get, key="problems.choice")
    st.query_params["problem"] = key
    card(store, next(item for item in PROBLEMS if item.key == key))


main()
