"""Compare: runs overlaid loss by loss, their eval metrics, and the same inputs through each model
(e.g. L1 only against L1 + cGAN, the problem set's comparison)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st
from PIL import Image

from engine.data.datasets import find_split, split_aligned
from engine.data.images import list_images, load_image
from engine.data.sketch import prepare_sketch
from engine.errors import UserError
from engine.inference.kinds import image_translating_kinds
from engine.inference.loader import load_predictor
from engine.inference.registry import task_kind
from engine.store.curves import EVAL_PREFIX
from engine.store.models import BUNDLED, bundled_models
from engine.store.runs import Run, RunStore
from pages.common import (
    SWEEP_TASK,
    curves_for,
    eval_charts,
    get_store,
    overlaid_losses,
    redraw_on_change,
    run_label,
    runs_state,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


def evals_table(store: RunStore, models: dict[str, str]) -> pd.DataFrame:
    """The latest value of each metric, one row per (model, data, split); `models`: id -> the
    name shown. Figures to 4 significant digits (a KID_std of 1e-16 is rounding noise: 0)."""
    rows = [row for model in models for row in store.evals(model)]
    frame = pd.DataFrame(rows, columns=["model", "data", "split", "metric", "value", "time"])
    if frame.empty:
        return frame
    frame["value"] = frame["value"].map(significant)
    latest = frame.sort_values("time").groupby(["model", "data", "split", "metric"]).last()
    table = latest["value"].unstack("metric").reset_index()
    table["model"] = table["model"].map(models)
    return table


def significant(value: float, digits: int = 4) -> float:
    """`value` rounded to `digits` significant digits; below 1e-12 (float noise) 0."""
    if not math.isfinite(value) or abs(value) < 1e-12:
        return 0.0 if math.isfinite(value) else value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def example_inputs() -> list[tuple[str, Image.Image, Image.Image | None]]:
    """The bundled sketches, made into edge maps like those the models trained on."""
    return [(p.stem, prepare_sketch(load_image(p)), None) for p in sorted(EXAMPLES.glob("*.png"))]


def folder_inputs(
    folder: str, count: int, direction: str
) -> list[tuple[str, Image.Image, Image.Image | None]]:
    """The first images of a dataset's val split (A|B files give input and target) or of a
    plain folder of inputs."""
    found = []
    for path in list_images(find_split(Path(folder).expanduser(), "val"))[:count]:
        image = load_image(path)
        if image.width == 2 * image.height:
            found.append((path.stem, *split_aligned(image, direction)))
        else:
            found.append((path.stem, image, None))
    return found


def side_by_side(store: RunStore, runs: list[Run]) -> None:
    st.subheader("Same inputs, each model")
    kinds = image_translating_kinds()
    translators = [r for r in runs if task_kind(r.task) in kinds]
    if len(translators) < len(runs):
        others = ", ".join(sorted({r.task for r in runs if r not in translators}))
        st.caption(
            f"Only models that translate images ({', '.join(kinds)}); not offered here: {others} runs."
        )
    names = {r.id: r.name or r.id for r in translators if store.checkpoints(r.id)}
    names.update({name: f"{name} (bundled)" for kind in kinds for name in bundled_models(kind)})
    if not names:
        st.info("None of these runs has a checkpoint yet, and no bundled model is on disk.")
        return
    choices = list(names)
    models = st.multiselect(
        "models", choices, default=choices[:3], format_func=names.get, key="compare.models"
    )
    source = st.radio("inputs", ("example sketches", "dataset folder"), horizontal=True, key="compare.source")
    folder, count, direction = "", 4, "AtoB"
    if source == "dataset folder":
        cols = st.columns([3, 1, 1])
        folder = cols[0].text_input("dataset folder", key="compare.folder")
        count = cols[1].number_input("images", 1, 12, 4, key="compare.count")
        direction = cols[2].selectbox("direction", ("AtoB", "BtoA"), key="compare.direction")
    if not st.button("Translate", key="compare.go", disabled=not models):
        shown = st.session_state.get("compare.results")
        if shown:
            show_grid(*shown)
        return
    try:
        inputs = example_inputs() if source == "example sketches" else folder_inputs(folder, count, direction)
        if not inputs:
            raise UserError("no images found there")
        outputs = {
            names[m]: load_predictor(m, store.home).translate_batch([x for _, x, _ in inputs]) for m in models
        }
    except (UserError, OSError) as err:
        st.error(f"Could not translate: {err}")
        return
    st.session_state["compare.results"] = (inputs, outputs)
    show_grid(inputs, outputs)


def show_grid(inputs: list, outputs: dict[str, list[Image.Image]]) -> None:
    """input | target (if known) | model 1 | model 2 ... one row per image."""
    with_target = any(target is not None for _, _, target in inputs)
    headers = ["input"] + (["target"] if with_target else []) + list(outputs)
    for column, header in zip(st.columns(len(headers)), headers):
        column.markdown(f"**{header}**")
    for i, (name, image, target) in enumerate(inputs):
        cells = [image] + ([target] if with_target else []) + [out[i] for out in outputs.values()]
        for column, cell in zip(st.columns(len(headers)), cells):
            if cell is not None:
                column.image(cell, caption=name if cell is image else None, width="stretch")


def comparable_default(runs: list[Run], count: int = 2) -> list[str]:
    """The newest runs of the newest run's task: their losses mean the same things."""
    return [r.id for r in runs if r.task == runs[0].task][:count]


def main() -> None:
    st.title("Compare")
    store = get_store()
    everything = store.list()
    redraw_on_change(runs_state(everything))  # labels and curves follow runs that start or end
    runs = [r for r in everything if r.task != SWEEP_TASK]  # sweeps: compared in the Style lab
    if not runs:
        st.info("No runs to compare yet. Train two (e.g. L1 only and L1 + cGAN) on the Train page.")
        side_by_side(store, [])
        return
    by_id = {r.id: r for r in runs}
    picked = st.multiselect(
        "runs",
        list(by_id),
        default=comparable_default(runs),
        format_func=lambda i: run_label(by_id[i]),
        key="compare.runs",
    )
    chosen = [by_id[i] for i in picked]
    options = st.columns(2)
    smoothing = options[0].slider("smoothing", 0.0, 0.99, 0.6, 0.01, key="compare.smoothing")
    log_y = options[1].toggle("log scale", key="compare.log")
    if chosen:
        overlaid_losses(store, chosen, smoothing, log_y)
        curves = {run.name or run.id: curves_for(store, run.id) for run in chosen}
        if any(name.startswith(EVAL_PREFIX) for c in curves.values() for name in c.series):
            st.subheader("Held-out metrics during training")
            eval_charts(curves, key="compare")
    st.subheader("Metrics")
    table = evals_table(store, {**{r.id: r.name or r.id for r in chosen}, **{m: m for m in BUNDLED}})
    if table.empty:
        st.caption("No evaluations yet: `python -m engine eval RUN --data DIR` adds FID, SSIM, PSNR and L1.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")
    side_by_side(store, chosen)


main()
