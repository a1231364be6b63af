"""Learn: the PatchGAN's receptive field layer by layer (problem 6.2), the U-Net's tensor shapes,
and the pix2pix objective with the names its losses are logged under."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from engine.data.drawing import drawing_variants
from engine.data.images import MAX_PIXELS
from engine.errors import UserError
from engine.models.patchgan import patchgan_receptive_fields
from pages.cycle_lesson import cycle_section
from pages.spade_lesson import spade_section
from pages.unet_layers import unet_layer_table

SIZES = [32, 64, 128, 256, 512, 1024]


EXAMPLES = Path(__file__).resolve().parent.parent / "assets" / "examples"


def receptive_field_section() -> None:
    st.markdown(
        "Each output of the PatchGAN judges one patch of the input. Walking the convolutions in "
        "order, every layer widens the patch by (kernel - 1) times the current jump, and a stride "
        "multiplies the jump:"
    )
    st.latex(
        r"r_\ell = r_{\ell-1} + (k_\ell - 1)\, j_{\ell-1}, \qquad j_\ell = j_{\ell-1}\, s_\ell, \qquad r_0 = j_0 = 1"
    )
    left, right = st.columns(2)
    n_layers = left.number_input("n_layers (3 is pix2pix's default)", 1, 8, 3, key="learn.n_layers")
    size = right.number_input("input size (pixels)", 8, 2048, 256, key="learn.size")
    rows = patchgan_receptive_fields(int(n_layers), int(size))
    final = rows[-1]
    cols = st.columns(3)
    cols[0].metric("receptive field", f"{final.receptive_field}x{final.receptive_field}")
    cols[1].metric("output map", f"{final.out_size}x{final.out_size}" if final.out_size > 0 else "empty")
    cols[2].metric("conv layers", len(rows))
    if final.out_size < 1:
        st.warning(f"A {size}-pixel input is too small for {n_layers} layers: the output map is empty.")
    table = [
        {
            "layer": r.layer,
            "kernel": r.kernel,
            "stride": r.stride,
            "padding": r.padding,
            "jump": r.jump,
            "output size": r.out_size,
            "receptive field": f"{r.receptive_field}x{r.receptive_field}",
        }
        for r in rows
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    fig = go.Figure()
    fig.add_scatter(
        x=[r.layer for r in rows],
        y=[r.receptive_field for r in rows],
        mode="lines+markers",
        name="receptive field",
    )
    fig.add_bar(x=[r.layer for r in rows], y=[r.out_size for r in rows], name="output size", opacity=0.4)
    fig.update_layout(
        height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10}, xaxis_title="layer", yaxis_title="pixels",
        title="Receptive field and output size after each layer",
    )  # fmt: skip
    st.plotly_chart(fig, width="stretch", key="learn.rf_chart")


def unet_section() -> None:
    st.markdown(
        "The generator halves the image at every encoder level down to 1x1, then doubles it back; "
        "each decoder output is concatenated with the encoder output of the same size (the skip), "
        "so the next block sees twice the channels. `CD` blocks use dropout."
    )
    cols = st.columns(3)
    size = cols[0].selectbox("input size", SIZES, index=SIZES.index(256), key="learn.unet_size")
    ngf = cols[1].selectbox("ngf", [8, 16, 32, 64, 128], index=3, key="learn.ngf")
    max_depth = size.bit_length() - 1
    depth = cols[2].slider("levels (depth)", 2, max_depth, max_depth, key="learn.depth")
    try:
        rows = unet_layer_table(size=size, ngf=ngf, depth=depth)
    except ValueError as err:
        st.error(str(err))
        return
    shape = "{} x {} x {}".format
    table = [
        {
            "block": r["name"],
            "input (C x H x W)": shape(*r["input"]),
            "output": shape(*r["output"]),
            "skip into input": r["skip"] or "",
            "layers": r["layers"],
            "parameters": r["params"],
        }
        for r in rows
    ]
    total = sum(r["params"] for r in rows)
    st.metric("generator parameters", f"{total:,}", help=f"{total / 1e6:.1f} M")
    st.dataframe(table, hide_index=True, width="stretch")


def objective_section() -> None:
    st.markdown("The conditional GAN loss: D sees the input x with either the real y or the generated G(x).")
    st.latex(
        r"\mathcal{L}_{cGAN}(G, D) = \mathbb{E}_{x,y}\left[\log D(x, y)\right]"
        r" + \mathbb{E}_{x}\left[\log\left(1 - D(x, G(x))\right)\right]"
    )
    st.markdown("An L1 term keeps the output close to the target and sharp edges in place:")
    st.latex(r"\mathcal{L}_{L1}(G) = \mathbb{E}_{x,y}\left[\lVert y - G(x) \rVert_1\right]")
    st.markdown("The full objective, with lambda = 100 in the paper and the problem set:")
    st.latex(r"G^* = \arg\min_G \max_D \; \mathcal{L}_{cGAN}(G, D) + \lambda\, \mathcal{L}_{L1}(G)")
    st.markdown(
        "In training, each step first updates D, then G, with binary cross-entropy (BCE). "
        "These are the curves on the Runs page:"
    )
    st.latex(
        r"\texttt{D} = \tfrac12\big(\underbrace{\mathrm{BCE}(D(x,y), 1)}_{\texttt{D\_real}}"
        r" + \underbrace{\mathrm{BCE}(D(x,G(x)), 0)}_{\texttt{D\_fake}}\big)"
    )
    st.latex(
        r"\mathcal{L}_G = \underbrace{\mathrm{BCE}(D(x,G(x)), 1)}_{\texttt{G\_GAN}}"
        r" + \lambda \underbrace{\lVert y - G(x) \rVert_1}_{\texttt{G\_L1}}"
    )
    st.caption(
        "G maximises log D(x, G(x)) instead of minimising log(1 - D(x, G(x))): the same fixed "
        "point, with stronger gradients early on. The 'L1 only' preset drops the cGAN term."
    )


def drawing_section() -> None:
    st.markdown(
        "edges2shoes' inputs are clean one-pixel HED lines with every seam. People draw thicker or "
        "thinner strokes, wobble, leave gaps and often draw only the outline. With `--drawing-aug` "
        "each training input is redrawn at random: stroke width (thinned to 1 px, or 3-7 px), "
        "short strokes and interior detail dropped, outline only, a smooth wobble, erased blocks, "
        "and now and then XDoG or Canny edges of the photo instead of HED. With `--hints` the "
        "generator also gets a few colour dabs taken from the photo (often none)."
    )
    examples = {p.stem.replace("sketch_", ""): p for p in EXAMPLES.glob("sketch_*.png")}
    left, right = st.columns([1, 3])
    upload = left.file_uploader("an A|B pair (edges | photo) or a drawing", type=["png", "jpg", "jpeg"])
    choice = left.selectbox("or an example sketch", list(examples), disabled=upload is not None)
    seed = left.number_input("seed", 0, 10_000, 0, key="learn.drawing.seed")
    try:
        source = Image.open(upload) if upload is not None else Image.open(examples[choice])
        if source.width * source.height > MAX_PIXELS:
            raise UserError(f"{source.width}x{source.height} is too large")
        variants = drawing_variants(source, count=8, seed=int(seed))
    except (UserError, OSError) as err:
        left.error(f"Could not use that image: {err}")
        return
    left.image(source, caption="input", width="stretch")
    columns = right.columns(4)
    for i, image in enumerate(variants):
        columns[i % 4].image(image, caption=f"drawing {i + 1}", width="stretch")


def main() -> None:
    st.title("Learn")
    patch, unet, objective, drawings, cycle, spade = st.tabs(
        [
            "PatchGAN receptive field",
            "U-Net layers",
            "pix2pix objective",
            "Drawings & hints",
            "Cycle consistency",
            "SPADE normalisation",
        ]
    )
    with patch:
        receptive_field_section()
    with unet:
        unet_section()
    with objective:
        objective_section()
    with drawings:
        drawing_section()
    with cycle:
        cycle_section()
    with spade:
        spade_section()


main()
