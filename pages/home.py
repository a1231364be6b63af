"""Home: what the studio holds (bundled models, runs) and where to go next.

The runs part refreshes every 2 s while a run trains (or a sweep paints), and every 10 s
otherwise, so runs started elsewhere appear and finished ones read finished."""

from __future__ import annotations

import streamlit as st

from engine.store.models import bundled_models
from pages.common import STATUS_ICONS, SWEEP_TASK, get_store, is_live, runs_table

RECENT = 20


def bundled_table() -> list[dict]:
    """The bundled default models that are on disk."""
    return [
        {
            "model": name,
            "kind": m.kind,
            "what": m.description,
            "size (MB)": round(m.path.stat().st_size / 2**20, 1),
        }
        for name, m in bundled_models().items()
    ]


def main() -> None:
    st.title("Image Synthesis Studio")
    st.markdown(
        "Sketch a shoe and get a photo, train pix2pix yourself and watch its losses live, "
        "compare runs side by side and learn how the networks are built.\n\n"
        "- **Train**: pick a dataset and a preset, launch a run in the background, stop or resume it.\n"
        "- **Runs**: live loss curves and sample grids of any run.\n"
        "- **Compare**: runs overlaid, their metrics, the same inputs through each model.\n"
        "- **Learn**: PatchGAN receptive fields, the U-Net layer by layer, the pix2pix objective.\n"
        "- **Problems**: each course problem with the runs and plots that answer it.\n"
        "- **Playground**: the interactive Gradio demos."
    )
    st.subheader("Bundled models")
    models = bundled_table()
    if models:
        st.dataframe(models, hide_index=True, width="stretch")
    else:
        st.info("No bundled model is on disk yet; train one on the Train page.")

    store = get_store()
    live = any(is_live(r) for r in store.list())
    st.fragment(run_every="2s" if live else "10s")(runs_overview)(live)


def runs_overview(was_live: bool) -> None:
    """Counts of the training runs (style sweeps apart), and the recent runs of both kinds."""
    store = get_store()
    runs = store.list()
    if any(is_live(r) for r in runs) != was_live:
        st.rerun()  # the timer's pace follows
    trained = [r for r in runs if r.task != SWEEP_TASK]
    st.subheader("Your runs")
    counts = st.columns(len(STATUS_ICONS) + 2)
    counts[0].metric("training runs", len(trained))
    for column, status in zip(counts[1:], STATUS_ICONS):
        column.metric(f"{STATUS_ICONS[status]} {status}", sum(r.status == status for r in trained))
    counts[-1].metric(":material/palette: style sweeps", len(runs) - len(trained))
    if not runs:
        st.info("No runs yet. Start one on the Train page.")
        st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
        return
    st.caption(f"Recent runs and style sweeps · run store: `{store.home}`")
    st.dataframe(
        runs_table(runs[:RECENT]),
        hide_index=True,
        width="stretch",
        column_config={"open": st.column_config.LinkColumn("open", display_text="open")},
    )


main()
