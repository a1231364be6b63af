"""All Gradio demos of the studio as tabs of one app."""

from __future__ import annotations

import gradio as gr

from studio.latent import build_latent_demo
from studio.sketch import build_sketch_demo
from studio.style import build_style_demo


def build_studio() -> gr.Blocks:
    with gr.Blocks(title="Image Synthesis Studio") as studio:
        gr.Markdown("# Image Synthesis Studio")
        with gr.Tab("Sketch → shoe"):
            build_sketch_demo().render()
        with gr.Tab("Style transfer"):
            build_style_demo().render()
        with gr.Tab("Latent space"):
            build_latent_demo().render()
    return studio
