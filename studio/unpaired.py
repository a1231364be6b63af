"""Unpaired translation: a CycleGAN model each way, with the cycle's reconstruction beside it.

Upload a picture (or, in the local studio, draw one at random from the model's own held-out
data), pick a direction, and see input | translation | translated back. The reconstruction is
what the cycle loss trains: where it differs from the input, the model has hidden or lost
information. Only models from the demo's own list are loaded and only uploads are read.
"""

from __future__ import annotations

import random
from pathlib import Path

import gradio as gr
from PIL import Image

from engine.data.images import list_images
from engine.data.unpaired import domain_folders, read_domain_image
from engine.errors import UserError
from engine.inference.loader import load_predictor
from engine.inference.registry import available_models as models_of_kind
from engine.inference.registry import choose_model
from engine.store.runs import RunStore
from studio.uploads import (
    CACHE_CLEANUP,
    MissingUpload,
    ScratchFolder,
    image_upload,
    limit_decoding,
    read_upload,
)

DIRECTIONS = {"A → B": "AtoB", "B → A": "BtoA"}


def available_models() -> dict[str, str]:
    """Label -> model: the bundled unpaired models, then finished CycleGAN runs."""
    return models_of_kind("unpaired")


class UnpairedDemo:
    """The demo's functions, bound to the models it may load and the folders it may read."""

    def __init__(self, models: dict[str, str] | None = None, roots: tuple[Path, ...] = ()) -> None:
        self.models = models if models is not None else available_models()
        self.samples = ScratchFolder(
            keep=16, suffix=".png"
        )  # sampled inputs are copied here, so uploads-only holds
        self.roots = (*roots, self.samples.folder)

    def translate(self, path: str | None, model: str, direction: str) -> tuple:
        """(input, translation, reconstruction, message) for an uploaded picture."""
        try:
            chosen = choose_model(self.models, model)
            way = DIRECTIONS.get(direction, direction)
            if way not in DIRECTIONS.values():
                raise UserError(f"direction must be one of {', '.join(DIRECTIONS)}")
            forward = load_predictor(chosen, direction=way)
            back = load_predictor(chosen, direction="BtoA" if way == "AtoB" else "AtoB")
            picture = read_upload(path, "input", self.roots)
            shown = picture.resize((forward.size, forward.size), Image.BICUBIC)
            translated = forward(shown)
            return shown, translated, back(translated), ""
        except MissingUpload as hint:
            return None, None, None, str(hint)
        except UserError as err:
            return None, None, None, f"Could not use that: {err}"

    def sample(self, model: str, direction: str, seed: float) -> tuple[str | None, str]:
        """(path of a held-out picture of the direction's input domain, message): for runs whose
        dataset is on this machine."""
        try:
            domain = self._input_domain(
                choose_model(self.models, model), DIRECTIONS.get(direction, direction)
            )
            files = list_images(domain.folder)
            if not files:
                raise UserError(f"no images in {domain.folder.name}")
            picked = random.Random(int(seed or 0)).choice(files)
            picture = read_domain_image(picked, domain.half)
            target = self.samples.new_path()
            picture.save(target)
            return str(target), f"{picked.name} from {domain.folder.name}/"
        except UserError as err:
            return None, f"No sample: {err}"

    def _input_domain(self, model: str, way: str):
        store = RunStore()
        try:
            run = store.get(model)
        except KeyError:
            raise UserError("samples come from a run's own dataset; this model is not a run here") from None
        config, data = run.config.get("task_config", {}), run.config.get("settings", {}).get("data", "")
        if not data or not Path(data).is_dir():
            raise UserError("the run's dataset is not on this machine")
        args = (config.get("data_b", ""), config.get("half_a", "whole"), config.get("half_b", "whole"))
        domain_a, domain_b = domain_folders(data, "val", *args, config.get("unpaired", False))
        return domain_a if way == "AtoB" else domain_b


def build_unpaired_demo(models: dict[str, str] | None = None, samples: bool = True) -> gr.Blocks:
    demo_fns = UnpairedDemo(models)
    choices = list(demo_fns.models)  # labels: the page never sees a server path
    limit_decoding()
    with gr.Blocks(title="Unpaired translation", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown(
            "## Unpaired translation (CycleGAN)\nTwo generators learned from two sets of pictures that "
            "were never paired. The third picture goes back again: the *cycle* the model was trained "
            "to close. Where it differs from the input, the translation lost or hid something."
        )
        with gr.Row():
            model = gr.Dropdown(choices, value=choices[0] if choices else None, label="Model")
            direction = gr.Radio(list(DIRECTIONS), value="A → B", label="Direction")
        with gr.Row():
            with gr.Column():
                upload = image_upload("Input picture", height=256)
                if samples:
                    with gr.Row():
                        seed = gr.Number(0, precision=0, label="Sample number", min_width=80)
                        sample = gr.Button("Random held-out picture")
            shown = gr.Image(label="Input", type="pil", interactive=False, height=256)
            translated = gr.Image(
                label="Translated", type="pil", interactive=False, height=256, buttons=["download"]
            )
            reconstructed = gr.Image(
                label="Translated back (the cycle)", type="pil", interactive=False, height=256
            )
        status = gr.Markdown()
        outputs = [shown, translated, reconstructed, status]
        inputs = [upload, model, direction]
        gr.on(
            [upload.change, model.change, direction.change],
            demo_fns.translate,
            inputs,
            outputs,
            api_name="translate",
        )
        if samples:
            sample.click(
                demo_fns.sample, [model, direction, seed], [upload, status], api_visibility="private"
            )
    return demo
