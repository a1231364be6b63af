"""Style lab: which content layer paints best, and how much style is enough? (problem 6.3)

A sweep runs one small Gatys result per setting (engine.style.sweep), shows them side by side
with their losses, and is saved to the run store, so earlier sweeps can be opened again.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from engine.data.images import IMAGE_EXTENSIONS, ImageLoadError, load_image
from engine.errors import UserError
from engine.models.vgg import LAYER_NAMES
from engine.store.curves import Series
from engine.store.runs import RunStore
from engine.style.examples import example_photos, example_styles
from engine.style.gatys import StyleConfig
from engine.style.sweep import (
    CONTENT_LAYERS,
    STYLE_WEIGHTS,
    TASK,
    TV_WEIGHTS,
    SavedSweep,
    SweepPoint,
    content_layer_points,
    read_sweep,
    run_sweep,
    style_weight_points,
    sweep_config,
    tv_weight_points,
)
from pages.common import get_store, loss_figure, run_label, status_text, when
from pages.plots import value_axis

UPLOAD = "upload your own…"
MAX_SIDE = 4096
RELU_LAYERS = tuple(name for name in LAYER_NAMES if name.startswith("relu"))
WEIGHT_CHOICES = (0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
KINDS = {
    "content layer": "content_layer",
    "style weight": "style_weight",
    "smoothness (TV) weight": "tv_weight",
}
TV_CHOICES = (0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0)


def pick_image(what: str, examples: dict[str, Image.Image], key: str) -> tuple[Image.Image | None, str]:
    """A built-in example or an upload -> (picture, name); a bad upload is an error message."""
    choice = st.selectbox(what, [*examples, UPLOAD], key=f"lab.{key}")
    if choice != UPLOAD:
        image, name = examples[choice], choice
    else:
        types = [ext.lstrip(".") for ext in IMAGE_EXTENSIONS]
        upload = st.file_uploader(f"{what} image", type=types, key=f"lab.{key}.file")
        if upload is None:
            return None, ""
        try:
            image, name = load_image(upload, max_pixels=MAX_SIDE * MAX_SIDE), upload.name
        except ImageLoadError as err:
            st.error(f"Could not use {upload.name}: {str(err).replace(str(upload), 'the file')}")
            return None, ""
    st.image(image, width=220)
    return image, name


def sweep_settings() -> tuple[str, list[SweepPoint], StyleConfig]:
    """(kind, the settings to try, the shared config) from the form."""
    kind = KINDS[st.radio("sweep over", list(KINDS), horizontal=True, key="lab.kind")]
    if kind == "content_layer":
        layers = st.multiselect("content layers", RELU_LAYERS, default=CONTENT_LAYERS, key="lab.layers")
        points = content_layer_points(sorted(layers, key=RELU_LAYERS.index))
    elif kind == "tv_weight":
        weights = st.multiselect(
            "total-variation weights", TV_CHOICES, default=TV_WEIGHTS, format_func="{:g}".format, key="lab.tv"
        )
        points = tv_weight_points(sorted(weights))
    else:
        weights = st.multiselect(
            "style weights",
            WEIGHT_CHOICES,
            default=STYLE_WEIGHTS,
            format_func="{:g}".format,
            key="lab.weights",
        )
        content = st.number_input("content weight", 0.0, 100.0, 1.0, 0.5, key="lab.content_weight")
        points = style_weight_points(sorted(weights), content)
    left, right = st.columns(2)
    size = left.slider("size (long side, px)", 64, 256, 128, 32, key="lab.size")
    steps = right.slider("optimiser steps per result", 10, 100, 35, 5, key="lab.steps")
    return kind, points, sweep_config(size, steps)


def new_sweep(store: RunStore) -> None:
    left, right = st.columns(2)
    with left:
        content, content_name = pick_image("content", example_photos(), "content")
    with right:
        style, style_name = pick_image("style", example_styles(), "style")
    kind, points, config = sweep_settings()
    ready = content is not None and style is not None and bool(points)
    if not st.button("Run the sweep", type="primary", disabled=not ready, key="lab.run"):
        if not ready:
            st.caption("Pick a content picture, a style and at least one setting.")
        return
    bar = st.progress(0.0, text="loading VGG19…")
    try:
        run_id, _ = run_sweep(
            content, style, points, kind, config, store,
            name=f"{content_name} × {style_name}: {kind.replace('_', ' ')}",
            inputs={"content": content_name, "style": style_name},
            on_progress=lambda done, text: bar.progress(done, text=text),
        )  # fmt: skip
    except (UserError, OSError) as err:
        st.error(f"The sweep failed: {err}")
        return
    finally:
        bar.empty()
    st.session_state["lab.saved"] = run_id  # open it below


def final_losses(sweep: SavedSweep) -> go.Figure:
    """Each setting's final content, style and total loss, grouped (log scale: they differ a lot)."""
    fig = go.Figure()
    labels = [p.label for p in sweep.points if p.key in sweep.finals]
    shown: list[float] = []
    for term in ("content", "style", "total"):
        values = [sweep.finals[p.key].get(term) for p in sweep.points if p.key in sweep.finals]
        fig.add_bar(x=labels, y=values, name=term)
        shown += [v for v in values if v is not None]
    fig.update_layout(
        title="final losses", barmode="group", yaxis=value_axis(shown, log=True), height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return fig


def show_sweep(sweep: SavedSweep) -> None:
    run = sweep.run
    inputs = run.config.get("inputs", {})
    what = f"{inputs.get('content', '?')} × {inputs.get('style', '?')}"
    st.caption(f"{status_text(run)} · {what} · {run.config.get('kind', '')} · {when(run.created)}")
    if run.message:
        (st.error if run.status == "failed" else st.caption)(run.message)
    if sweep.grid is None:
        st.caption("No pictures were saved for this sweep.")
    else:
        st.image(str(sweep.grid), width="stretch")
    if not sweep.finals:
        return
    columns = st.columns(3)
    columns[0].plotly_chart(final_losses(sweep), width="stretch", key=f"lab.{run.id}.final")
    for column, term in zip(columns[1:], ("content", "style")):
        lines = []
        for point in sweep.points:
            values = sweep.curves.get(point.key, {}).get(term, [])
            lines.append((point.label, Series(list(range(1, len(values) + 1)), values)))
        fig = loss_figure(f"{term} loss while optimising", lines, log_y=True)
        column.plotly_chart(fig, width="stretch", key=f"lab.{run.id}.{term}")


def saved_sweeps(store: RunStore) -> None:
    st.header("Saved sweeps")
    runs = store.list(task=TASK)
    if not runs:
        st.info("No sweeps yet: run one above. Each one is kept in the run store.")
        return
    ids = [run.id for run in runs]
    labels = {run.id: run_label(run) for run in runs}
    if st.session_state.get("lab.saved") not in ids:  # ?sweep=ID opens that one first
        wanted = st.query_params.get("sweep")
        st.session_state["lab.saved"] = wanted if wanted in ids else ids[0]
    run_id = st.selectbox("sweep", ids, format_func=labels.get, key="lab.saved")
    st.query_params["sweep"] = run_id
    show_sweep(read_sweep(store, run_id))


def main() -> None:
    st.title("Style lab")
    st.markdown(
        "Neural style transfer compared side by side: one result per **content layer** (which layer "
        "keeps the photo best?), per **style weight** (how much style is enough?) or per "
        "**smoothness (TV) weight** (when does texture turn to blur?). Small and quick; "
        "the Gradio demo's *Style transfer* tab paints full-size pictures."
    )
    store = get_store()
    new_sweep(store)
    saved_sweeps(store)


main()
