"""The Problems page's views of a card's runs (held-out metrics, samples, interpolations) and
its computed views (the PatchGAN receptive field, a live deep-image-prior fit). A helper module,
not a page: app.py lists the pages."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.errors import UserError
from engine.models.patchgan import patchgan_receptive_fields
from engine.store.curves import EVAL_PREFIX
from engine.store.runs import Run, RunStore
from pages.common import curves_for, eval_charts

PRIOR_SIDE, PRIOR_STEPS = 128, 900
INTERPOLATION_FRAMES = 8


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


def loss_study_view(store: RunStore, data: str) -> None:
    """pix2pix's loss study: each direction's FCN-scores beside the paper's, what they show,
    each loss's newest sample grid, and a button that scores the finished runs lacking figures."""
    from engine.loss_study import build_tables, reading, table_rows, unscored

    tables = build_tables(store)
    for table in tables:
        st.markdown(f"**{table.way}** · facades test split, scored by {table.scored_by} · paper: Cityscapes")
        st.dataframe(pd.DataFrame(table_rows(table)), hide_index=True, width="stretch")
        st.markdown("\n".join(f"- {line}" for line in reading(table)))
        runs = [row.run for row in table.losses() if row.run]
        if runs:
            st.caption("Each loss's newest sample grid: where L1's blur and a GAN's collapse would show.")
            samples_view(store, runs)
    score_button(store, unscored(tables, data or "FACADES"), data, tables[0].fcn)


def score_button(store: RunStore, missing: list[list[str]], data: str, fcn: str) -> None:
    """'Score with the FCN': `python -m engine loss-study --score DATA` in the background."""
    from engine.training.launch import last_error, start_command

    scoring = st.session_state.get("problems.loss_study.scoring")
    busy = scoring is not None and not scoring.exited()
    if scoring is not None and scoring.exited() and scoring.process.returncode:
        st.error(f"Scoring stopped: {last_error(scoring.log_path)}")
    rows = f"rows lacking their FCN-score: {len(missing)}" if missing else "every row with a run is scored"
    st.caption(f"{rows}{' (scoring now…)' if busy else ''}.")
    if st.button(
        "Score with the FCN", key="problems.loss_study.score", disabled=busy or not missing or not data
    ):
        try:
            args = ["loss-study", "--score", data, "--fcn", fcn]
            st.session_state["problems.loss_study.scoring"] = start_command(args, store.home, "fcn-score")
        except (UserError, OSError) as err:
            st.error(f"Could not start scoring: {err}")
            return
        st.session_state["notice"] = f"Scoring {len(missing)} row(s) in the background; reload to see them."
        st.rerun()


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


VIEW_TITLES = {
    "losses": "Losses, run against run",
    "evals": "Held-out metrics",
    "samples": "Samples (the newest grid of each run)",
    "interpolations": "Interpolations between two random codes",
    "receptive_field": "Receptive field after each layer (n_layers 3, 256 px)",
    "prior_curve": "The fit, live",
    "loss_study": "FCN-scores: ours beside the paper's (Table 1), and samples per loss",
}
