"""Learn → Cycle consistency: why CycleGAN needs its cycle loss, shown with a run's own
reconstructions, and where it fails, next to pix2pix on the same edges.

A helper module, not a page: learn.py calls `cycle_section()` inside its tab.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from engine.data.images import load_image
from engine.data.sketch import prepare_sketch
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.store.models import bundled_models
from engine.training.held_out import grid_caption
from pages.common import curves_for, get_store, loss_figure

EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"
EXPLANATION = r"""
With unpaired data, *any* mapping that makes G(a) look like domain B fools the discriminator:
it could turn every shoe into the same handbag. CycleGAN asks for a second generator F going
back and ties the two together:

$$\mathcal{L}_{cyc} = \lambda_A\,\mathbb{E}_a \lVert F(G(a)) - a \rVert_1 + \lambda_B\,\mathbb{E}_b \lVert G(F(b)) - b\rVert_1$$

so G must keep enough of *a* to get it back. The identity term
$\lambda_{idt}\,(\lVert G(b) - b\rVert_1 + \lVert F(a) - a\rVert_1)$ keeps colours that need no change.
Below: a run's own held-out images (input | translation | translated back), its cycle losses,
and where the cycle is not enough.
"""


def cycle_models() -> dict[str, str]:
    """Label -> model: finished CycleGAN runs with a checkpoint, then the bundled one."""
    store = get_store()
    found = {f"{r.name or r.id} ({r.id})": r.id for r in store.list("cyclegan") if store.checkpoints(r.id)}
    found.update({name: name for name in bundled_models("unpaired")})
    return found


def difference(a: Image.Image, b: Image.Image, gain: float = 4.0) -> Image.Image:
    """|a - b| per pixel, amplified so small errors show."""
    diff = np.abs(np.asarray(a, np.float32) - np.asarray(b.resize(a.size), np.float32)) * gain
    return Image.fromarray(np.clip(diff, 0, 255).astype(np.uint8))


def run_view(run_id: str) -> None:
    store = get_store()
    run = store.get(run_id)
    samples = store.samples(run_id)
    if samples:
        step, path = samples[-1]
        st.image(
            str(path),
            caption=f"step {step}: " + grid_caption(run.config.get("visual_names", []), unpaired=True),
        )
    curves = curves_for(store, run_id)
    lines = [
        (name, curves.series[name])
        for name in ("cycle_A", "cycle_B", "idt_A", "idt_B")
        if name in curves.series
    ]
    if lines:
        st.plotly_chart(loss_figure("cycle and identity losses", lines, 0.6), key=f"learn.cycle.{run_id}")


def failure_view(model: str) -> None:
    """An example sketch through the CycleGAN model and back, and through pix2pix."""
    sketch = prepare_sketch(load_image(sorted(EXAMPLES.glob("sketch_*.png"))[0]))
    forward, back = load_predictor(model, direction="AtoB"), load_predictor(model, direction="BtoA")
    edges = sketch.resize((forward.size, forward.size))
    translated = forward(edges)
    returned = back(translated)
    shown = {
        "input": edges,
        "CycleGAN A→B": translated,
        "and back": returned,
        "|back − input| × 4": difference(edges, returned),
    }
    if "default" in bundled_models("image-to-image"):
        shown["pix2pix (paired)"] = load_predictor("default")(sketch)
    for column, (caption, image) in zip(st.columns(len(shown)), shown.items()):
        column.image(image, caption=caption, width="stretch")
    st.markdown(
        "Where it fails: the cycle only asks that the input *can be recovered*, not that the "
        "translation is right. A generator can hide the input in faint patterns of its output and "
        "read them back (a near-perfect return trip from a poor translation), and it changes colour "
        "and texture far more readily than shape (zebra stripes, not a horse's outline). With pairs, "
        "pix2pix is told exactly which shoe belongs to which edges; without them the model of a domain "
        "trained on other pictures (handbags, say) is free to reinterpret the sketch."
    )


def cycle_section() -> None:
    st.markdown(EXPLANATION)
    models = cycle_models()
    if not models:
        st.info(
            "No CycleGAN model yet: train one on the Train page (task cyclegan, preset "
            "“edges → shoes without pairs”) and its reconstructions appear here."
        )
        return
    label = st.selectbox("model", list(models), key="learn.cycle.model")
    model = models[label]
    try:
        if model not in bundled_models("unpaired"):
            run_view(model)
        failure_view(model)
    except (UserError, OSError) as err:
        st.error(f"Could not show {label}: {err}")
