"""Unpaired translation: a CycleGAN model each way, with the cycle's reconstruction beside it.

Upload a picture, pick an example, or take a random held-out one (from the run's own dataset, or
the bundled model's examples), pick a direction, and see input | translation | translated back.
The tab names the model's two domains (the bundled model: shoes and handbags) and keeps a
picture's aspect. Thin over `engine.pipelines.unpaired`; only models from the demo's own list
are loaded, only uploads and the examples are read, and no message names a server path.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from PIL import Image

from engine.errors import UserError
from engine.inference.registry import available_models as models_of_kind
from engine.inference.registry import choose_model
from engine.pipelines.unpaired import (
    BUNDLED_DOMAINS,
    domain_names,
    example_pictures,
    examples_root,
    held_out_picture,
    translate_cycle,
)
from studio.inputs import RawNumber, read_seed
from studio.uploads import (
    CACHE_CLEANUP,
    MissingUpload,
    ScratchFolder,
    image_upload,
    limit_decoding,
    read_upload,
)

DIRECTIONS = {"A → B": "AtoB", "B → A": "BtoA"}
# 128 px answers fill their panels instead of sitting small inside them
FILL_CSS = "<style>.unpaired-out img { width: 100% !important; height: 100% !important; object-fit: contain; }</style>"
Answer = tuple[Image.Image | None, Image.Image | None, Image.Image | None, str]


def available_models() -> dict[str, str]:
    """Label -> model: the bundled unpaired models, then finished CycleGAN runs."""
    return models_of_kind("unpaired")


class UnpairedDemo:
    """The demo's functions, bound to the models it may load and the folders it may read."""

    def __init__(self, models: dict[str, str] | None = None, roots: tuple[Path, ...] = ()) -> None:
        self.models = models if models is not None else available_models()
        self.samples = ScratchFolder(keep=16, suffix=".png")  # sampled inputs: uploads-only holds
        self.roots = (*roots, examples_root(), self.samples.folder)

    def _way(self, direction: str) -> str:
        way = DIRECTIONS.get(direction, direction)
        if way not in DIRECTIONS.values():
            raise UserError(f"direction must be one of {', '.join(DIRECTIONS)}")
        return way

    def translate(self, path: str | None, model: str, direction: str) -> Answer:
        """(input as the model saw it, translation, reconstruction, message) for a picture."""
        try:
            chosen, way = choose_model(self.models, model), self._way(direction)
            picture = read_upload(path, "input", self.roots, max_side=1024)
            cycle = translate_cycle(chosen, picture, way)
            return cycle.shown, cycle.translated, cycle.back, ""
        except MissingUpload as hint:
            return None, None, None, str(hint)
        except UserError as err:
            return None, None, None, f"Could not use that: {err}"

    def sample(self, model: str, direction: str, seed: object) -> tuple[str | None, str]:
        """(a held-out picture of the direction's input domain as a file, where it came from)."""
        try:
            chosen, way = choose_model(self.models, model), self._way(direction)
            picture, origin = held_out_picture(chosen, way, read_seed(seed, "sample number"))
            target = self.samples.new_path()
            picture.save(target)
            return str(target), f"Held-out picture: {origin}."
        except UserError as err:
            return None, f"No sample: {err}"

    def about(self, model: str) -> tuple[str, dict]:
        """(what the model's domains are, the direction radio with them in its labels)."""
        try:
            a, b = domain_names(choose_model(self.models, model))
        except UserError:
            a, b = "A", "B"
        text = f"**A = {a}, B = {b}.** Pick the direction whose input your picture is."
        choices = [(f"{a} → {b} (A → B)", "A → B"), (f"{b} → {a} (B → A)", "B → A")]
        return text, gr.update(choices=choices)


def examples_of(model: str | None) -> list[list[str]]:
    """[picture, direction] rows of a bundled model's examples, both domains."""
    if model not in BUNDLED_DOMAINS:
        return []
    return [[str(p), d] for d, way in DIRECTIONS.items() for p in example_pictures(model, way)]


def build_unpaired_demo(models: dict[str, str] | None = None, samples: bool = True) -> gr.Blocks:
    demo_fns = UnpairedDemo(models)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    first = choices[0] if choices else None
    about, radio = demo_fns.about(first) if first else ("", {"choices": list(DIRECTIONS)})
    limit_decoding()
    with gr.Blocks(title="Unpaired translation", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Unpaired translation (CycleGAN)\nTwo generators learned from two sets of pictures that "
            "were never paired. The third picture goes back again: the *cycle* the model was trained "
            "to close. Where it differs from the input, the translation lost or hid something."
        )
        with gr.Row():
            model = gr.Dropdown(choices, value=first, label="Model")
            direction = gr.Radio(radio["choices"], value="A → B", label="Direction")
        domains = gr.Markdown(about)
        with gr.Row():
            with gr.Column():
                upload = image_upload("Input picture", height=256)
                if samples:
                    with gr.Row():
                        seed = RawNumber(0, precision=0, label="Sample number", min_width=80)
                        sample = gr.Button("Random held-out picture")
                    picked = gr.Markdown()
                rows = examples_of(demo_fns.models.get(first or ""))
                if rows:  # picking one sets the direction too, and `upload` changing runs the model
                    a, b = BUNDLED_DOMAINS[demo_fns.models[first]]
                    gr.Examples(
                        rows,
                        inputs=[upload, direction],
                        label=f"Examples: {a} (A) and {b} (B); picking one sets the direction",
                        visible_columns=[0],
                        examples_per_page=12,
                    )
            shown = gr.Image(
                label="Input (as the model sees it)",
                type="pil",
                interactive=False,
                height=256,
                elem_classes="unpaired-out",
            )
            translated = gr.Image(
                label="Translated",
                type="pil",
                interactive=False,
                height=256,
                elem_classes="unpaired-out",
                buttons=["download"],
            )
            reconstructed = gr.Image(
                label="Translated back (the cycle)",
                type="pil",
                interactive=False,
                height=256,
                elem_classes="unpaired-out",
            )
        status = gr.Markdown()
        gr.HTML(FILL_CSS, padding=False)
        outputs = [shown, translated, reconstructed, status]
        inputs = [upload, model, direction]
        gr.on(
            [upload.change, model.change, direction.change],
            demo_fns.translate,
            inputs,
            outputs,
            api_name="translate",
        )
        model.change(demo_fns.about, model, [domains, direction], api_visibility="private")
        if samples:
            sample.click(
                demo_fns.sample, [model, direction, seed], [upload, picked], api_name="unpaired_sample"
            )
    return demo
