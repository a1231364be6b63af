"""Train: task + dataset + preset -> options -> a training process in the background.

Training never runs in Streamlit's process: `engine.training.launch` starts `python -m engine train`
and the run store tells this page (and the Runs page) how it goes. Widgets are generated from
the task's Config and TrainSettings fields, so a new task needs no change here.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable

import streamlit as st

from engine.data.sources import (
    folder_problem,
    get_command,
    remember_dataset,
    remembered_dataset,
    suggested_datasets,
)
from engine.errors import UserError
from engine.flags import settable_fields
from engine.store.runs import Run
from engine.tasks import get_task, task_names
from engine.training.estimate import estimate, measure_and_remember
from engine.training.launch import (
    dataset_problem,
    last_error,
    settled_changes,
    start_training,
    wait_for_new_run,
)
from engine.training.loop import TrainSettings
from engine.training.presets import default_size, preset_names, size_names, sized_config, sized_settings
from pages.common import get_store, is_live, launches, progress_text, run_controls, run_label

MAIN_SETTINGS = ("batch_size", "sample_every", "checkpoint_every", "precision")
MAIN_CONFIG = (
    "mode",
    "lambda_l1",
    "lr",
    "ngf",
    "direction",
    "crop_size",
    "load_size",
    "gan_mode",
    "latent_dim",
    "image_size",
    "beta",
    "conditional",
    "teacher",
    "start",
)
SHOWN_APART = ("data", "name", "max_steps", "epochs")  # have their own widgets
WAIT_FOR_RUN_S = 15.0
MAX_LISTED = 15


def config_key(task: str, name: str) -> str:
    return f"cfg.{task}.{name}"


def seed_state(task: str, force: bool = False) -> None:
    """Put the preset's config and the size's settings into the widgets' session state (force:
    on a new preset or size, which then sets the config and the step budget again)."""
    preset, size = st.session_state[f"train.preset.{task}"], st.session_state[f"train.size.{task}"]
    for name, value in sized_config(task, preset, size).items():
        if force or config_key(task, name) not in st.session_state:
            st.session_state[config_key(task, name)] = value
    budget = {name for other in size_names() for name in sized_settings(other)} if force else set()
    for name, value in sized_settings(size).items():
        if name in budget or f"set.{name}" not in st.session_state:
            st.session_state[f"set.{name}"] = value


def field_input(field: dataclasses.Field, kind: type, key: str) -> None:
    """The widget for one config field; its value lives in st.session_state[key]."""
    label, help_text = field.name.replace("_", " "), field.metadata.get("help")
    choices = field.metadata.get("choices")
    if kind is bool:
        st.checkbox(label, key=key, help=help_text)
    elif choices:
        st.selectbox(label, list(choices), key=key, help=help_text)
    elif kind is int:
        st.number_input(label, min_value=0, step=1, key=key, help=help_text)
    elif kind is float:
        default = field.default if isinstance(field.default, float) and field.default else 1.0
        step = 10 ** (math.floor(math.log10(abs(default))) - 1)
        st.number_input(label, min_value=0.0, step=float(step), format="%g", key=key, help=help_text)
    else:
        st.text_input(label, key=key, help=help_text)


def field_grid(cls: type, names: list[str], key_of: Callable[[str], str], columns: int = 4) -> None:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    cells = st.columns(columns)
    for i, name in enumerate(names):
        with cells[i % columns]:
            field_input(fields[name], hints[name], key_of(name))


def collect(cls: type, key_of: Callable[[str], str]) -> dict:
    """The values of every settable field whose widget (or seeded state) is there."""
    return {
        f.name: st.session_state[key_of(f.name)]
        for f in settable_fields(cls)
        if key_of(f.name) in st.session_state
    }


def options_form(task: str) -> None:
    config_type = get_task(task).Config
    config_names = [f.name for f in settable_fields(config_type)]  # not fixed ones, not lists from the data
    setting_names = [f.name for f in dataclasses.fields(TrainSettings) if f.name not in SHOWN_APART]
    st.subheader("Options")
    length = st.radio("train for", ("steps", "epochs"), horizontal=True, key="train.length")
    field_grid(TrainSettings, ["max_steps" if length == "steps" else "epochs"], lambda n: f"set.{n}", 1)
    main_config = [n for n in MAIN_CONFIG if n in config_names]
    field_grid(config_type, main_config, lambda n: config_key(task, n))
    field_grid(TrainSettings, list(MAIN_SETTINGS), lambda n: f"set.{n}")
    with st.expander("All options"):
        field_grid(
            config_type, [n for n in config_names if n not in main_config], lambda n: config_key(task, n)
        )
        field_grid(TrainSettings, [n for n in setting_names if n not in MAIN_SETTINGS], lambda n: f"set.{n}")


def chosen(task: str) -> tuple[dict, dict]:
    """(TrainSettings values, task-config values) as the widgets hold them."""
    settings = collect(TrainSettings, lambda n: f"set.{n}")
    settings.update(data=st.session_state["train.data"].strip(), name=st.session_state["train.name"].strip())
    if st.session_state.get("train.length", "steps") == "steps":
        settings.pop("epochs", None)
    else:
        settings["max_steps"] = 0  # 0: the trainer counts steps from the epochs
    return settings, collect(get_task(task).Config, lambda n: config_key(task, n))


def settled_note(task: str, data: str) -> None:
    """Say which options the task will set itself, so the form does not promise another run."""
    changes = settled_changes(task, chosen(task)[1], data)
    if changes:
        said = ", ".join(f"{n.replace('_', ' ')} {new} (not {old})" for n, (old, new) in changes.items())
        st.info(f"This run trains with {said}: {task} sets them from what it starts from.")


def dataset_input(task: str, home: str) -> str:
    """The dataset box: proposes the folder last used for this task, else one found here, and
    remembers a folder that holds a dataset (beside the run store) for the next visit."""
    found = suggested_datasets(get_task(task).kind)
    if st.session_state.get("train.data_task") != task:  # a new visit or another task
        st.session_state["train.data_task"] = task
        proposal = remembered_dataset(f"train:{task}", home) or next(iter(found.values()), "")
        st.session_state["train.data"] = proposal
    if found:
        st.selectbox(
            "datasets found here", list(found), index=None, key="train.found",
            format_func=lambda n: f"{n} ({found[n]})", placeholder="pick one to fill the folder box",
            on_change=lambda: st.session_state.update({"train.data": found[st.session_state["train.found"]]}),
        )  # fmt: skip
    data = st.text_input(
        "dataset folder", key="train.data", placeholder="/data/edges2shoes (with train/ and val/)"
    )
    if not found:
        st.caption("No dataset found where datasets live (see the README). Get one:")
        st.code(get_command("edges2shoes"), language="bash")
    problem = (folder_problem(data) or dataset_problem(data)) if data.strip() else None
    if problem:
        st.error(problem)
    elif data.strip():
        remember_dataset(f"train:{task}", data.strip(), home)
    return data if data.strip() and not problem else ""


def estimate_panel(task: str, ready: bool) -> None:
    """The run's estimated time from a measured pace (earlier runs, else a timing of two steps)."""
    store = get_store()
    settings, task_config = chosen(task)
    try:
        found = estimate(store, task, task_config, settings)
    except (UserError, ValueError, TypeError) as err:
        st.caption(f"No estimate: {err}")
        return
    cells = st.columns([4, 1])
    if found:
        cells[0].info(f"Estimated time: {found.text()}")
    else:
        cells[0].caption("No measured pace for this size here yet: time two steps to see how long it takes.")
    if cells[1].button("Time 2 steps", key="train.measure", disabled=not ready):
        with st.spinner("Timing two training steps of these options…"):
            try:
                measure_and_remember(store, task, task_config, settings)
            except (UserError, ValueError, OSError, RuntimeError) as err:
                st.error(f"Could not time it: {err}")
                return
        st.rerun()


def launch(task: str) -> None:
    """Start the process, wait a little for its run to appear, say what happened."""
    settings, task_config = chosen(task)
    try:
        launched = start_training(task, settings, task_config, get_store().home)
    except (UserError, OSError) as err:
        st.error(f"Could not start training: {err}")
        return
    launches().append(launched)
    with st.spinner(f"Started process {launched.pid}; waiting for its run to appear…"):
        run = wait_for_new_run(get_store(), launched.started, WAIT_FOR_RUN_S, task, launched.process)
    if run is not None:
        launched.run_id = run.id
        st.success(f"Run **{run.id}** is {run.status}. Watch it on the Runs page.")
        st.page_link("pages/runs.py", label="Open the Runs page", icon=":material/monitoring:")
    elif launched.exited():
        st.error(f"Training stopped before it began: {last_error(launched.log_path)}")
    else:
        st.info(
            f"Process {launched.pid} is still loading the data; the run will appear below. Log: `{launched.log_path}`"
        )


def any_live(runs: list[Run]) -> bool:
    """A run trains or a launch of ours is starting or resuming one: worth polling."""
    return any(not x.exited() for x in launches()) or any(is_live(r) for r in runs)


def runs_panel(was_live: bool) -> None:
    """Runs with stop/resume buttons, and launches still starting up."""
    store = get_store()
    runs = store.list()
    if was_live and not any_live(runs):
        st.rerun()  # all done: redraw once without the timer
    for launched in launches():
        if launched.run_id is None and not launched.exited():
            st.info(f"Process {launched.pid} is starting (log: `{launched.log_path}`)")
    if not runs:
        st.caption("No runs yet.")
    for run in runs[:MAX_LISTED]:
        label, controls = st.columns([4, 1])
        label.markdown(f"**{run_label(run)}**")
        label.progress(min(1.0, run.step / run.max_steps) if run.max_steps else 0.0, text=progress_text(run))
        if run.message:
            label.caption(run.message)
        with controls:
            run_controls(store, run, key=f"train.{run.id}")


def main() -> None:
    st.title("Train")
    names = task_names()
    top = st.columns(3)
    task = top[0].selectbox(
        "task", names, index=names.index("pix2pix") if "pix2pix" in names else 0, key="train.task"
    )
    top[1].selectbox(
        "preset", preset_names(task), key=f"train.preset.{task}", on_change=seed_state, args=(task, True)
    )
    sizes = size_names()
    top[2].selectbox(
        "size", sizes, index=sizes.index(default_size()), key=f"train.size.{task}",
        on_change=seed_state, args=(task, True), help="quick: a few minutes on a CPU; full: the preset as written",
    )  # fmt: skip
    seed_state(task)
    data = dataset_input(task, str(get_store().home))
    st.text_input("run name (optional)", key="train.name")
    options_form(task)
    settled_note(task, data)
    estimate_panel(task, bool(data))
    if st.button("Launch training", type="primary", key="train.launch", disabled=not data):
        launch(task)

    st.subheader("Runs")
    live = any_live(get_store().list())
    st.fragment(run_every="2s" if live else None)(runs_panel)(live)


main()
