"""Learn → SPADE: what spatially-adaptive normalisation changes, shown with a model's own gamma
and beta maps on a facade label map, and a plain normalisation washing the same map out.

A helper module, not a page: learn.py calls `spade_section()` inside its tab.
"""

from __future__ import annotations

import numpy as np
import plotly.express as px
import streamlit as st
import torch
from torch import nn

from engine.data.facade_layouts import random_facade
from engine.data.label_maps import FACADES, one_hot
from engine.errors import UserError
from engine.inference.loader import load_label_model
from engine.models.spade import SPADE
from engine.store.models import bundled_models
from pages.common import get_store

EXPLANATION = r"""
pix2pixHD feeds the label map in at the start and then normalises, layer after layer. For a
region of one class the one-hot input is constant, a convolution of a constant is a constant,
and instance normalisation subtracts the mean over the image: a map of **one class becomes
exactly zero, whichever class it is** (below: "all facade" and "all window" leave the same
nothing), and in a mixed map a class keeps only its difference from the other classes present,
so the same window looks different on different buildings. SPADE normalises without parameters
and then puts the layout back at every layer, pixel by pixel:

$$h' = \frac{h - \mu(h)}{\sigma(h)}\,\bigl(1 + \gamma(m)_{c,y,x}\bigr) + \beta(m)_{c,y,x}$$

where $\gamma$ and $\beta$ come from a small conv net on the map $m$ resized to the layer. Below a
SPADE model's own $\gamma$ and $\beta$ (averaged over channels) at the layer you pick: the
classes are there at every resolution, however many layers came before.
"""


def spade_models() -> dict[str, str]:
    """Label -> model: finished SPADE runs with a checkpoint, then the bundled one."""
    store = get_store()
    found = {f"{r.name or r.id} ({r.id})": r.id for r in store.list("spade") if store.checkpoints(r.id)}
    found.update({name: name for name in bundled_models("label-map") if "spade" in name})
    return found


def after_conv_and_norm(labels: np.ndarray) -> np.ndarray:
    """A fixed random 3x3 conv of the one-hot map, then instance norm: what a plain generator's
    first layer keeps of a map (mean |activation| over 8 channels)."""
    torch.manual_seed(0)
    conv = nn.Conv2d(len(FACADES), 8, 3, padding=1, padding_mode="replicate")
    with torch.no_grad():
        h = nn.InstanceNorm2d(8)(conv(one_hot(torch.from_numpy(labels), len(FACADES))[None]))
    return h[0].abs().mean(0).numpy()


def modulation_maps(model, labels: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer name: (mean gamma, mean beta)} for every SPADE layer of the model's generator."""
    generator = model.nets["G"]
    found, hooks = {}, []

    def keep(name):
        def hook(module: SPADE, args, _output):
            x, segmap = args
            gamma, beta = module.modulation(segmap, x.shape[-2:])
            found[name] = (gamma[0].mean(0).float().numpy(), beta[0].mean(0).float().numpy())

        return hook

    for name, module in generator.named_modules():
        if isinstance(module, SPADE):
            hooks.append(module.register_forward_hook(keep(name)))
    try:
        with torch.no_grad():
            model.translate_tensor(one_hot(torch.from_numpy(labels), len(model.palette))[None], plain=True)
    finally:
        for hook in hooks:
            hook.remove()
    return found


def heatmap(values: np.ndarray, title: str, key: str) -> None:
    fig = px.imshow(values, color_continuous_scale="RdBu_r", title=title, aspect="equal")
    fig.update_layout(height=300, margin=dict(l=0, r=0, t=40, b=0), coloraxis_showscale=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    st.plotly_chart(fig, key=key)


def spade_section() -> None:
    st.markdown(EXPLANATION)
    seed = st.number_input("facade number", 0, 10_000, 7, key="learn.spade.seed")
    labels = random_facade(np.random.default_rng(int(seed)), 256)
    left, middle, right = st.columns(3)
    left.image(FACADES.render(labels), caption="label map", width="stretch")
    with middle:
        heatmap(after_conv_and_norm(labels), "conv + instance norm of the map", "learn.spade.wash")
    for name in ("facade", "window"):
        uniform = np.full((64, 64), FACADES.names.index(name), np.uint8)
        largest = float(after_conv_and_norm(uniform).max())
        right.metric(f"all-{name} map: largest value after conv + norm", f"{largest:.3f}")
    models = spade_models()
    if not models:
        st.info(
            "No SPADE model yet: train one on the Train page (task spade) and its γ and β maps appear here."
        )
        return
    label = st.selectbox("model", list(models), key="learn.spade.model")
    try:
        model = load_label_model(models[label])
        maps = modulation_maps(model, labels)
    except (UserError, OSError) as err:
        st.error(f"Could not show {label}: {err}")
        return
    layer = st.selectbox("SPADE layer", list(maps), index=min(len(maps) - 1, 6), key="learn.spade.layer")
    gamma, beta = maps[layer]
    columns = st.columns(3)
    with columns[0]:
        heatmap(gamma, f"γ at {layer} ({gamma.shape[0]} px)", "learn.spade.gamma")
    with columns[1]:
        heatmap(beta, f"β at {layer}", "learn.spade.beta")
    columns[2].image(
        model(FACADES.render(labels), seed=int(seed)), caption=f"{label}'s photo", width="stretch"
    )
