"""All Gradio demos of the studio as tabs of one app."""

from __future__ import annotations

import gradio as gr

from studio.latent import build_latent_demo
from studio.prior import build_prior_demo
from studio.scene import build_scene_demo
from studio.sketch import build_sketch_demo
from studio.style import build_style_demo
from studio.unpaired import build_unpaired_demo
from studio.uploads import CACHE_CLEANUP


def build_studio() -> gr.Blocks:
    """Each demo is built on its own, then rendered once into its tab. (Building a demo inside
    the parent's context already adds it there; rendering it again made a second, dead copy.)"""
    demos = {"Sketch → shoe": build_sketch_demo(), "Style transfer": build_style_demo()}
    demos["Paint a scene"] = build_scene_demo()
    demos["Unpaired translation"] = build_unpaired_demo()
    demos["Latent space"] = build_latent_demo()
    demos["Deep image prior"] = build_prior_demo()
    with gr.Blocks(title="Image Synthesis Studio", delete_cache=CACHE_CLEANUP) as studio:
        gr.Markdown("# Image Synthesis Studio")
        for title, demo in demos.items():
            with gr.Tab(title):
                demo.render()
    return studio
