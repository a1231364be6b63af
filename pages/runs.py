"""Runs: one run's live loss curves, sample grids over time, config and events.

While the run trains, a fragment refreshes every 2 s without reloading the page: status,
controls, curves (it reads only the metric rows written since its last look; the series live
in st.session_state) and samples. When the run's status changes the whole page is redrawn, and
a page not polling notices runs started, resumed or ended elsewhere within a few seconds.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from engine import hub, hub_publish
from engine.errors import UserError
from engine.inference.loader import export_model
from engine.store.checkpoints import BEST_CHECKPOINT
from engine.store.curves import loss_title, plot_groups
from engine.store.runs import Run, RunStore
from engine.tasks import get_task
from engine.training.held_out import grid_caption
from pages.common import (
    SWEEP_TASK,
    curves_for,
    eval_charts,
    get_store,
    is_live,
    loss_figure,
    pace_text,
    progress_text,
    redraw_on_change,
    run_controls,
    run_label,
    run_loss_titles,
    runs_state,
    show_notice,
    when,
)


def pick_run(store: RunStore, everything: list[Run]) -> str | None:
    """A select box over the training runs; ?run=ID in the URL preselects one (a style sweep's
    id opens the Style lab, where sweeps are shown)."""
    wanted = st.query_params.get("run")
    runs = [r for r in everything if r.task != SWEEP_TASK]
    if wanted and wanted not in {r.id for r in runs} and wanted in {r.id for r in everything}:
        st.switch_page("pages/style_lab.py", query_params={"sweep": wanted})
    if not runs:
        return None
    ids = [r.id for r in runs]
    labels = {r.id: run_label(r) for r in runs}
    index = ids.index(wanted) if wanted in ids else 0
    run_id = st.selectbox("run", ids, index=index, format_func=labels.get, key="runs.pick")
    st.query_params["run"] = run_id
    return run_id


def loss_charts(store: RunStore, run_id: str, loss_names: list[str], titles: dict, view: dict) -> None:
    curves = curves_for(store, run_id)
    if not curves.series:
        st.info("No losses logged yet: the first ones arrive after a few steps.")
        return
    groups = plot_groups(loss_names or list(curves.series), with_parts=view["parts"])
    columns = st.columns(min(3, len(groups)))
    for i, (head, names) in enumerate(groups):
        lines = [(name, curves.series[name]) for name in names if name in curves.series]
        fig = loss_figure(loss_title(head, titles), lines, view["smoothing"], view["log"])
        columns[i % len(columns)].plotly_chart(fig, width="stretch", key=f"runs.loss.{run_id}.{head}")


def sample_grids(store: RunStore, run_id: str, visual_names: list[str], unpaired: bool = False) -> None:
    samples = store.samples(run_id)
    if not samples:
        st.caption("No sample grid yet.")
        return
    steps = [step for step, _ in samples]
    step = steps[0] if len(steps) == 1 else st.select_slider("sample at step", steps, value=steps[-1])
    path = dict(samples)[step]
    st.image(str(path), caption=f"step {step}: {grid_caption(visual_names, unpaired)}")


def live_view(store: RunStore, run_id: str, view: dict, seen: tuple[str, bool]) -> None:
    """The part that refreshes: status and controls, losses, samples. `seen`: the run's status
    and liveness when the page was drawn; once they change the whole page is drawn again."""
    try:
        run = store.get(run_id)
    except (KeyError, UserError):
        st.error(f"Run {run_id} is no longer in the store.")
        return
    if (run.status, is_live(run)) != seen:
        st.rerun()  # stopped, resumed, ended: labels, timer and controls follow
    bar = min(1.0, run.step / run.max_steps) if run.max_steps else 0.0
    parts = [run.status, progress_text(run), pace_text(store, run), f"updated {when(run.updated)}"]
    status, controls = st.columns([4, 1])
    status.progress(bar, text=" · ".join(p for p in parts if p))
    if run.message:
        (status.error if run.status == "failed" else status.caption)(run.message)
    with controls:
        run_controls(store, run, key=f"runs.{run.id}")
    loss_charts(store, run.id, run.config.get("loss_names", []), run_loss_titles(run), view)
    if run.config.get("settings", {}).get("eval_every"):
        st.subheader("Held-out metrics")
        if not eval_charts({run.id: curves_for(store, run.id)}, key=f"runs.{run.id}"):
            st.caption("The first evaluation arrives after --eval-every steps.")
    st.subheader("Samples")
    unpaired = get_task(run.task).kind == "unpaired"
    sample_grids(store, run.id, run.config.get("visual_names", []), unpaired)


def view_options(run: Run) -> dict:
    """Smoothing, log scale, and the parts of a loss (D_real, D_fake) where the run has any."""
    options = st.columns([2, 1, 1])
    view = {
        "smoothing": options[0].slider("smoothing", 0.0, 0.99, 0.6, 0.01, key="runs.smoothing"),
        "log": options[1].toggle("log scale", key="runs.log"),
        "parts": True,
    }
    parts = [n for _, names in plot_groups(run.config.get("loss_names", [])) for n in names[1:]]
    if parts:
        view["parts"] = options[2].toggle(
            " / ".join(parts), value=True, key="runs.parts", help="overlay the parts of a loss on its plot"
        )
    return view


def details(store: RunStore, run_id: str) -> None:
    run = store.get(run_id)
    with st.expander("Config"):
        st.json(run.config)
    with st.expander("Events"):
        events = [{"time": when(t), "event": kind, "message": msg} for t, kind, msg in store.events(run_id)]
        st.dataframe(events, hide_index=True, width="stretch")
    with st.expander("Checkpoints and export"):
        for step, path in store.checkpoints(run_id):
            st.text(f"step {step}: {path}")
        export_download(store, run)


def export_download(store: RunStore, run) -> None:
    """The run's inference network(s) as one small fp16 .safetensors file to download (the
    latest checkpoint, or the one with the best held-out KID), as `python -m engine export`."""
    if not store.checkpoints(run.id):
        st.caption("No checkpoint yet.")
        return
    has_best = (run.checkpoints_dir / BEST_CHECKPOINT).is_file()
    which = st.radio(
        "export", ["latest", "best held-out KID"] if has_best else ["latest"], horizontal=True,
        key=f"runs.{run.id}.which",
    )  # fmt: skip
    best = which != "latest"
    st.caption(f"Same as: `python -m engine export {run.id} model.safetensors{' --best' if best else ''}`")
    if st.button("Prepare the download", key=f"runs.{run.id}.export"):
        try:
            with tempfile.TemporaryDirectory() as folder:
                out = export_model(
                    run.id, Path(folder) / "model.safetensors", home=str(store.home), best=best
                )
                st.session_state[f"runs.{run.id}.file.{best}"] = out.read_bytes()
        except (UserError, OSError) as err:
            st.error(f"Could not export {run.id}: {err}")
    data = st.session_state.get(f"runs.{run.id}.file.{best}")
    if data:
        name = f"{run.id}{'-best' if best else ''}.safetensors"
        st.download_button(
            f"Download {name} ({len(data) / 2**20:.1f} MB)", data, name, key=f"runs.{run.id}.dl"
        )
    publish_action(store, run, best)


def publish_action(store: RunStore, run, best: bool) -> None:
    """The same model on the Hugging Face Hub, as `python -m engine push`: a token from HF_TOKEN
    or `hf auth login`; without one the page says how to log in."""
    repo = st.text_input(
        "Publish on the Hugging Face Hub as", placeholder="user/name", key=f"runs.{run.id}.repo"
    ).strip()
    st.caption(f"Same as: `python -m engine push {run.id} {repo or 'user/name'}{' --best' if best else ''}`")
    if not hub.hub_token():
        st.info("To publish, log in once with `hf auth login` in a terminal (or set HF_TOKEN), then reload.")
        return
    if st.button("Publish", key=f"runs.{run.id}.publish", disabled=not repo):
        try:
            with st.spinner(f"Publishing {run.id} to {repo} ..."):
                url = hub_publish.push(run.id, repo, home=str(store.home), best=best)
            st.success(f"Published {run.id}: {url}")
        except (UserError, OSError) as err:
            st.error(f"Could not publish {run.id}: {err}")


def main() -> None:
    st.title("Runs")
    show_notice()
    store = get_store()
    everything = store.list()
    run_id = pick_run(store, everything)
    if run_id is None:
        st.info("No runs yet. Start one on the Train page.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        redraw_on_change(runs_state(everything))
        return
    try:
        run = store.get(run_id)
    except (KeyError, UserError):
        st.error(f"Unknown run {run_id}.")
        return
    view = view_options(run)
    live = is_live(run)
    st.fragment(run_every="2s" if live else None)(live_view)(store, run.id, view, (run.status, live))
    details(store, run.id)
    redraw_on_change(runs_state(everything))


main()
