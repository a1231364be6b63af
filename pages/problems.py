"""Problems: each course problem as a card (what it asks, the preset runs that answer it,
launched in the background or opened when finished, and the plots and pictures that answer it).

Every card is drawn from `pages.course.PROBLEMS`; this page only knows how to show
each kind of view.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.data.sources import find_local_dataset
from engine.errors import UserError
from engine.models.patchgan import patchgan_receptive_fields
from engine.store.curves import EVAL_PREFIX
from engine.store.runs import Run, RunStore
from engine.training.launch import NAMED_DATASETS, dataset_problem, start_training
from pages.common import (
    curves_for,
    eval_charts,
    get_store,
    launches,
    overlaid_losses,
    progress_text,
    run_page,
    show_notice,
    status_text,
)
from pages.course import PROBLEMS, PresetRun, Problem, answers, launch_arguments, run_name

PRIOR_SIDE, PRIOR_STEPS = 128, 900
INTERPOLATION_FRAMES = 8
RUN_VIEWS = ("losses", "evals", "samples", "interpolations")  # drawn from the card's runs


def newest_runs(store: RunStore, item: Problem) -> dict[str, Run | None]:
    """Label -> the newest run launched for it (by its run-store name), else the newest finished
    or stopped run that trained the same preset on the same dataset under another name, else None."""
    runs = sorted(store.list(), key=lambda r: r.created, reverse=True)
    found = {}
    for preset in item.runs:
        named = [r for r in runs if r.name == run_name(item, preset)]
        ended = [r for r in runs if r.status in ("finished", "stopped")]
        gathered = [r for r in ended if answers(preset, r.task, r.config)]
        found[preset.label] = (named or gathered or [None])[0]
    return found


def dataset_folder(item: Problem, name: str) -> str:
    """The folder (or named dataset) the card's runs train on: found under the dataset roots,
    editable by the user."""
    if name in NAMED_DATASETS:
        return name
    found = find_local_dataset(name)
    return st.text_input(
        f"{name} folder", value=str(found or ""), key=f"problems.{item.key}.{name}",
        placeholder=f"/data/{name} (python -m engine data {name} downloads the standard copy)",
    )  # fmt: skip


def launch(item: Problem, preset: PresetRun, data: str, store: RunStore) -> None:
    try:
        settings, config = launch_arguments(item, preset, data)
        launched = start_training(preset.task, settings, config, store.home)
    except (UserError, ValueError, OSError) as err:
        st.error(f"Could not launch {preset.label}: {err}")
        return
    launches().append(launched)
    st.session_state["notice"] = (
        f"Launched {preset.label} (process {launched.pid}); it appears here once its data is loaded."
    )
    st.rerun()


def runs_section(store: RunStore, item: Problem, runs: dict[str, Run | None]) -> None:
    folders = {name: dataset_folder(item, name) for name in dict.fromkeys(p.dataset for p in item.runs)}
    for preset in item.runs:
        run = runs[preset.label]
        cols = st.columns([3, 4, 2])
        cols[0].markdown(
            f"**{preset.label}** · `{preset.task}` · {preset.settings.get('max_steps', '')} steps"
        )
        if run is None:
            cols[1].caption("not run yet")
        else:
            cols[1].markdown(f"{status_text(run)} · {progress_text(run)} · [open]({run_page(run)})")
        data = folders[preset.dataset]
        problem = dataset_problem(data) if data and data not in NAMED_DATASETS else None
        busy = run is not None and run.status == "running"
        label = "Launch" if run is None else "Launch again"
        if cols[2].button(
            label, key=f"problems.{item.key}.{preset.label}", disabled=busy or not data or bool(problem)
        ):
            launch(item, preset, data, store)
        if problem and data:
            st.caption(f"{preset.dataset}: {problem}")


def label_of(run: Run) -> str:
    """A problem run's label (its name after 'problem KEY: '), else its name or id."""
    return run.name.split(": ", 1)[-1] if run.name.startswith("problem ") else run.name or run.id


def evals_view(store: RunStore, runs: list[Run]) -> None:
    """The last held-out value of every metric per run, then their curves."""
    curves = {label_of(run): curves_for(store, run.id) for run in runs}
    rows = []
    for label, c in curves.items():
        last = {
            n[len(EVAL_PREFIX) :]: s.values[-1]
            for n, s in c.series.items()
            if n.startswith(EVAL_PREFIX) and s.values
        }
        if last:
            step = max(s.steps[-1] for n, s in c.series.items() if n.startswith(EVAL_PREFIX))
            rows.append({"run": label, "step": step, **last})
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    full = full_split_table(store, runs)
    if not full.empty:
        st.caption(
            "The whole held-out split, scored by `python -m engine eval RUN --data DATA --split test`:"
        )
        st.dataframe(full, hide_index=True, width="stretch")
    if not eval_charts(curves, key="problems"):
        st.caption("No held-out metrics yet: they appear at the first evaluation.")


def full_split_table(store: RunStore, runs: list[Run]) -> pd.DataFrame:
    """The latest `eval` of each run on a whole split (the held-out curves use a fixed subset)."""
    rows = []
    for run in runs:
        latest: dict[tuple, dict] = {}
        for _, data, split, name, value, _ in sorted(store.evals(run.id), key=lambda row: row[5]):
            if name in ("L1", "PSNR", "SSIM", "FID", "KID", "count"):
                latest.setdefault((data, split), {})[name] = value
        for (data, split), values in latest.items():
            rows.append({"run": label_of(run), "data": Path(data).name, "split": split, **values})
    return pd.DataFrame(rows)


def samples_view(store: RunStore, runs: list[Run]) -> None:
    """The newest sample grid of each run, side by side."""
    cols = st.columns(len(runs))
    for col, run in zip(cols, runs):
        samples = store.samples(run.id)
        if samples:
            step, path = samples[-1]
            col.image(str(path), caption=f"{label_of(run)} · step {step}", width="stretch")
        else:
            col.caption(f"{label_of(run)}: no samples yet")


def interpolations_view(store: RunStore, runs: list[Run]) -> None:
    """Each latent model decoded along a line between two random codes (seeds 1 and 2)."""
    from engine.inference.latent import enlarge, grid, interpolate
    from engine.inference.loader import load_model

    for run in runs:
        try:
            model = load_model(run.id, "latent", str(store.home), device="cpu")
        except (UserError, OSError, KeyError) as err:
            st.caption(f"{label_of(run)}: no model to decode yet ({err})")
            continue
        a, b = model.seed_latents([1, 2])
        strip = grid(model.decode(interpolate(a, b, INTERPOLATION_FRAMES)), INTERPOLATION_FRAMES)
        st.image(enlarge(strip, 2), caption=f"{label_of(run)} · step {run.step}: seed 1 → seed 2")


def receptive_field_view() -> None:
    rows = patchgan_receptive_fields(3, 256)
    st.dataframe(
        [{"layer": r.layer, "kernel": r.kernel, "stride": r.stride, "output size": r.out_size,
          "receptive field": f"{r.receptive_field}x{r.receptive_field}"} for r in rows],
        hide_index=True, width="stretch",
    )  # fmt: skip


def prior_curve_view() -> None:
    """Run a deep-image-prior fit small enough to wait for on the page and draw its PSNR curve."""
    from engine.prior.corruption import simulate, to_picture, to_unit_tensor
    from engine.prior.fit import PriorConfig, prior_steps, psnr_db
    from engine.style.examples import example_photo

    if st.button(
        f"Run it: denoise a {PRIOR_SIDE} px photo for {PRIOR_STEPS} steps", key="problems.prior.run"
    ):
        photo = example_photo("chelsea")
        photo = photo.resize((PRIOR_SIDE, round(photo.height * PRIOR_SIDE / photo.width)))
        corruption, reference = simulate("denoise", photo, 25), to_unit_tensor(photo)
        bar, log = st.progress(0.0, "fitting"), []
        # no code jitter here: the plain prior, whose fall after the peak is plain to see
        config = PriorConfig(steps=PRIOR_STEPS, log_every=10, preview_every=0, keep="best", jitter=0.0)
        for step in prior_steps(corruption, config, reference):
            if not math.isnan(step.psnr):
                log.append((step.step, step.psnr, step.psnr_average))
                bar.progress(step.step / PRIOR_STEPS, f"step {step.step}: {step.psnr_average:.2f} dB")
        best = max(log, key=lambda row: row[2])
        st.session_state["problems.prior"] = {
            "log": log, "noisy": psnr_db(corruption.observed, reference), "best": best,
            "pictures": [to_picture(p) for p in (corruption.observed, step.result, step.drawing)],
        }  # fmt: skip
    result = st.session_state.get("problems.prior")
    if not result:
        return
    fig = go.Figure()
    steps = [row[0] for row in result["log"]]
    fig.add_scatter(x=steps, y=[row[1] for row in result["log"]], name="this step's drawing")
    fig.add_scatter(x=steps, y=[row[2] for row in result["log"]], name="averaged output")
    fig.add_hline(y=result["noisy"], line_dash="dot", annotation_text="noisy input")
    fig.update_layout(title="PSNR against the clean photo", xaxis_title="step", yaxis_title="dB", height=320)
    st.plotly_chart(fig, width="stretch", key="problems.prior.curve")
    step, _, peak = result["best"]
    st.caption(f"Peak {peak:.2f} dB at step {step}, against {result['noisy']:.2f} dB for the noisy input.")
    captions = [
        "noisy input",
        f"at the peak (step {step})",
        f"after {PRIOR_STEPS} steps: the noise comes back",
    ]
    for col, picture, caption in zip(st.columns(3), result["pictures"], captions):
        col.image(picture, caption=caption, width="stretch")


def card(store: RunStore, item: Problem) -> None:
    st.subheader(item.title)
    st.markdown(f"**The problem.** {item.asks}")
    runs = newest_runs(store, item) if item.runs else {}
    if item.runs:
        st.markdown("**Runs that answer it**")
        runs_section(store, item, runs)
    found = [run for run in runs.values() if run is not None]
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
    if item.runs and not found:
        st.info("Launch the runs above: their losses, held-out metrics and samples appear here.")
    for link in item.links:
        st.page_link(link.page, label=link.label, icon=":material/arrow_forward:")
    if item.commands:
        st.code("\n".join(item.commands), language="bash")
    with st.expander("What the answer shows"):
        st.markdown(item.answer)


VIEW_TITLES = {
    "losses": "Losses, run against run",
    "evals": "Held-out metrics",
    "samples": "Samples (the newest grid of each run)",
    "interpolations": "Interpolations between two random codes",
    "receptive_field": "Receptive field after each layer (n_layers 3, 256 px)",
    "prior_curve": "The fit, live",
}


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
